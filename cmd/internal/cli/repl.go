package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/jsrt-script/jsrt-script/bindings"
	"github.com/jsrt-script/jsrt-script/repl"
	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/monitor"
	"github.com/jsrt-script/jsrt-script/store"
)

// replHistoryFile is the REPL's line history, in the state directory.
const replHistoryFile = "repl_history"

func replCmd(env *Env, args []string) int {
	var f runFlags
	fs := newFlags(env, "repl", "[STRATEGY.js|.ts] [flags]")
	fs.IntVar(&f.jobs, "j", runtime.NumCPU(), "run at most `N` tasks at once")
	fs.BoolVar(&f.keepGoing, "continue", false, "after a failure, keep running everything that does not depend on it")
	fs.StringVar(&f.output, "output", "stream", "how to show task output: stream (prefixed lines), grouped (one block per task) or quiet")
	fs.StringVar(&f.stateDir, "state-dir", "", "keep state (history, logs) in `DIR` instead of .jsrt at the workspace root")
	fs.BoolVar(&f.noWait, "no-wait", false, "fail at once instead of waiting when another run uses the state")
	fs.BoolVar(&f.noCache, "no-cache", false, "neither look up nor store results in the cache")
	fs.StringVar(&f.cacheMax, "cache-max", "2GiB", "after a run, evict least recently used cache entries above this `SIZE`")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		errorf(env, "repl: one strategy at most, got %d arguments (%s); usage: jsrt-script repl [STRATEGY.js]", len(pos), strings.Join(pos, " "))
		return ExitUsage
	}
	if f.jobs < 1 {
		errorf(env, "repl: -j must be at least 1, got %d", f.jobs)
		return ExitUsage
	}
	mode, err := monitor.ParseMode(f.output)
	if err != nil {
		errorf(env, "repl: %v", err)
		return ExitUsage
	}
	maxBytes, err := cache.ParseSize(f.cacheMax)
	if err != nil {
		errorf(env, "repl: --cache-max: %v", err)
		return ExitUsage
	}
	rs := &replSession{env: env, flags: f, mode: mode, cacheMax: maxBytes}
	rs.eng = bindings.New(bindings.Config{Cwd: env.Cwd, Stdout: env.Stdout, Stderr: env.Stderr,
		Run: rs.run, Invalidate: rs.invalidate, Predict: rs.predict})
	if len(pos) == 1 {
		if err := rs.loadFirst(pos[0]); err != nil {
			return report(env, err)
		}
	} else {
		rs.in = bindings.NewInteractive(rs.eng, env.Cwd)
	}
	r := &replRunner{rs: rs}
	reader, interactive, err := r.reader()
	if err != nil {
		errorf(env, "repl: %v", err)
		return ExitUsage
	}
	r.repl = repl.New(repl.Config{Reader: reader, Eval: rs, Commands: rs.commands(), Stdout: env.Stdout,
		Stderr: env.Stderr, Signals: env.Signals, Interactive: interactive})
	return r.repl.Run()
}

// replRunner ties the REPL to its reader, whose completer needs the REPL.
type replRunner struct {
	rs   *replSession
	repl *repl.REPL
}

// reader picks how lines are read: liner when stdin and stdout are a
// terminal; plain lines with prompts on stderr when only stdin is; plain
// lines without prompts from a pipe.
func (r *replRunner) reader() (repl.LineReader, bool, error) {
	env := r.rs.env
	if !isTerminal(env.Stdin) {
		return repl.NewLines(env.Stdin, nil), false, nil
	}
	if !isTerminal(env.Stdout) {
		return repl.NewLines(env.Stdin, env.Stderr), true, nil
	}
	complete := func(line string, pos int) (string, []string, string) { return r.repl.Complete(line, pos) }
	l, err := repl.NewLiner(r.rs.historyPath(), complete)
	return l, true, err
}

// isTerminal reports whether a stream of the process is a terminal.
func isTerminal(v any) bool {
	f, ok := v.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// replSession is the REPL's side of the engine. Each statement gets a
// session of its own (the one `jsrt-script run` uses), so runs record
// history, cache and print as `run` does, and the state is not held
// between statements: another run on the same workspace is not kept
// waiting by an idle prompt.
type replSession struct {
	env      *Env
	flags    runFlags
	mode     monitor.Mode
	cacheMax int64
	eng      *bindings.Engine
	in       *bindings.Interactive

	cur *session // the statement's session; set by the REPL goroutine around each statement

	mu   sync.Mutex
	last *monitor.Summary // the last run's summary, for .report
}

// loadFirst loads the strategy named on the command line; Ctrl-C stops it.
func (rs *replSession) loadFirst(file string) error {
	ctx, kill, stop := interrupts(rs.env)
	defer stop()
	rs.begin(kill)
	defer rs.end()
	rs.in = bindings.NewInteractive(rs.eng, rs.env.Cwd)
	return rs.in.Load(ctx, file)
}

// begin gives the statement about to run a session of its own; kill is
// closed on a second interrupt.
func (rs *replSession) begin(kill chan struct{}) {
	rs.cur = &session{env: rs.env, flags: rs.flags, mode: rs.mode, kill: kill, cacheMax: rs.cacheMax}
}

// end closes the statement's session (and so the state) once nothing of
// the statement runs any more.
func (rs *replSession) end() {
	rs.cur.close()
	rs.cur = nil
}

// run is the engine's RunFunc: the statement's session runs it.
func (rs *replSession) run(ctx context.Context, ws *core.Workspace, req bindings.RunRequest) (*bindings.Outcome, error) {
	out, err := rs.cur.run(ctx, ws, req)
	if err == nil {
		out.Value = out.Result() // kept for the REPL whether or not the script looks
		if sum, ok := out.Value.(monitor.Summary); ok {
			rs.mu.Lock()
			rs.last = &sum
			rs.mu.Unlock()
		}
	}
	return out, err
}

func (rs *replSession) invalidate(ws *core.Workspace, names []string) ([]string, error) {
	return rs.cur.invalidate(ws, names)
}

func (rs *replSession) predict(ws *core.Workspace, name string) (any, error) {
	return rs.cur.predict(ws, name)
}

// Eval implements repl.Evaluator.
func (rs *replSession) Eval(ctx context.Context, kill chan struct{}, src string) (string, error) {
	rs.begin(kill)
	defer rs.end()
	return rs.in.Eval(ctx, src)
}

// Names implements repl.Evaluator.
func (rs *replSession) Names() repl.Names { return repl.Names(rs.in.Names()) }

// Worst implements repl.Evaluator.
func (rs *replSession) Worst() int {
	_, worst := rs.eng.Runs()
	return worst
}

func (rs *replSession) workspace() *core.Workspace { return rs.eng.Workspace() }

// stateDir is where the workspace keeps its state (as `run` has it).
func (rs *replSession) stateDir() string {
	return (&session{env: rs.env, flags: rs.flags}).stateDir(rs.workspace())
}

func (rs *replSession) historyPath() string { return filepath.Join(rs.stateDir(), replHistoryFile) }

// commands are the REPL's dot-commands besides .help and .exit.
func (rs *replSession) commands() []repl.Command {
	tasks := func(_ string, n repl.Names) []string { return n.Tasks }
	return []repl.Command{
		{Name: "tasks", Help: "list the tasks with their predicted durations", Run: rs.tasksCmd},
		{Name: "graph", Args: "[text|dot|mermaid|json]", Help: "print the task graph", Run: rs.graphCmd,
			Complete: func(string, repl.Names) []string { return []string{"dot", "json", "mermaid", "text"} }},
		{Name: "history", Args: "[TASK]", Help: "recent runs, or one task's records and prediction", Run: rs.historyCmd, Complete: tasks},
		{Name: "report", Help: "the summary of the last run in this session", Run: rs.reportCmd},
		{Name: "load", Args: "FILE", Help: "run a strategy; its tasks replace the current ones", Run: rs.loadCmd, Complete: rs.completeFile},
	}
}

func (rs *replSession) tasksCmd(_ context.Context, _ chan struct{}, arg string) error {
	if arg != "" {
		return fmt.Errorf(".tasks takes no argument, got %q", arg)
	}
	g := rs.workspace().Graph
	if g.Len() == 0 {
		fmt.Fprintln(rs.env.Stdout, "no tasks defined: task(name, {cmd}) defines one, .load FILE loads a strategy")
		return nil
	}
	preds, note := rs.predictions(g.Names())
	width := 0
	for _, t := range g.Tasks() {
		width = max(width, len(t.Name))
	}
	w := rs.env.Stdout
	for _, t := range g.Tasks() {
		line := fmt.Sprintf("%-*s  %-26s  %s", width, t.Name, predictionText(preds[t.Name]), t.Command())
		if len(t.Deps) > 0 {
			line += "  (deps: " + strings.Join(t.Deps, ", ") + ")"
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	if note != "" {
		fmt.Fprintln(w, note)
	}
	return nil
}

func predictionText(p *history.Prediction) string {
	if p == nil || p.Samples == 0 {
		return "no history"
	}
	samples := "samples"
	if p.Samples == 1 {
		samples = "sample"
	}
	return fmt.Sprintf("~%s (%d %s, %s)", monitor.Round(p.EWMA), p.Samples, samples, p.Confidence)
}

// predictions reads what history predicts for names, read-only and
// without waiting; a note says why there are none when the state cannot
// be read.
func (rs *replSession) predictions(names []string) (map[string]*history.Prediction, string) {
	out := map[string]*history.Prediction{}
	dir := rs.stateDir()
	db, err := store.Open(context.Background(), dir, store.Options{ReadOnly: true, NoWait: true, Log: io.Discard})
	if errors.Is(err, store.ErrNoState) {
		return out, ""
	}
	if err != nil {
		return out, fmt.Sprintf("(no predictions: %v)", err)
	}
	defer db.Close()
	h := history.New(db)
	for _, n := range names {
		p := h.Predict(n)
		out[n] = &p
	}
	return out, ""
}

func (rs *replSession) graphCmd(_ context.Context, _ chan struct{}, arg string) error {
	if _, ok := graphPrinters[arg]; !ok && arg != "" {
		return fmt.Errorf(".graph: unknown format %q (use text, dot, mermaid or json)", arg)
	}
	g := rs.workspace().Graph
	if g.Len() == 0 {
		return errors.New(".graph: no tasks defined yet")
	}
	if err := g.Validate(); err != nil {
		return err
	}
	tasks, err := g.Closure(g.Names())
	if err != nil {
		return err
	}
	return printGraph(rs.env.Stdout, arg, newGraphView(g, tasks, readEstimates(rs.stateDir())))
}

func (rs *replSession) historyCmd(_ context.Context, _ chan struct{}, arg string) error {
	args := []string{"--state-dir", rs.stateDir()}
	if arg != "" {
		args = append(args, "--", arg)
	}
	historyCmd(rs.env, args)
	return nil
}

func (rs *replSession) reportCmd(_ context.Context, _ chan struct{}, arg string) error {
	if arg != "" {
		return fmt.Errorf(".report takes no argument, got %q", arg)
	}
	rs.mu.Lock()
	sum := rs.last
	rs.mu.Unlock()
	if sum == nil {
		fmt.Fprintln(rs.env.Stdout, `no run yet in this session: await run("TASK") runs one`)
		return nil
	}
	writeSummary(rs.env.Stdout, sum)
	return nil
}

// writeSummary prints a run's summary: the verdict, one line per task in
// the order the run has them, and the parallel figures.
func writeSummary(w io.Writer, s *monitor.Summary) {
	verdict := "ok"
	switch {
	case s.DryRun:
		verdict = "dry run"
	case s.Interrupted:
		verdict = "interrupted"
	case !s.OK:
		verdict = "FAILED"
	}
	keys := make([]string, 0, len(s.Counts))
	for k := range s.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var counts []string
	for _, k := range keys {
		counts = append(counts, fmt.Sprintf("%d %s", s.Counts[k], k))
	}
	fmt.Fprintf(w, "last run %s: %s, %d tasks in %s with -j %d: %s\n", s.RunID, verdict, len(s.Tasks),
		monitor.Round(msDuration(s.WallMs)), s.Jobs, strings.Join(counts, ", "))
	width := 0
	for _, name := range s.Order {
		width = max(width, len(name))
	}
	for _, name := range s.Order {
		t := s.Tasks[name]
		line := fmt.Sprintf("  %-*s  %-11s %8s", width, name, t.Status, monitor.Round(msDuration(t.DurationMs)))
		if t.Attempts > 1 {
			line += fmt.Sprintf("  %d attempts", t.Attempts)
		}
		if t.Reason != "" {
			line += "  " + t.Reason
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "Σ task time %s, parallel efficiency %.0f%%, speedup %.2fx\n",
		monitor.Round(msDuration(s.SumMs)), 100*s.Efficiency, s.Speedup)
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

func (rs *replSession) loadCmd(ctx context.Context, kill chan struct{}, arg string) error {
	if arg == "" {
		return errors.New(".load: which file? usage: .load STRATEGY.js")
	}
	rs.begin(kill)
	defer rs.end()
	if err := rs.in.Load(ctx, arg); err != nil {
		return err
	}
	fmt.Fprintf(rs.env.Stdout, "loaded %s: %d tasks\n", arg, rs.workspace().Graph.Len())
	return nil
}

// completeFile proposes the files and directories that complete prefix,
// relative to the working directory.
func (rs *replSession) completeFile(prefix string, _ repl.Names) []string {
	dir, base := filepath.Split(prefix)
	entries, err := os.ReadDir(filepath.Join(rs.env.Cwd, dir))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, base) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		if e.IsDir() {
			name += "/"
		}
		out = append(out, dir+name)
	}
	return out
}
