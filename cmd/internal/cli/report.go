package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/monitor"
	"github.com/jsrt-script/jsrt-script/store"
)

// flakyRuns is how many of a task's recent runs the report looks at for
// flakiness.
const flakyRuns = 20

// reportCmd is `jsrt-script report [RUN]`: the last run (or the run given)
// rebuilt from history and analysed — metrics, critical path, bottlenecks,
// anomalies against the predictions from before the run, flaky tasks,
// recommendations and a prediction of the next run. It never writes.
func reportCmd(env *Env, args []string) int {
	fs := newFlags(env, "report", "[RUN] [--json] [--state-dir DIR] [--strategy FILE]")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	stateDir := fs.String("state-dir", "", "read state from `DIR` (default: the strategy's .jsrt with --strategy, else the nearest .jsrt in this directory or above)")
	strategy := fs.String("strategy", "", "read the tasks' dependencies from the strategy `FILE`, for the real critical path")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		errorf(env, "report: one run at a time: jsrt-script report [RUN] (jsrt-script history lists the runs)")
		return ExitUsage
	}
	var deps map[string][]string
	dir := stateDirFor(env, *stateDir)
	if *strategy != "" {
		ws, err := loadOnly(env, *strategy, nil)
		if err != nil {
			return report(env, err)
		}
		deps = map[string][]string{}
		for _, t := range ws.Graph.Tasks() {
			deps[t.Name] = t.Deps
		}
		if *stateDir == "" {
			dir = filepath.Join(ws.Root, ".jsrt")
		}
	}
	ctx, stop := cancelOnSignal(env)
	defer stop()
	db, err := store.Open(ctx, dir, store.Options{ReadOnly: true, Log: env.Stderr, OnWait: func(pid int) {
		who := "another run"
		if pid > 0 {
			who = fmt.Sprintf("another run (pid %d)", pid)
		}
		errorf(env, "waiting for %s holding %s", who, dir)
	}})
	if errors.Is(err, store.ErrNoState) {
		errorf(env, "no history in %s yet: run something first (jsrt-script run STRATEGY.js)", dir)
		return ExitUsage
	}
	if err != nil {
		return report(env, err)
	}
	defer db.Close()
	h := history.New(db)
	id := ""
	if len(pos) == 1 {
		id = pos[0]
	}
	rep, code := runReport(env, h, dir, id, deps)
	if rep == nil {
		return code
	}
	if n := h.Skipped(); n > 0 {
		errorf(env, "skipped %s of history that could not be read", monitor.Plural(int(n), "record"))
	}
	if *asJSON {
		return printJSON(env, rep)
	}
	if deps == nil && rep.Tasks > 1 {
		errorf(env, "note: without --strategy the tasks' dependencies are unknown, so the critical path is the longest task")
	}
	if err := rep.WriteText(env.Stdout); err != nil {
		return report(env, err)
	}
	return ExitOK
}

// cancelOnSignal cancels ctx on the first interrupt Env delivers (tests
// have none): a report waiting for a run to let go of the state stops.
func cancelOnSignal(env *Env) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	if env.Signals != nil {
		go func() {
			select {
			case <-env.Signals:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}

// runReport finds the run (the newest when id is "") and analyses it. On
// a problem it prints it and returns a nil report and the exit status.
// noteGaps says on stderr what a report of run cannot show: a run that
// never finished, or the cache hits of a run too old to keep them.
func noteGaps(env *Env, run history.RunRecord, recs []history.TaskRecord) {
	if run.Start.IsZero() {
		errorf(env, "note: run %s never finished (its coordinator was killed or its machine stopped): this covers only the attempts it recorded", run.ID)
		return
	}
	hits := 0
	for _, r := range recs {
		if r.Outcome == history.OutcomeCached {
			hits++
		}
	}
	if n := run.Counts[history.OutcomeCached]; n > hits {
		errorf(env, "note: %d of this run's %d cache hits are no longer kept (only the newest %d runs keep theirs): they are left out", n-hits, n, history.KeepHitRuns)
	}
}

func runReport(env *Env, h *history.History, dir, id string, deps map[string][]string) (*monitor.Report, int) {
	if id == "" {
		runs, err := h.Runs(1)
		if err != nil {
			return nil, report(env, err)
		}
		if len(runs) == 0 {
			errorf(env, "no runs in %s yet: run something first (jsrt-script run STRATEGY.js)", dir)
			return nil, ExitUsage
		}
		id = runs[0].ID
	}
	run, recs, err := h.Run(id)
	if errors.Is(err, history.ErrUnknownRun) {
		errorf(env, "%s", unknownRun(h, id))
		return nil, ExitUsage
	}
	if err != nil {
		return nil, report(env, err)
	}
	noteGaps(env, run, recs)
	tl := monitor.FromHistory(run, recs, deps)
	in := monitor.ReportInput{Timeline: tl, Expected: map[string]monitor.Expected{}}
	for _, info := range tl.Tasks {
		all, err := h.TaskRecords(info.Name, 0)
		if err != nil {
			return nil, report(env, err)
		}
		in.Expected[info.Name] = monitor.ExpectedBefore(info.Name, all, tl.Start)
		in.Flaky = append(in.Flaky, monitor.FlakyFrom(info.Name, asOf(all, run.ID, tl.Start), flakyRuns))
	}
	return monitor.NewReport(in), ExitOK
}

// asOf keeps the records (newest first) of the run and of the runs before
// it, so that the report of an old run shows flakiness as it was then.
func asOf(recs []history.TaskRecord, runID string, start time.Time) []history.TaskRecord {
	var out []history.TaskRecord
	for _, r := range recs {
		if r.RunID == runID || r.Start.Before(start) {
			out = append(out, r)
		}
	}
	return out
}

// unknownRun says that there is no run id, with the closest recorded id.
func unknownRun(h *history.History, id string) string {
	msg := fmt.Sprintf("report: unknown run %q", id)
	runs, err := h.Runs(0)
	if err != nil {
		return msg
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.ID
	}
	if s := graph.Suggest(id, ids); s != "" {
		return msg + fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg + " (jsrt-script history lists the runs)"
}
