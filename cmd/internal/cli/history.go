package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/monitor"
	"github.com/jsrt-script/jsrt-script/store"
)

func historyCmd(env *Env, args []string) int {
	fs := newFlags(env, "history", "[TASK] [--json] [--limit N] [--state-dir DIR]")
	asJSON := fs.Bool("json", false, "print JSON")
	limit := fs.Int("limit", 20, "show at most `N` runs or records")
	stateDir := fs.String("state-dir", "", "read state from `DIR` (default: the nearest .jsrt in this directory or above)")
	flaky := fs.Bool("flaky", false, "list the tasks that failed and then passed on a retry in the same run")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	if *limit < 1 {
		errorf(env, "history: --limit must be at least 1, got %d", *limit)
		return ExitUsage
	}
	dir := *stateDir
	if dir == "" {
		dir = findState(env.Cwd)
	} else if !filepath.IsAbs(dir) {
		dir = filepath.Join(env.Cwd, dir)
	}
	ctx, _, stop := interrupts(env)
	defer stop()
	db, err := store.Open(ctx, dir, store.Options{ReadOnly: true, Log: env.Stderr,
		OnWait: func(pid int) { errorf(env, "waiting for another run (pid %d) holding %s", pid, dir) }})
	if errors.Is(err, store.ErrNoState) {
		errorf(env, "no history in %s yet: run something first (jsrt-script run STRATEGY.js)", dir)
		return ExitUsage
	}
	if err != nil {
		return report(env, err)
	}
	defer db.Close()
	h := history.New(db)
	if *flaky {
		return flakyTasks(env, h, *asJSON)
	}
	if len(pos) > 0 {
		return taskHistory(env, h, pos[0], *limit, *asJSON)
	}
	return runHistory(env, h, *limit, *asJSON)
}

// findState looks for .jsrt in dir and its parents, like git does for .git.
func findState(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, ".jsrt")); err == nil && st.IsDir() {
			return filepath.Join(d, ".jsrt")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, ".jsrt")
		}
	}
}

func runHistory(env *Env, h *history.History, limit int, asJSON bool) int {
	runs, err := h.Runs(limit)
	if err != nil {
		return report(env, err)
	}
	if asJSON {
		return printJSON(env, runs)
	}
	if len(runs) == 0 {
		fmt.Fprintln(env.Stdout, "no runs recorded")
		return ExitOK
	}
	for _, r := range runs {
		fmt.Fprintf(env.Stdout, "%s  %s  %8s  -j %-2d exit %-3d %s  %s\n", r.ID, r.Start.Local().Format("2006-01-02 15:04:05"),
			monitor.Round(r.Wall), r.Jobs, r.ExitCode, counts(r.Counts), targetList(r.Targets))
	}
	return ExitOK
}

// targetList prints a run's targets on one line: the first few, then how
// many more (a run of every task of a big strategy has thousands).
func targetList(targets []string) string {
	const shown = 8
	if len(targets) <= shown+1 {
		return strings.Join(targets, " ")
	}
	return fmt.Sprintf("%s (and %d more)", strings.Join(targets[:shown], " "), len(targets)-shown)
}

func counts(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", c[k], k)
	}
	return strings.Join(parts, ", ")
}

func taskHistory(env *Env, h *history.History, task string, limit int, asJSON bool) int {
	recs, err := h.TaskRecords(task, limit)
	if err != nil {
		return report(env, err)
	}
	pred := h.Predict(task)
	if asJSON {
		return printJSON(env, map[string]any{"prediction": pred, "records": recs})
	}
	if len(recs) == 0 {
		errorf(env, "no history for task %q", task)
		return ExitUsage
	}
	fmt.Fprintf(env.Stdout, "%s: %d samples (confidence %s): mean %s, ewma %s, stddev %s, p50 %s, p90 %s, failure rate %.0f%%, flaky %d\n",
		task, pred.Samples, pred.Confidence, ms(pred.Mean), ms(pred.EWMA), ms(pred.StdDev), ms(pred.P50), ms(pred.P90),
		100*pred.FailureRate, pred.Flaky)
	for _, r := range recs {
		what := r.Outcome
		if r.Signal != "" {
			what += " (" + r.Signal + ")"
		} else if r.ExitCode != 0 {
			what += fmt.Sprintf(" (exit %d)", r.ExitCode)
		}
		fmt.Fprintf(env.Stdout, "%s  %s  attempt %d  %8s  %-20s rss %s\n", r.RunID, r.Start.Local().Format("2006-01-02 15:04:05"),
			r.Attempt, ms(r.Duration), what, bytesHuman(r.PeakRSS))
	}
	return ExitOK
}

func ms(d time.Duration) time.Duration { return monitor.Round(d) }

func bytesHuman(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func printJSON(env *Env, v any) int {
	if err := writeJSON(env.Stdout, v); err != nil {
		return report(env, err)
	}
	return ExitOK
}

// flakyTasks lists tasks that passed on a retry after failing, with their
// failure rates, most flaky first.
func flakyTasks(env *Env, h *history.History, asJSON bool) int {
	names, err := h.TaskNames()
	if err != nil {
		return report(env, err)
	}
	var flaky []history.Prediction
	for _, n := range names {
		if p := h.Predict(n); p.Flaky > 0 {
			flaky = append(flaky, p)
		}
	}
	sort.SliceStable(flaky, func(i, j int) bool { return flaky[i].Flaky > flaky[j].Flaky })
	if asJSON {
		if flaky == nil {
			flaky = []history.Prediction{}
		}
		return printJSON(env, flaky)
	}
	if len(flaky) == 0 {
		fmt.Fprintln(env.Stdout, "no flaky tasks: none failed and then passed on a retry in its recent runs")
		return ExitOK
	}
	for _, p := range flaky {
		fmt.Fprintf(env.Stdout, "%-24s passed on a retry in %d of its recent runs; failure rate %.0f%%\n", p.Task, p.Flaky, 100*p.FailureRate)
	}
	return ExitOK
}
