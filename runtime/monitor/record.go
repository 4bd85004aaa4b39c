package monitor

import (
	"sync"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// Recorder builds the Timeline of a live run. It is a sched.Observer that
// passes every event on to Next; Sampled and Changed add the optimizer's
// samples and parallelism changes.
//
// Contract: the Observer methods come from the run loop, as sched
// promises; Sampled, Changed and Timeline may be called from any
// goroutine (a mutex guards the state).
type Recorder struct {
	Next sched.Observer // may be nil

	mu      sync.Mutex
	start   time.Time
	now     func() time.Time
	tl      Timeline
	index   map[string]int       // task -> position in tl.Tasks
	running map[runKey]time.Time // attempts started and not finished
}

type runKey struct {
	task    string
	attempt int
}

// NewRecorder starts a timeline at start for tasks (the run's tasks in
// topological order, e.g. from Graph.Closure) with jobs slots. now is the
// clock (nil: time.Now).
func NewRecorder(runID string, start time.Time, jobs int, tasks []*graph.Task, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	// Every task usually ends with one span: the lists are sized for that.
	r := &Recorder{start: start, now: now, index: make(map[string]int, len(tasks)), running: map[runKey]time.Time{},
		tl: Timeline{RunID: runID, Start: start, Jobs: jobs, Tasks: make([]TaskInfo, 0, len(tasks)), Spans: make([]Span, 0, len(tasks))}}
	for _, t := range tasks {
		r.index[t.Name] = len(r.tl.Tasks)
		r.tl.Tasks = append(r.tl.Tasks, TaskInfo{Name: t.Name, Deps: t.Deps, Status: "pending", NoCache: t.NoCache})
	}
	return r
}

func (r *Recorder) setStatus(task, status string) {
	if i, ok := r.index[task]; ok {
		r.tl.Tasks[i].Status = status
		return
	}
	r.index[task] = len(r.tl.Tasks)
	r.tl.Tasks = append(r.tl.Tasks, TaskInfo{Name: task, Status: status})
}

// Started implements sched.Observer.
func (r *Recorder) Started(t *graph.Task, attempt int) {
	r.mu.Lock()
	r.running[runKey{t.Name, attempt}] = r.now()
	r.setStatus(t.Name, "running")
	r.mu.Unlock()
	if r.Next != nil {
		r.Next.Started(t, attempt)
	}
}

// Finished implements sched.Observer. The span starts at the result's Start
// when the runner set it, else when the loop started the attempt.
func (r *Recorder) Finished(t *graph.Task, attempt int, res sched.Result, retry bool) {
	r.mu.Lock()
	key := runKey{t.Name, attempt}
	began := res.Start
	if began.IsZero() {
		began = r.running[key]
	}
	delete(r.running, key)
	start := began.Sub(r.start)
	r.tl.Spans = append(r.tl.Spans, Span{Task: t.Name, Start: start, End: start + res.Duration, Status: res.Outcome(),
		Attempt: attempt, ExitCode: res.ExitCode, Cached: res.Cached, PeakRSS: res.PeakRSS})
	switch {
	case retry:
		r.setStatus(t.Name, "pending")
	case res.OK() && res.Cached:
		r.setStatus(t.Name, "cached")
	case res.OK():
		r.setStatus(t.Name, "ok")
	case res.Interrupted:
		r.setStatus(t.Name, "interrupted")
	default:
		r.setStatus(t.Name, "failed")
	}
	r.mu.Unlock()
	if r.Next != nil {
		r.Next.Finished(t, attempt, res, retry)
	}
}

// Skipped implements sched.Observer.
func (r *Recorder) Skipped(t *graph.Task, reason string) {
	r.mu.Lock()
	r.setStatus(t.Name, "skipped")
	r.mu.Unlock()
	if r.Next != nil {
		r.Next.Skipped(t, reason)
	}
}

// Sampled records a machine sample taken at time at.
func (r *Recorder) Sampled(at time.Time, cpuPercent, memUsedPercent float64) {
	r.mu.Lock()
	r.tl.Resources = append(r.tl.Resources, Resource{At: at.Sub(r.start), CPUPercent: cpuPercent, MemUsedPercent: memUsedPercent})
	r.mu.Unlock()
}

// Changed records a change of the effective parallelism.
func (r *Recorder) Changed(at time.Time, from, to int, reason string) {
	r.mu.Lock()
	r.tl.Changes = append(r.tl.Changes, Change{At: at.Sub(r.start), From: from, To: to, Reason: reason})
	r.mu.Unlock()
}

// Timeline returns a copy of the timeline so far: Wall is the time since
// the start, and attempts still going on are spans with status "running"
// ending now. Call it once more after the run for the final timeline (or
// set Wall from the scheduler's report).
func (r *Recorder) Timeline() Timeline {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	tl := r.tl
	tl.Wall = now.Sub(r.start)
	tl.Tasks = append([]TaskInfo(nil), r.tl.Tasks...)
	tl.Spans = append([]Span(nil), r.tl.Spans...)
	tl.Resources = append([]Resource(nil), r.tl.Resources...)
	tl.Changes = append([]Change(nil), r.tl.Changes...)
	for k, began := range r.running {
		start := began.Sub(r.start)
		tl.Spans = append(tl.Spans, Span{Task: k.task, Start: start, End: max(start, tl.Wall), Status: SpanRunning, Attempt: k.attempt})
	}
	return tl
}

// FromHistory rebuilds a finished run's timeline from its records (as
// history.Run returns them). deps gives each task's dependencies when the
// strategy is at hand (nil otherwise: the critical path is then the longest
// task). Tasks that never started are not in history, so they are missing.
func FromHistory(run history.RunRecord, recs []history.TaskRecord, deps map[string][]string) Timeline {
	start := run.Start
	for _, r := range recs {
		if start.IsZero() || r.Start.Before(start) {
			start = r.Start
		}
	}
	tl := Timeline{RunID: run.ID, Start: start, Wall: run.Wall, Jobs: run.Jobs}
	seen := map[string]bool{}
	var end time.Duration
	for _, r := range recs {
		s := r.Start.Sub(start)
		tl.Spans = append(tl.Spans, Span{Task: r.Task, Start: s, End: s + r.Duration, Status: r.Outcome, Attempt: r.Attempt,
			ExitCode: r.ExitCode, Cached: r.Outcome == history.OutcomeCached, PeakRSS: r.PeakRSS})
		end = max(end, s+r.Duration)
		if !seen[r.Task] {
			seen[r.Task] = true
			tl.Tasks = append(tl.Tasks, TaskInfo{Name: r.Task, Deps: deps[r.Task]})
		}
	}
	if tl.Wall <= 0 {
		tl.Wall = end
	}
	return tl
}

// ExpectedBefore is the prediction a task had before a run that started
// at before: history.PredictFrom over the records (newest first) older
// than that.
func ExpectedBefore(task string, recs []history.TaskRecord, before time.Time) Expected {
	var older []history.TaskRecord
	for _, r := range recs {
		if r.Start.Before(before) {
			older = append(older, r)
		}
	}
	return ExpectedFrom(history.PredictFrom(task, older))
}
