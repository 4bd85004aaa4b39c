// Package core wires one run together: the workspace (root, graph, pools),
// the scheduler, the runner that executes attempts (local processes, or a
// dry run), per-task log files, history recording and the display. Both the
// CLI and the JavaScript bindings start runs through it.
package core

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/exec"
	"github.com/jsrt-script/jsrt-script/runtime/files"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// Workspace is what a strategy defines: the root that relative paths start
// from, the tasks and the pools.
type Workspace struct {
	Root  string // absolute
	Graph *graph.Graph
	Pools map[string]int
	// CacheMax bounds the cache after a run (cache.maxSize() in the
	// strategy); 0 leaves it to the command line's default.
	CacheMax int64
}

// NewWorkspace returns an empty workspace rooted at root.
func NewWorkspace(root string) *Workspace {
	return &Workspace{Root: root, Graph: graph.New(), Pools: map[string]int{}}
}

// Display shows a run as it goes. Its Observer methods are called from the
// run loop; Output is called from the goroutine running an attempt and the
// writer it returns is written from that goroutine only and then closed.
type Display interface {
	sched.Observer
	Output(t *graph.Task, attempt int) io.WriteCloser
}

// RunOptions are the knobs of one run.
type RunOptions struct {
	Targets   []string
	Jobs      int
	KeepGoing bool
	DryRun    bool
	Display   Display          // required
	History   *history.History // nil: nothing recorded (dry runs)
	// Predictions order the run; nil means History (which may be nil too:
	// then the order comes from the graph's structure alone).
	Predictions *history.History
	LogDir      string          // per-task logs; "" for none
	Env         []string        // environment of task processes
	Kill        <-chan struct{} // closed on a second interrupt: kill at once
	Caching     *Caching        // nil: no cache, no {changed} (dry runs)
	Tracker     *exec.Tracker   // records running process groups; nil: none
	Hooks       sched.Hooks     // policies from the strategy
	FailFast    bool
	Order       string // "critical" (default) or "fifo"
	Speculate   bool   // run ahead what history says is usually asked for next
	// Optimize, when set, adapts parallelism to the machine while the run
	// goes on (never for dry runs).
	Optimize *Optimize
	Now      func() time.Time
	// Remote, when set, runs attempts on workers (see Remote); logs,
	// history, cache and display treat them as local attempts. nil: every
	// attempt runs here.
	Remote Remote
}

// Result is a finished run: the scheduler's report plus its run id.
type Result struct {
	RunID  string
	Stored int // cache entries this run saved
	*sched.Report
}

// Run validates the graph and runs the targets with everything they need.
func Run(ctx context.Context, ws *Workspace, opt RunOptions) (*Result, error) {
	if err := ws.Graph.Validate(); err != nil {
		return nil, err
	}
	if err := ws.checkPools(); err != nil {
		return nil, err
	}
	if err := ws.checkBatches(); err != nil {
		return nil, err
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	runID := history.NewRunID(start)
	var runner sched.Runner = &dryRunner{}
	var cached *cachedRunner
	if !opt.DryRun {
		if opt.LogDir != "" {
			if err := os.MkdirAll(opt.LogDir, 0o755); err != nil {
				return nil, fmt.Errorf("cannot create log directory: %w", err)
			}
		}
		local := &localRunner{ws: ws, opt: opt, logs: readLogFiles(opt.LogDir)}
		runner = local
		if opt.Caching != nil {
			cached = &cachedRunner{ws: ws, opt: opt, local: local, keys: map[string]cache.Digest{}, probes: map[int]probeState{}, state: stateRel(ws.Root, opt.LogDir)}
			runner = cached
		}
	}
	predict, err := predictor(cmpOr(opt.Predictions, opt.History), ws.Graph, opt.FailFast)
	if err != nil {
		return nil, err
	}
	var ahead []string
	if opt.Speculate && opt.History != nil && opt.Caching != nil && !opt.Caching.NoCache && !opt.DryRun {
		wanted, err := ws.Graph.Closure(opt.Targets)
		if err != nil {
			return nil, err
		}
		if ahead, err = aheadTargets(opt.History, ws.Graph, opt.Targets, wanted); err != nil {
			return nil, err
		}
	}
	if opt.Caching != nil && !opt.DryRun {
		if err := preload(ws.Root, opt.Caching); err != nil {
			return nil, err
		}
	}
	optSched, stopSampling := startOptimizer(ctx, opt)
	obs := opt.Display
	rec := newRecorder(opt.History, runID, obs)
	rep, err := sched.Run(ctx, ws.Graph, opt.Targets, sched.Options{
		Jobs: opt.Jobs, Pools: ws.Pools, KeepGoing: opt.KeepGoing,
		Runner: runner, Observer: rec, Predict: predict, Hooks: opt.Hooks,
		FailFast: opt.FailFast, Order: opt.Order, Speculate: ahead, Now: now,
		Optimizer: optSched.ctrl, Samples: optSched.samples, Parallelism: optSched.hook,
	})
	stopSampling()
	if rerr := rec.close(); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	if opt.Caching != nil && !opt.DryRun {
		if err := opt.Caching.Cache.Flush(); err != nil {
			return nil, fmt.Errorf("cannot save cache bookkeeping: %w", err)
		}
		if err := opt.Caching.Index.Flush(); err != nil {
			return nil, fmt.Errorf("cannot save the file index: %w", err)
		}
	}
	if opt.History != nil {
		if err := opt.History.RecordRun(runRecord(runID, start, opt, rep)); err != nil {
			return nil, fmt.Errorf("cannot record the run: %w", err)
		}
	}
	res := &Result{RunID: runID, Report: rep}
	if cached != nil {
		res.Stored = int(cached.stored.Load())
	}
	return res, nil
}

// preload reads the file index and the cache entries, two independent
// scans of the store, at the same time.
func preload(root string, c *Caching) error {
	var ixErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ixErr = c.Index.Preload(root)
	}()
	var cacheErr error
	if !c.NoCache {
		c.Cache.UseIndex(c.Index) // outputs in place are known by stat
		cacheErr = c.Cache.Preload()
	}
	wg.Wait()
	if ixErr != nil {
		return fmt.Errorf("cannot read the file index: %w", ixErr)
	}
	if cacheErr != nil {
		return fmt.Errorf("cannot read the cache: %w", cacheErr)
	}
	return nil
}

func (ws *Workspace) checkPools() error {
	names := make([]string, 0, len(ws.Pools))
	for n := range ws.Pools {
		names = append(names, n)
	}
	for _, t := range ws.Graph.Tasks() {
		for _, p := range append([]string{t.Pool}, t.Pools...) {
			if _, ok := ws.Pools[p]; p != "" && !ok {
				return &graph.DefinitionError{Task: t.Name, Msg: fmt.Sprintf("unknown pool %q%s", p, suggestion(p, names))}
			}
		}
	}
	return nil
}

// checkBatches: tasks sharing a batch key run as one process, so they must
// agree on everything about that process.
func (ws *Workspace) checkBatches() error {
	first := map[string]*graph.Task{}
	for _, t := range ws.Graph.Tasks() {
		if t.Batch == "" {
			continue
		}
		f, seen := first[t.Batch]
		if !seen {
			first[t.Batch] = t
			continue
		}
		var what string
		switch {
		case f.Shell != t.Shell || strings.Join(f.Argv, "\x00") != strings.Join(t.Argv, "\x00"):
			what = "cmd"
		case f.Cwd != t.Cwd:
			what = "cwd"
		case strings.Join(f.Env, ",") != strings.Join(t.Env, ","):
			what = "env"
		case f.Pool != t.Pool || strings.Join(f.Pools, ",") != strings.Join(t.Pools, ","):
			what = "pool"
		case f.Timeout != t.Timeout:
			what = "timeout"
		}
		if what != "" {
			return &graph.DefinitionError{Msg: fmt.Sprintf("tasks %q and %q share batch %q but differ in %s: a batch runs as one process", f.Name, t.Name, t.Batch, what)}
		}
	}
	return nil
}

func suggestion(name string, cands []string) string {
	if s := graph.Suggest(name, cands); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	if len(cands) == 0 {
		return " (no pools are defined: pool(name, {slots}) defines one)"
	}
	return ""
}

// predictor turns history into the scheduler's predictions: the EWMA of
// past successful durations (one scan for all tasks); for a task never seen,
// the mean over tasks like it (same first two command words, or a shared
// tag), marked low confidence. With failFast it also reads each task's
// failure rate.
func predictor(h *history.History, g *graph.Graph, failFast bool) (func(*graph.Task) sched.Prediction, error) {
	if h == nil {
		return nil, nil
	}
	est, err := h.Estimates()
	if err != nil {
		return nil, fmt.Errorf("cannot read predictions: %w", err)
	}
	like := similar(g, est)
	return func(t *graph.Task) sched.Prediction {
		var p sched.Prediction
		if e, ok := est[t.Name]; ok {
			p = sched.Prediction{Ms: ms(e.Duration), PeakRSS: e.PeakRSS, Confidence: "low"}
			if e.Samples > 10 {
				p.Confidence = "high"
			}
		} else if d, ok := like(t); ok {
			p = sched.Prediction{Ms: ms(d), Confidence: "low"}
		}
		if failFast {
			full := h.Predict(t.Name)
			p.FailureRate, p.Confidence = full.FailureRate, full.Confidence
		}
		return p
	}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// similar estimates a task never seen from tasks with the same command
// prefix (first two words) or a tag in common.
func similar(g *graph.Graph, est map[string]history.Estimate) func(*graph.Task) (time.Duration, bool) {
	byKey := map[string][]time.Duration{}
	for _, t := range g.Tasks() {
		e, ok := est[t.Name]
		if !ok {
			continue
		}
		for _, k := range likeKeys(t) {
			byKey[k] = append(byKey[k], e.Duration)
		}
	}
	return func(t *graph.Task) (time.Duration, bool) {
		for _, k := range likeKeys(t) {
			if ds := byKey[k]; len(ds) > 0 {
				var sum time.Duration
				for _, d := range ds {
					sum += d
				}
				return sum / time.Duration(len(ds)), true
			}
		}
		return 0, false
	}
}

func likeKeys(t *graph.Task) []string {
	words := strings.Fields(t.Shell)
	if t.Shell == "" {
		words = t.Argv
	}
	var keys []string
	if len(words) >= 2 {
		keys = append(keys, "cmd:"+words[0]+" "+words[1])
	}
	for _, tag := range t.Tags {
		keys = append(keys, "tag:"+tag)
	}
	return keys
}

func runRecord(id string, start time.Time, opt RunOptions, rep *sched.Report) history.RunRecord {
	exit := 0
	if rep.Interrupted {
		exit = 130
	} else if !rep.OK() {
		exit = 1
	}
	return history.RunRecord{ID: id, Start: start, Wall: rep.Wall, Targets: opt.Targets,
		Jobs: rep.Jobs, Counts: rep.Counts(), ExitCode: exit}
}

// LogPath is where the output of a task's latest run is kept. The name is
// escaped reversibly ("/" as %2F, "%" as %25, control characters as %XX),
// so two tasks never share a log.
func LogPath(dir, task string) string {
	var b strings.Builder
	for i := 0; i < len(task); i++ {
		c := task[i]
		if c == '/' || c == '%' || c == '\\' || c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return filepath.Join(dir, b.String()+".log")
}

func cmpOr(a, b *history.History) *history.History {
	if a != nil {
		return a
	}
	return b
}

// Affected returns, among tasks, those whose inputs match a changed file and
// those that depend on them, in the order given.
func Affected(g *graph.Graph, tasks []*graph.Task, changed []string) []string {
	hit := map[string]bool{}
	for _, t := range g.Topo() {
		for _, d := range t.Deps {
			if hit[d] {
				hit[t.Name] = true
			}
		}
		if hit[t.Name] {
			continue
		}
		for _, f := range changed {
			if files.Matches(t.Inputs, f) {
				hit[t.Name] = true
				break
			}
		}
	}
	var out []string
	for _, t := range tasks {
		if hit[t.Name] {
			out = append(out, t.Name)
		}
	}
	return out
}
