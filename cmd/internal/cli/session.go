package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jsrt-script/jsrt-script/bindings"
	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/exec"
	"github.com/jsrt-script/jsrt-script/runtime/files"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/monitor"
	"github.com/jsrt-script/jsrt-script/runtime/remote"
	"github.com/jsrt-script/jsrt-script/store"
)

// session is one `jsrt-script run`: the engine, the state it opens on first
// use, and the runs the strategy asks for (one at a time).
type session struct {
	env   *Env
	flags runFlags
	mode  monitor.Mode
	kill  chan struct{}
	// silent: print nothing (graph's dry runs).
	silent bool

	cacheMax  int64
	summaries []monitor.Summary // --json: the runs' summaries, printed at the end
	lastRec   atomic.Value      // *monitor.Recorder of the run going on or the last one

	mu      sync.Mutex
	db      *store.DB
	dir     string
	hist    *history.History
	cache   *cache.Cache
	index   *cache.Index
	tracker *exec.Tracker
	remote  *remote.Executor // --nats (remote.go)
	pre     *prefetch        // the state opened while the strategy loads (prefetch.go)
}

func (s *session) main(ctx context.Context, file string, targets []string) int {
	console := s.env.Stdout
	if s.flags.json {
		console = s.env.Stderr
	}
	eng := bindings.New(bindings.Config{Cwd: s.env.Cwd, Stdout: console, Stderr: s.env.Stderr, Args: targets,
		Run: s.run, Invalidate: s.invalidate, Predict: s.predict,
		PolicyTimeout: s.flags.policyTO, FailFast: s.flags.failFast, Metrics: s.metrics})
	defer s.printJSON()
	s.startPrefetch(ctx, file)
	if err := eng.Load(ctx, file); err != nil {
		return report(s.env, err)
	}
	if n, worst := eng.Runs(); n > 0 {
		return s.checkTargets(eng.Workspace(), targets, worst)
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

// printJSON prints --json's one object: the run's summary, or for a
// strategy that ran several phases, {ok, exitCode, runs: [...]}.
func (s *session) printJSON() {
	if !s.flags.json || len(s.summaries) == 0 {
		return
	}
	var v any = s.summaries[0]
	if len(s.summaries) > 1 {
		all := map[string]any{"ok": true, "exitCode": 0, "runs": s.summaries}
		for _, sum := range s.summaries {
			all["ok"] = all["ok"].(bool) && sum.OK
			all["exitCode"] = max(all["exitCode"].(int), sum.ExitCode)
		}
		v = all
	}
	b, _ := json.Marshal(v)
	fmt.Fprintln(s.env.Stdout, string(b))
}

// checkTargets: a strategy that runs its own phases gets the command
// line's targets as jsrt.args; a name that is no task is still an error.
func (s *session) checkTargets(ws *core.Workspace, targets []string, code int) int {
	for _, name := range targets {
		if ws.Graph.Task(name) == nil {
			errorf(s.env, "%v (given on the command line)", &graph.UnknownTaskError{Name: name, Suggestion: graph.Suggest(name, ws.Graph.Names())})
			return ExitUsage
		}
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
	dry := req.DryRun || s.flags.dryRun
	targets, err := s.affected(ws, req.Targets)
	if err != nil {
		return nil, err
	}
	tasks, err := ws.Graph.Closure(targets) // an unknown target: no state made
	if err != nil {
		return nil, err
	}
	stateDir := s.stateDir(ws)
	if err := s.openState(ctx, stateDir, dry); err != nil {
		return nil, err
	}
	out, color := s.output()
	if len(tasks) == 0 && s.flags.since != "" {
		fmt.Fprintf(out, "nothing to do: no task's inputs changed since %s\n", s.flags.since)
		sum := monitor.Summary{OK: true, Counts: map[string]int{}, Order: []string{}, Tasks: map[string]monitor.TaskSummary{}}
		if s.flags.json {
			s.summaries = append(s.summaries, sum)
		}
		return &bindings.Outcome{Value: sum}, nil
	}
	disp := monitor.NewLines(out, s.mode, color, dry)
	disp.SetTotal(len(tasks))
	now := s.env.Now
	rec := monitor.NewRecorder("", now(), s.jobs(req), tasks, now)
	s.lastRec.Store(rec)
	obs := newObserved(disp, rec)
	if req.Events != nil {
		obs.events, obs.expected = req.Events, s.expectations()
	}
	if err := s.dialRemote(ctx, ws, dry); err != nil {
		return nil, err
	}
	opt := s.options(ws, req, targets, obs, dry, stateDir)
	if s.flags.explain && !dry {
		s.explainAll(out, ws, tasks)
	}
	live := s.liveView(out, color, dry, len(tasks))
	if live != nil {
		defer live.Close()
		lobs := newObserved(live, rec)
		lobs.events, lobs.expected = obs.events, obs.expected
		opt.Display = lobs
	}
	res, err := core.Run(ctx, ws, opt)
	if live != nil {
		live.Close() // erase the block before the summary or an error is printed
	}
	if err != nil {
		return nil, err
	}
	var tl monitor.Timeline
	if !dry {
		s.collect(res, ws)
		tl = rec.Timeline()
		tl.RunID, tl.Wall = res.RunID, res.Wall
		if err := s.writeProfiles(tl, tasks); err != nil {
			return nil, err
		}
	}
	s.printEnd(out, res, opt.LogDir, color, dry)
	outcome := &bindings.Outcome{ExitCode: monitor.ExitCode(res.Report)}
	if s.flags.json && !s.silent {
		sum := summarize(res, tl, dry)
		s.summaries = append(s.summaries, sum) // printed once, at the end (printJSON)
		outcome.Value = sum
	} else {
		outcome.Value = bindings.Lazy(func() any { return summarize(res, tl, dry) })
	}
	return outcome, nil
}

// summarize is a run's machine-readable summary (--json, and what run()
// resolves to), with the metrics of its timeline unless it was a dry run.
func summarize(res *core.Result, tl monitor.Timeline, dry bool) monitor.Summary {
	sum := monitor.Summarize(res.RunID, res.Report)
	sum.DryRun = dry
	if !dry {
		m := monitor.Measure(tl)
		sum.Metrics = &m
	}
	return sum
}

// output is where task output and the summary go, and whether in colour.
func (s *session) output() (io.Writer, bool) {
	out := s.env.Stdout
	if s.flags.json {
		out = s.env.Stderr
	}
	if s.silent {
		out = io.Discard
	}
	color := s.env.IsTerminal && !s.flags.json && s.env.getenv("NO_COLOR") == "" && s.env.getenv("TERM") != "dumb"
	return out, color
}

func (s *session) jobs(req bindings.RunRequest) int {
	if req.Jobs > 0 {
		return req.Jobs
	}
	return s.flags.jobs
}

// options builds the core's options for one run.
func (s *session) options(ws *core.Workspace, req bindings.RunRequest, targets []string, disp core.Display, dry bool, stateDir string) core.RunOptions {
	opt := core.RunOptions{
		Targets: targets, Jobs: s.jobs(req), KeepGoing: s.flags.keepGoing || req.KeepGoing, DryRun: dry,
		Display: disp, History: s.hist, Env: s.env.Environ, Kill: s.kill, Now: s.env.Now,
		Hooks: req.Hooks, FailFast: s.flags.failFast, Order: s.flags.order,
	}
	if dry {
		opt.History = nil // never write; the order still uses what was read
		opt.Predictions = s.hist
		return opt
	}
	opt.LogDir = filepath.Join(stateDir, "logs")
	opt.Caching = &core.Caching{Cache: s.cache, Index: s.index, NoCache: s.flags.noCache}
	opt.Tracker = s.tracker
	opt.Speculate = !s.flags.noAhead
	if !s.flags.fixedJobs {
		opt.Optimize = &core.Optimize{MinJobs: s.flags.minJobs, Interval: s.flags.sampleEvery, Hook: req.Parallelism}
	}
	s.useRemote(&opt, req)
	return opt
}

func (s *session) printEnd(out io.Writer, res *core.Result, logDir string, color, dry bool) {
	if s.silent || s.flags.json {
		return
	}
	if dry {
		fmt.Fprintf(out, "dry run: %s would run with -j %d; nothing was run or written\n", monitor.Plural(len(res.Tasks), "task"), res.Jobs)
		return
	}
	monitor.WriteSummary(out, res.Report, func(task string) string {
		if logDir == "" {
			return ""
		}
		p := core.LogPath(logDir, task)
		if _, err := os.Stat(p); err != nil {
			return "" // the task printed nothing
		}
		return s.prettyPath(p)
	}, color)
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
	db := s.takePrefetch(dir, dry)
	if db == nil {
		var err error
		if db, err = s.openStore(ctx, dir, dry); db == nil {
			return err // nil for a dry run without state: plan by structure
		}
	}
	s.db, s.dir, s.hist = db, dir, history.New(db)
	s.cache = cache.New(db, filepath.Join(dir, "cache"), s.env.Now)
	s.index = cache.NewIndex(db, s.env.Now)
	if !dry {
		s.tracker = exec.NewTracker(filepath.Join(dir, "procs"))
		if n, err := s.tracker.Sweep(); err != nil {
			errorf(s.env, "checking for processes of an earlier run: %v", err)
		} else if n > 0 {
			errorf(s.env, "killed %d process group(s) left running by an earlier run that was killed", n)
		}
	}
	return nil
}

// openStore opens the store in dir, waiting for another run holding it
// unless told not to. For a dry run it returns nil and no error when there
// is nothing to read (or it is busy).
func (s *session) openStore(ctx context.Context, dir string, dry bool) (*store.DB, error) {
	if pid := store.HolderPID(dir); !dry && pid > 0 && isAncestor(pid) {
		return nil, fmt.Errorf("this run was started by the run holding %s (pid %d), which would wait for it forever: give it a state of its own with --state-dir", s.prettyPath(dir), pid)
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
		return nil, nil // nothing recorded yet (or busy): plan by structure
	}
	var locked *store.LockedError
	if errors.As(err, &locked) {
		who := "another run"
		if locked.PID > 0 {
			who = fmt.Sprintf("another run (pid %d)", locked.PID)
		}
		return nil, fmt.Errorf("%s is holding %s (without --no-wait, this run would wait for it)", who, s.prettyPath(dir))
	}
	if err != nil {
		return nil, err
	}
	return db, nil
}

// affected narrows targets to those --since says changed (with their
// dependents); without --since it returns them as they are.
func (s *session) affected(ws *core.Workspace, targets []string) ([]string, error) {
	if s.flags.since == "" {
		return targets, nil
	}
	changed, err := files.ChangedSince(ws.Root, s.flags.since)
	if err != nil {
		return nil, err
	}
	wanted, err := ws.Graph.Closure(targets)
	if err != nil {
		return nil, err
	}
	return core.Affected(ws.Graph, wanted, changed), nil
}

// collect evicts cache entries past --cache-max after a run that stored
// something, so a run that only hit the cache stays cheap.
func (s *session) collect(res *core.Result, ws *core.Workspace) {
	if res.Stored == 0 || s.cache == nil {
		return
	}
	limit := s.cacheMax
	if !s.flags.maxSet && ws.CacheMax > 0 {
		limit = ws.CacheMax // the strategy's cache.maxSize()
	}
	if _, err := s.cache.GC(limit); err != nil {
		errorf(s.env, "cache eviction: %v", err)
	}
}

// invalidate is cache.invalidate() for the engine: the named tasks, every
// task that depends on them in the graph, and any entry depending on those.
func (s *session) invalidate(ws *core.Workspace, names []string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ws.Graph.Validate(); err != nil {
		return nil, err
	}
	if err := s.openState(context.Background(), s.stateDir(ws), false); err != nil {
		return nil, err
	}
	return s.cache.Invalidate(withDependents(ws.Graph, names)...)
}

// predict is history.predict() for the engine.
func (s *session) predict(ws *core.Workspace, name string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hist == nil {
		if err := s.openState(context.Background(), s.stateDir(ws), s.flags.dryRun); err != nil {
			return nil, err
		}
	}
	if s.hist == nil {
		return history.Prediction{Task: name, Confidence: history.ConfidenceNone}, nil
	}
	return s.hist.Predict(name), nil
}

// withDependents returns names plus every task depending on them.
func withDependents(g *graph.Graph, names []string) []string {
	seen := map[string]bool{}
	var walk func(t *graph.Task)
	walk = func(t *graph.Task) {
		if seen[t.Name] {
			return
		}
		seen[t.Name] = true
		for _, u := range g.Dependents(t) {
			walk(u)
		}
	}
	for _, n := range names {
		if t := g.Task(n); t != nil {
			walk(t)
		} else {
			seen[n] = true
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	return out
}

// close closes what the session opened; false when the state could not be
// closed cleanly (said on stderr).
func (s *session) close() bool {
	s.takePrefetch("", false) // closes one no run took
	s.closeRemote()
	if s.tracker != nil {
		s.tracker.Close()
	}
	if s.db != nil {
		if err := s.db.Close(); err != nil {
			errorf(s.env, "closing state: %v", err)
			return false
		}
	}
	return true
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

// explainAll prints, before a run, why each task will hit or miss.
func (s *session) explainAll(w io.Writer, ws *core.Workspace, tasks []*graph.Task) {
	opt := core.RunOptions{Env: s.env.Environ, Caching: &core.Caching{Cache: s.cache, Index: s.index, NoCache: s.flags.noCache}}
	exps, err := core.Explain(ws, opt, tasks)
	if err != nil {
		errorf(s.env, "explain: %v", err)
		return
	}
	printExplanations(w, exps)
}

func printExplanations(w io.Writer, exps []core.Explanation) {
	for _, ex := range exps {
		if ex.Hit {
			fmt.Fprintf(w, "[%s] explain: cache hit (key %s)\n", ex.Task, ex.Key[:12])
			continue
		}
		for _, r := range ex.Reasons {
			fmt.Fprintf(w, "[%s] explain: miss: %s\n", ex.Task, r)
		}
	}
}

// liveView is the live terminal view of a run, or nil for plain lines.
func (s *session) liveView(out io.Writer, color, dry bool, total int) *monitor.Live {
	if !s.flags.live || dry || s.silent {
		return nil
	}
	var predict func(string) (float64, bool)
	if est, err := s.hist.Estimates(); err == nil {
		predict = func(task string) (float64, bool) {
			e, ok := est[task]
			return float64(e.Duration) / float64(time.Millisecond), ok
		}
	}
	return monitor.NewLive(out, monitor.TermWidth(out), color, predict, total)
}

// isAncestor reports whether pid is this process's parent, grandparent...
func isAncestor(pid int) bool {
	for p := os.Getppid(); p > 1; p = parentOf(p) {
		if p == pid {
			return true
		}
	}
	return false
}

func parentOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return ppid
}
