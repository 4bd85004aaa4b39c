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
//
// <start> is the start time as 8 big-endian bytes of Unix nanoseconds and
// <attempt> 4 big-endian bytes, so a task's records sort by start time and
// a run's index by start time. Run IDs from NewRunID sort by time too.
//
// Each task keeps its newest 200 records. RecordTask bumps the task's
// count in the same transaction as the record; once the count passes 250
// it prunes the task down to 200 in a second transaction (a kv.Txn cannot
// scan), so pruning costs one scan of a task every 50 records. The count
// is only a trigger: pruning recomputes it, and a crash between the two
// transactions just leaves a few extra records until the next prune. Run
// records are small and are kept.
//
// Records whose JSON does not parse are skipped and counted (Skipped),
// never fatal.
package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
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
type History struct {
	s       kv.Store
	skipped atomic.Int64
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
// a few hundred records).
func (h *History) RecordTasks(recs []TaskRecord) error {
	vals := make([][]byte, len(recs))
	for i, r := range recs {
		if err := checkName("task name", r.Task); err != nil {
			return err
		}
		if err := checkName("run id", r.RunID); err != nil {
			return err
		}
		val, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("history: recording task %q: %w", r.Task, err)
		}
		vals[i] = val
	}
	counts := map[string]int{}
	if len(recs) > 16 {
		// One scan for the counters of a big batch, not a read per task
		// (only this process writes history: it holds the state's lock).
		if err := h.s.Scan([]byte(keyCount), false, func(key, val []byte) (bool, error) {
			n, _ := strconv.Atoi(string(val))
			counts[string(key[len(keyCount):])] = n
			return true, nil
		}); err != nil {
			return fmt.Errorf("history: reading counts: %w", err)
		}
		for _, r := range recs {
			if _, ok := counts[r.Task]; !ok {
				counts[r.Task] = 0
			}
		}
	}
	err := h.s.Write(func(t kv.Txn) error {
		for i, r := range recs {
			if _, seen := counts[r.Task]; !seen {
				counts[r.Task] = readCount(t, r.Task)
			}
			counts[r.Task]++
			key := taskKey(r)
			if err := t.Set(key, vals[i]); err != nil {
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
			if err := t.Set(countKey(r.Task), []byte(strconv.Itoa(counts[r.Task]))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("history: recording %d task record(s): %w", len(recs), err)
	}
	for task, n := range counts {
		if n > keepPerTask+pruneSlack {
			if err := h.prune(task); err != nil {
				return err
			}
		}
	}
	return nil
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

// RecordRun stores (or replaces) the record of a run.
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
	return nil
}

// TaskRecords returns the records of task, newest first; limit <= 0 means all.
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

// Run returns one run and its task records in start order. A run that
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

// TaskNames returns every task that has records, sorted.
func (h *History) TaskNames() ([]string, error) {
	var names []string
	err := h.s.Scan([]byte(keyCount), false, func(key, _ []byte) (bool, error) {
		names = append(names, string(key[len(keyCount):]))
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: reading task names: %w", err)
	}
	return names, nil
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
