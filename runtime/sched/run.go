package sched

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
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
// after a failure, interrupted through ctx, or stopped by a policy error
// (returned with the report).
func Run(ctx context.Context, g *graph.Graph, targets []string, opt Options) (*Report, error) {
	tasks, err := g.Closure(targets)
	if err != nil {
		return nil, err
	}
	spec, err := ahead(g, tasks, opt.Speculate)
	if err != nil {
		return nil, err
	}
	l := newLoop(g, tasks, spec, opt)
	l.run(ctx)
	return l.report(tasks), l.err
}

// ahead returns what running the speculative targets needs beyond tasks.
func ahead(g *graph.Graph, tasks []*graph.Task, targets []string) ([]*graph.Task, error) {
	if len(targets) == 0 {
		return nil, nil
	}
	all, err := g.Closure(targets)
	if err != nil {
		return nil, err
	}
	wanted := map[int]bool{}
	for _, t := range tasks {
		wanted[t.ID] = true
	}
	var out []*graph.Task
	for _, t := range all {
		if !wanted[t.ID] {
			out = append(out, t)
		}
	}
	return out, nil
}

type loop struct {
	opt     Options
	plan    *plan
	prio    *prioritizer
	obs     Observer
	now     func() time.Time
	start   time.Time
	done    chan finished
	work    chan func() finished // attempts for idle goroutines (see goRun)
	idle    int                  // goroutines waiting on work
	retry   chan *graph.Task
	timers  map[*graph.Task]*time.Timer
	started map[int]time.Time // running tasks' start
	stopped bool              // interrupted
	cancel  context.CancelFunc
	err     error // a policy failed

	held       map[int]bool                  // tasks already reported as held for memory
	reserved   map[int]reservation           // memory set aside for running tasks
	batches    map[*graph.Task][]*graph.Task // running batches: the runner's task -> members
	specCancel map[int]context.CancelFunc    // running speculative attempts
	specOrder  []int                         // their start order, to stop the newest first

	prober  Prober          // the Runner, when it can settle tasks without a slot
	toProbe []*graph.Task   // ready tasks waiting for the probe pool
	out     int             // batches of them out on the pool
	probed  chan []probeEnd // what came back
	probers int             // the pool's size
}

// probeEnd is what probing one task gave.
type probeEnd struct {
	t    *graph.Task
	res  Result
	show func()
	hit  bool
}

// probeBatch is how many ready tasks one probe goroutine takes at a time:
// enough that the hand-over costs little against the probes, few enough
// that a miss among them waits little for its slot.
const probeBatch = 32

func newLoop(g *graph.Graph, tasks, spec []*graph.Task, opt Options) *loop {
	l := &loop{opt: opt, plan: newPlan(g, tasks, spec, opt), prio: newPrioritizer(g, append(append([]*graph.Task(nil), tasks...), spec...), opt.Predict),
		specCancel: map[int]context.CancelFunc{}, held: map[int]bool{}, reserved: map[int]reservation{}, batches: map[*graph.Task][]*graph.Task{},
		obs: opt.Observer, now: opt.Now, done: make(chan finished), work: make(chan func() finished), retry: make(chan *graph.Task),
		timers: map[*graph.Task]*time.Timer{}, started: map[int]time.Time{}}
	if l.obs == nil {
		l.obs = nopObserver{}
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.opt.Tick <= 0 {
		l.opt.Tick = 250 * time.Millisecond
	}
	if p, ok := opt.Runner.(Prober); ok {
		l.prober, l.probed, l.probers = p, make(chan []probeEnd), max(2, runtime.GOMAXPROCS(0))
	}
	return l
}

// run is the loop: start ready tasks while there is capacity, then wait for
// one event (an attempt finished, a retry's delay passed, a tick to check
// running tasks against their predictions, an interrupt) and account for it.
// It ends when nothing runs and nothing waits to retry.
func (l *loop) run(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	l.cancel = cancel
	l.start = l.now()
	for _, t := range l.plan.initial() {
		l.push(t)
	}
	defer func() {
		for _, cancel := range l.specCancel {
			cancel()
		}
		close(l.work) // idle attempt goroutines end
	}()
	tick := time.NewTicker(l.opt.Tick)
	defer tick.Stop()
	cancelled := parent.Done()
	for {
		l.preempt()
		l.fill(ctx)
		l.probe(ctx)
		if l.plan.running == 0 && len(l.timers) == 0 && l.out == 0 {
			return
		}
		select {
		case f := <-l.done:
			l.idle++ // its goroutine now waits on l.work
			l.reap(f)
		case ends := <-l.probed:
			l.out--
			for _, e := range ends {
				l.settle(e)
			}
		case t := <-l.retry:
			delete(l.timers, t)
			if l.plan.stopping {
				l.plan.reports[t.ID].Status = Interrupted
			} else {
				l.push(t)
			}
		case <-tick.C:
			l.checkOverruns()
			l.age(l.now())
		case smp := <-l.opt.Samples:
			l.sampled(smp)
		case <-cancelled:
			cancelled = nil // running attempts see ctx themselves
			l.stopped = true
			l.stop()
		}
	}
}

// fill starts ready tasks while slots are free.
func (l *loop) fill(ctx context.Context) {
	for {
		t, pool, err := l.plan.next(l.choose, l.admit)
		if err != nil {
			l.failPolicy(err)
			return
		}
		if t == nil {
			return
		}
		if t.Batch != "" && !l.plan.spec[t.ID] {
			l.batchUp(ctx, t, pool)
			continue
		}
		l.launch(ctx, t, pool)
	}
}

func (l *loop) launch(ctx context.Context, t *graph.Task, pool string) {
	r := l.plan.start(t, pool)
	attempt := r.Attempts
	l.started[t.ID] = l.now()
	if l.plan.spec[t.ID] {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(context.WithValue(ctx, specKey{}, true))
		l.specCancel[t.ID] = cancel
		l.specOrder = append(l.specOrder, t.ID)
		if so, ok := l.obs.(SpecObserver); ok {
			so.Speculating(t)
		} else {
			l.obs.Started(t, attempt)
		}
	} else {
		l.obs.Started(t, attempt)
	}
	l.goRun(func() finished { return finished{t, attempt, l.opt.Runner.Run(ctx, t, attempt)} })
}

// goRun runs an attempt on a goroutine that sends its end to l.done. A
// goroutine whose attempt was reaped takes the next one: a new goroutine
// per attempt would grow a fresh stack each time, a cost that shows in a
// run of thousands of cache hits. After sending to l.done a goroutine
// does nothing but wait on l.work, so the send here never waits long;
// closing l.work ends the idle ones.
func (l *loop) goRun(attempt func() finished) {
	if l.idle > 0 {
		l.idle--
		l.work <- attempt
		return
	}
	go func() {
		for ; attempt != nil; attempt = <-l.work {
			l.done <- attempt()
		}
	}()
}

// probe hands ready tasks waiting for the probe pool to it, a batch per
// goroutine, while it has room.
func (l *loop) probe(ctx context.Context) {
	if l.plan.stopping {
		for _, t := range l.toProbe {
			delete(l.plan.probing, t.ID)
		}
		l.toProbe = l.toProbe[:0] // never started: the report says so
		return
	}
	for len(l.toProbe) > 0 && l.out < l.probers {
		n := min(probeBatch, len(l.toProbe))
		batch := append([]*graph.Task(nil), l.toProbe[:n]...)
		l.toProbe = l.toProbe[n:]
		l.out++
		go func() {
			ends := make([]probeEnd, len(batch))
			for i, t := range batch {
				ends[i].t = t
				if ctx.Err() == nil {
					ends[i].res, ends[i].show, ends[i].hit = l.prober.Probe(ctx, t)
				}
			}
			l.probed <- ends
		}()
	}
	if len(l.toProbe) == 0 {
		l.toProbe = nil // let the drained array go
	}
}

// settle accounts for one probed task: a hit is an attempt that ended as
// it started, taking no slot; a miss joins the queue for a slot in the
// place it held meanwhile. Once the run is stopping nothing more starts: a
// hit is not reported, and the report says the task never started.
func (l *loop) settle(e probeEnd) {
	it := l.plan.probing[e.t.ID]
	delete(l.plan.probing, e.t.ID)
	switch {
	case l.plan.stopping:
	case !e.hit:
		heap.Push(&l.plan.ready, it)
	default:
		r := l.plan.start(e.t, "")
		l.obs.Started(e.t, r.Attempts)
		if e.show != nil {
			e.show()
		}
		l.reap(finished{e.t, r.Attempts, e.res})
	}
}

// push queues a ready task for a slot under its priority or, when the
// Runner may settle it without a slot, hands it to the probe pool: until
// its probe is back it holds its place, and nothing below it takes a slot.
func (l *loop) push(t *graph.Task) {
	now := l.now()
	p, err := l.priority(t, now, now)
	if err != nil {
		l.failPolicy(err)
		return
	}
	if l.plan.spec[t.ID] {
		p = SpeculativeFloor + l.prio.weights[t.ID] // below everything asked for
	}
	it := readyItem{t: t, prio: p, key: p, readyAt: now}
	if l.prober != nil && !l.plan.stopping && !l.plan.spec[t.ID] && t.Batch == "" &&
		l.plan.reports[t.ID].Attempts == 0 && l.prober.Probes(t) {
		l.toProbe = append(l.toProbe, t)
		l.plan.probing[t.ID] = it
		heap.Push(&l.plan.probeQ, it)
		return
	}
	heap.Push(&l.plan.ready, it)
}

// SpeculativeFloor is the priority of tasks run ahead: below any task that
// was asked for, whatever its priority option.
const SpeculativeFloor = -1e20

// preempt stops speculative attempts that stand in the way: when asked-for
// work is ready and no slot is free, the newest one is cancelled (its
// result is dropped, never cached); when nothing asked for is left, or the
// run is stopping, all of them are.
func (l *loop) preempt() {
	if len(l.specCancel) == 0 {
		return
	}
	if l.plan.wantedLeft == 0 || l.plan.stopping {
		for id, cancel := range l.specCancel {
			cancel()
			delete(l.specCancel, id)
		}
		return
	}
	top := l.plan.ready.Len() > 0 && !l.plan.spec[l.plan.ready[0].t.ID]
	for top && l.plan.running >= l.plan.jobs && len(l.specOrder) > 0 {
		id := l.specOrder[len(l.specOrder)-1]
		l.specOrder = l.specOrder[:len(l.specOrder)-1]
		if cancel, ok := l.specCancel[id]; ok {
			cancel()
			delete(l.specCancel, id)
			return // its slot comes back when it is reaped
		}
	}
}

// priority of t, ready since readyAt, from the hook or the default policy;
// with --order fifo, ready order alone.
func (l *loop) priority(t *graph.Task, readyAt, now time.Time) (float64, error) {
	if l.opt.Order == "fifo" {
		return -float64(readyAt.Sub(l.start)), nil
	}
	info := l.prio.info(t, l.plan.reports[t.ID].Attempts+1, float64(now.Sub(readyAt))/float64(time.Millisecond))
	if h := l.opt.Hooks.Priority; h != nil {
		return h(info)
	}
	return DefaultPriority(info, l.opt.FailFast), nil
}

// AgingAfter is how long a ready task waits before it starts to age: from
// then on it gains, per ms, the run's largest weight ÷ 60 000. Below it,
// order is exactly the priority order.
const AgingAfter = 10 * time.Second

// age re-keys the ready queue when a task has waited past AgingAfter.
func (l *loop) age(now time.Time) {
	old := false
	for _, it := range l.plan.ready {
		old = old || now.Sub(it.readyAt) > AgingAfter
	}
	if !old || l.opt.Order == "fifo" {
		return
	}
	for i, it := range l.plan.ready {
		waited := float64(now.Sub(it.readyAt)-AgingAfter) / float64(time.Millisecond)
		l.plan.ready[i].key = it.prio + l.prio.aging*max(0, waited)
	}
	heap.Init(&l.plan.ready)
}

// choose asks the select policy for one of the task's pools.
func (l *loop) choose(t *graph.Task, cands []Candidate) (string, error) {
	if h := l.opt.Hooks.Select; h != nil {
		pool, err := h(l.prio.info(t, l.plan.reports[t.ID].Attempts+1, 0), cands)
		if err != nil {
			return "", err
		}
		for _, c := range cands {
			if c.Name == pool {
				return pool, nil
			}
		}
		return "", fmt.Errorf("select policy chose %q for task %q, not one of its pools with a free slot", pool, t.Name)
	}
	return DefaultSelect(cands), nil
}

// checkOverruns: a running task past 1.5 × its prediction will take longer
// than planned, so the weights of everything are recomputed with its
// elapsed time × 1.5 and the ready queue is re-ordered.
func (l *loop) checkOverruns() {
	now := l.now()
	dirty := false
	for id, start := range l.started {
		p := l.prio.pred[id]
		elapsed := float64(now.Sub(start)) / float64(time.Millisecond)
		limit := 1.5 * max(p.Ms, l.prio.override[id]/1.5)
		if p.Ms > 0 && elapsed > limit && elapsed > p.Ms+100 {
			l.prio.override[id] = 1.5 * elapsed
			dirty = true
		}
	}
	if !dirty {
		return
	}
	l.prio.recompute()
	items := append([]readyItem(nil), l.plan.ready...)
	l.plan.ready = l.plan.ready[:0]
	for _, it := range items {
		p, err := l.priority(it.t, it.readyAt, now)
		if err != nil {
			l.failPolicy(err)
			return
		}
		it.prio, it.key = p, p
		heap.Push(&l.plan.ready, it)
	}
}

// reap accounts for one finished attempt: success releases dependents; a
// failure retries (after a backoff, holding no slot) or fails the task.
func (l *loop) reap(f finished) {
	l.releaseMemory(f.t)
	if members, ok := l.batches[f.t]; ok {
		l.releaseMemory(members...)
		l.reapBatch(f, members)
		return
	}
	l.plan.release(f.t)
	delete(l.started, f.t.ID)
	r := l.plan.reports[f.t.ID]
	r.Result = f.res
	if !f.res.Cached { // a hit holds no slot: its restore is not task time
		r.Busy += f.res.Duration
	}
	if l.plan.spec[f.t.ID] {
		l.reapSpeculative(f, r)
		return
	}
	if c := l.opt.Optimizer; c != nil && !f.res.Cached && !f.res.Interrupted {
		c.Finished(f.res.OK())
	}
	if f.res.OK() {
		l.obs.Finished(f.t, f.attempt, f.res, false)
		st := OK
		if f.res.Cached {
			st = Cached
		}
		l.plan.done(f.t)
		for _, u := range l.plan.succeed(f.t, st) {
			l.push(u)
		}
		return
	}
	retry, delay := l.decideRetry(f)
	l.obs.Finished(f.t, f.attempt, f.res, retry)
	if retry {
		r.Status = Pending
		l.scheduleRetry(f.t, delay)
		return
	}
	st := Failed
	if f.res.Interrupted {
		st = Interrupted
	}
	l.plan.done(f.t)
	for _, s := range l.plan.fail(f.t, st, f.res.Describe(f.t.Timeout)) {
		l.obs.Skipped(s.Task, s.Reason)
	}
	if !l.opt.KeepGoing {
		l.plan.stopping = true
	}
}

// reapSpeculative accounts for a task run ahead: success lets what depends
// on it run ahead too; anything else (a failure, a preemption) drops it and
// its dependents, without retries and without stopping the run.
func (l *loop) reapSpeculative(f finished, r *TaskReport) {
	if cancel, ok := l.specCancel[f.t.ID]; ok {
		cancel()
		delete(l.specCancel, f.t.ID)
	}
	if so, ok := l.obs.(SpecObserver); ok {
		so.SpeculationDone(f.t, f.res)
	} else {
		l.obs.Finished(f.t, f.attempt, f.res, false)
	}
	if f.res.OK() {
		st := OK
		if f.res.Cached {
			st = Cached
		}
		for _, u := range l.plan.succeed(f.t, st) {
			l.push(u)
		}
		return
	}
	st := Failed
	if f.res.Interrupted {
		st = Interrupted
	}
	l.plan.fail(f.t, st, f.res.Describe(f.t.Timeout))
}

func (l *loop) scheduleRetry(t *graph.Task, delay time.Duration) {
	l.timers[t] = time.AfterFunc(delay, func() { l.retry <- t })
}

func timeDiv(n int) time.Duration { return time.Duration(max(1, n)) }

// maxAttempts bounds a retry policy that never says no.
const maxAttempts = 100

func (l *loop) decideRetry(f finished) (bool, time.Duration) {
	if f.res.Interrupted || l.plan.stopping || f.attempt >= maxAttempts {
		return false, 0
	}
	info := l.prio.info(f.t, f.attempt, 0)
	if h := l.opt.Hooks.Retry; h != nil {
		retry, delay, err := h(info, f.res)
		if err != nil {
			l.failPolicy(err)
			return false, 0
		}
		return retry, delay
	}
	return DefaultRetry(info, f.res)
}

// failPolicy stops the run because a policy failed: nothing new starts and
// running tasks are interrupted.
func (l *loop) failPolicy(err error) {
	if l.err == nil {
		l.err = err
	}
	l.stop()
	l.cancel()
}

// stop starts nothing more and drops pending retries; a timer that already
// fired is still received by the loop.
func (l *loop) stop() {
	l.plan.stopping = true
	for t, tm := range l.timers {
		if tm.Stop() {
			delete(l.timers, t)
			l.plan.reports[t.ID].Status = Interrupted
		}
	}
}

// report closes the run: whatever never started is skipped, with a reason.
func (l *loop) report(tasks []*graph.Task) *Report {
	// Jobs is the number of slots asked for (-j); the optimizer may have
	// used fewer for a while, which the timeline's utilisation shows.
	rep := &Report{Wall: l.now().Sub(l.start), Jobs: max(1, l.opt.Jobs), Interrupted: l.stopped}
	for _, t := range l.plan.tasks {
		if r := l.plan.reports[t.ID]; l.plan.spec[t.ID] && r.Attempts > 0 {
			rep.Speculated = append(rep.Speculated, r)
		}
	}
	for _, t := range tasks {
		r := l.plan.reports[t.ID]
		if r.Status == Pending {
			r.Status = Skipped
			switch {
			case l.stopped:
				r.Reason = "not started: interrupted"
			case l.err != nil:
				r.Reason = "not started: a policy failed"
			default:
				r.Reason = "not started: the run stopped early"
			}
			l.obs.Skipped(t, r.Reason)
		}
		rep.Tasks = append(rep.Tasks, r)
	}
	return rep
}

// DefaultBackoff is exponential backoff with jitter: the delay before
// attempt 2 is 100–200ms, and each later attempt doubles the range, capped
// at 10s.
func DefaultBackoff(_ *graph.Task, attempt int) time.Duration {
	ceiling := 200 * time.Millisecond << min(attempt-2, 6)
	ceiling = min(ceiling, 10*time.Second)
	return ceiling/2 + rand.N(ceiling/2+1)
}

type nopObserver struct{}

func (nopObserver) Started(*graph.Task, int)                {}
func (nopObserver) Finished(*graph.Task, int, Result, bool) {}
func (nopObserver) Skipped(*graph.Task, string)             {}
