package core

import (
	"context"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/optimize"
)

// Optimize configures the resource-aware parallelism of a run.
type Optimize struct {
	MinJobs  int                                                             // lower bound (the run's Jobs is the upper)
	Interval time.Duration                                                   // between machine samples (0: 500 ms)
	Sampler  optimize.Sampler                                                // nil: the real machine (gopsutil)
	Rule     *optimize.Rule                                                  // nil: optimize.DefaultRule()
	Hook     func(optimize.Sample, optimize.State) (optimize.Verdict, error) // the strategy's parallelism policy, if any
}

type optimizerRun struct {
	ctrl    *optimize.Controller
	samples <-chan optimize.Sample
	hook    func(optimize.Sample, optimize.State) (optimize.Verdict, error)
}

// startOptimizer starts sampling the machine for a run; the returned stop
// ends the sampling goroutine and waits for it. The real machine's sampler
// takes its first readings (/proc, a few ms on a busy machine) on that
// goroutine, so the first tasks start without waiting for it; the first
// sample comes an interval later either way. A sampler that cannot read
// the machine ends adaptation, as a sampling error later does.
func startOptimizer(ctx context.Context, opt RunOptions) (optimizerRun, func()) {
	o := opt.Optimize
	if o == nil || opt.DryRun {
		return optimizerRun{}, func() {}
	}
	rule := optimize.DefaultRule()
	if o.Rule != nil {
		rule = *o.Rule
	}
	latest := optimize.NewLatest()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sampler := o.Sampler
		if sampler == nil {
			sys, err := optimize.NewSystem(sctx)
			if err != nil {
				return
			}
			sampler = sys
		}
		optimize.Run(sctx, sampler, o.Interval, latest.Put) // a sampler error just ends adaptation
	}()
	run := optimizerRun{ctrl: optimize.NewController(rule, max(1, min(o.MinJobs, opt.Jobs)), max(1, opt.Jobs)),
		samples: latest.C(), hook: o.Hook}
	return run, func() { cancel(); <-done }
}
