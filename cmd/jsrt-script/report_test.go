package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// reportWorkspace runs report.js twice with -j 2 and returns the workspace
// and the two run ids, oldest first.
func reportWorkspace(t *testing.T) (dir string, ids []string) {
	t.Helper()
	dir = workspace(t, "report.js")
	for i := 0; i < 2; i++ {
		if r := jsrt(t, dir, "run", "report.js", "-j", "2"); r.code != 0 {
			t.Fatalf("run %d: exit %d, stderr:\n%s", i+1, r.code, r.stderr)
		}
	}
	r := jsrt(t, dir, "history", "--json")
	var runs []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) != 2 {
		t.Fatalf("history --json: %v, %d runs:\n%s", err, len(runs), r.stdout)
	}
	return dir, []string{runs[1].ID, runs[0].ID}
}

// reportLines splits the text report into its lines, checking the parts
// every report has: the run line, the metrics line and the next run.
func reportLines(t *testing.T, r result, id string) []string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	ls := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	first := regexp.MustCompile(`^run ` + regexp.QuoteMeta(id) + `: 5 tasks in \S+ with -j 2 \(5 ok\)$`)
	metrics := regexp.MustCompile(`^  efficiency \d+%, utilisation \d+%, speedup [\d.]+x, throughput [\d.]+ tasks/s, cache hit rate 0%, average task \S+$`)
	next := regexp.MustCompile(`^next run: about \S+$`)
	if len(ls) < 4 || !first.MatchString(ls[0]) || !metrics.MatchString(ls[1]) || !next.MatchString(ls[len(ls)-1]) {
		t.Fatalf("report has no run line, metrics line and next run line:\n%s", r.stdout)
	}
	return ls
}

// section returns the indented items after the line head ("" when the
// section is missing).
func section(ls []string, head string) []string {
	for i, l := range ls {
		if l != head {
			continue
		}
		var items []string
		for _, item := range ls[i+1:] {
			if !strings.HasPrefix(item, "  ") {
				break
			}
			items = append(items, item)
		}
		return items
	}
	return nil
}

// The report of the last run after two, with and without the strategy's
// dependencies, as text and as JSON, and the report of the first run.
func TestReport(t *testing.T) {
	t.Parallel()
	dir, ids := reportWorkspace(t)
	const flakyLast = `  - task "flaky" failed then passed in 1 of its last 2 runs: it is flaky, find out why`

	t.Run("last", func(t *testing.T) {
		t.Parallel()
		r := jsrt(t, dir, "report")
		ls := reportLines(t, r, ids[1])
		if !regexp.MustCompile(`^critical path: \S+, \d+% of the wall time: (build|test|package)$`).MatchString(ls[2]) {
			t.Errorf("critical path line %q, want the longest task (no dependencies known)", ls[2])
		}
		if recs := section(ls, "recommendations:"); len(recs) != 1 || recs[0] != flakyLast {
			t.Errorf("recommendations %q, want [%q]", recs, flakyLast)
		}
		const note = "jsrt-script: note: without --strategy the tasks' dependencies are unknown, so the critical path is the longest task\n"
		if r.stderr != note {
			t.Errorf("stderr %q, want %q", r.stderr, note)
		}
	})

	t.Run("strategy", func(t *testing.T) {
		t.Parallel()
		r := jsrt(t, dir, "report", "--strategy", "report.js")
		ls := reportLines(t, r, ids[1])
		if !regexp.MustCompile(`^critical path: \S+, \d+% of the wall time: build -> test -> package$`).MatchString(ls[2]) {
			t.Errorf("critical path line %q, want build -> test -> package", ls[2])
		}
		bottlenecks := section(ls, "bottlenecks:")
		names := make([]string, len(bottlenecks))
		for i, b := range bottlenecks {
			names[i] = strings.Fields(b)[0]
		}
		if strings.Join(names, " ") != "build test package" {
			t.Errorf("bottlenecks %q, want build, test, package", bottlenecks)
		}
		recs := section(ls, "recommendations:")
		efficiency := regexp.MustCompile(`^  - parallel efficiency \d+% \(target over 75%\): the critical path is \d+% of the wall time, so more slots will not help; shorten the path$`)
		if len(recs) != 2 || !efficiency.MatchString(recs[0]) || recs[1] != flakyLast {
			t.Errorf("recommendations:\n%s\nwant the efficiency advice, then %q", strings.Join(recs, "\n"), flakyLast)
		}
		if r.stderr != "" {
			t.Errorf("stderr %q, want none", r.stderr)
		}
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		r := jsrt(t, dir, "report", "--json", "--strategy", "report.js")
		var rep struct {
			RunID        string         `json:"runId"`
			Jobs         int            `json:"jobs"`
			Tasks        int            `json:"tasks"`
			Counts       map[string]int `json:"counts"`
			CriticalPath struct {
				Tasks []string `json:"tasks"`
			} `json:"criticalPath"`
			Flaky []struct {
				Task  string `json:"task"`
				Flaky int    `json:"flaky"`
				Runs  int    `json:"runs"`
			} `json:"flaky"`
			Recommendations []string `json:"recommendations"`
			NextRunMs       *float64 `json:"nextRunMs"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 {
			t.Fatalf("exit %d, %v; stdout:\n%s\nstderr:\n%s", r.code, err, r.stdout, r.stderr)
		}
		if rep.RunID != ids[1] || rep.Jobs != 2 || rep.Tasks != 5 || !mapsEqual(rep.Counts, map[string]int{"ok": 5}) {
			t.Errorf("runId %s jobs %d tasks %d counts %v; want %s 2 5 {ok 5}", rep.RunID, rep.Jobs, rep.Tasks, rep.Counts, ids[1])
		}
		if got := strings.Join(rep.CriticalPath.Tasks, " "); got != "build test package" {
			t.Errorf("critical path %q, want build test package", got)
		}
		if len(rep.Flaky) != 1 || rep.Flaky[0].Task != "flaky" || rep.Flaky[0].Flaky != 1 || rep.Flaky[0].Runs != 2 {
			t.Errorf("flaky %+v, want flaky 1 of 2 runs", rep.Flaky)
		}
		if len(rep.Recommendations) != 2 || rep.NextRunMs == nil || *rep.NextRunMs <= 0 {
			t.Errorf("recommendations %q, nextRunMs %v; want 2 and a prediction", rep.Recommendations, rep.NextRunMs)
		}
	})

	t.Run("first run", func(t *testing.T) {
		t.Parallel()
		r := jsrt(t, dir, "report", ids[0], "--strategy", "report.js")
		ls := reportLines(t, r, ids[0])
		// Flakiness as it was then: one run, and it was flaky.
		const flakyFirst = `  - task "flaky" failed then passed in 1 of its last 1 runs: it is flaky, find out why`
		if recs := section(ls, "recommendations:"); len(recs) != 2 || recs[1] != flakyFirst {
			t.Errorf("recommendations:\n%s\nwant the efficiency advice, then %q", strings.Join(recs, "\n"), flakyFirst)
		}
		if flaky := section(ls, "flaky:"); len(flaky) != 1 || flaky[0] != "  flaky failed then passed in 1 of its last 1 runs" {
			t.Errorf("flaky section %q", flaky)
		}
	})

	t.Run("unknown id", func(t *testing.T) {
		t.Parallel()
		typo := ids[0][:len(ids[0])-1] + "x"
		if strings.HasSuffix(ids[0], "x") {
			typo = ids[0][:len(ids[0])-1] + "y"
		}
		tests := []struct{ id, want string }{
			{typo, `jsrt-script: report: unknown run "` + typo + `" (did you mean "` + ids[0] + `"?)` + "\n"},
			{"nonsense", `jsrt-script: report: unknown run "nonsense" (jsrt-script history lists the runs)` + "\n"},
		}
		for _, tt := range tests {
			r := jsrt(t, dir, "report", tt.id)
			if r.code != 2 || r.stderr != tt.want || r.stdout != "" {
				t.Errorf("report %s: exit %d, stdout %q, stderr:\n%s\nwant exit 2, stderr:\n%s", tt.id, r.code, r.stdout, r.stderr, tt.want)
			}
		}
	})
}

// Before anything ran there is nothing to report: no state at all, or
// state without a run.
func TestReportNothingYet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(real, ".jsrt")
	r := jsrt(t, dir, "report")
	want := "jsrt-script: no history in " + state + " yet: run something first (jsrt-script run STRATEGY.js)\n"
	if r.code != 2 || r.stderr != want || r.stdout != "" || exists(dir, ".jsrt") {
		t.Errorf("no state: exit %d, stdout %q, stderr:\n%s\nwant exit 2, nothing created, stderr:\n%s", r.code, r.stdout, r.stderr, want)
	}
	if r := jsrt(t, dir, "cache", "gc"); r.code != 0 { // creates the state, records no run
		t.Fatalf("cache gc: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = jsrt(t, dir, "report", "--json")
	want = "jsrt-script: no runs in " + state + " yet: run something first (jsrt-script run STRATEGY.js)\n"
	if r.code != 2 || r.stderr != want || r.stdout != "" {
		t.Errorf("no runs: exit %d, stdout %q, stderr:\n%s\nwant exit 2, stderr:\n%s", r.code, r.stdout, r.stderr, want)
	}
}

// report takes one run and its usage errors exit 2.
func TestReportUsage(t *testing.T) {
	t.Parallel()
	r := jsrt(t, t.TempDir(), "report", "a", "b")
	const want = "jsrt-script: report: one run at a time: jsrt-script report [RUN] (jsrt-script history lists the runs)\n"
	if r.code != 2 || r.stderr != want {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 2, stderr:\n%s", r.code, r.stderr, want)
	}
	r = jsrt(t, t.TempDir(), "report", "--help")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: jsrt-script report [RUN] [--json] [--state-dir DIR] [--strategy FILE]\n") {
		t.Errorf("--help: exit %d, stdout:\n%s", r.code, r.stdout)
	}
}
