package monitor

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

const ms1 = time.Millisecond

func taskReport(name string, st sched.Status, attempts int, busy time.Duration, res sched.Result, reason string) *sched.TaskReport {
	return &sched.TaskReport{Task: &graph.Task{Name: name, Shell: "make " + name}, Status: st, Attempts: attempts, Busy: busy, Result: res, Reason: reason}
}

// okReport: three tasks on 2 slots in 4s, one of them a cache hit.
//
//	Σ busy = 2000 + 200 + 3000 = 5200ms
//	efficiency = 5200 / (4000 × 2) = 0.65, speedup = 5200 / 4000 = 1.3
//	saved = the cache hit's 5000ms
func okReport() *sched.Report {
	return &sched.Report{Wall: 4000 * ms1, Jobs: 2, Tasks: []*sched.TaskReport{
		taskReport("gen", sched.OK, 1, 2000*ms1, sched.Result{Duration: 2000 * ms1}, ""),
		taskReport("lib", sched.Cached, 1, 200*ms1, sched.Result{Cached: true, Duration: 200 * ms1, Saved: 5000 * ms1}, ""),
		taskReport("build", sched.OK, 1, 3000*ms1, sched.Result{Duration: 3000 * ms1}, ""),
	}}
}

// failedReport: build fails after a retry, test is skipped because of it.
//
//	Σ busy = 2000 + 3000 = 5000ms, wall 5000ms, 2 slots
//	efficiency = 5000 / (5000 × 2) = 0.5, speedup = 1
func failedReport() *sched.Report {
	return &sched.Report{Wall: 5000 * ms1, Jobs: 2, Tasks: []*sched.TaskReport{
		taskReport("gen", sched.OK, 1, 2000*ms1, sched.Result{Duration: 2000 * ms1}, ""),
		taskReport("build", sched.Failed, 2, 3000*ms1, sched.Result{ExitCode: 2, Duration: 1400 * ms1}, "exit 2"),
		taskReport("test", sched.Skipped, 0, 0, sched.Result{}, `dependency "build" failed`),
	}}
}

// interruptedReport: Ctrl-C while serve ran, on 1 slot.
//
//	Σ busy = 1000 + 700 = 1700ms, wall 2000ms
//	efficiency = speedup = 0.85
func interruptedReport() *sched.Report {
	return &sched.Report{Wall: 2000 * ms1, Jobs: 1, Interrupted: true, Tasks: []*sched.TaskReport{
		taskReport("build", sched.OK, 1, 1000*ms1, sched.Result{Duration: 1000 * ms1}, ""),
		taskReport("serve", sched.Interrupted, 1, 700*ms1, sched.Result{ExitCode: -1, Signal: "SIGTERM", Interrupted: true, Duration: 700 * ms1}, "interrupted"),
	}}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	onlySkipped := &sched.Report{Jobs: 1, Tasks: []*sched.TaskReport{taskReport("x", sched.Skipped, 0, 0, sched.Result{}, "")}}
	interruptedAndFailed := failedReport()
	interruptedAndFailed.Interrupted = true
	tests := []struct {
		name string
		rep  *sched.Report
		want int
	}{
		{"ok and cached", okReport(), 0},
		{"a failure", failedReport(), 1},
		{"interrupted", interruptedReport(), 130},
		{"interrupted wins over a failure", interruptedAndFailed, 130},
		{"a skipped task is not ok", onlySkipped, 1},
		{"nothing to do", &sched.Report{Jobs: 4}, 0},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.rep); got != tt.want {
			t.Errorf("%s: ExitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rep  *sched.Report
		want Summary
	}{
		{"ok", okReport(), Summary{
			OK: true, RunID: "run-1", ExitCode: 0, WallMs: 4000, Jobs: 2, SumMs: 5200,
			Efficiency: 0.65, Speedup: 1.3, SavedMs: 5000,
			Counts: map[string]int{"ok": 2, "cached": 1},
			Order:  []string{"gen", "lib", "build"},
			Tasks: map[string]TaskSummary{
				"gen":   {Status: "ok", ExitCode: 0, DurationMs: 2000, Attempts: 1},
				"lib":   {Status: "cached", ExitCode: 0, DurationMs: 200, Attempts: 1},
				"build": {Status: "ok", ExitCode: 0, DurationMs: 3000, Attempts: 1},
			},
		}},
		{"failed", failedReport(), Summary{
			OK: false, RunID: "run-1", ExitCode: 1, WallMs: 5000, Jobs: 2, SumMs: 5000,
			Efficiency: 0.5, Speedup: 1,
			Counts: map[string]int{"ok": 1, "failed": 1, "skipped": 1},
			Order:  []string{"gen", "build", "test"},
			Tasks: map[string]TaskSummary{
				"gen":   {Status: "ok", ExitCode: 0, DurationMs: 2000, Attempts: 1},
				"build": {Status: "failed", ExitCode: 2, DurationMs: 3000, Attempts: 2, Reason: "exit 2"},
				// Never started: no exit status.
				"test": {Status: "skipped", ExitCode: -1, DurationMs: 0, Attempts: 0, Reason: `dependency "build" failed`},
			},
		}},
		{"interrupted", interruptedReport(), Summary{
			OK: false, RunID: "run-1", ExitCode: 130, Interrupted: true, WallMs: 2000, Jobs: 1, SumMs: 1700,
			Efficiency: 0.85, Speedup: 0.85,
			Counts: map[string]int{"ok": 1, "interrupted": 1},
			Order:  []string{"build", "serve"},
			Tasks: map[string]TaskSummary{
				"build": {Status: "ok", ExitCode: 0, DurationMs: 1000, Attempts: 1},
				"serve": {Status: "interrupted", ExitCode: -1, Signal: "SIGTERM", DurationMs: 700, Attempts: 1, Reason: "interrupted"},
			},
		}},
		// No wall time: no division by zero.
		{"empty", &sched.Report{Jobs: 4}, Summary{
			OK: true, RunID: "run-1", Jobs: 4, Counts: map[string]int{}, Order: []string{}, Tasks: map[string]TaskSummary{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Summarize("run-1", tt.rep)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Summarize:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// The machine-readable names are the ones JS and --json users see.
func TestSummaryJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Summarize("run-1", failedReport()))
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"ok":false,"runId":"run-1","exitCode":1,"interrupted":false,"wallMs":5000,"jobs":2,"sumMs":5000,"efficiency":0.5,"speedup":1,"savedMs":0,` +
		`"counts":{"failed":1,"ok":1,"skipped":1},"order":["gen","build","test"],"ahead":{"started":0,"stored":0,"stopped":0,"hits":0},` +
		`"tasks":{"build":{"status":"failed","exitCode":2,"durationMs":3000,"attempts":2,"reason":"exit 2"},` +
		`"gen":{"status":"ok","exitCode":0,"durationMs":2000,"attempts":1},` +
		`"test":{"status":"skipped","exitCode":-1,"durationMs":0,"attempts":0,"reason":"dependency \"build\" failed"}}}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
}

func TestWriteSummary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rep    *sched.Report
		logDir string
		want   string
	}{
		{"ok with a cache hit", okReport(), "/logs", `done: 3 tasks in 4s with -j 2: 2 ok, 1 cached
slowest: build 3s, gen 2s, lib 200ms
Σ task time 5.2s, parallel efficiency 65% (Σ ÷ (wall × 2 slots)), speedup 1.30x
cache: 1 hit replaced 5s of task time
`},
		{"a failure", failedReport(), "/logs", `FAILED: 3 tasks in 5s with -j 2: 1 ok, 1 failed, 1 skipped
slowest: build 3s, gen 2s
Σ task time 5s, parallel efficiency 50% (Σ ÷ (wall × 2 slots)), speedup 1.00x
failed "build": exit 2 — log: /logs/build.log
`},
		{"a failure, no logs", failedReport(), "", `FAILED: 3 tasks in 5s with -j 2: 1 ok, 1 failed, 1 skipped
slowest: build 3s, gen 2s
Σ task time 5s, parallel efficiency 50% (Σ ÷ (wall × 2 slots)), speedup 1.00x
failed "build": exit 2
`},
		{"interrupted", interruptedReport(), "/logs", `INTERRUPTED: 2 tasks in 2s with -j 1: 1 ok, 1 interrupted
slowest: build 1s, serve 700ms
Σ task time 1.7s, parallel efficiency 85% (Σ ÷ (wall × 1 slot)), speedup 0.85x
interrupted "serve": interrupted — log: /logs/serve.log
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			WriteSummary(&buf, tt.rep, func(task string) string {
				if tt.logDir == "" {
					return ""
				}
				return filepath.Join(tt.logDir, task+".log")
			}, false)
			if buf.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", buf.String(), tt.want)
			}
		})
	}
}

func TestPlural(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		want string
	}{{0, "0 tasks"}, {1, "1 task"}, {2, "2 tasks"}}
	for _, tt := range tests {
		if got := Plural(tt.n, "task"); got != tt.want {
			t.Errorf("Plural(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestSlowest(t *testing.T) {
	t.Parallel()
	report := func(busy ...time.Duration) *sched.Report {
		rep := &sched.Report{Jobs: 1}
		for i, b := range busy {
			rep.Tasks = append(rep.Tasks, taskReport(string(rune('a'+i)), sched.OK, 1, b, sched.Result{}, ""))
		}
		return rep
	}
	tests := []struct {
		name string
		busy []time.Duration
		want string
	}{
		{"none ran", []time.Duration{0, 0}, ""},
		{"fewer than three", []time.Duration{1 * ms1, 0, 2 * ms1}, "c 2ms, a 1ms"},
		{"longest first", []time.Duration{1 * ms1, 5 * ms1, 3 * ms1, 4 * ms1, 2 * ms1}, "b 5ms, d 4ms, c 3ms"},
		{"ties in report order", []time.Duration{2 * ms1, 3 * ms1, 2 * ms1, 3 * ms1, 2 * ms1}, "b 3ms, d 3ms, a 2ms"},
		{"all equal", []time.Duration{ms1, ms1, ms1, ms1}, "a 1ms, b 1ms, c 1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := slowest(report(tt.busy...), 3); got != tt.want {
				t.Errorf("slowest = %q, want %q", got, tt.want)
			}
		})
	}
}
