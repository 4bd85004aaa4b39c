package sched

import (
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/optimize"
)

// sampled hands a machine sample to the optimizer, which may change the
// number of slots: running tasks go on; nothing new starts above the new
// number.
func (l *loop) sampled(s optimize.Sample) {
	c := l.opt.Optimizer
	if c == nil {
		return
	}
	var hookErr error
	if h := l.opt.Parallelism; h != nil {
		c.Policy = func(s optimize.Sample, st optimize.State) optimize.Verdict {
			v, err := h(s, st)
			if err != nil {
				hookErr = err
				return optimize.Verdict{Jobs: st.Jobs}
			}
			return v
		}
	}
	jobs, events := c.Update(s, optimize.Load{Running: l.plan.running, Waiting: l.plan.ready.Len(), Speculation: len(l.plan.spec) > 0})
	if hookErr != nil {
		l.failPolicy(hookErr)
		return
	}
	l.plan.jobs = jobs
	o, ok := l.obs.(OptimizeObserver)
	if !ok {
		return
	}
	o.Sampled(s, jobs)
	for _, e := range events {
		o.Changed(e)
	}
}

// admit asks the optimizer whether a task's predicted peak memory fits now.
func (l *loop) admit(t *graph.Task) bool {
	c := l.opt.Optimizer
	if c == nil {
		return true
	}
	rss := l.prio.pred[t.ID].PeakRSS
	ok, reason := c.Admit(rss, l.plan.running)
	if ok && rss > 0 {
		l.reserved[t.ID] = reservation{rss, c.Generation()}
	}
	if !ok && !l.held[t.ID] {
		l.held[t.ID] = true
		if o, isOpt := l.obs.(OptimizeObserver); isOpt {
			o.Held(t, reason)
		}
	}
	return ok
}

// reservation is the memory admit set aside for a started task.
type reservation struct {
	rss int64
	gen uint64
}

// releaseMemory gives back the reservations of tasks that ended, so a run
// of short tasks (or cache hits) between two samples does not use up the
// memory it was admitted against.
func (l *loop) releaseMemory(ts ...*graph.Task) {
	c := l.opt.Optimizer
	for _, t := range ts {
		if r, ok := l.reserved[t.ID]; ok {
			delete(l.reserved, t.ID)
			if c != nil {
				c.Release(r.rss, r.gen)
			}
		}
	}
}
