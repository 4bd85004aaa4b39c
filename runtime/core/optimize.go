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
// ends the sampling goroutine and waits for it.
func startOptimizer(ctx context.Context, opt RunOptions) (optimizerRun, func(), error) {
	o := opt.Optimize
	if o == nil || opt.DryRun {
		return optimizerRun{}, func() {}, nil
	}
	rule := optimize.DefaultRule()
	if o.Rule != nil {
		rule = *o.Rule
	}
	sampler := o.Sampler
	if sampler == nil {
		sys, err := optimize.NewSystem(ctx)
		if err != nil {
			return optimizerRun{}, nil, err
		}
		sampler = sys
	}
	latest := optimize.NewLatest()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		optimize.Run(sctx, sampler, o.Interval, latest.Put) // a sampler error just ends adaptation
	}()
	run := optimizerRun{ctrl: optimize.NewController(rule, max(1, min(o.MinJobs, opt.Jobs)), max(1, opt.Jobs)),
		samples: latest.C(), hook: o.Hook}
	return run, func() { cancel(); <-done }, nil
}
