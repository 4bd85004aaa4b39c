package optimize

import (
	"context"
	"errors"
	"sync"
)

// ErrEndOfScript is returned by a Script sampler once its samples are used up.
var ErrEndOfScript = errors.New("optimizer: end of scripted samples")

// Script is the fake Sampler: it returns its samples in order, then
// ErrEndOfScript. Safe for concurrent use, so a test may read Calls while
// Run samples.
type Script struct {
	mu      sync.Mutex
	samples []Sample
	calls   int
}

// NewScript returns a sampler that plays samples back.
func NewScript(samples ...Sample) *Script { return &Script{samples: samples} }

// Sample implements Sampler.
func (s *Script) Sample(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls >= len(s.samples) {
		return Sample{}, ErrEndOfScript
	}
	s.calls++
	return s.samples[s.calls-1], nil
}

// Calls is how many samples have been taken.
func (s *Script) Calls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls }
