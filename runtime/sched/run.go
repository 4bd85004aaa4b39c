package sched

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

type finished struct {
	t       *graph.Task
	attempt int
	res     Result
}

// Run runs targets and everything they depend on. The graph must have been
// validated. It returns when nothing is running any more: all done, stopped
// after a failure, or interrupted through ctx.
func Run(ctx context.Context, g *graph.Graph, targets []string, opt Options) (*Report, error) {
	tasks, err := g.Closure(targets)
	if err != nil {
		return nil, err
	}
	l := newLoop(g, tasks, opt)
	l.run(ctx)
	return l.report(tasks), nil
}

type loop struct {
	opt     Options
	plan    *plan
	obs     Observer
	now     func() time.Time
	start   time.Time
	done    chan finished
	retry   chan *graph.Task
	timers  map[*graph.Task]*time.Timer
	stopped bool // interrupted
}

func newLoop(g *graph.Graph, tasks []*graph.Task, opt Options) *loop {
	l := &loop{opt: opt, plan: newPlan(g, tasks, opt), obs: opt.Observer, now: opt.Now,
		done: make(chan finished), retry: make(chan *graph.Task), timers: map[*graph.Task]*time.Timer{}}
	if l.obs == nil {
		l.obs = nopObserver{}
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.opt.Backoff == nil {
		l.opt.Backoff = DefaultBackoff
	}
	return l
}

// run is the loop: start ready tasks while there is capacity, then wait for
// one event (an attempt finished, a retry's delay passed, an interrupt) and
// account for it. It ends when nothing runs and nothing waits to retry.
func (l *loop) run(ctx context.Context) {
	l.start = l.now()
	cancelled := ctx.Done()
	for {
		for t := l.plan.next(); t != nil; t = l.plan.next() {
			l.launch(ctx, t)
		}
		if l.plan.running == 0 && len(l.timers) == 0 {
			return
		}
		select {
		case f := <-l.done:
			l.reap(f)
		case t := <-l.retry:
			delete(l.timers, t)
			if !l.plan.stopping {
				l.plan.push(t)
			} else {
				l.plan.reports[t.ID].Status = Interrupted
			}
		case <-cancelled:
			cancelled = nil // running attempts see ctx themselves
			l.stopped = true
			l.plan.stopping = true
			l.dropRetries()
		}
	}
}

func (l *loop) launch(ctx context.Context, t *graph.Task) {
	r := l.plan.start(t)
	attempt := r.Attempts
	l.obs.Started(t, attempt)
	go func() {
		l.done <- finished{t, attempt, l.opt.Runner.Run(ctx, t, attempt)}
	}()
}

// reap accounts for one finished attempt: success releases dependents; a
// failure retries (after a backoff, holding no slot) or fails the task.
func (l *loop) reap(f finished) {
	l.plan.release(f.t)
	r := l.plan.reports[f.t.ID]
	r.Result = f.res
	r.Busy += f.res.Duration
	if f.res.OK() {
		l.obs.Finished(f.t, f.attempt, f.res, false)
		st := OK
		if f.res.Cached {
			st = Cached
		}
		l.plan.succeed(f.t, st)
		return
	}
	retry := !f.res.Interrupted && !l.plan.stopping && f.attempt <= f.t.Retries
	l.obs.Finished(f.t, f.attempt, f.res, retry)
	if retry {
		r.Status = Pending
		l.scheduleRetry(f.t, l.opt.Backoff(f.t, f.attempt+1))
		return
	}
	st := Failed
	if f.res.Interrupted {
		st = Interrupted
	}
	for _, s := range l.plan.fail(f.t, st, f.res.Describe(f.t.Timeout)) {
		l.obs.Skipped(s.Task, s.Reason)
	}
	if !l.opt.KeepGoing {
		l.plan.stopping = true
	}
}

func (l *loop) scheduleRetry(t *graph.Task, d time.Duration) {
	l.timers[t] = time.AfterFunc(d, func() { l.retry <- t })
}

// dropRetries cancels pending retries after an interrupt; a timer that
// already fired is still received by the loop.
func (l *loop) dropRetries() {
	for t, tm := range l.timers {
		if tm.Stop() {
			delete(l.timers, t)
			l.plan.reports[t.ID].Status = Interrupted
		}
	}
}

// report closes the run: whatever never started is skipped, with a reason.
func (l *loop) report(tasks []*graph.Task) *Report {
	rep := &Report{Wall: l.now().Sub(l.start), Jobs: l.plan.jobs, Interrupted: l.stopped}
	for _, t := range tasks {
		r := l.plan.reports[t.ID]
		if r.Status == Pending {
			r.Status = Skipped
			r.Reason = "not started: the run stopped early"
			if l.stopped {
				r.Reason = "not started: interrupted"
			}
			l.obs.Skipped(t, r.Reason)
		}
		rep.Tasks = append(rep.Tasks, r)
	}
	return rep
}

// DefaultBackoff is exponential backoff with full jitter: attempt 2 waits up
// to 200ms, each later attempt doubles it, capped at 10s.
func DefaultBackoff(_ *graph.Task, attempt int) time.Duration {
	ceiling := 100 * time.Millisecond << min(attempt-1, 7)
	ceiling = min(ceiling, 10*time.Second)
	return ceiling/2 + rand.N(ceiling/2+1)
}

type nopObserver struct{}

func (nopObserver) Started(*graph.Task, int)                {}
func (nopObserver) Finished(*graph.Task, int, Result, bool) {}
func (nopObserver) Skipped(*graph.Task, string)             {}
