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
	ok, reason := c.Admit(l.prio.pred[t.ID].PeakRSS, l.plan.running)
	if !ok && !l.held[t.ID] {
		l.held[t.ID] = true
		if o, isOpt := l.obs.(OptimizeObserver); isOpt {
			o.Held(t, reason)
		}
	}
	return ok
}
