package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/jsrt-script/jsrt-script/bindings"
	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/monitor"
	"github.com/jsrt-script/jsrt-script/store"
)

type runFlags struct {
	jobs      int
	keepGoing bool
	dryRun    bool
	json      bool
	output    string
	stateDir  string
	noWait    bool
}

func runCmd(env *Env, args []string) int {
	var f runFlags
	fs := newFlags(env, "run", "STRATEGY.js [TARGET...] [flags]")
	fs.IntVar(&f.jobs, "j", runtime.NumCPU(), "run at most `N` tasks at once")
	fs.BoolVar(&f.keepGoing, "continue", false, "after a failure, keep running everything that does not depend on it")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan in start order; run nothing, write nothing")
	fs.BoolVar(&f.json, "json", false, "print a machine-readable summary on stdout (task output goes to stderr)")
	fs.StringVar(&f.output, "output", "stream", "how to show task output: stream (prefixed lines), grouped (one block per task) or quiet")
	fs.StringVar(&f.stateDir, "state-dir", "", "keep state (history, logs) in `DIR` instead of .jsrt at the workspace root")
	fs.BoolVar(&f.noWait, "no-wait", false, "fail at once instead of waiting when another run uses the state")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		errorf(env, "run: which strategy? usage: jsrt-script run STRATEGY.js [TARGET...]")
		return ExitUsage
	}
	if f.jobs < 1 {
		errorf(env, "run: -j must be at least 1, got %d", f.jobs)
		return ExitUsage
	}
	mode, err := monitor.ParseMode(f.output)
	if err != nil {
		errorf(env, "run: %v", err)
		return ExitUsage
	}
	ctx, kill, stop := interrupts(env)
	defer stop()
	s := &session{env: env, flags: f, mode: mode, kill: kill}
	defer s.close()
	return s.main(ctx, pos[0], pos[1:])
}

// interrupts turns the first SIGINT/SIGTERM/SIGHUP into a cancelled context
// (tasks get SIGTERM, then SIGKILL after a grace period) and the second into
// a closed kill channel (SIGKILL at once).
func interrupts(env *Env) (context.Context, chan struct{}, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	kill := make(chan struct{})
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-env.Signals:
				n++
				if n == 1 {
					fmt.Fprintln(env.Stderr, "jsrt-script: interrupted: stopping running tasks (interrupt again to kill them at once)")
					cancel()
				} else if n == 2 {
					close(kill)
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, kill, func() { close(done); cancel() }
}

// session is one `jsrt-script run`: the engine, the state it opens on first
// use, and the runs the strategy asks for (one at a time).
type session struct {
	env   *Env
	flags runFlags
	mode  monitor.Mode
	kill  chan struct{}
	// silent: print nothing (graph's dry runs).
	silent bool

	mu   sync.Mutex
	db   *store.DB
	hist *history.History
}

func (s *session) main(ctx context.Context, file string, targets []string) int {
	console := s.env.Stdout
	if s.flags.json {
		console = s.env.Stderr
	}
	eng := bindings.New(bindings.Config{Cwd: s.env.Cwd, Stdout: console, Stderr: s.env.Stderr, Args: targets, Run: s.run})
	if err := eng.Load(ctx, file); err != nil {
		return report(s.env, err)
	}
	if n, worst := eng.Runs(); n > 0 {
		return worst
	}
	ws := eng.Workspace()
	if len(targets) == 0 {
		targets = defaultTargets(ws)
	}
	if len(targets) == 0 {
		errorf(s.env, "%s defines no tasks: add task(name, {cmd}) calls", file)
		return ExitUsage
	}
	code, err := eng.RunTargets(ctx, bindings.RunRequest{Targets: targets})
	if err != nil {
		return report(s.env, err)
	}
	return code
}

// defaultTargets: the task named "default" if there is one, else all.
func defaultTargets(ws *core.Workspace) []string {
	if ws.Graph.Task("default") != nil {
		return []string{"default"}
	}
	return ws.Graph.Names()
}

// run is the engine's RunFunc: one run, after any other has finished.
func (s *session) run(ctx context.Context, ws *core.Workspace, req bindings.RunRequest) (*bindings.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ws.Graph.Validate(); err != nil {
		return nil, err
	}
	tasks, err := ws.Graph.Closure(req.Targets)
	if err != nil {
		return nil, err
	}
	dry := req.DryRun || s.flags.dryRun
	stateDir := s.stateDir(ws)
	if err := s.openState(ctx, stateDir, dry); err != nil {
		return nil, err
	}
	out := s.env.Stdout
	if s.flags.json {
		out = s.env.Stderr
	}
	if s.silent {
		out = io.Discard
	}
	color := s.env.IsTerminal && !s.flags.json && s.env.getenv("NO_COLOR") == "" && s.env.getenv("TERM") != "dumb"
	disp := monitor.NewLines(out, s.mode, color, dry)
	disp.SetTotal(len(tasks))
	opt := core.RunOptions{
		Targets: req.Targets, Jobs: s.flags.jobs, KeepGoing: s.flags.keepGoing || req.KeepGoing, DryRun: dry,
		Display: disp, History: s.hist, Env: s.env.Environ, Kill: s.kill, Now: s.env.Now,
	}
	if req.Jobs > 0 {
		opt.Jobs = req.Jobs
	}
	if dry {
		opt.History = nil // never write; order from what was read is still used below
	} else {
		opt.LogDir = filepath.Join(stateDir, "logs")
	}
	res, err := core.Run(ctx, ws, s.withReadOnlyPredictions(opt, dry))
	if err != nil {
		return nil, err
	}
	sum := monitor.Summarize(res.RunID, res.Report)
	sum.DryRun = dry
	s.printEnd(out, res, sum, opt.LogDir, color, dry)
	return &bindings.Outcome{Value: sum, ExitCode: sum.ExitCode}, nil
}

func (s *session) withReadOnlyPredictions(opt core.RunOptions, dry bool) core.RunOptions {
	if dry && s.hist != nil {
		opt.Predictions = s.hist
	}
	return opt
}

func (s *session) printEnd(out io.Writer, res *core.Result, sum monitor.Summary, logDir string, color, dry bool) {
	if s.silent {
		return
	}
	if s.flags.json {
		b, _ := json.Marshal(sum)
		fmt.Fprintln(s.env.Stdout, string(b))
		return
	}
	if dry {
		fmt.Fprintf(out, "dry run: %d tasks would run with -j %d; nothing was run or written\n", len(res.Tasks), res.Jobs)
		return
	}
	monitor.WriteSummary(out, res.Report, s.prettyPath(logDir), color)
}

func (s *session) stateDir(ws *core.Workspace) string {
	if s.flags.stateDir != "" {
		if filepath.IsAbs(s.flags.stateDir) {
			return s.flags.stateDir
		}
		return filepath.Join(s.env.Cwd, s.flags.stateDir)
	}
	return filepath.Join(ws.Root, ".jsrt")
}

// openState opens the store on first use: read-write for runs, read-only
// (and only if it exists) for dry runs.
func (s *session) openState(ctx context.Context, dir string, dry bool) error {
	if s.db != nil {
		return nil
	}
	db, err := store.Open(ctx, dir, store.Options{
		ReadOnly: dry,
		NoWait:   s.flags.noWait || dry,
		OnWait: func(pid int) {
			who := "another run"
			if pid > 0 {
				who = fmt.Sprintf("another run (pid %d)", pid)
			}
			errorf(s.env, "waiting for %s holding %s", who, s.prettyPath(dir))
		},
		Log: s.env.Stderr,
	})
	if dry && err != nil {
		return nil // nothing recorded yet (or busy): plan by structure
	}
	if err != nil {
		return err
	}
	s.db, s.hist = db, history.New(db)
	return nil
}

func (s *session) close() {
	if s.db != nil {
		if err := s.db.Close(); err != nil {
			errorf(s.env, "closing state: %v", err)
		}
	}
}

// prettyPath shows p relative to the working directory when it is inside it.
func (s *session) prettyPath(p string) string {
	if p == "" {
		return ""
	}
	if r, err := filepath.Rel(s.env.Cwd, p); err == nil && !filepath.IsAbs(r) && len(r) < len(p) && r[:min(2, len(r))] != ".." {
		return r
	}
	return p
}
