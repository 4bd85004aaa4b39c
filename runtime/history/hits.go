package history

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// Cache hits are most of the attempts of a run that has little to do, and
// carry little: no real duration, no RSS. So they are not stored as task
// records but in their run's hit list (see the package doc for the keys).
//
// A chunk of a hit list is a version byte (hitsVersion), the start of its
// first hit as 8 big-endian bytes of Unix nanoseconds (the base), then one
// entry per hit:
//
//	uvarint len(task), task
//	varint  start - base, in nanoseconds
//	uvarint duration, in nanoseconds
//	uvarint attempt
//	uvarint n, then the cache key: n/2 bytes, the key itself when n is
//	        even, the bytes its hex digits stand for when n is odd
//
// so that a chunk takes new hits by appending them.

// KeepHitRuns is how many runs, the newest, keep their cache hits: an
// older run's record still counts them, but its hits are gone.
const KeepHitRuns = 200

const (
	keepHitRuns   = KeepHitRuns
	hitsChunkSize = 64 << 10 // bytes at which a hit list starts a new chunk
	hitsVersion   = 1
	hitsHeader    = 9 // version and base
)

// isHit says whether r goes to its run's hit list: a cache hit with nothing
// that the list cannot hold (in particular a start after 1970).
func isHit(r TaskRecord) bool {
	return r.Outcome == OutcomeCached && r.ExitCode == 0 && r.Signal == "" && r.PeakRSS == 0 && r.CPU == 0 &&
		r.Attempt >= 0 && r.Duration >= 0 && r.Start.After(time.Unix(0, 0))
}

// appendHits adds hits, all of run id, to the run's hit list: it rewrites
// the last chunk while it is under hitsChunkSize and sets the number of
// chunks in h1/rh/<run id> when it changes.
func appendHits(t kv.Txn, id string, hits []TaskRecord) error {
	chunks := 0
	switch val, err := t.Get(hitRunKey(id)); {
	case err == nil:
		chunks = hitChunks(val)
	case !errors.Is(err, kv.ErrNotFound):
		return err
	}
	n := chunks // the chunk the next hit goes to
	var chunk []byte
	if chunks > 0 {
		last, err := t.Get(hitsKey(id, chunks-1))
		switch {
		case err == nil && len(last) >= hitsHeader && last[0] == hitsVersion && len(last) < hitsChunkSize:
			n, chunk = chunks-1, last
		case err != nil && !errors.Is(err, kv.ErrNotFound):
			return err
		}
	}
	for _, r := range hits {
		if chunk == nil {
			chunk = make([]byte, 0, hitsChunkSize+512)
			chunk = append(chunk, hitsVersion)
			chunk = binary.BigEndian.AppendUint64(chunk, uint64(r.Start.UnixNano()))
		}
		chunk = appendHit(chunk, r)
		if len(chunk) >= hitsChunkSize {
			if err := t.Set(hitsKey(id, n), chunk); err != nil {
				return err
			}
			n, chunk = n+1, nil
		}
	}
	if chunk != nil {
		if err := t.Set(hitsKey(id, n), chunk); err != nil {
			return err
		}
		n++
	}
	if n == chunks {
		return nil
	}
	return t.Set(hitRunKey(id), binary.BigEndian.AppendUint32(nil, uint32(n)))
}

// hitChunks reads the number of chunks from a h1/rh/ value (0 when unreadable).
func hitChunks(val []byte) int {
	if len(val) != 4 {
		return 0
	}
	return int(binary.BigEndian.Uint32(val))
}

// appendHit appends r's entry to chunk.
func appendHit(chunk []byte, r TaskRecord) []byte {
	base := int64(binary.BigEndian.Uint64(chunk[1:]))
	chunk = binary.AppendUvarint(chunk, uint64(len(r.Task)))
	chunk = append(chunk, r.Task...)
	chunk = binary.AppendVarint(chunk, r.Start.UnixNano()-base)
	chunk = binary.AppendUvarint(chunk, uint64(r.Duration))
	chunk = binary.AppendUvarint(chunk, uint64(r.Attempt))
	if isHex(r.Key) {
		chunk = binary.AppendUvarint(chunk, uint64(len(r.Key))+1)
		chunk, _ = hex.AppendDecode(chunk, []byte(r.Key)) // isHex: no error
		return chunk
	}
	chunk = binary.AppendUvarint(chunk, 2*uint64(len(r.Key)))
	return append(chunk, r.Key...)
}

// isHex says whether s is lowercase hex digits that decode and encode back
// to s (cache keys are).
func isHex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// hit is one entry of a hit list; its byte slices point into the chunk.
type hit struct {
	task    []byte
	start   int64 // Unix nanoseconds
	dur     time.Duration
	attempt int
	key     []byte
	hexKey  bool // key holds the bytes of the hex digits of the cache key
}

// record returns the task record of a hit of run id.
func (x hit) record(id string) TaskRecord {
	key := string(x.key)
	if x.hexKey {
		key = hex.EncodeToString(x.key)
	}
	return TaskRecord{RunID: id, Task: string(x.task), Attempt: x.attempt, Start: time.Unix(0, x.start),
		Duration: x.dur, Outcome: OutcomeCached, Key: key}
}

var errBadHits = errors.New("unreadable hit list")

// decodeHits calls fn for each hit of a chunk and the offset of its entry.
// It stops at the first entry it cannot read and returns errBadHits.
func decodeHits(chunk []byte, fn func(off int, x hit)) error {
	if len(chunk) < hitsHeader || chunk[0] != hitsVersion {
		return errBadHits
	}
	for off := hitsHeader; off < len(chunk); {
		x, next, ok := readHit(chunk, off)
		if !ok {
			return errBadHits
		}
		fn(off, x)
		off = next
	}
	return nil
}

// readHit reads the entry at off of a chunk whose header has been checked;
// it returns the entry and the offset of the next one.
func readHit(chunk []byte, off int) (x hit, next int, ok bool) {
	b := chunk[off:]
	uvarint := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			ok = false
			return 0
		}
		b = b[n:]
		return v
	}
	ok = true
	n := uvarint()
	if !ok || n > uint64(len(b)) {
		return x, 0, false
	}
	x.task, b = b[:n], b[n:]
	start, m := binary.Varint(b)
	if m <= 0 {
		return x, 0, false
	}
	b = b[m:]
	x.start = int64(binary.BigEndian.Uint64(chunk[1:])) + start
	x.dur = time.Duration(uvarint())
	x.attempt = int(uvarint())
	n = uvarint()
	if !ok || n/2 > uint64(len(b)) {
		return x, 0, false
	}
	x.key, x.hexKey, b = b[:n/2], n%2 == 1, b[n/2:]
	return x, len(chunk) - len(b), true
}

// runHits returns the hits of run id in the order they were recorded.
func (h *History) runHits(id string) ([]TaskRecord, error) {
	var recs []TaskRecord
	err := h.s.Scan(hitsPrefix(id), false, func(_, val []byte) (bool, error) {
		if decodeHits(val, func(_ int, x hit) { recs = append(recs, x.record(id)) }) != nil {
			h.skipped.Add(1)
		}
		return true, nil
	})
	return recs, err
}

// hitIndex holds every retained hit list and where each task's hits are
// in them. A History builds it on the first read that needs the hits of
// a task (reading them costs a scan of all retained hit lists) and keeps
// it up to date with what it writes. With the entries left encoded it
// takes about 50 bytes a hit.
type hitIndex struct {
	chunks []indexChunk
	byTask map[string][]hitRef // in no particular order
}

type indexChunk struct {
	run  string
	data []byte // nil once the run's hits are deleted
}

// hitRef is where an entry is: its chunk in chunks and its offset.
type hitRef struct{ chunk, off int32 }

// addChunk indexes a chunk (a copy the index may keep) of run id; a chunk
// from the store may end with an unreadable entry (errBadHits).
func (x *hitIndex) addChunk(id string, data []byte) error {
	if n := len(x.chunks); n > 0 && x.chunks[n-1].run == id {
		id = x.chunks[n-1].run // one string per run
	}
	i := int32(len(x.chunks))
	x.chunks = append(x.chunks, indexChunk{id, data})
	return decodeHits(data, func(off int, y hit) {
		refs, ok := x.byTask[string(y.task)]
		if !ok {
			refs = make([]hitRef, 0, 8)
		}
		x.byTask[string(y.task)] = append(refs, hitRef{i, int32(off)})
	})
}

// add indexes hits of run id just written.
func (x *hitIndex) add(id string, hits []TaskRecord) {
	chunk := binary.BigEndian.AppendUint64([]byte{hitsVersion}, uint64(hits[0].Start.UnixNano()))
	for _, r := range hits {
		chunk = appendHit(chunk, r)
	}
	_ = x.addChunk(id, chunk)
}

// records returns the hits of task.
func (x *hitIndex) records(task string) []TaskRecord {
	refs := x.byTask[task]
	recs := make([]TaskRecord, 0, len(refs))
	for _, ref := range refs {
		c := x.chunks[ref.chunk]
		y, _, _ := readHit(c.data, int(ref.off))
		r := y.record(c.run)
		r.Task = task
		recs = append(recs, r)
	}
	return recs
}

func (x *hitIndex) dropRuns(ids map[string]bool) {
	for i := range x.chunks {
		if ids[x.chunks[i].run] {
			x.chunks[i].data = nil
		}
	}
	for task, refs := range x.byTask {
		refs = slices.DeleteFunc(refs, func(ref hitRef) bool { return x.chunks[ref.chunk].data == nil })
		if len(refs) == 0 {
			delete(x.byTask, task)
		} else {
			x.byTask[task] = refs
		}
	}
}

// readHitIndex reads every retained hit list.
func (h *History) readHitIndex() (*hitIndex, error) {
	x := &hitIndex{byTask: map[string][]hitRef{}}
	err := h.s.Scan([]byte(keyHits), false, func(key, val []byte) (bool, error) {
		id := key[len(keyHits):max(len(keyHits), len(key)-5)]
		if x.addChunk(string(id), bytes.Clone(val)) != nil {
			h.skipped.Add(1)
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: reading cache hits: %w", err)
	}
	return x, nil
}

// withHitIndex calls fn with the hit index, reading it first if need be;
// fn must not keep it.
func (h *History) withHitIndex(fn func(*hitIndex)) error {
	h.mu.Lock()
	if h.hits == nil {
		gen := h.hitsGen
		h.mu.Unlock()
		x, err := h.readHitIndex()
		if err != nil {
			return err
		}
		h.mu.Lock()
		if h.hitsGen == gen && h.hits == nil { // else a write came in meanwhile: use x this once
			h.hits = x
		}
		defer h.mu.Unlock()
		fn(x)
		return nil
	}
	defer h.mu.Unlock()
	fn(h.hits)
	return nil
}

// wroteHits tells the hit index what was written (hits by run) and
// deleted (dropped runs).
func (h *History) wroteHits(byRun map[string][]TaskRecord, dropped map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hitsGen++
	if h.hits == nil {
		return
	}
	for id, hits := range byRun {
		h.hits.add(id, hits)
	}
	if len(dropped) > 0 {
		h.hits.dropRuns(dropped)
	}
}

// taskHits returns the retained hits of task, in no particular order.
func (h *History) taskHits(task string) ([]TaskRecord, error) {
	var recs []TaskRecord
	err := h.withHitIndex(func(x *hitIndex) { recs = x.records(task) })
	return recs, err
}

// pruneHitRuns deletes the hit lists of all but the newest keepHitRuns
// runs (by run ID).
func (h *History) pruneHitRuns() error {
	type old struct {
		id     string
		chunks int
	}
	var olds []old
	n := 0
	err := h.s.Scan([]byte(keyHitRun), true, func(key, val []byte) (bool, error) {
		if n++; n > keepHitRuns {
			olds = append(olds, old{string(key[len(keyHitRun):]), hitChunks(val)})
		}
		return true, nil
	})
	dropped := map[string]bool{}
	for _, o := range olds {
		if err != nil {
			break
		}
		chunks := o.chunks
		if chunks == 0 { // unreadable count: find the chunks
			err = h.s.Scan(hitsPrefix(o.id), false, func(key, _ []byte) (bool, error) {
				chunks = max(chunks, int(binary.BigEndian.Uint32(key[len(key)-4:]))+1)
				return true, nil
			})
		}
		if err == nil {
			err = h.s.Write(func(t kv.Txn) error {
				for i := range chunks {
					if err := t.Delete(hitsKey(o.id, i)); err != nil {
						return err
					}
				}
				return t.Delete(hitRunKey(o.id))
			})
		}
		if err == nil {
			dropped[o.id] = true
		}
	}
	if len(dropped) > 0 {
		h.wroteHits(nil, dropped)
	}
	if err != nil {
		return fmt.Errorf("history: deleting old cache hits: %w", err)
	}
	return nil
}

// byStart sorts records into Run's order: start time, then task and attempt.
func byStart(a, b TaskRecord) int {
	return cmp.Or(cmp.Compare(startNanos(a.Start), startNanos(b.Start)), cmp.Compare(a.Task, b.Task),
		cmp.Compare(a.Attempt, b.Attempt))
}

// newestFirst sorts records into TaskRecords' order: newest start first,
// then the greater run ID and attempt.
func newestFirst(a, b TaskRecord) int {
	return cmp.Or(cmp.Compare(startNanos(b.Start), startNanos(a.Start)), cmp.Compare(b.RunID, a.RunID),
		cmp.Compare(b.Attempt, a.Attempt))
}
