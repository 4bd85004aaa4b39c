package sched

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// probingRunner settles the tasks named in hits through Probe; the others
// run through the fakeRunner, which blocks on block when it is set.
type probingRunner struct {
	*fakeRunner
	hits map[string]bool
	mu   sync.Mutex
	log  []string      // "probe X", "show X", "run X" in the order they happened
	hold chan struct{} // when set, the probe of "x" waits for it
}

func (p *probingRunner) note(s string) {
	p.mu.Lock()
	p.log = append(p.log, s)
	p.mu.Unlock()
}

func (p *probingRunner) Probes(t *graph.Task) bool { return !strings.HasPrefix(t.Name, "nocache") }

func (p *probingRunner) Probe(ctx context.Context, t *graph.Task) (Result, func(), bool) {
	p.note("probe " + t.Name)
	if p.hold != nil && t.Name == "x" {
		<-p.hold
	}
	if !p.hits[t.Name] {
		return Result{}, nil, false
	}
	return Result{Cached: true}, func() { p.note("show " + t.Name) }, true
}

func (p *probingRunner) Run(ctx context.Context, t *graph.Task, attempt int) Result {
	p.note("run " + t.Name)
	return p.fakeRunner.Run(ctx, t, attempt)
}

// orderObserver records Started and Finished into the runner's log.
type orderObserver struct{ p *probingRunner }

func (o orderObserver) Started(t *graph.Task, _ int) { o.p.note("start " + t.Name) }
func (o orderObserver) Finished(t *graph.Task, _ int, r Result, _ bool) {
	if r.Cached {
		o.p.note("cached " + t.Name)
	} else {
		o.p.note("end " + t.Name)
	}
}
func (o orderObserver) Skipped(t *graph.Task, _ string) { o.p.note("skip " + t.Name) }

func (p *probingRunner) index(s string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.log {
		if x == s {
			return i
		}
	}
	return -1
}

// A hit takes no slot: with -j 1 held by a task that runs until it is let
// go, the hits (and a hit that depends on a hit) settle meanwhile.
func TestProbeHitsTakeNoSlot(t *testing.T) {
	g := mkGraph(t, "slow", "a", "b", "c:a,b")
	f := newFake()
	f.block = make(chan struct{})
	p := &probingRunner{fakeRunner: f, hits: map[string]bool{"a": true, "b": true, "c": true}}
	done := make(chan *Report)
	go func() {
		rep, err := Run(context.Background(), g, []string{"slow", "c"}, Options{Jobs: 1, Runner: p, Observer: orderObserver{p}})
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	waitFor(t, func() bool { return p.index("cached c") >= 0 })
	if p.index("end slow") >= 0 {
		t.Fatal("slow ended before it was let go")
	}
	close(f.block)
	rep := <-done
	want := map[string]string{"slow": "ok", "a": "cached", "b": "cached", "c": "cached"}
	if got := statuses(rep); !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	for _, name := range []string{"a", "b", "c"} {
		s, sh, c := p.index("start "+name), p.index("show "+name), p.index("cached "+name)
		if !(p.index("probe "+name) < s && s < sh && sh < c) {
			t.Errorf("%s: want probe < start < show < cached, log %v", name, p.log)
		}
		if p.index("run "+name) >= 0 {
			t.Errorf("%s was a hit but ran", name)
		}
	}
	if p.index("cached c") < p.index("cached a") || p.index("cached c") < p.index("cached b") {
		t.Errorf("c settled before its dependencies: %v", p.log)
	}
}

// A miss is queued and runs once; a task the runner does not probe is
// never probed; a retry is not probed again.
func TestProbeMissRunsOnce(t *testing.T) {
	g := mkGraph(t, "a", "nocache", "b:a")
	f := newFake()
	f.flaky["b"] = true
	p := &probingRunner{fakeRunner: f, hits: map[string]bool{}}
	rep, err := Run(context.Background(), g, []string{"b", "nocache"}, Options{Jobs: 2, Runner: p, Observer: orderObserver{p},
		Hooks: Hooks{Retry: func(TaskInfo, Result) (bool, time.Duration, error) { return true, 0, nil }}})
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rep); got["a"] != "ok" || got["b"] != "ok" || got["nocache"] != "ok" {
		t.Fatalf("statuses %v", got)
	}
	count := func(s string) int {
		n := 0
		for _, x := range p.log {
			if x == s {
				n++
			}
		}
		return n
	}
	if count("probe a") != 1 || count("probe b") != 1 || count("probe nocache") != 0 {
		t.Errorf("probes: %v", p.log)
	}
	if count("run a") != 1 || count("run b") != 2 || count("run nocache") != 1 {
		t.Errorf("runs: %v", p.log)
	}
	if p.index("probe a") > p.index("run a") || p.index("end a") > p.index("probe b") {
		t.Errorf("order: %v", p.log)
	}
}

// Once the run stops, a task whose probe comes back a miss is not
// started, and the report says it never started; the run waits for the
// probe before it returns.
func TestProbeMissAfterStopNotStarted(t *testing.T) {
	g := mkGraph(t, "bad", "h", "x:h", "y:x")
	f := newFake()
	f.fail["bad"] = true
	// x is probed once h is settled, in a batch of its own
	p := &probingRunner{fakeRunner: f, hits: map[string]bool{"h": true}, hold: make(chan struct{})}
	obs := stopObserver{orderObserver{p}, p.hold}
	rep, err := Run(context.Background(), g, []string{"bad", "y"}, Options{Jobs: 1, Runner: p, Observer: obs,
		Hooks: Hooks{Priority: badFirst}})
	if err != nil {
		t.Fatal(err)
	}
	st := statuses(rep)
	want := map[string]string{"bad": "failed", "h": "cached", "x": "skipped", "y": "skipped"}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("statuses %v, want %v", st, want)
	}
	for _, r := range rep.Tasks {
		if r.Task.Name == "x" && (r.Attempts != 0 || !strings.HasPrefix(r.Reason, "not started")) {
			t.Errorf("x: %d attempts, reason %q", r.Attempts, r.Reason)
		}
	}
	if p.index("run x") >= 0 || p.index("probe x") < 0 {
		t.Errorf("log %v", p.log)
	}
}

// badFirst runs "bad" before anything else: the held probe of "x" waits
// for it, and a probe out for a task above it would hold the slot.
func badFirst(ti TaskInfo) (float64, error) {
	if ti.Name == "bad" {
		return 100, nil
	}
	return 1, nil
}

// stopObserver lets the held probe go once "bad" has failed.
type stopObserver struct {
	orderObserver
	release chan struct{}
}

func (o stopObserver) Finished(t *graph.Task, a int, r Result, retry bool) {
	o.orderObserver.Finished(t, a, r, retry)
	if t.Name == "bad" {
		close(o.release)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// A task whose probe misses keeps its priority: nothing below it takes the
// slot while its probe is out.
func TestProbeMissKeepsPriority(t *testing.T) {
	g := mkGraph(t, "nocache-y", "x")
	p := &probingRunner{fakeRunner: newFake(), hits: map[string]bool{}}
	prio := func(ti TaskInfo) (float64, error) {
		if ti.Name == "x" {
			return 10, nil
		}
		return 1, nil
	}
	if _, err := Run(context.Background(), g, []string{"nocache-y", "x"}, Options{Jobs: 1, Runner: p, Observer: orderObserver{p},
		Hooks: Hooks{Priority: prio}}); err != nil {
		t.Fatal(err)
	}
	if p.index("run x") < 0 || p.index("run x") > p.index("run nocache-y") {
		t.Errorf("x (higher priority, probed, a miss) should run first: %v", p.log)
	}
}

// Once the run stops, a hit whose probe comes back is not reported either:
// nothing starts after a failure.
func TestProbeHitAfterStopNotReported(t *testing.T) {
	g := mkGraph(t, "bad", "h", "x:h")
	f := newFake()
	f.fail["bad"] = true
	p := &probingRunner{fakeRunner: f, hits: map[string]bool{"h": true, "x": true}, hold: make(chan struct{})}
	rep, err := Run(context.Background(), g, []string{"bad", "x"}, Options{Jobs: 1, Runner: p, Observer: stopObserver{orderObserver{p}, p.hold},
		Hooks: Hooks{Priority: badFirst}})
	if err != nil {
		t.Fatal(err)
	}
	if st := statuses(rep); st["x"] != "skipped" || st["h"] != "cached" || st["bad"] != "failed" {
		t.Fatalf("statuses %v", st)
	}
	if p.index("start x") >= 0 || p.index("show x") >= 0 {
		t.Errorf("x was reported after the run stopped: %v", p.log)
	}
}
