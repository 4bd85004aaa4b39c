package sched

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// fakeRunner records start order and fails the tasks named in fail (every
// attempt, or only the first when flaky).
type fakeRunner struct {
	mu      sync.Mutex
	started []string
	fail    map[string]bool
	flaky   map[string]bool
	active  map[string]int // running per pool
	maxPool map[string]int
	block   chan struct{} // when non-nil, runs wait for it or ctx
}

func (f *fakeRunner) Run(ctx context.Context, t *graph.Task, attempt int) Result {
	f.mu.Lock()
	f.started = append(f.started, t.Name)
	f.active[t.Pool]++
	f.maxPool[t.Pool] = max(f.maxPool[t.Pool], f.active[t.Pool])
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.active[t.Pool]--; f.mu.Unlock() }()
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return Result{Interrupted: true, ExitCode: -1}
		}
	} else {
		time.Sleep(time.Millisecond)
	}
	if f.fail[t.Name] || (f.flaky[t.Name] && attempt == 1) {
		return Result{ExitCode: 1, Duration: time.Millisecond}
	}
	return Result{Duration: time.Millisecond}
}

func newFake() *fakeRunner {
	return &fakeRunner{fail: map[string]bool{}, flaky: map[string]bool{}, active: map[string]int{}, maxPool: map[string]int{}}
}

func mkGraph(t *testing.T, specs ...string) *graph.Graph {
	t.Helper()
	g := graph.New()
	for _, s := range specs {
		name, deps, _ := strings.Cut(s, ":")
		task := &graph.Task{Name: name}
		if deps != "" {
			task.Deps = strings.Split(deps, ",")
		}
		if err := g.Add(task); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g
}

func statuses(r *Report) map[string]string {
	m := map[string]string{}
	for _, t := range r.Tasks {
		m[t.Task.Name] = t.Status.String()
	}
	return m
}

// With one slot the start order is the priority order. Costs in brackets:
//
//	short[1]   long1[1] -> long2[1] -> long3[1]
//	           mid1[1]  -> mid2[1]
//
// Weights: long1 3, mid1 2, short 1, so long1 starts first although it was
// defined after short; after it, long2 (2) ties with mid1 (2) and goes by
// ID; then short, mid2 and long3 all weigh 1 and go by ID.
func TestStartOrderByCriticalPath(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "short", "mid2:mid1", "long3:long2", "long2:long1", "long1", "mid1")
	f := newFake()
	rep, err := Run(context.Background(), g, g.Names(), Options{Jobs: 1, Runner: f})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"long1", "long2", "mid1", "short", "mid2", "long3"}
	if !reflect.DeepEqual(f.started, want) {
		t.Fatalf("start order %v, want %v", f.started, want)
	}
	if !rep.OK() || rep.Counts()["ok"] != 6 {
		t.Fatalf("report %v", statuses(rep))
	}
}

// An explicit priority beats any weight; costs from predictions change order.
func TestPriorityOptionAndCost(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "a", "b", "c")
	g.Task("c").Priority = 1
	cost := map[string]float64{"a": 1, "b": 10, "c": 1}
	f := newFake()
	if _, err := Run(context.Background(), g, g.Names(), Options{Jobs: 1, Runner: f, Predict: func(t *graph.Task) Prediction { return Prediction{Ms: cost[t.Name]} }}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"c", "b", "a"}; !reflect.DeepEqual(f.started, want) {
		t.Fatalf("start order %v, want %v", f.started, want)
	}
}

// base -> left  -> top
// base -> right -> top
func TestDiamondRunsSharedDepOnce(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "top:left,right", "left:base", "right:base", "base")
	f := newFake()
	if _, err := Run(context.Background(), g, []string{"top", "left"}, Options{Jobs: 4, Runner: f}); err != nil {
		t.Fatal(err)
	}
	if len(f.started) != 4 || f.started[0] != "base" || f.started[3] != "top" {
		t.Fatalf("started %v", f.started)
	}
}

// build -> test -> package
// lint
// build -> docs
func TestFailureSkipsDependents(t *testing.T) {
	t.Parallel()
	specs := []string{"build", "test:build", "package:test", "docs:build", "lint"}
	for _, keep := range []bool{false, true} {
		g := mkGraph(t, specs...)
		f := newFake()
		f.fail["test"] = true
		rep, _ := Run(context.Background(), g, g.Names(), Options{Jobs: 1, Runner: f, KeepGoing: keep})
		got := statuses(rep)
		want := map[string]string{"build": "ok", "test": "failed", "package": "skipped", "docs": "skipped", "lint": "skipped"}
		if keep {
			want["docs"], want["lint"] = "ok", "ok"
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("keepGoing=%v: %v, want %v", keep, got, want)
		}
		for _, r := range rep.Tasks {
			if r.Task.Name == "package" && r.Reason != `dependency "test" failed` {
				t.Errorf("reason %q", r.Reason)
			}
		}
	}
}

func TestRetriesAndPools(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "a", "b", "c", "d", "flaky")
	for _, n := range []string{"a", "b", "c", "d"} {
		g.Task(n).Pool = "heavy"
	}
	g.Task("flaky").Retries = 2
	f := newFake()
	f.flaky["flaky"] = true
	rep, _ := Run(context.Background(), g, g.Names(), Options{Jobs: 4, Pools: map[string]int{"heavy": 1}, Runner: f,
		Hooks: Hooks{Retry: func(info TaskInfo, r Result) (bool, time.Duration, error) {
			return info.Attempt <= info.Retries, time.Millisecond, nil
		}}})
	if !rep.OK() {
		t.Fatalf("report %v", statuses(rep))
	}
	if f.maxPool["heavy"] != 1 {
		t.Errorf("pool heavy had %d at once, want 1", f.maxPool["heavy"])
	}
	for _, r := range rep.Tasks {
		if r.Task.Name == "flaky" && r.Attempts != 2 {
			t.Errorf("flaky attempts %d", r.Attempts)
		}
	}
}

// One slot and many tasks waiting on one dependency never deadlocks: a
// waiting task holds no slot.
func TestOneSlotManyWaiting(t *testing.T) {
	t.Parallel()
	specs := []string{"root"}
	for i := 0; i < 200; i++ {
		specs = append(specs, "t"+strings.Repeat("x", i)+":root")
	}
	g := mkGraph(t, specs...)
	rep, _ := Run(context.Background(), g, g.Names(), Options{Jobs: 1, Runner: newFake()})
	if rep.Counts()["ok"] != 201 {
		t.Fatalf("counts %v", rep.Counts())
	}
}

func TestInterrupt(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "a", "b", "c:a")
	f := newFake()
	f.block = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			f.mu.Lock()
			n := len(f.started)
			f.mu.Unlock()
			if n == 2 {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	rep, _ := Run(ctx, g, g.Names(), Options{Jobs: 2, Runner: f})
	want := map[string]string{"a": "interrupted", "b": "interrupted", "c": "skipped"}
	if got := statuses(rep); !reflect.DeepEqual(got, want) || !rep.Interrupted {
		t.Fatalf("%v, want %v", got, want)
	}
}

func TestEfficiency(t *testing.T) {
	t.Parallel()
	rep := &Report{Wall: 2 * time.Second, Jobs: 2, Tasks: []*TaskReport{{Busy: time.Second}, {Busy: 2 * time.Second}}}
	if e := rep.Efficiency(); e != 0.75 {
		t.Fatalf("efficiency %v, want 0.75", e)
	}
}

// goroutineRunner notes which goroutine runs each attempt.
type goroutineRunner struct {
	mu  sync.Mutex
	ids map[string]bool
	n   int
}

func (g *goroutineRunner) Run(context.Context, *graph.Task, int) Result {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	g.mu.Lock()
	g.ids[id] = true
	g.n++
	g.mu.Unlock()
	return Result{}
}

// Attempts run on goroutines kept between attempts: never more of them
// than run at once, and every attempt is reaped.
func TestAttemptsReuseGoroutines(t *testing.T) {
	t.Parallel()
	g := graph.New()
	for i := range 300 {
		deps := []string(nil)
		if i >= 100 {
			deps = []string{fmt.Sprintf("t%d", i-100)}
		}
		g.Add(&graph.Task{Name: fmt.Sprintf("t%d", i), Shell: "true", Deps: deps})
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	r := &goroutineRunner{ids: map[string]bool{}}
	rep, err := Run(context.Background(), g, g.Names(), Options{Jobs: 3, Runner: r})
	if err != nil || !rep.OK() || r.n != 300 {
		t.Fatalf("ok %v, %d attempts, %v", rep.OK(), r.n, err)
	}
	if len(r.ids) > 3 {
		t.Fatalf("300 attempts at -j3 ran on %d goroutines, want at most 3", len(r.ids))
	}
}
