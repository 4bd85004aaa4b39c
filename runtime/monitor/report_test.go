package monitor

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/history"
)

func TestReportText(t *testing.T) {
	t.Parallel()
	high := func(d time.Duration) Expected {
		return Expected{Duration: d, Samples: 12, Confidence: history.ConfidenceHigh}
	}
	tests := []struct {
		name string
		in   ReportInput
		want string
	}{
		// Next run: a 0.3 × 2 s + 0.7 × 2.1 s = 2.07 s, b 3 s, d 0.3 × 4 s + 0.7 × 2 s = 2.6 s.
		{"retries, a cache hit, a flaky task, an anomaly", ReportInput{
			Timeline: retryRun(),
			Expected: map[string]Expected{"d": high(2 * sec), "a": high(secs(2.1))},
			Flaky:    []Flaky{{"a", 0, 20}, {"c", 3, 20}},
		}, `run 0001-run: 7 tasks in 10s with -j 2 (5 ok, 1 cached, 1 skipped)
  efficiency 78%, utilisation 78%, speedup 1.55x, throughput 0.60 tasks/s, cache hit rate 20%, average task 3.1s
critical path: 10s, 100% of the wall time: c -> d
bottlenecks:
  c 6s: 60% of the critical path, 1 task waited for it
  d 4s: 40% of the critical path
anomalies:
  d took 4s, 100% longer than predicted (2s, 12 samples)
flaky:
  c failed then passed in 3 of its last 20 runs
recommendations:
  - task "c" is 60% of the critical path (6s of 10s): split it or make it faster
  - task "c" failed then passed in 3 of its last 20 runs: it is flaky, find out why
  - task "d" took 4s, 100% longer than predicted (2s): see what changed
  - cache hit rate 20% (target over 40%): check that tasks declare exactly their inputs
next run: about 7.7s
`},
		{"a long task, a task that waited for a slot, busy memory", ReportInput{Timeline: blockedRun()},
			`run 0002-run: 8 tasks in 9s with -j 2 (8 ok)
  efficiency 89%, utilisation 94%, speedup 1.78x, throughput 0.89 tasks/s, cache hit rate 0%, average task 2s
critical path: 7s, 78% of the wall time: x
bottlenecks:
  x 7s: 100% of the critical path
  gen 1s: 5 tasks waited for it
  lib 1s: 4 tasks waited for it, waited 3s for a slot
resources: cpu 35% on average (peak 40%), memory 61% (peak 92%), 3 samples, 1 parallelism change
recommendations:
  - task "x" is 100% of the critical path (7s of 7s): split it or make it faster
  - CPU averaged 35% while 4 tasks waited for a free slot: raise -j (it was 2)
  - memory peaked at 92%: give memory-heavy tasks a pool with fewer slots
  - task "lib" waited 3s for a slot while 4 tasks waited for it: raise its priority
next run: about 9s
`},
		{"a saturated machine and a path that leaves no room", ReportInput{Timeline: Timeline{RunID: "r3", Wall: 10 * sec, Jobs: 4,
			Tasks:     []TaskInfo{{Name: "build"}, {Name: "test", Deps: []string{"build"}}},
			Spans:     []Span{{Task: "build", End: 4 * sec, Status: SpanOK, Attempt: 1}, {Task: "test", Start: 4 * sec, End: 10 * sec, Status: SpanOK, Attempt: 1}},
			Resources: []Resource{{At: sec, CPUPercent: 95, MemUsedPercent: 10}, {At: 2 * sec, CPUPercent: 99, MemUsedPercent: 10}},
		}}, `run r3: 2 tasks in 10s with -j 4 (2 ok)
  efficiency 25%, utilisation 25%, speedup 1.00x, throughput 0.20 tasks/s, cache hit rate 0%, average task 5s
critical path: 10s, 100% of the wall time: build -> test
bottlenecks:
  build 4s: 40% of the critical path, 1 task waited for it
  test 6s: 60% of the critical path
resources: cpu 97% on average (peak 99%), memory 10% (peak 10%), 2 samples
recommendations:
  - task "test" is 60% of the critical path (6s of 10s): split it or make it faster
  - CPU averaged 97%: the machine is saturated, a higher -j will not make the run faster
  - parallel efficiency 25% (target over 75%): the critical path is 100% of the wall time, so more slots will not help; shorten the path
next run: about 10s
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := NewReport(tt.in).WriteText(&buf); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("text:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// The next run replays the graph on the run's slots with each task's
// prediction updated by this run (EWMA, alpha 0.3).
func TestNextRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		tl       Timeline
		expected map[string]Expected
		want     time.Duration
	}{
		// a [0,2] c [0,3]; b [2,5] f [3,3.5] g [3.5,4]; d [5,9]; e (no prediction) takes 0.
		{"from this run alone", retryRun(), nil, 9 * sec},
		// d: 0.3 × 4 s + 0.7 × 2 s = 2.6 s, so d ends at 7.6 s.
		{"with a prediction for d", retryRun(), map[string]Expected{"d": {Duration: 2 * sec, Samples: 3, Confidence: history.ConfidenceLow}},
			secs(7.6)},
		// e never ran but history knows it: 1 s after d.
		{"a skipped task with a prediction", retryRun(), map[string]Expected{"e": {Duration: sec, Samples: 1}}, 10 * sec},
		// x 0-7 on one slot; gen, lib, y, t1, t2 on the other; t3 7-8 after x, pkg 8-9.
		{"the best order on 2 slots", blockedRun(), nil, 9 * sec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := NewReport(ReportInput{Timeline: tt.tl, Expected: tt.expected}).NextRun; got != tt.want {
				t.Errorf("NextRun = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	r := NewReport(ReportInput{Timeline: blockedRun(), Flaky: []Flaky{{"t1", 1, 5}}})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		return sortStrings(out)
	}
	wantKeys := []string{"anomalies", "bottlenecks", "counts", "criticalPath", "flaky", "jobs", "metrics", "nextRunMs",
		"parallelismChanges", "recommendations", "resources", "runId", "start", "tasks", "wallMs"}
	if k := keys(got); !reflect.DeepEqual(k, wantKeys) {
		t.Errorf("keys %v, want %v", k, wantKeys)
	}
	checks := map[string]any{
		"wallMs": 9000.0, "nextRunMs": 9000.0, "jobs": 2.0, "tasks": 8.0, "parallelismChanges": 1.0,
		"criticalPath": map[string]any{"tasks": []any{"x"}, "durationMs": 7000.0, "share": 7.0 / 9},
		"anomalies":    []any{},
		"flaky":        []any{map[string]any{"task": "t1", "flaky": 1.0, "runs": 5.0}},
		"resources":    map[string]any{"samples": 3.0, "cpuAvg": 35.0, "cpuMax": 40.0, "memoryAvg": 182.0 / 3, "memoryMax": 92.0},
	}
	for k, want := range checks {
		if !reflect.DeepEqual(got[k], want) {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}
	lib := got["bottlenecks"].([]any)[2]
	wantLib := map[string]any{"task": "lib", "durationMs": 1000.0, "pathShare": 0.0, "onCriticalPath": false, "blocked": 4.0, "waitedMs": 3000.0}
	if !reflect.DeepEqual(lib, wantLib) {
		t.Errorf("bottleneck %v, want %v", lib, wantLib)
	}
	if recs := got["recommendations"].([]any); len(recs) != 5 || !strings.Contains(recs[4].(string), `task "t1" failed then passed in 1 of its last 5 runs`) {
		t.Errorf("recommendations %v", recs)
	}
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// A big busy run gets a few pieces of advice, not one per task.
func TestRecommendationsAreFew(t *testing.T) {
	t.Parallel()
	r := NewReport(ReportInput{Timeline: bigRun(2000, 8)})
	priority := 0
	for _, s := range r.Recommendations {
		if strings.HasSuffix(s, "raise its priority") {
			priority++
		}
	}
	if priority != maxStarved || len(r.Recommendations) > 8 {
		t.Errorf("%d recommendations, %d about priorities:\n%s", len(r.Recommendations), priority, strings.Join(r.Recommendations, "\n"))
	}
}
