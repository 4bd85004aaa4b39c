package monitor

import (
	"reflect"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

type countingObserver struct{ started, finished, skipped int }

func (o *countingObserver) Started(*graph.Task, int)                      { o.started++ }
func (o *countingObserver) Finished(*graph.Task, int, sched.Result, bool) { o.finished++ }
func (o *countingObserver) Skipped(*graph.Task, string)                   { o.skipped++ }

func TestRecorder(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &fakeClock{t0}
	build := &graph.Task{Name: "build"}
	test := &graph.Task{Name: "test", Deps: []string{"build"}}
	lint := &graph.Task{Name: "lint", NoCache: true}
	deploy := &graph.Task{Name: "deploy", Deps: []string{"test"}}
	next := &countingObserver{}
	r := NewRecorder("run1", t0, 2, []*graph.Task{build, lint, test, deploy}, clock.now)
	r.Next = next

	r.Started(build, 1)
	r.Started(lint, 1)
	clock.t = t0.Add(2 * sec)
	r.Finished(build, 1, sched.Result{Start: t0.Add(100 * time.Millisecond), Duration: secs(1.9), PeakRSS: 42}, false)
	r.Sampled(t0.Add(500*time.Millisecond), 70, 30)
	r.Changed(t0.Add(2*sec), 2, 1, "cpu 95% > 90%")
	r.Started(test, 1)
	clock.t = t0.Add(3 * sec)
	live := r.Timeline()
	wantLive := Timeline{RunID: "run1", Start: t0, Wall: 3 * sec, Jobs: 2,
		Tasks: []TaskInfo{{Name: "build", Status: "ok"}, {Name: "lint", Status: "running", NoCache: true},
			{Name: "test", Deps: []string{"build"}, Status: "running"}, {Name: "deploy", Deps: []string{"test"}, Status: "pending"}},
		Spans:     []Span{{Task: "build", Start: 100 * time.Millisecond, End: 2 * sec, Status: "ok", Attempt: 1, PeakRSS: 42}},
		Resources: []Resource{{At: 500 * time.Millisecond, CPUPercent: 70, MemUsedPercent: 30}},
		Changes:   []Change{{At: 2 * sec, From: 2, To: 1, Reason: "cpu 95% > 90%"}},
	}
	running := map[string]Span{}
	for _, s := range live.Spans[1:] {
		running[s.Task] = s
	}
	live.Spans = live.Spans[:1]
	if !reflect.DeepEqual(live, wantLive) {
		t.Errorf("live timeline:\n %+v\nwant\n %+v", live, wantLive)
	}
	wantRunning := map[string]Span{
		"lint": {Task: "lint", Start: 0, End: 3 * sec, Status: SpanRunning, Attempt: 1},
		"test": {Task: "test", Start: 2 * sec, End: 3 * sec, Status: SpanRunning, Attempt: 1},
	}
	if !reflect.DeepEqual(running, wantRunning) {
		t.Errorf("running spans %+v, want %+v", running, wantRunning)
	}
	if m := Measure(r.Timeline()); m.Completed != 1 || m.Running != 2 || m.Waiting != 1 {
		t.Errorf("live metrics %+v", m)
	}

	clock.t = t0.Add(4 * sec)
	r.Finished(lint, 1, sched.Result{Duration: 4 * sec, Cached: true}, false) // no Start: the loop's start time counts
	r.Finished(test, 1, sched.Result{Start: t0.Add(2 * sec), Duration: sec, ExitCode: 1}, true)
	r.Started(test, 2)
	clock.t = t0.Add(6 * sec)
	r.Finished(test, 2, sched.Result{Start: t0.Add(5 * sec), Duration: sec, ExitCode: 2}, false)
	r.Skipped(deploy, `dependency "test" failed`)
	final := r.Timeline()
	wantStatus := []string{"ok", "cached", "failed", "skipped"}
	for i, ti := range final.Tasks {
		if ti.Status != wantStatus[i] {
			t.Errorf("task %s status %q, want %q", ti.Name, ti.Status, wantStatus[i])
		}
	}
	wantSpans := []Span{
		{Task: "build", Start: 100 * time.Millisecond, End: 2 * sec, Status: "ok", Attempt: 1, PeakRSS: 42},
		{Task: "lint", Start: 0, End: 4 * sec, Status: "cached", Attempt: 1, Cached: true},
		{Task: "test", Start: 2 * sec, End: 3 * sec, Status: "failed", Attempt: 1, ExitCode: 1},
		{Task: "test", Start: 5 * sec, End: 6 * sec, Status: "failed", Attempt: 2, ExitCode: 2},
	}
	if !reflect.DeepEqual(final.Spans, wantSpans) || final.Wall != 6*sec {
		t.Errorf("final spans %+v wall %v, want %+v", final.Spans, final.Wall, wantSpans)
	}
	if *next != (countingObserver{started: 4, finished: 4, skipped: 1}) {
		t.Errorf("events passed on: %+v", *next)
	}
}

func TestFromHistory(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	run := history.RunRecord{ID: "r1", Start: t0, Wall: 5 * sec, Jobs: 4}
	recs := []history.TaskRecord{ // start order, as history.Run returns them
		{RunID: "r1", Task: "build", Attempt: 1, Start: t0.Add(10 * time.Millisecond), Duration: 2 * sec, Outcome: "ok", PeakRSS: 7},
		{RunID: "r1", Task: "lint", Attempt: 1, Start: t0.Add(20 * time.Millisecond), Duration: time.Millisecond, Outcome: "cached"},
		{RunID: "r1", Task: "test", Attempt: 1, Start: t0.Add(2 * sec), Duration: sec, Outcome: "failed", ExitCode: 1},
		{RunID: "r1", Task: "test", Attempt: 2, Start: t0.Add(3 * sec), Duration: 2 * sec, Outcome: "ok"},
	}
	tl := FromHistory(run, recs, map[string][]string{"test": {"build"}})
	want := Timeline{RunID: "r1", Start: t0, Wall: 5 * sec, Jobs: 4,
		Tasks: []TaskInfo{{Name: "build"}, {Name: "lint"}, {Name: "test", Deps: []string{"build"}}},
		Spans: []Span{
			{Task: "build", Start: 10 * time.Millisecond, End: 2010 * time.Millisecond, Status: "ok", Attempt: 1, PeakRSS: 7},
			{Task: "lint", Start: 20 * time.Millisecond, End: 21 * time.Millisecond, Status: "cached", Attempt: 1, Cached: true},
			{Task: "test", Start: 2 * sec, End: 3 * sec, Status: "failed", Attempt: 1, ExitCode: 1},
			{Task: "test", Start: 3 * sec, End: 5 * sec, Status: "ok", Attempt: 2},
		},
	}
	if !reflect.DeepEqual(tl, want) {
		t.Errorf("FromHistory =\n %+v\nwant\n %+v", tl, want)
	}
	if cp := Critical(tl); !reflect.DeepEqual(cp.Tasks, []string{"build", "test"}) || cp.Duration != 5*sec {
		t.Errorf("critical path %+v", cp)
	}
	// A run whose coordinator was killed has no run record: start and wall come from the records.
	tl = FromHistory(history.RunRecord{ID: "r1"}, recs, nil)
	if !tl.Start.Equal(t0.Add(10*time.Millisecond)) || tl.Wall != 4990*time.Millisecond {
		t.Errorf("without a run record: start %v wall %v", tl.Start, tl.Wall)
	}
}
