package optimize

import (
	"context"
	"fmt"
	"time"
)

// Run samples every interval (DefaultInterval when interval <= 0) and calls
// onSample with each sample, on the calling goroutine, until ctx is done
// (then it returns nil) or the sampler fails (then it returns the error and
// samples no more: the run goes on at its current parallelism).
//
// onSample must not block for long: forward the sample to the run loop with
// Latest.Put. The first sample is taken one interval after Run starts.
func Run(ctx context.Context, s Sampler, interval time.Duration, onSample func(Sample)) error {
	if interval <= 0 {
		interval = DefaultInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		smp, err := s.Sample(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("optimizer: sampling stopped: %w", err)
		}
		onSample(smp)
	}
}

// Latest hands the newest sample from the sampling goroutine to the run
// loop: Put never blocks and replaces a sample nobody took yet, so the loop
// always sees the newest one and the sampler never waits on the loop.
// Put is for one producer goroutine; C for one consumer.
type Latest struct{ ch chan Sample }

// NewLatest returns an empty mailbox.
func NewLatest() *Latest { return &Latest{ch: make(chan Sample, 1)} }

// Put stores s, dropping an older sample not yet received.
func (l *Latest) Put(s Sample) {
	for {
		select {
		case l.ch <- s:
			return
		default:
		}
		select {
		case <-l.ch:
		default:
		}
	}
}

// C is the channel the run loop selects on.
func (l *Latest) C() <-chan Sample { return l.ch }
