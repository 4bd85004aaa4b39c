package cache

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// Entry is one stored result: the replayable log, the outputs, and what is
// needed to evict and explain it.
type Entry struct {
	Task     string        `json:"task"`
	Key      Digest        `json:"key"`
	Created  time.Time     `json:"created"`
	LastUsed time.Time     `json:"lastUsed"`
	Expires  time.Time     `json:"expires,omitempty"` // zero: no TTL
	Duration time.Duration `json:"duration"`          // of the run that produced it
	Log      Digest        `json:"log"`
	LogSize  int64         `json:"logSize"`
	Outputs  []Output      `json:"outputs,omitempty"`
	Size     int64         `json:"size"` // log + outputs, bytes
	Deps     []string      `json:"deps,omitempty"`
	Manifest Manifest      `json:"manifest"`
	Ahead    bool          `json:"ahead,omitempty"` // produced by a task run ahead of a request
}

// Last is what is remembered of a task's last successful run, cached or
// not: for {changed} and for explain.
type Last struct {
	Key      Digest    `json:"key"`
	Manifest Manifest  `json:"manifest"`
	Time     time.Time `json:"time"`
}

// Cache is the result cache over a key-value store and a blob directory.
//
// Contract: safe for concurrent use; methods block on store and file I/O.
type Cache struct {
	kv    kv.Store
	blobs *Blobs
	now   func() time.Time

	// Bookkeeping that may lag (hit/miss counters, last use of entries,
	// the last success of tasks) is kept here and written by Flush in one
	// transaction, so a fully cached run does not write per task. Lost on
	// a crash, it costs an earlier LRU eviction or a wider {changed}.
	mu      sync.Mutex
	loaded  map[string][]byte // entries read by Preload, until Flush
	holders map[string]bool   // tasks with an entry in loaded (or saved since)
	counts  map[string]*counts
	used    map[string]*Entry
	lastRun map[string]Last

	// What Preload learnt of the stored bookkeeping, until Flush: the last
	// use of each entry and the key of each task's last success, so a run
	// of hits does not rewrite what is already stored.
	usedAt   map[string]time.Time // by entry key
	lastKeys map[string]Digest    // by task

	index *Index // outputs' stat and digest (nil: every check hashes)
}

// New returns a cache keeping metadata in s and blobs under dir.
func New(s kv.Store, dir string, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{kv: s, blobs: &Blobs{dir: filepath.Join(dir, "blobs")}, now: now,
		counts: map[string]*counts{}, used: map[string]*Entry{}, lastRun: map[string]Last{}}
}

func entryKey(task string, key Digest) []byte { return []byte("c1/e/" + task + "\x00" + string(key)) }
func lastKey(task string) []byte              { return []byte("c1/last/" + task) }
func lastDigestKey(task string) []byte        { return []byte("c1/lk/" + task) }

// statsKey holds every task's hit and miss counters in one value, read and
// written once per Flush. Stores written before it kept one key per task
// under legacyStatPrefix; the first Flush merges them in and deletes them.
var statsKey = []byte("c1/stats")

const legacyStatPrefix = "c1/s/"

// usedKey holds an entry's last use (8 bytes of Unix ns) apart from the
// entry, so a hit rewrites 8 bytes, not the entry and its manifest.
func usedKey(entryKey string) []byte {
	return []byte("c1/u/" + strings.TrimPrefix(entryKey, entryPrefix))
}

const entryPrefix = "c1/e/"

// Lookup returns the entry for task and key, or nil on a miss. It counts
// the hit or miss. An expired entry is a miss (and is dropped). The
// entry's Manifest is not read back (left empty): the key already matched
// it, and restoring needs none of it.
func (c *Cache) Lookup(task string, key Digest) (*Entry, error) {
	e, err := c.Find(task, key)
	if err != nil {
		return nil, err
	}
	return e, c.count(task, e != nil)
}

// Find is Lookup without counting: for a caller that may leave the hit to
// a later Lookup (then Count is not called).
func (c *Cache) Find(task string, key Digest) (*Entry, error) {
	e, err := c.get(task, key)
	if err == nil && e != nil && !e.Expires.IsZero() && c.now().After(e.Expires) {
		err = c.drop(e)
		e = nil
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Count counts a hit or a miss of task, for a Find that was used.
func (c *Cache) Count(task string, hit bool) error { return c.count(task, hit) }

// UseIndex makes the cache record in ix the outputs it saves and restores,
// and trust ix to recognise an output already in place by its stat alone
// (under the index's rules: a file modified within Racy is re-hashed). The
// caller flushes ix.
func (c *Cache) UseIndex(ix *Index) {
	c.mu.Lock()
	c.index = ix
	c.mu.Unlock()
}

// preloadMax bounds what Preload keeps in memory.
const preloadMax = 64 << 20

// usedGrain is how stale a stored last use may get before a hit rewrites
// it: LRU eviction needs no finer time, and a run of hits then writes
// nothing for entries used within the hour.
const usedGrain = time.Hour

// forget drops what Preload read (entries are about to change).
func (c *Cache) forget() {
	c.mu.Lock()
	c.loaded, c.holders, c.usedAt, c.lastKeys = nil, nil, nil, nil
	c.mu.Unlock()
}

// Preload reads every entry in one scan (up to preloadMax bytes), so a run
// of many cache hits does not read the store once per task, and the stored
// last uses and last-success keys, so Flush writes only what changed. What
// it read is forgotten at Flush, the end of the run.
func (c *Cache) Preload() error {
	loaded, holders, size := map[string][]byte{}, map[string]bool{}, 0
	err := c.kv.Scan([]byte(entryPrefix), false, func(key, val []byte) (bool, error) {
		size += len(key) + len(val)
		if size > preloadMax {
			loaded, holders = nil, nil
			return false, nil
		}
		loaded[string(key)] = bytes.Clone(val)
		if task, _, ok := bytes.Cut(key[len(entryPrefix):], []byte{0}); ok {
			holders[string(task)] = true
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	usedAt := map[string]time.Time{}
	err = c.kv.Scan([]byte("c1/u/"), false, func(key, val []byte) (bool, error) {
		if len(val) == 8 {
			usedAt[entryPrefix+string(key[len("c1/u/"):])] = time.Unix(0, int64(binary.BigEndian.Uint64(val)))
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	lastKeys := map[string]Digest{}
	err = c.kv.Scan([]byte("c1/lk/"), false, func(key, val []byte) (bool, error) {
		lastKeys[string(key[len("c1/lk/"):])] = Digest(val)
		return true, nil
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.loaded, c.holders, c.usedAt, c.lastKeys = loaded, holders, usedAt, lastKeys
	c.mu.Unlock()
	return nil
}

// MayHit says whether a lookup for task could find an entry: false only
// when Preload read every entry and none (nor any saved since) is task's.
// A task that was never cached need not be looked up ahead of its run.
func (c *Cache) MayHit(task string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holders == nil || c.holders[task]
}

// get reads an entry without its manifest (see Lookup).
func (c *Cache) get(task string, key Digest) (*Entry, error) {
	c.mu.Lock()
	loaded := c.loaded
	c.mu.Unlock()
	if loaded != nil {
		b, ok := loaded[string(entryKey(task, key))]
		if !ok {
			return nil, nil
		}
		if e, err := decodeEntryOf(b, false); err == nil {
			return e, nil
		}
	}
	b, err := c.kv.Get(entryKey(task, key))
	if errors.Is(err, kv.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e, err := decodeEntryOf(b, false)
	if err != nil {
		return nil, c.kv.Write(func(t kv.Txn) error { return t.Delete(entryKey(task, key)) })
	}
	return e, nil
}

// Restore writes e's outputs under root and its log to log. A missing or
// corrupt blob drops the entry and returns an error wrapping ErrCorrupt:
// the caller must treat it as a miss, never as a hit.
func (c *Cache) Restore(root string, e *Entry, log io.Writer) error {
	// Outputs first: a log replayed for outputs that then fail would lie.
	for _, o := range e.Outputs {
		if err := c.restoreOne(root, o); err != nil {
			if errors.Is(err, ErrCorrupt) {
				return errors.Join(err, c.drop(e))
			}
			return fmt.Errorf("restoring output %q of task %q: %w", o.Path, e.Task, err)
		}
	}
	if err := c.replay(e, log); err != nil {
		return err
	}
	now, key := c.now(), string(entryKey(e.Task, e.Key))
	c.mu.Lock()
	stored := e.LastUsed
	if u, ok := c.usedAt[key]; ok && u.After(stored) {
		stored = u
	}
	e.LastUsed = now
	if now.Sub(stored) >= usedGrain {
		c.used[key] = e
	}
	c.mu.Unlock()
	return nil
}

// replay copies e's log to w (nothing when the run printed nothing).
func (c *Cache) replay(e *Entry, w io.Writer) error {
	if e.LogSize == 0 {
		return nil
	}
	_, err := c.blobs.CopyTo(w, e.Log)
	if errors.Is(err, ErrCorrupt) {
		return errors.Join(err, c.drop(e))
	}
	return err
}

// SaveRequest is a successful run to store.
type SaveRequest struct {
	Task     string
	Key      Digest
	Root     string
	Log      io.Reader // the complete output of the successful attempt
	Outputs  []string  // declared output patterns
	Deps     []string
	Manifest Manifest
	Duration time.Duration
	TTL      time.Duration
	Ahead    bool // the run was speculative
}

// Save stores a successful run. Outputs are collected first: one that does
// not exist is an error naming it, and nothing is stored.
func (c *Cache) Save(r SaveRequest) error {
	paths, err := CollectOutputs(r.Root, r.Outputs)
	if err != nil {
		return err
	}
	outs, size, err := c.saveOutputs(r.Root, paths)
	if err != nil {
		return err
	}
	logDigest, logSize, err := c.blobs.Put(r.Log)
	if err != nil {
		return fmt.Errorf("storing the log: %w", err)
	}
	now := c.now()
	e := &Entry{Task: r.Task, Key: r.Key, Created: now, LastUsed: now, Duration: r.Duration, Log: logDigest,
		LogSize: logSize, Outputs: outs, Size: size + logSize, Deps: r.Deps, Manifest: r.Manifest, Ahead: r.Ahead}
	if r.TTL > 0 {
		e.Expires = now.Add(r.TTL)
	}
	return c.put(e)
}

func (c *Cache) put(e *Entry) error {
	b := encodeEntry(e)
	c.mu.Lock()
	if c.loaded != nil {
		c.loaded[string(entryKey(e.Task, e.Key))] = b
		c.holders[e.Task] = true
	}
	c.mu.Unlock()
	return c.kv.Write(func(t kv.Txn) error { return t.Set(entryKey(e.Task, e.Key), b) })
}

func (c *Cache) drop(e *Entry) error {
	c.mu.Lock()
	if c.loaded != nil {
		delete(c.loaded, string(entryKey(e.Task, e.Key)))
	}
	c.mu.Unlock()
	return c.kv.Write(func(t kv.Txn) error { return deleteEntry(t, e) })
}

func deleteEntry(t kv.Txn, e *Entry) error {
	k := entryKey(e.Task, e.Key)
	if err := t.Delete(k); err != nil {
		return err
	}
	return t.Delete(usedKey(string(k)))
}

// restoreOne writes one output from the blob store.
func (c *Cache) restoreOne(root string, o Output) error {
	c.mu.Lock()
	ix := c.index
	c.mu.Unlock()
	return writeOutput(root, o, ix, func(w io.Writer) error {
		_, err := c.blobs.CopyTo(w, o.Digest)
		return err
	})
}

// RecordSuccess remembers the key and manifest of a task's successful run
// (written by Flush).
func (c *Cache) RecordSuccess(task string, key Digest, m Manifest) error {
	c.mu.Lock()
	c.lastRun[task] = Last{Key: key, Manifest: m, Time: c.now()}
	c.mu.Unlock()
	return nil
}

// LastSuccess returns what RecordSuccess kept for task, if anything.
func (c *Cache) LastSuccess(task string) (Last, bool, error) {
	c.mu.Lock()
	pending, ok := c.lastRun[task]
	c.mu.Unlock()
	if ok {
		return pending, true, nil
	}
	b, err := c.kv.Get(lastKey(task))
	if errors.Is(err, kv.ErrNotFound) {
		return Last{}, false, nil
	}
	if err != nil {
		return Last{}, false, err
	}
	var l Last
	if json.Unmarshal(b, &l) != nil {
		return Last{}, false, nil
	}
	return l, true, nil
}

type counts struct {
	Hits   int64 `json:"hits"`
	Misses int64 `json:"misses"`
}

func (c *Cache) count(task string, hit bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.counts[task]
	if n == nil {
		n = &counts{}
		c.counts[task] = n
	}
	if hit {
		n.Hits++
	} else {
		n.Misses++
	}
	return nil
}

// Flush writes the bookkeeping kept since the last flush: counters, last
// uses and last successes, in transactions of at most flushBatch keys. A
// last use less than usedGrain old and a last success with the key already
// stored are not rewritten.
func (c *Cache) Flush() error {
	c.mu.Lock()
	hits, used, last, stored := c.counts, c.used, c.lastRun, c.lastKeys
	c.counts, c.used, c.lastRun = map[string]*counts{}, map[string]*Entry{}, map[string]Last{}
	c.loaded, c.holders, c.usedAt, c.lastKeys = nil, nil, nil, nil
	c.mu.Unlock()
	writes := map[string]func(t kv.Txn) error{}
	for key, e := range used {
		writes["u"+key] = func(t kv.Txn) error {
			return t.Set(usedKey(key), binary.BigEndian.AppendUint64(nil, uint64(e.LastUsed.UnixNano())))
		}
	}
	for task, l := range last {
		if k, ok := stored[task]; ok && k == l.Key {
			continue // the same key has the same manifest
		}
		writes["l"+task] = func(t kv.Txn) error {
			b, _ := json.Marshal(l)
			if err := t.Set(lastKey(task), b); err != nil {
				return err
			}
			return t.Set(lastDigestKey(task), []byte(l.Key))
		}
	}
	if err := writeInBatches(c.kv, writes); err != nil {
		return err
	}
	if len(hits) == 0 {
		return nil
	}
	return c.addCounts(hits)
}

// addCounts adds hits to the stored counters in one read and one write of
// statsKey. The first time, the legacy per-task counters are merged in, in
// the same transaction as statsKey is first written; from then on any left
// under legacyStatPrefix are already counted, and are only deleted.
func (c *Cache) addCounts(hits map[string]*counts) error {
	var legacy [][]byte
	old := map[string]counts{}
	err := c.kv.Scan([]byte(legacyStatPrefix), false, func(key, val []byte) (bool, error) {
		legacy = append(legacy, bytes.Clone(key))
		var n counts
		if json.Unmarshal(val, &n) == nil {
			old[string(key[len(legacyStatPrefix):])] = n
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	first := legacy
	if len(first) > flushBatch {
		first = first[:flushBatch]
	}
	err = c.kv.Write(func(t kv.Txn) error {
		b, err := t.Get(statsKey)
		if err != nil && !errors.Is(err, kv.ErrNotFound) {
			return err
		}
		sum, ok := decodeCounts(b)
		if err != nil || !ok {
			sum = old // first flush since the legacy counters
		}
		for task, n := range hits {
			s := sum[task]
			s.Hits += n.Hits
			s.Misses += n.Misses
			sum[task] = s
		}
		if err := t.Set(statsKey, encodeCounts(sum)); err != nil {
			return err
		}
		for _, k := range first {
			if err := t.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(legacy) == len(first) {
		return err
	}
	deletes := map[string]func(kv.Txn) error{}
	for _, k := range legacy[len(first):] {
		deletes[string(k)] = func(t kv.Txn) error { return t.Delete(k) }
	}
	return writeInBatches(c.kv, deletes)
}

// countsV1 starts the encoding of statsKey: then, per task in name order,
// the name's length and the name, hits and misses, all as uvarints.
const countsV1 = 1

func encodeCounts(m map[string]counts) []byte {
	b := []byte{countsV1}
	for _, task := range sortedKeys(m) {
		n := m[task]
		b = binary.AppendUvarint(b, uint64(len(task)))
		b = append(b, task...)
		b = binary.AppendUvarint(b, uint64(n.Hits))
		b = binary.AppendUvarint(b, uint64(n.Misses))
	}
	return b
}

// decodeCounts reads encodeCounts' bytes; false if they are not that.
func decodeCounts(b []byte) (map[string]counts, bool) {
	if len(b) == 0 || b[0] != countsV1 {
		return nil, false
	}
	m := map[string]counts{}
	for b = b[1:]; len(b) > 0; {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return nil, false
		}
		task := string(b[n : n+int(l)])
		b = b[n+int(l):]
		hits, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, false
		}
		b = b[n:]
		misses, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, false
		}
		b = b[n:]
		m[task] = counts{Hits: int64(hits), Misses: int64(misses)}
	}
	return m, true
}

// storedCounts reads every task's counters: statsKey, or the legacy
// per-task keys of a store no Flush has migrated yet.
func (c *Cache) storedCounts() (map[string]counts, error) {
	b, err := c.kv.Get(statsKey)
	if err != nil && !errors.Is(err, kv.ErrNotFound) {
		return nil, err
	}
	if m, ok := decodeCounts(b); err == nil && ok {
		return m, nil
	}
	m := map[string]counts{}
	err = c.kv.Scan([]byte(legacyStatPrefix), false, func(key, val []byte) (bool, error) {
		var n counts
		if json.Unmarshal(val, &n) == nil {
			m[string(key[len(legacyStatPrefix):])] = n
		}
		return true, nil
	})
	return m, err
}

const flushBatch = 256

func writeInBatches(s kv.Store, writes map[string]func(kv.Txn) error) error {
	batch := make([]func(kv.Txn) error, 0, flushBatch)
	run := func() error {
		err := s.Write(func(t kv.Txn) error {
			for _, w := range batch {
				if err := w(t); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	for _, w := range writes {
		if batch = append(batch, w); len(batch) == flushBatch {
			if err := run(); err != nil {
				return err
			}
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return run()
}

// entries lists every stored entry, with its last use.
func (c *Cache) entries() ([]*Entry, error) {
	used := map[string]time.Time{}
	err := c.kv.Scan([]byte("c1/u/"), false, func(key, val []byte) (bool, error) {
		if len(val) == 8 {
			used[string(key[len("c1/u/"):])] = time.Unix(0, int64(binary.BigEndian.Uint64(val)))
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	var out []*Entry
	err = c.kv.Scan([]byte(entryPrefix), false, func(key, val []byte) (bool, error) {
		if e, err := decodeEntry(val); err == nil {
			if u, ok := used[string(key[len(entryPrefix):])]; ok && u.After(e.LastUsed) {
				e.LastUsed = u
			}
			out = append(out, e)
		}
		return true, nil
	})
	return out, err
}

// Invalidate drops every entry of the named tasks and, transitively, of
// every task whose entries depend on them. It returns the tasks affected.
func (c *Cache) Invalidate(tasks ...string) ([]string, error) {
	c.forget()
	all, err := c.entries()
	if err != nil {
		return nil, err
	}
	gone := map[string]bool{}
	for _, t := range tasks {
		gone[t] = true
	}
	for changed := true; changed; {
		changed = false
		for _, e := range all {
			if gone[e.Task] {
				continue
			}
			for _, d := range e.Deps {
				if gone[d] {
					gone[e.Task], changed = true, true
					break
				}
			}
		}
	}
	err = c.kv.Write(func(t kv.Txn) error {
		for _, e := range all {
			if gone[e.Task] {
				if err := deleteEntry(t, e); err != nil {
					return err
				}
			}
		}
		for name := range gone {
			if err := t.Delete(lastKey(name)); err != nil {
				return err
			}
			if err := t.Delete(lastDigestKey(name)); err != nil {
				return err
			}
		}
		return nil
	})
	names := sortedKeys(gone)
	return names, err
}

// GCResult says what a collection removed and kept.
type GCResult struct {
	Expired, Evicted, Blobs int
	FreedBytes, KeptBytes   int64
}

// GC drops expired entries, then least recently used entries until the
// entries total at most maxBytes (0: no bound), then deletes blobs no entry
// refers to.
func (c *Cache) GC(maxBytes int64) (GCResult, error) {
	c.forget()
	var res GCResult
	all, err := c.entries()
	if err != nil {
		return res, err
	}
	now := c.now()
	var keep, drop []*Entry
	for _, e := range all {
		if !e.Expires.IsZero() && now.After(e.Expires) {
			drop = append(drop, e)
			res.Expired++
		} else {
			keep = append(keep, e)
		}
	}
	sort.Slice(keep, func(i, j int) bool { return keep[i].LastUsed.After(keep[j].LastUsed) })
	var total int64
	n := 0
	for _, e := range keep {
		if maxBytes > 0 && total+e.Size > maxBytes {
			drop = append(drop, e)
			res.Evicted++
			continue
		}
		total += e.Size
		keep[n] = e
		n++
	}
	keep = keep[:n]
	if err := c.kv.Write(func(t kv.Txn) error {
		for _, e := range drop {
			if err := deleteEntry(t, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return res, err
	}
	res.Blobs, res.FreedBytes, err = c.sweep(keep)
	res.KeptBytes = total
	return res, err
}

// sweep deletes blobs that no kept entry refers to.
func (c *Cache) sweep(keep []*Entry) (int, int64, error) {
	live := map[Digest]bool{}
	for _, e := range keep {
		live[e.Log] = true
		for _, o := range e.Outputs {
			live[o.Digest] = true
		}
	}
	n, freed := 0, int64(0)
	err := c.blobs.Each(func(d Digest, size int64) error {
		if live[d] {
			return nil
		}
		n++
		freed += size
		return c.blobs.Remove(d)
	})
	return n, freed, err
}

// TaskStats are one task's cache figures.
type TaskStats struct {
	Entries int     `json:"entries"`
	Bytes   int64   `json:"bytes"`
	Hits    int64   `json:"hits"`
	Misses  int64   `json:"misses"`
	HitRate float64 `json:"hitRate"`
}

// Stats are the whole cache's figures and each task's.
type Stats struct {
	TaskStats
	Tasks map[string]*TaskStats `json:"tasks"`
}

// Stats reads the entries and counters.
func (c *Cache) Stats() (Stats, error) {
	s := Stats{Tasks: map[string]*TaskStats{}}
	task := func(name string) *TaskStats {
		if s.Tasks[name] == nil {
			s.Tasks[name] = &TaskStats{}
		}
		return s.Tasks[name]
	}
	all, err := c.entries()
	if err != nil {
		return s, err
	}
	for _, e := range all {
		t := task(e.Task)
		t.Entries++
		t.Bytes += e.Size
	}
	counters, err := c.storedCounts()
	for name, n := range counters {
		t := task(name)
		t.Hits, t.Misses = n.Hits, n.Misses
	}
	for _, t := range s.Tasks {
		s.Entries += t.Entries
		s.Bytes += t.Bytes
		s.Hits += t.Hits
		s.Misses += t.Misses
		t.HitRate = rate(t.Hits, t.Misses)
	}
	s.HitRate = rate(s.Hits, s.Misses)
	return s, err
}

func rate(hits, misses int64) float64 {
	if hits+misses == 0 {
		return 0
	}
	return float64(hits) / float64(hits+misses)
}

// Has reports whether an entry exists for task and key, without counting a
// hit or miss and without restoring anything.
func (c *Cache) Has(task string, key Digest) (bool, error) {
	e, err := c.get(task, key)
	return e != nil && (e.Expires.IsZero() || c.now().Before(e.Expires)), err
}

// ParseSize reads sizes such as 2GiB, 500MB, 1048576.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}, {"", 1}}
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || v < 0 {
			break
		}
		return int64(v * float64(u.mult)), nil
	}
	return 0, fmt.Errorf("%q is not a size (like 2GiB or 500MB)", s)
}
