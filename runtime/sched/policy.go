package sched

import (
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// Prediction is what history says of a task, as the scheduler uses it.
type Prediction struct {
	Ms          float64 // expected duration; 0 when nothing is known
	FailureRate float64 // of recent attempts, 0..1
	PeakRSS     int64
	Confidence  string // "high", "low" or "none"
}

// TaskInfo is a task as policies see it (and as JS hooks get it).
type TaskInfo struct {
	Name        string   `json:"name"`
	Tags        []string `json:"tags"`
	Priority    int      `json:"priority"` // the task's own priority option
	Critical    bool     `json:"critical"`
	Blocking    int      `json:"blocking"` // tasks of this run waiting for it, directly or not
	WaitMs      float64  `json:"waitMs"`   // how long it has been ready
	Weight      float64  `json:"weight"`   // critical-path weight: predicted ms from its start to the end of the run
	PredictedMs float64  `json:"predictedMs"`
	Confidence  string   `json:"confidence"`
	FailureRate float64  `json:"failureRate"`
	Attempt     int      `json:"attempt"` // the attempt about to start or just finished
	Retries     int      `json:"retries"`
	Pool        string   `json:"pool,omitempty"`
}

// Candidate is a pool a task may run in, as the select policy sees it.
type Candidate struct {
	Name         string  `json:"name"`
	Slots        int     `json:"slots"`
	Free         int     `json:"free"`
	Performance  float64 `json:"performance"`  // relative speed, 1 by default
	Availability float64 `json:"availability"` // free ÷ slots
	Load         float64 `json:"load"`         // (running + 1) ÷ slots: what it would be with this task
}

// Hooks replace the default policies; a nil hook uses the default. Hooks are
// called from the run loop's goroutine and block it: they must be quick. An
// error from a hook stops the run (running tasks are interrupted) and is
// returned by Run.
type Hooks struct {
	Priority func(TaskInfo) (float64, error)
	Retry    func(info TaskInfo, r Result) (retry bool, delay time.Duration, err error)
	Select   func(TaskInfo, []Candidate) (string, error)
	// Batch groups ready tasks that share a batch key (given in priority
	// order) into batches of task names; the first batch starts now.
	Batch func(ready []TaskInfo) ([][]string, error)
}

// Priority layers: each dominates everything below it.
const (
	CriticalStep = 1e18 // critical: true
	PriorityStep = 1e15 // per unit of the priority option
	FailFastStep = 1e12 // × failure rate, with --fail-fast
	BlockingGain = 0.1  // a task blocking more than two others gains 10 % of its weight
)

// DefaultPriority is the built-in priority policy (scripts/policies/priority.js
// is the same rule in JavaScript): the critical-path weight, a gain for tasks
// that block more than two others, the task's own priority option as a
// large step, critical first, and with failFast the tasks most likely to fail.
func DefaultPriority(info TaskInfo, failFast bool) float64 {
	p := info.Weight
	if info.Blocking > 2 {
		p += BlockingGain * info.Weight
	}
	if failFast {
		p += FailFastStep * info.FailureRate
	}
	p += PriorityStep * float64(info.Priority)
	if info.Critical {
		p += CriticalStep
	}
	return p
}

// DefaultRetry retries while attempts remain, after DefaultBackoff.
func DefaultRetry(info TaskInfo, r Result) (bool, time.Duration) {
	if r.Interrupted || info.Attempt > info.Retries {
		return false, 0
	}
	return true, DefaultBackoff(nil, info.Attempt+1)
}

// DefaultSelect scores each pool with a free slot by performance ×
// availability ÷ load and picks the best; ties go to the first listed.
func DefaultSelect(cands []Candidate) string {
	best, bestScore := "", -1.0
	for _, c := range cands {
		if c.Free <= 0 {
			continue
		}
		if s := c.Performance * c.Availability / c.Load; s > bestScore {
			best, bestScore = c.Name, s
		}
	}
	return best
}

// pools returns the pools a task may run in: its list, or its one pool.
func pools(t *graph.Task) []string {
	if len(t.Pools) > 0 {
		return t.Pools
	}
	if t.Pool != "" {
		return []string{t.Pool}
	}
	return nil
}

// BatchTarget is the predicted duration the default batch policy aims a
// batch at.
const BatchTarget = 2 * time.Second

// DefaultBatch groups ready tasks, in the order given, into batches whose
// predicted durations add up to about BatchTarget; a task with no
// prediction counts as a sixteenth of it, so at most 16 unknown tasks share
// a process.
func DefaultBatch(ready []TaskInfo) [][]string {
	target := float64(BatchTarget / time.Millisecond)
	var out [][]string
	var cur []string
	sum := 0.0
	for _, t := range ready {
		ms := t.PredictedMs
		if ms <= 0 {
			ms = target / 16
		}
		if len(cur) > 0 && sum+ms > target {
			out = append(out, cur)
			cur, sum = nil, 0
		}
		cur = append(cur, t.Name)
		sum += ms
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
