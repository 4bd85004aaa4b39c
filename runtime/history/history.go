// Package history records what happened — every task execution attempt and
// every run — and predicts what will happen: durations, failure rates and
// flakiness per task. It stores JSON records in a kv.Store.
//
// Key layout (all keys start with "h1/", the version of this layout; a new
// layout takes a new prefix and ignores the old keys):
//
//	h1/t/<task>\x00<start><run id>\x00<attempt>  JSON TaskRecord
//	h1/rt/<run id>\x00<start><task>\x00<attempt> the h1/t/ key of that record (index for Run)
//	h1/r/<run id>                                JSON RunRecord
//	h1/tc/<task>                                 decimal count of h1/t/ records of the task
//	h1/rh/<run id>                               number of chunks of the run's cache hits, 4 big-endian bytes
//	h1/rc/<run id>\x00<chunk>                    cache hits of the run, binary (see hits.go)
//
// <start> is the start time as 8 big-endian bytes of Unix nanoseconds and
// <attempt> and <chunk> 4 big-endian bytes, so a task's records sort by
// start time and a run's index by start time. Run IDs from NewRunID sort
// by time too.
//
// Each task keeps its newest 200 records. RecordTask bumps the task's
// count in the same transaction as the record; once the count passes 250
// it prunes the task down to 200 in a second transaction (a kv.Txn cannot
// scan), so pruning costs one scan of a task every 50 records. The count
// is only a trigger: pruning recomputes it, and a crash between the two
// transactions just leaves a few extra records until the next prune. Run
// records are small and are kept.
//
// Cache hits (Outcome "cached", with nothing but a start, a duration, an
// attempt and a cache key) are most of the attempts of a run with little
// to do, so they are not task records: RecordTasks appends a batch's hits
// to their run's hit list, rewriting its last chunk (up to 64 KiB, so
// values stay far below Badger's limits) and no other key once the run has
// one. They write no h1/t/, h1/rt/ or h1/tc/ key and prune no task;
// instead RecordRun deletes the hit lists of all but the newest 200 runs
// (by run ID). Readers merge hits back in: TaskRecords and Run return the
// same records as if hits were task records. Cache hits recorded as task
// records by earlier versions are read as before.
//
// Records whose JSON does not parse, and hit lists that cannot be read
// (from the first unreadable hit on), are skipped and counted (Skipped),
// never fatal.
package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// Outcomes of a task execution attempt.
const (
	OutcomeOK          = "ok"
	OutcomeFailed      = "failed"
	OutcomeTimeout     = "timeout"
	OutcomeInterrupted = "interrupted"
	OutcomeCached      = "cached"
	OutcomeError       = "error" // could not start
)

const (
	keepPerTask = 200 // newest records kept per task
	pruneSlack  = 50  // records allowed above keepPerTask before pruning
	deleteBatch = 500 // deletes per prune transaction
)

// TaskRecord is one execution attempt of a task.
type TaskRecord struct {
	RunID    string        `json:"run"`
	Task     string        `json:"task"`
	Attempt  int           `json:"attempt"` // 1-based
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration"` // monotonic
	ExitCode int           `json:"exit"`     // -1 for signal / not started
	Signal   string        `json:"signal,omitempty"`
	Outcome  string        `json:"outcome"` // one of the Outcome constants
	PeakRSS  int64         `json:"rss,omitempty"`
	CPU      time.Duration `json:"cpu,omitempty"`
	Key      string        `json:"key,omitempty"` // cache key, when there is one
}

// RunRecord is one invocation of `jsrt-script run` (or one run() call from JS).
type RunRecord struct {
	ID       string         `json:"id"`
	Start    time.Time      `json:"start"`
	Wall     time.Duration  `json:"wall"`
	Targets  []string       `json:"targets"`
	Jobs     int            `json:"jobs"`
	Counts   map[string]int `json:"counts"` // outcome -> number of tasks
	ExitCode int            `json:"exit"`
}

// ErrUnknownRun is matched by Run's error when there is no such run.
var ErrUnknownRun = errors.New("unknown run")

// History reads and writes records in a kv.Store. Its methods are safe for
// concurrent use (as the store's are).
//
// The first read that needs a task's cache hits reads every retained hit
// list into memory; the History then keeps that up to date with its own
// writes. So a store should be written through one History at a time (as
// it is: one process holds the state), or others read stale hits.
type History struct {
	s       kv.Store
	skipped atomic.Int64

	mu      sync.Mutex
	hits    *hitIndex // nil until a read needs it
	hitsGen uint64    // bumped by every write of hits

	// counts holds every task's record count once a big batch has read
	// them all (nil until then, and after a write that failed), so that
	// the batches of a run of thousands of tasks do not each scan all the
	// counters. Only this process writes history: it holds the state's
	// lock. cmu also serialises RecordTasks.
	cmu    sync.Mutex
	counts map[string]int
}

// New returns a History kept in s.
func New(s kv.Store) *History { return &History{s: s} }

// NewRunID returns a run ID that sorts by time and is unique across
// processes: 16 hex digits of Unix nanoseconds, "-", 4 random hex digits.
func NewRunID(now time.Time) string {
	return fmt.Sprintf("%016x-%04x", uint64(now.UnixNano()), rand.Uint32()&0xffff)
}

// Skipped returns how many unreadable records reads have skipped so far.
func (h *History) Skipped() int64 { return h.skipped.Load() }

// RecordTask stores one execution attempt.
func (h *History) RecordTask(r TaskRecord) error { return h.RecordTasks([]TaskRecord{r}) }

// RecordTasks stores attempts in one transaction (callers keep batches to
// a few hundred records). Cache hits go to their run's hit list.
func (h *History) RecordTasks(recs []TaskRecord) error {
	for _, r := range recs {
		if err := checkName("task name", r.Task); err != nil {
			return err
		}
		if err := checkName("run id", r.RunID); err != nil {
			return err
		}
	}
	var tasks []TaskRecord
	hits := map[string][]TaskRecord{} // by run
	var runs []string                 // of hits, in order
	for _, r := range recs {
		if !isHit(r) {
			tasks = append(tasks, r)
			continue
		}
		if _, ok := hits[r.RunID]; !ok {
			runs = append(runs, r.RunID)
		}
		hits[r.RunID] = append(hits[r.RunID], r)
	}
	vals := make([][]byte, len(tasks))
	for i, r := range tasks {
		val, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("history: recording task %q: %w", r.Task, err)
		}
		vals[i] = val
	}
	h.cmu.Lock()
	defer h.cmu.Unlock()
	counts, err := h.readCounts(tasks)
	if err != nil {
		return err
	}
	err = h.s.Write(func(t kv.Txn) error {
		for _, id := range runs {
			if err := appendHits(t, id, hits[id]); err != nil {
				return err
			}
		}
		for i, r := range tasks {
			if err := setTask(t, r, vals[i], counts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.counts = nil
		return fmt.Errorf("history: recording %d task record(s): %w", len(recs), err)
	}
	if len(runs) > 0 {
		h.wroteHits(hits, nil)
	}
	for task, n := range counts {
		if h.counts != nil {
			h.counts[task] = n
		}
		if n > keepPerTask+pruneSlack {
			h.counts = nil // read again after pruning, which is rare
			if err := h.prune(task); err != nil {
				return err
			}
		}
	}
	return nil
}

// readCounts returns the record counts of the tasks of a big batch in one
// scan of the counters, not a read per task (only this process writes
// history: it holds the state's lock), and keeps them (History.counts) for
// the next batches. For a small batch before that it returns an empty map,
// which setTask fills. The caller holds h.cmu.
func (h *History) readCounts(recs []TaskRecord) (map[string]int, error) {
	counts := map[string]int{}
	if h.counts == nil && len(recs) <= 16 {
		return counts, nil
	}
	if h.counts == nil {
		all := map[string]int{}
		err := h.s.Scan([]byte(keyCount), false, func(key, val []byte) (bool, error) {
			n, _ := strconv.Atoi(string(val))
			all[string(key[len(keyCount):])] = n
			return true, nil
		})
		if err != nil {
			return nil, fmt.Errorf("history: reading counts: %w", err)
		}
		h.counts = all
	}
	for _, r := range recs {
		counts[r.Task] = h.counts[r.Task] // 0 for a task never recorded
	}
	return counts, nil
}

// setTask writes a task record (val is its JSON), its run index entry, its
// task's count and estimate.
func setTask(t kv.Txn, r TaskRecord, val []byte, counts map[string]int) error {
	if _, seen := counts[r.Task]; !seen {
		counts[r.Task] = readCount(t, r.Task)
	}
	counts[r.Task]++
	key := taskKey(r)
	if err := t.Set(key, val); err != nil {
		return err
	}
	if err := t.Set(runTaskKey(r), key); err != nil {
		return err
	}
	if r.Outcome == OutcomeOK {
		if err := updateEstimate(t, r); err != nil {
			return err
		}
	}
	return t.Set(countKey(r.Task), []byte(strconv.Itoa(counts[r.Task])))
}

// prune deletes all but the newest keepPerTask records of task.
func (h *History) prune(task string) error {
	var old [][]byte // record keys and their run index keys
	n := 0
	err := h.s.Scan(taskPrefix(task), true, func(key, val []byte) (bool, error) {
		n++
		if n <= keepPerTask {
			return true, nil
		}
		old = append(old, append([]byte(nil), key...))
		var r TaskRecord
		if json.Unmarshal(val, &r) == nil {
			old = append(old, runTaskKey(r))
		}
		return true, nil
	})
	for err == nil && len(old) > 0 {
		batch := old[:min(deleteBatch, len(old))]
		old = old[len(batch):]
		err = h.s.Write(func(t kv.Txn) error {
			for _, k := range batch {
				if err := t.Delete(k); err != nil {
					return err
				}
			}
			if len(old) > 0 {
				return nil
			}
			return t.Set(countKey(task), []byte(strconv.Itoa(min(n, keepPerTask))))
		})
	}
	if err != nil {
		return fmt.Errorf("history: pruning task %q: %w", task, err)
	}
	return nil
}

// RecordRun stores (or replaces) the record of a run, then deletes the hit
// lists of all but the newest keepHitRuns runs.
func (h *History) RecordRun(r RunRecord) error {
	if err := checkName("run id", r.ID); err != nil {
		return err
	}
	val, err := json.Marshal(r)
	if err == nil {
		err = h.s.Write(func(t kv.Txn) error { return t.Set(runKey(r.ID), val) })
	}
	if err != nil {
		return fmt.Errorf("history: recording run %s: %w", r.ID, err)
	}
	return h.pruneHitRuns()
}

// TaskRecords returns the records of task, cache hits included, newest
// first; limit <= 0 means all.
func (h *History) TaskRecords(task string, limit int) ([]TaskRecord, error) {
	var recs []TaskRecord
	err := h.s.Scan(taskPrefix(task), true, func(_, val []byte) (bool, error) {
		var r TaskRecord
		if h.decode(val, &r) {
			recs = append(recs, r)
		}
		return limit <= 0 || len(recs) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: reading task %q: %w", task, err)
	}
	hits, err := h.taskHits(task)
	if err != nil || len(hits) == 0 {
		return recs, err
	}
	recs = append(recs, hits...)
	slices.SortStableFunc(recs, newestFirst)
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	return recs, nil
}

// Runs returns run records, newest first (by run ID, which NewRunID makes
// sort by start time); limit <= 0 means all.
func (h *History) Runs(limit int) ([]RunRecord, error) {
	var runs []RunRecord
	err := h.s.Scan([]byte(keyRun), true, func(_, val []byte) (bool, error) {
		var r RunRecord
		if h.decode(val, &r) {
			runs = append(runs, r)
		}
		return limit <= 0 || len(runs) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: reading runs: %w", err)
	}
	return runs, nil
}

// Run returns one run and its task records, cache hits included, in start
// order (then by task and attempt). A run that
// never finished (its coordinator was killed) has task records but no run
// record: it comes back as a RunRecord with only ID set. A run with
// neither gives an error matching ErrUnknownRun.
func (h *History) Run(id string) (RunRecord, []TaskRecord, error) {
	run := RunRecord{ID: id}
	val, err := h.s.Get(runKey(id))
	if err != nil && !errors.Is(err, kv.ErrNotFound) {
		return run, nil, fmt.Errorf("history: reading run %s: %w", id, err)
	}
	found := false
	if err == nil {
		var r RunRecord
		if found = h.decode(val, &r); found {
			run = r
		}
	}
	recs, err := h.runTasks(id)
	if err != nil {
		return run, nil, fmt.Errorf("history: reading run %s: %w", id, err)
	}
	hits, err := h.runHits(id)
	if err != nil {
		return run, nil, fmt.Errorf("history: reading the cache hits of run %s: %w", id, err)
	}
	if len(hits) > 0 {
		recs = append(recs, hits...)
		slices.SortStableFunc(recs, byStart)
	}
	if !found && len(recs) == 0 {
		return run, nil, fmt.Errorf("%w %q", ErrUnknownRun, id)
	}
	return run, recs, nil
}

// runTasks follows a run's index to its task records.
func (h *History) runTasks(id string) ([]TaskRecord, error) {
	var keys [][]byte
	err := h.s.Scan(runTasksPrefix(id), false, func(_, val []byte) (bool, error) {
		keys = append(keys, append([]byte(nil), val...))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	var recs []TaskRecord
	for _, k := range keys {
		val, err := h.s.Get(k)
		if errors.Is(err, kv.ErrNotFound) { // pruned since
			continue
		}
		if err != nil {
			return nil, err
		}
		var r TaskRecord
		if h.decode(val, &r) {
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// TaskNames returns every task that has records, cache hits included, sorted.
func (h *History) TaskNames() ([]string, error) {
	var names []string
	err := h.s.Scan([]byte(keyCount), false, func(key, _ []byte) (bool, error) {
		names = append(names, string(key[len(keyCount):]))
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: reading task names: %w", err)
	}
	err = h.withHitIndex(func(x *hitIndex) {
		for task := range x.byTask {
			names = append(names, task)
		}
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// decode unmarshals a record, counting it as skipped when it is unreadable.
func (h *History) decode(val []byte, v any) bool {
	if err := json.Unmarshal(val, v); err != nil {
		h.skipped.Add(1)
		return false
	}
	return true
}

func checkName(what, s string) error {
	if s == "" || strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("history: invalid %s %q", what, s)
	}
	return nil
}

func readCount(t kv.Txn, task string) int {
	val, err := t.Get(countKey(task))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(string(val)) // unreadable: start again from 0
	return n
}
