// Package sched runs a validated task graph: the plan (what is wanted, ready
// and running), the priorities that order ready tasks, slot accounting for
// the global job limit and per-pool limits, retries with backoff, and the
// run loop itself. How one attempt of a task is executed is the Runner's
// business (local processes, a cache, remote workers, or a dry run).
package sched

import (
	"context"
	"fmt"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/optimize"
)

// Status is what became of a task in a run.
type Status int

const (
	Pending Status = iota
	Running
	OK
	Cached
	Failed
	Skipped
	Interrupted
)

var statusNames = [...]string{"pending", "running", "ok", "cached", "failed", "skipped", "interrupted"}

func (s Status) String() string { return statusNames[s] }

// Result is the outcome of one attempt, as a Runner reports it.
type Result struct {
	Start       time.Time
	Duration    time.Duration
	ExitCode    int
	Signal      string
	TimedOut    bool
	Interrupted bool
	Cached      bool
	Saved       time.Duration // for a cache hit: how long the replayed run took
	AheadHit    bool          // a cache hit on a result that was run ahead (speculatively)
	PeakRSS     int64
	CPU         time.Duration
	Key         string
	Err         error // the attempt could not run (command not found, cache I/O, ...)
}

// OK reports whether the attempt succeeded.
func (r Result) OK() bool {
	return r.Err == nil && r.ExitCode == 0 && !r.TimedOut && !r.Interrupted
}

// Outcome names the attempt's result the way history records it.
func (r Result) Outcome() string {
	switch {
	case r.Interrupted:
		return "interrupted"
	case r.TimedOut:
		return "timeout"
	case r.Err != nil:
		return "error"
	case r.ExitCode != 0:
		return "failed"
	case r.Cached:
		return "cached"
	}
	return "ok"
}

// Describe says in a few words why an attempt failed ("exit 2", "killed by
// SIGKILL", "timed out after 5s"); "" for success.
func (r Result) Describe(timeout time.Duration) string {
	switch {
	case r.Interrupted:
		return "interrupted"
	case r.TimedOut:
		return fmt.Sprintf("timed out after %s", timeout)
	case r.Err != nil:
		return r.Err.Error()
	case r.Signal != "":
		return "killed by " + r.Signal
	case r.ExitCode != 0:
		return fmt.Sprintf("exit %d", r.ExitCode)
	}
	return ""
}

// Runner executes one attempt of a task.
//
// Contract: Run is called on a goroutine of its own, concurrently for
// different tasks, never twice at once for the same task. It blocks until the
// attempt is over and must return promptly (with Interrupted set) once ctx is
// cancelled.
type Runner interface {
	Run(ctx context.Context, t *graph.Task, attempt int) Result
}

// Prober is what a Runner may implement to settle the first attempt of a
// task without a slot: a cache hit starts no process, so it neither waits
// behind running processes for a slot nor holds one, and many are settled
// at once. The loop asks Probes (cheap, on the loop goroutine) for each
// task that becomes ready; Probe then runs on a goroutine of the probe pool,
// concurrently for different tasks. On a hit it returns the attempt's
// result and show, which the loop calls right after reporting the task
// started, so that what the hit prints comes after the start; otherwise
// the task is queued for a slot and Run gives it its first attempt.
type Prober interface {
	Probes(t *graph.Task) bool
	Probe(ctx context.Context, t *graph.Task) (r Result, show func(), hit bool)
}

type specKey struct{}

// IsSpeculative reports whether an attempt's context is that of a task run
// ahead of a request (see Options.Speculate).
func IsSpeculative(ctx context.Context) bool { return ctx.Value(specKey{}) != nil }

// SpecObserver is what an Observer may implement to hear about tasks run
// ahead; without it, they are reported through Started and Finished.
type SpecObserver interface {
	Speculating(t *graph.Task)
	SpeculationDone(t *graph.Task, r Result)
}

// OptimizeObserver is what an Observer may implement to hear the
// optimizer: each machine sample, each change of parallelism, and each task
// held back because its memory would not fit (once per task).
type OptimizeObserver interface {
	Sampled(s optimize.Sample, jobs int)
	Changed(e optimize.Event)
	Held(t *graph.Task, reason string)
}

// Observer hears about progress. All methods are called from the loop
// goroutine, in order; they must not block for long.
type Observer interface {
	Started(t *graph.Task, attempt int)
	Finished(t *graph.Task, attempt int, r Result, willRetry bool)
	Skipped(t *graph.Task, reason string)
}

// Options control one run.
type Options struct {
	Jobs      int            // global slots, at least 1
	Pools     map[string]int // pool name -> slots
	KeepGoing bool           // --continue: run all that does not depend on a failure
	Runner    Runner
	Observer  Observer // may be nil
	// Predict says what history knows of a task; nil (or nothing known)
	// orders by structure: every task counts as 1.
	Predict func(*graph.Task) Prediction
	Hooks   Hooks
	// FailFast starts first the ready tasks most likely to fail.
	FailFast bool
	// Order is "critical" (the default: priority policy, critical path) or
	// "fifo" (ready order, then definition order), for comparison.
	Order string
	// Speculate names tasks that were not asked for but are likely to be
	// next: with a slot idle and nothing requested ready, they (and what
	// they need) run ahead at the lowest priority, and are stopped at once
	// when requested work needs the slot. Their results are not part of the
	// run's outcome (Report.Speculated); a Runner can tell them by
	// IsSpeculative(ctx).
	Speculate []string
	// Optimizer, when set, changes the number of slots (between its bounds,
	// Jobs being the upper) from the machine samples on Samples, and holds a
	// task whose predicted peak RSS would not fit. Parallelism, when set,
	// replaces its rule (the JS hook); an error from it stops the run.
	Optimizer   *optimize.Controller
	Samples     <-chan optimize.Sample
	Parallelism func(optimize.Sample, optimize.State) (optimize.Verdict, error)
	// Tick is how often running tasks are checked against their predictions
	// (0: 250ms); an overrun makes the remaining weights be recomputed.
	Tick time.Duration
	Now  func() time.Time // nil: time.Now
}

// TaskReport is the end state of one task.
type TaskReport struct {
	Task     *graph.Task
	Status   Status
	Attempts int
	Result   Result        // the last attempt
	Busy     time.Duration // time spent running, over all attempts
	Reason   string        // why it was skipped or failed
	Pool     string        // the pool its last attempt ran in
}

// Report is the end state of a run.
type Report struct {
	Tasks       []*TaskReport // in topological order
	Speculated  []*TaskReport // tasks run ahead that were not asked for
	Wall        time.Duration
	Jobs        int
	Interrupted bool
}

// OK is true when every task ended ok or cached.
func (r *Report) OK() bool {
	for _, t := range r.Tasks {
		if t.Status != OK && t.Status != Cached {
			return false
		}
	}
	return !r.Interrupted
}

// Counts returns how many tasks ended in each status, by status name.
func (r *Report) Counts() map[string]int {
	c := map[string]int{}
	for _, t := range r.Tasks {
		c[t.Status.String()]++
	}
	return c
}

// Busy is Σ task time: the time all attempts spent running.
func (r *Report) Busy() time.Duration {
	var sum time.Duration
	for _, t := range r.Tasks {
		sum += t.Busy
	}
	return sum
}

// Efficiency is Σ task times ÷ (wall × slots), the seed's parallel efficiency.
func (r *Report) Efficiency() float64 {
	if r.Wall <= 0 || r.Jobs <= 0 {
		return 0
	}
	return float64(r.Busy()) / (float64(r.Wall) * float64(r.Jobs))
}
