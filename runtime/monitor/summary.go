package monitor

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// TaskSummary is one task's line in the machine-readable summary (and in the
// object JS run() resolves to).
type TaskSummary struct {
	Status     string  `json:"status"`
	ExitCode   int     `json:"exitCode"`
	Signal     string  `json:"signal,omitempty"`
	DurationMs float64 `json:"durationMs"`
	Attempts   int     `json:"attempts"`
	Reason     string  `json:"reason,omitempty"`
}

// Ahead is what speculation did: tasks run ahead of a request into the
// cache in this run, and this run's cache hits on results run ahead earlier.
type Ahead struct {
	Started int `json:"started"`
	Stored  int `json:"stored"`  // finished successfully (into the cache)
	Stopped int `json:"stopped"` // stopped for requested work, or at the end
	Hits    int `json:"hits"`
}

// Summary is the machine-readable end of a run.
type Summary struct {
	OK          bool                   `json:"ok"`
	RunID       string                 `json:"runId,omitempty"`
	ExitCode    int                    `json:"exitCode"`
	Interrupted bool                   `json:"interrupted"`
	DryRun      bool                   `json:"dryRun,omitempty"` // nothing ran: statuses are what a run would reach
	WallMs      float64                `json:"wallMs"`
	Jobs        int                    `json:"jobs"`
	SumMs       float64                `json:"sumMs"`
	Efficiency  float64                `json:"efficiency"`
	Speedup     float64                `json:"speedup"`
	SavedMs     float64                `json:"savedMs"` // run time the cache hits replaced
	Counts      map[string]int         `json:"counts"`
	Order       []string               `json:"order"` // tasks in topological order
	Ahead       Ahead                  `json:"ahead"`
	Metrics     *Metrics               `json:"metrics,omitempty"` // the seed's metrics, from the run's timeline
	Tasks       map[string]TaskSummary `json:"tasks"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ExitCode is the process exit status a report maps to: 0 ok, 1 a task
// failed, 130 interrupted.
func ExitCode(rep *sched.Report) int {
	switch {
	case rep.Interrupted:
		return 130
	case !rep.OK():
		return 1
	}
	return 0
}

// Summarize builds the machine-readable summary.
func Summarize(runID string, rep *sched.Report) Summary {
	s := Summary{OK: rep.OK(), RunID: runID, ExitCode: ExitCode(rep), Interrupted: rep.Interrupted,
		WallMs: ms(rep.Wall), Jobs: rep.Jobs, SumMs: ms(rep.Busy()), Efficiency: rep.Efficiency(),
		Speedup: speedup(rep), Counts: rep.Counts(), Order: make([]string, 0, len(rep.Tasks)),
		Tasks: make(map[string]TaskSummary, len(rep.Tasks))}
	s.SavedMs, s.Ahead = cacheTotals(rep)
	for _, t := range rep.Tasks {
		s.Order = append(s.Order, t.Task.Name)
		ts := TaskSummary{Status: t.Status.String(), ExitCode: t.Result.ExitCode, Signal: t.Result.Signal,
			DurationMs: ms(t.Busy), Attempts: t.Attempts, Reason: t.Reason}
		if t.Attempts == 0 {
			ts.ExitCode = -1
		}
		s.Tasks[t.Task.Name] = ts
	}
	return s
}

// speedup is Σ task time ÷ wall (0 for a run that took no time).
func speedup(rep *sched.Report) float64 {
	if rep.Wall > 0 {
		return float64(rep.Busy()) / float64(rep.Wall)
	}
	return 0
}

// cacheTotals is the run time the cache hits replaced, in milliseconds, and
// what speculation did.
func cacheTotals(rep *sched.Report) (savedMs float64, a Ahead) {
	for _, t := range rep.Speculated {
		a.Started++
		switch {
		case t.Status == sched.OK:
			a.Stored++
		case t.Status == sched.Interrupted:
			a.Stopped++
		}
	}
	for _, t := range rep.Tasks {
		if t.Status == sched.Cached {
			savedMs += ms(t.Result.Saved)
			if t.Result.AheadHit {
				a.Hits++
			}
		}
	}
	return savedMs, a
}

// WriteSummary prints the end-of-run summary for people.
// logPath names a task's log file ("" for none).
func WriteSummary(w io.Writer, rep *sched.Report, logPath func(task string) string, color bool) {
	c := rep.Counts()
	var parts []string
	for _, st := range []string{"ok", "cached", "failed", "interrupted", "skipped"} {
		if c[st] > 0 || st == "ok" {
			parts = append(parts, fmt.Sprintf("%d %s", c[st], st))
		}
	}
	verdict := "done"
	switch ExitCode(rep) {
	case 1:
		verdict = "FAILED"
	case 130:
		verdict = "INTERRUPTED"
	}
	fmt.Fprintf(w, "%s: %s in %s with -j %d: %s\n", verdict, Plural(len(rep.Tasks), "task"), Round(rep.Wall), rep.Jobs, strings.Join(parts, ", "))
	if slow := slowest(rep, 3); slow != "" {
		fmt.Fprintf(w, "slowest: %s\n", slow)
	}
	fmt.Fprintf(w, "Σ task time %s, parallel efficiency %.0f%% (Σ ÷ (wall × %s)), speedup %.2fx\n",
		Round(rep.Busy()), 100*rep.Efficiency(), Plural(rep.Jobs, "slot"), speedup(rep))
	savedMs, a := cacheTotals(rep)
	if c["cached"] > 0 {
		fmt.Fprintf(w, "cache: %s replaced %s of task time\n", Plural(c["cached"], "hit"), Round(time.Duration(savedMs*float64(time.Millisecond))))
	}
	if a.Started > 0 || a.Hits > 0 {
		fmt.Fprintf(w, "ahead: %s run ahead into the cache (%d stored, %d stopped); %s on results run ahead earlier\n",
			Plural(a.Started, "task"), a.Stored, a.Stopped, Plural(a.Hits, "hit"))
	}
	for _, t := range rep.Tasks {
		if t.Status == sched.Failed || t.Status == sched.Interrupted {
			line := fmt.Sprintf("%s %q: %s", t.Status, t.Task.Name, t.Reason)
			if p := logPath(t.Task.Name); p != "" && t.Attempts > 0 {
				line += " — log: " + p
			}
			fmt.Fprintln(w, line)
		}
	}
}

// slowest names the n tasks that ran longest, longest first (ties in
// report order), without sorting the whole report.
func slowest(rep *sched.Report, n int) string {
	top := make([]*sched.TaskReport, 0, n)
	for _, t := range rep.Tasks {
		if t.Busy <= 0 {
			continue
		}
		i := len(top)
		for i > 0 && top[i-1].Busy < t.Busy {
			i--
		}
		if i >= n {
			continue
		}
		if len(top) < n {
			top = append(top, nil)
		}
		copy(top[i+1:], top[i:len(top)-1])
		top[i] = t
	}
	parts := make([]string, len(top))
	for i, t := range top {
		parts[i] = fmt.Sprintf("%s %s", t.Task.Name, Round(t.Busy))
	}
	return strings.Join(parts, ", ")
}

// Plural writes "1 task", "2 tasks".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
