package remote

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// fleet is the coordinator's view of the workers (from their heartbeats)
// and of its own attempts in flight: per pool, never more in flight than
// the live workers' slots, and waiting attempts go in the order they
// asked (first come, first served, so the scheduler's order is kept).
//
// Contract: safe for concurrent use; acquire blocks until a slot is free
// or ctx is done.
type fleet struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	workers  map[string]*seen
	inFlight map[string]int
	queue    map[string][]*int // waiting tickets per pool, in order
	wake     chan struct{}     // closed and replaced on every change
	ready    chan struct{}     // closed once the first snapshot is in
	isReady  bool
}

type seen struct {
	hb   heartbeat
	last time.Time
	rev  uint64
}

func newFleet(ttl time.Duration) *fleet {
	return &fleet{ttl: ttl, now: time.Now, workers: map[string]*seen{}, inFlight: map[string]int{},
		queue: map[string][]*int{}, wake: make(chan struct{}), ready: make(chan struct{})}
}

// broadcast wakes every waiter; mu must be held.
func (f *fleet) broadcast() {
	close(f.wake)
	f.wake = make(chan struct{})
}

// watch reads the workers bucket every interval until ctx is done. A
// worker counts as seen when its entry has a new revision: liveness is
// measured on the coordinator's clock, never compared with a worker's.
// (A snapshot per poll, rather than one long watch, keeps working through
// a server restart without any reset logic.)
func (f *fleet) watch(ctx context.Context, kv jetstream.KeyValue, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if snap, err := snapshot(ctx, kv); err == nil {
			f.update(snap)
		}
		f.markReady()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// snapshot reads every current entry of the bucket.
func snapshot(ctx context.Context, kv jetstream.KeyValue) (map[string]jetstream.KeyValueEntry, error) {
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	w, err := kv.WatchAll(wctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	out := map[string]jetstream.KeyValueEntry{}
	for {
		select {
		case <-wctx.Done():
			return nil, wctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("the watch of the workers bucket ended")
			}
			if e == nil {
				return out, nil // the initial values are all in
			}
			out[e.Key()] = e
		}
	}
}

// update takes a snapshot in: new revisions are fresh heartbeats, missing
// keys are workers gone (stopped, or expired by the bucket's TTL).
func (f *fleet) update(snap map[string]jetstream.KeyValueEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.broadcast()
	now := f.now()
	for id := range f.workers {
		if _, ok := snap[id]; !ok {
			delete(f.workers, id)
		}
	}
	for id, e := range snap {
		var hb heartbeat
		if json.Unmarshal(e.Value(), &hb) != nil {
			continue
		}
		if old := f.workers[id]; old != nil && old.rev == e.Revision() {
			continue
		}
		f.workers[id] = &seen{hb: hb, last: now, rev: e.Revision()}
	}
}

func (f *fleet) markReady() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.isReady {
		f.isReady = true
		close(f.ready)
	}
}

// live returns the workers heard from within the TTL, on our platform.
func (f *fleet) live() []heartbeat {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.liveLocked()
}

func (f *fleet) liveLocked() []heartbeat {
	var out []heartbeat
	now := f.now()
	for _, s := range f.workers {
		if now.Sub(s.last) <= f.ttl && s.hb.Platform == Platform {
			out = append(out, s.hb)
		}
	}
	slices.SortFunc(out, func(a, b heartbeat) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}

// capacity is the live slots serving pool.
func (f *fleet) capacity(pool string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.capacityLocked(pool)
}

func (f *fleet) capacityLocked(pool string) int {
	n := 0
	for _, w := range f.liveLocked() {
		if slices.Contains(w.Pools, pool) {
			n += w.Slots
		}
	}
	return n
}

// acquire waits for a free slot in pool, in turn. waiting is called once
// if the attempt has to wait for lack of any worker at all.
func (f *fleet) acquire(ctx context.Context, pool string, waiting func()) error {
	ticket := new(int)
	f.mu.Lock()
	f.queue[pool] = append(f.queue[pool], ticket)
	said := false
	for {
		q := f.queue[pool]
		capacity := f.capacityLocked(pool)
		if q[0] == ticket && f.inFlight[pool] < capacity {
			f.queue[pool] = q[1:]
			f.inFlight[pool]++
			f.broadcast()
			f.mu.Unlock()
			return nil
		}
		if capacity == 0 && !said && waiting != nil {
			said = true
			f.mu.Unlock()
			waiting()
			f.mu.Lock()
			continue
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			f.mu.Lock()
			f.queue[pool] = slices.DeleteFunc(f.queue[pool], func(t *int) bool { return t == ticket })
			f.broadcast()
			f.mu.Unlock()
			return ctx.Err()
		case <-wake:
		}
		f.mu.Lock()
	}
}

// release gives a slot back.
func (f *fleet) release(pool string) {
	f.mu.Lock()
	f.inFlight[pool]--
	f.broadcast()
	f.mu.Unlock()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
