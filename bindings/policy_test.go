package bindings

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"

	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

func newTestEngine() *Engine {
	return New(Config{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Run: func(context.Context, *core.Workspace, RunRequest) (*Outcome, error) {
		return &Outcome{Value: map[string]any{"ok": true}}, nil
	}})
}

// The shipped JS default policies are the rules the scheduler applies in Go.
func TestJSPoliciesMatchGoDefaults(t *testing.T) {
	t.Parallel()
	e := newTestEngine()
	prio, ok := goja.AssertFunction(require.Require(e.vm, "jsrt/policies/priority"))
	if !ok {
		t.Fatal("jsrt/policies/priority does not export a function")
	}
	infos := []sched.TaskInfo{
		{Weight: 500}, {Weight: 500, Blocking: 3}, {Weight: 500, Priority: 2}, {Weight: 1, Critical: true},
		{Weight: 7, FailureRate: 0.5}, {Weight: 123.5, Blocking: 9, Priority: -1, FailureRate: 0.1},
	}
	for _, info := range infos {
		for _, ff := range []bool{false, true} {
			v, err := prio(goja.Undefined(), e.plain(info), e.plain(map[string]any{"failFast": ff}))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := v.ToFloat(), sched.DefaultPriority(info, ff); got != want {
				t.Errorf("priority(%+v, failFast=%v): JS %v, Go %v", info, ff, got, want)
			}
		}
	}
	sel, _ := goja.AssertFunction(require.Require(e.vm, "jsrt/policies/select"))
	cands := []sched.Candidate{
		{Name: "busy", Slots: 4, Free: 1, Performance: 1, Availability: 0.25, Load: 1},
		{Name: "idle", Slots: 2, Free: 2, Performance: 1, Availability: 1, Load: 0.5},
		{Name: "full", Slots: 1, Free: 0, Performance: 100, Availability: 0, Load: 2},
	}
	v, err := sel(goja.Undefined(), e.plain(sched.TaskInfo{}), e.plain(cands))
	if err != nil || v.String() != sched.DefaultSelect(cands) {
		t.Errorf("select: JS %v (%v), Go %q", v, err, sched.DefaultSelect(cands))
	}
	retry, _ := goja.AssertFunction(require.Require(e.vm, "jsrt/policies/retry"))
	for attempt, lo := range map[int]float64{1: 100, 2: 200, 3: 400} {
		v, err := retry(goja.Undefined(), e.plain(sched.TaskInfo{Retries: 3}), e.vm.ToValue(attempt), e.plain(map[string]any{}))
		if err != nil {
			t.Fatal(err)
		}
		d := v.ToObject(e.vm).Get("delayMs").ToFloat()
		if d < lo || d > 2*lo {
			t.Errorf("retry delay before attempt %d: %v ms, want %v..%v", attempt+1, d, lo, 2*lo)
		}
		// The Go default draws from the same range.
		if _, gd := sched.DefaultRetry(sched.TaskInfo{Retries: 3, Attempt: attempt}, sched.Result{ExitCode: 1}); gd.Seconds()*1000 < lo || gd.Seconds()*1000 > 2*lo {
			t.Errorf("Go retry delay before attempt %d: %v", attempt+1, gd)
		}
	}
	if v, _ := retry(goja.Undefined(), e.plain(sched.TaskInfo{Retries: 1}), e.vm.ToValue(2), e.plain(map[string]any{})); v.Export() != false {
		t.Errorf("retry after the last allowed attempt: %v, want false", v)
	}
}

// Hooks registered in a strategy reach the scheduler through RunRequest,
// and calling them from another goroutine runs them on the loop.
func TestHooksFromAnotherGoroutine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := `task("a", { cmd: "true" });
scheduler.on("priority", (t) => t.name === "a" ? 42 : 0);
scheduler.on("retry", (t, attempt, r) => attempt < 2 ? 25 : false);
await run("a");
`
	if err := os.WriteFile(filepath.Join(dir, "s.js"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	e := New(Config{Cwd: dir, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Run: func(_ context.Context, _ *core.Workspace, req RunRequest) (*Outcome, error) {
		p, err := req.Hooks.Priority(sched.TaskInfo{Name: "a"})
		if err != nil || p != 42 {
			got = append(got, "priority failed")
		}
		retry, delay, err := req.Hooks.Retry(sched.TaskInfo{Name: "a", Attempt: 1}, sched.Result{ExitCode: 1})
		if err != nil || !retry || delay.Milliseconds() != 25 {
			got = append(got, "retry 1 failed")
		}
		if retry, _, _ := req.Hooks.Retry(sched.TaskInfo{Name: "a", Attempt: 2}, sched.Result{ExitCode: 1}); retry {
			got = append(got, "retry 2 failed")
		}
		got = append(got, "ran")
		return &Outcome{Value: map[string]any{"ok": true}}, nil
	}})
	if err := e.Load(context.Background(), "s.js"); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "ran" {
		t.Fatalf("%v", got)
	}
}

func TestUnknownHook(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.js"), []byte(`scheduler.on("priorty", () => 1);`), 0o644)
	e := newTestEngine()
	e.cfg.Cwd = dir
	err := e.Load(context.Background(), "s.js")
	want := `s.js:1:13: scheduler.on: unknown hook "priorty" (did you mean "priority"?) (hooks: priority, select, retry, batch)`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// BenchmarkPriorityPolicyJS: one call of the shipped default priority
// policy from Go on the loop goroutine, with the task object built for it.
func BenchmarkPriorityPolicyJS(b *testing.B) {
	e := newTestEngine()
	prio, _ := goja.AssertFunction(require.Require(e.vm, "jsrt/policies/priority"))
	ctx := e.plain(map[string]any{"failFast": false})
	info := sched.TaskInfo{Name: "test:runtime/sched", Tags: []string{"test"}, Weight: 1234, Blocking: 3, Confidence: "high"}
	b.Run("call", func(b *testing.B) {
		task := e.infoObject(info)
		for b.Loop() {
			if _, err := prio(goja.Undefined(), task, ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("build+call", func(b *testing.B) {
		for b.Loop() {
			if _, err := prio(goja.Undefined(), e.infoObject(info), ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestJSBatchMatchesGo(t *testing.T) {
	t.Parallel()
	e := newTestEngine()
	fn, _ := goja.AssertFunction(require.Require(e.vm, "jsrt/policies/batch"))
	cases := [][]sched.TaskInfo{
		{},
		{{Name: "a"}, {Name: "b"}},
		{{Name: "a", PredictedMs: 1500}, {Name: "b", PredictedMs: 600}, {Name: "c", PredictedMs: 100}, {Name: "d"}},
		{{Name: "big", PredictedMs: 5000}, {Name: "x", PredictedMs: 10}},
	}
	for i := 0; i < 20; i++ {
		cases[1] = append(cases[1], sched.TaskInfo{Name: fmt.Sprint("u", i)})
	}
	for _, c := range cases {
		objs := make([]any, len(c))
		for i, info := range c {
			objs[i] = e.infoObject(info)
		}
		v, err := fn(goja.Undefined(), e.vm.NewArray(objs...))
		if err != nil {
			t.Fatal(err)
		}
		var got [][]string
		e.vm.ExportTo(v, &got)
		if want := sched.DefaultBatch(c); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("batch(%d tasks): JS %v, Go %v", len(c), got, want)
		}
	}
}
