package sched

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/optimize"
)

func TestDefaultPriorityLayers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		info     TaskInfo
		failFast bool
		want     float64
	}{
		{"weight only", TaskInfo{Weight: 500}, false, 500},
		{"blocking two: no gain", TaskInfo{Weight: 500, Blocking: 2}, false, 500},
		{"blocking three: +10%", TaskInfo{Weight: 500, Blocking: 3}, false, 550},
		{"priority option", TaskInfo{Weight: 500, Priority: 2}, false, 500 + 2*PriorityStep},
		{"critical", TaskInfo{Weight: 1, Critical: true}, false, 1 + CriticalStep},
		{"fail-fast off ignores failures", TaskInfo{Weight: 7, FailureRate: 0.5}, false, 7},
		{"fail-fast", TaskInfo{Weight: 7, FailureRate: 0.5}, true, 7 + 0.5*FailFastStep},
	}
	for _, c := range cases {
		if got := DefaultPriority(c.info, c.failFast); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDefaultSelectScores(t *testing.T) {
	t.Parallel()
	cands := []Candidate{
		{Name: "busy", Slots: 4, Free: 1, Performance: 1, Availability: 0.25, Load: 1},
		{Name: "idle", Slots: 2, Free: 2, Performance: 1, Availability: 1, Load: 0.5},
		{Name: "fast", Slots: 2, Free: 1, Performance: 3, Availability: 0.5, Load: 1},
		{Name: "full", Slots: 1, Free: 0, Performance: 100, Availability: 0, Load: 2},
	}
	// scores: busy 0.25, idle 2, fast 1.5, full has no free slot.
	if got := DefaultSelect(cands); got != "idle" {
		t.Fatalf("chose %q, want idle", got)
	}
}

// A task listing two pools takes whichever has a free slot: with both
// one-slot pools busy, a third task waits.
func TestPoolAlternatives(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "a", "b", "c")
	for _, n := range []string{"a", "b", "c"} {
		g.Task(n).Pools = []string{"x", "y"}
	}
	f := newFake()
	var mu sync.Mutex
	chosen := map[string]string{}
	hooks := Hooks{Select: func(info TaskInfo, cands []Candidate) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		chosen[info.Name] = cands[len(cands)-1].Name // the last free one
		return chosen[info.Name], nil
	}}
	rep, err := Run(context.Background(), g, g.Names(), Options{Jobs: 3, Pools: map[string]int{"x": 1, "y": 1}, Runner: f, Hooks: hooks})
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", err, statuses(rep))
	}
	if chosen["a"] != "y" || chosen["b"] != "x" {
		t.Errorf("choices %v: a should take y (last free), then b the only free x", chosen)
	}
	for _, r := range rep.Tasks {
		if r.Pool != chosen[r.Task.Name] {
			t.Errorf("%s ran in %q, the policy chose %q", r.Task.Name, r.Pool, chosen[r.Task.Name])
		}
	}
}

func TestPolicyErrorStopsTheRun(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "a", "b:a")
	boom := errors.New("boom")
	hooks := Hooks{Priority: func(info TaskInfo) (float64, error) {
		if info.Name == "b" {
			return 0, boom
		}
		return 1, nil
	}}
	rep, err := Run(context.Background(), g, g.Names(), Options{Jobs: 1, Runner: newFake(), Hooks: hooks})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want the hook's", err)
	}
	if got := statuses(rep); !reflect.DeepEqual(got, map[string]string{"a": "ok", "b": "skipped"}) {
		t.Fatalf("%v", got)
	}
}

// FIFO ignores weights: tasks start in ready order, then definition order.
func TestFIFOOrder(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "short", "long2:long1", "long1")
	f := newFake()
	Run(context.Background(), g, g.Names(), Options{Jobs: 1, Runner: f, Order: "fifo"})
	if want := []string{"short", "long1", "long2"}; !reflect.DeepEqual(f.started, want) {
		t.Fatalf("fifo order %v, want %v", f.started, want)
	}
}

// gatedRunner blocks each task until the test releases it by name.
type gatedRunner struct {
	mu      sync.Mutex
	started []string
	gates   map[string]chan struct{}
}

func (g *gatedRunner) gate(name string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gates[name] == nil {
		g.gates[name] = make(chan struct{})
	}
	return g.gates[name]
}

func (g *gatedRunner) Run(ctx context.Context, t *graph.Task, _ int) Result {
	g.mu.Lock()
	g.started = append(g.started, t.Name)
	g.mu.Unlock()
	select {
	case <-g.gate(t.Name):
	case <-ctx.Done():
		return Result{Interrupted: true, ExitCode: -1}
	}
	return Result{Duration: time.Millisecond}
}

// When a running task overruns its prediction, the weights are recomputed
// with its elapsed time. Predictions (ms):
//
//	x[10] -> y[10]
//	z[15]
//
// x's weight is 20; once x has run for a second, at least 1.5 s.
func TestOverrunRecomputesWeights(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "x", "y:x", "z")
	pred := map[string]float64{"x": 10, "y": 10, "z": 15}
	r := &gatedRunner{gates: map[string]chan struct{}{}}
	l := newLoop(g, g.Tasks(), nil, Options{Jobs: 1, Runner: r, Tick: time.Millisecond,
		Predict: func(t *graph.Task) Prediction { return Prediction{Ms: pred[t.Name]} }})
	if w := l.prio.weights[g.Task("x").ID]; w != 20 {
		t.Fatalf("x weight before: %v", w)
	}
	l.start = time.Now()
	l.started[g.Task("x").ID] = time.Now().Add(-time.Second) // running for 1 s against 10 ms predicted
	l.checkOverruns()
	if w := l.prio.weights[g.Task("x").ID]; w < 1500 {
		t.Fatalf("x weight after overrunning: %v, want about 1.5 s + 10 ms", w)
	}
}

func TestAgingAfterThreshold(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "heavy", "light")
	pred := map[string]float64{"heavy": 60000, "light": 1}
	l := newLoop(g, g.Tasks(), nil, Options{Jobs: 1, Runner: newFake(),
		Predict: func(t *graph.Task) Prediction { return Prediction{Ms: pred[t.Name]} }})
	t0 := time.Unix(1000, 0)
	l.start = t0
	l.now = func() time.Time { return t0 }
	l.push(g.Task("light")) // ready first
	l.now = func() time.Time { return t0.Add(5 * time.Minute) }
	l.push(g.Task("heavy"))
	// Aging rate: 60000 / 60000 = 1 per ms beyond 10 s; light waited 290 s
	// past the threshold: 1 + 290000 > 60000.
	l.age(t0.Add(5 * time.Minute))
	if top := l.plan.ready[0].t.Name; top != "light" {
		t.Fatalf("after waiting 5 minutes, %q is first; want light", top)
	}
	l2 := newLoop(g, g.Tasks(), nil, Options{Jobs: 1, Runner: newFake(),
		Predict: func(t *graph.Task) Prediction { return Prediction{Ms: pred[t.Name]} }})
	l2.start, l2.now = t0, func() time.Time { return t0 }
	l2.push(g.Task("light"))
	l2.push(g.Task("heavy"))
	l2.age(t0.Add(AgingAfter - time.Millisecond))
	if top := l2.plan.ready[0].t.Name; top != "heavy" {
		t.Fatalf("before the aging threshold, %q is first; want heavy", top)
	}
}

// specRunner finishes asked-for tasks at once (b and c after a's gate) and
// holds speculative ones until they are cancelled.
type specRunner struct {
	mu      sync.Mutex
	started []string
	gate    chan struct{}
	spec    map[string]bool
}

func (r *specRunner) Run(ctx context.Context, t *graph.Task, _ int) Result {
	r.mu.Lock()
	r.started = append(r.started, t.Name)
	r.spec[t.Name] = IsSpeculative(ctx)
	r.mu.Unlock()
	switch {
	case IsSpeculative(ctx):
		<-ctx.Done()
		return Result{Interrupted: true, ExitCode: -1}
	case t.Name == "a":
		<-r.gate
	}
	return Result{Duration: time.Millisecond}
}

// Two slots:
//
//	a -> b
//	a -> c          s (not asked for: speculative)
//
// While a runs, s runs ahead in the idle slot. When a ends, b and c are
// ready with one slot free: s is stopped at once so c does not wait, and
// s's result is dropped. The run's outcome counts only a, b and c.
func TestSpeculationRunsAheadAndYields(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "a", "b:a", "c:a", "s")
	r := &specRunner{gate: make(chan struct{}), spec: map[string]bool{}}
	go func() {
		for {
			r.mu.Lock()
			n := len(r.started)
			r.mu.Unlock()
			if n == 2 {
				close(r.gate)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	rep, err := Run(context.Background(), g, []string{"b", "c"}, Options{Jobs: 2, Runner: r, Speculate: []string{"s"}})
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", err, statuses(rep))
	}
	if len(rep.Tasks) != 3 || len(rep.Speculated) != 1 || rep.Speculated[0].Status != Interrupted {
		t.Fatalf("tasks %v, speculated %+v", statuses(rep), rep.Speculated)
	}
	first := append([]string(nil), r.started[:2]...)
	sort.Strings(first) // started together: their goroutines race
	if !reflect.DeepEqual(first, []string{"a", "s"}) || !r.spec["s"] || r.spec["a"] {
		t.Fatalf("started %v (speculative: %v)", r.started, r.spec)
	}
}

// optObserver records the optimizer's events.
type optObserver struct {
	mu      sync.Mutex
	changes []optimize.Event
	held    []string
}

func (*optObserver) Started(*graph.Task, int)                {}
func (*optObserver) Finished(*graph.Task, int, Result, bool) {}
func (*optObserver) Skipped(*graph.Task, string)             {}
func (*optObserver) Sampled(optimize.Sample, int)            {}
func (o *optObserver) Changed(e optimize.Event) {
	o.mu.Lock()
	o.changes = append(o.changes, e)
	o.mu.Unlock()
}
func (o *optObserver) Held(t *graph.Task, reason string) {
	o.mu.Lock()
	o.held = append(o.held, t.Name)
	o.mu.Unlock()
}

// A saturated CPU lowers the number of slots: with 4 slots busy and 2
// tasks waiting, 95 % CPU samples bring the run from 4 slots to 3 (an event
// with its reason), and the run still completes.
func TestOptimizerLowersParallelism(t *testing.T) {
	t.Parallel()
	g := mkGraph(t, "a", "b", "c", "d", "e", "f")
	r := &gatedRunner{gates: map[string]chan struct{}{}}
	samples := make(chan optimize.Sample, 1)
	ctrl := optimize.NewController(optimize.DefaultRule(), 1, 4)
	obs := &optObserver{}
	done := make(chan *Report)
	go func() {
		rep, _ := Run(context.Background(), g, g.Names(), Options{Jobs: 4, Runner: r, Observer: obs, Optimizer: ctrl, Samples: samples})
		done <- rep
	}()
	waitStarted := func(n int) {
		for {
			r.mu.Lock()
			k := len(r.started)
			r.mu.Unlock()
			if k >= n {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitStarted(4)
	// The rule waits for its cooldown after the first sample: send two,
	// the second past the cooldown.
	base := time.Unix(1_700_000_000, 0)
	samples <- optimize.Sample{Time: base, CPUPercent: 95, MemUsedPercent: 10, CPUs: 2}
	for {
		obs.mu.Lock()
		n := len(obs.changes)
		obs.mu.Unlock()
		if n > 0 {
			break
		}
		select {
		case samples <- optimize.Sample{Time: base.Add(time.Minute), CPUPercent: 95, MemUsedPercent: 10, CPUs: 2}:
		default:
		}
		time.Sleep(time.Millisecond)
	}
	if e := obs.changes[0]; e.From != 4 || e.To != 3 {
		t.Fatalf("change %+v, want 4 -> 3", e)
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		close(r.gate(n))
	}
	waitStarted(6)
	close(r.gate("e"))
	close(r.gate("f"))
	if rep := <-done; !rep.OK() {
		t.Fatalf("%v", statuses(rep))
	}
}

// recRunner remembers the tasks it was given.
type recRunner struct {
	mu    sync.Mutex
	tasks []*graph.Task
	fail  bool
}

func (r *recRunner) Run(_ context.Context, t *graph.Task, _ int) Result {
	r.mu.Lock()
	r.tasks = append(r.tasks, t)
	r.mu.Unlock()
	if r.fail && t.Batch != "" {
		return Result{ExitCode: 1, Duration: 3 * time.Millisecond}
	}
	return Result{Duration: 3 * time.Millisecond}
}

// Three ready lint tasks share a batch key: one process runs them, over
// the union of their inputs; each gets its result. A batch hook that
// splits them gives three processes.
func TestBatches(t *testing.T) {
	t.Parallel()
	build := func() *graph.Graph {
		g := mkGraph(t, "lint_a", "lint_b", "lint_c", "after:lint_a,lint_c")
		for i, n := range []string{"lint_a", "lint_b", "lint_c"} {
			g.Task(n).Batch = "lint"
			g.Task(n).Shell = "lint {inputs}"
			g.Task(n).Inputs = []string{string(rune('a'+i)) + ".c"}
		}
		return g
	}
	g := build()
	r := &recRunner{}
	rep, err := Run(context.Background(), g, g.Names(), Options{Jobs: 1, Runner: r})
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", err, statuses(rep))
	}
	in := append([]string(nil), r.tasks[0].Inputs...)
	sort.Strings(in) // members come in priority order: a and c (depended on) before b
	if len(r.tasks) != 2 || !strings.HasPrefix(r.tasks[0].Name, "lint×3-") || !reflect.DeepEqual(in, []string{"a.c", "b.c", "c.c"}) || r.tasks[1].Name != "after" {
		t.Fatalf("runner got %d tasks, first %q with inputs %v", len(r.tasks), r.tasks[0].Name, r.tasks[0].Inputs)
	}
	for _, tr := range rep.Tasks {
		if tr.Attempts != 1 || (tr.Task.Batch != "" && tr.Busy != time.Millisecond) {
			t.Errorf("%s: attempts %d, busy %v (a third of the batch)", tr.Task.Name, tr.Attempts, tr.Busy)
		}
	}
	// A hook that keeps every task alone.
	g = build()
	r = &recRunner{}
	alone := Hooks{Batch: func(ready []TaskInfo) ([][]string, error) {
		var out [][]string
		for _, t := range ready {
			out = append(out, []string{t.Name})
		}
		return out, nil
	}}
	if rep, _ := Run(context.Background(), g, g.Names(), Options{Jobs: 1, Runner: r, Hooks: alone}); !rep.OK() || len(r.tasks) != 4 {
		t.Fatalf("with singleton batches: %d processes, %v", len(r.tasks), statuses(rep))
	}
	// A failed batch fails every member and skips what depends on them.
	g = build()
	r = &recRunner{fail: true}
	rep, _ = Run(context.Background(), g, g.Names(), Options{Jobs: 1, Runner: r})
	want := map[string]string{"lint_a": "failed", "lint_b": "failed", "lint_c": "failed", "after": "skipped"}
	if got := statuses(rep); !reflect.DeepEqual(got, want) {
		t.Fatalf("%v, want %v", got, want)
	}
}
