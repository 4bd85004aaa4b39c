package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/exec"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/optimize"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// localRunner runs attempts as local processes, writing their output to the
// task's log file and to the display as it arrives.
type localRunner struct {
	ws   *Workspace
	opt  RunOptions
	logs *logFiles // the logs that may exist (nil: unknown)

	mu        sync.Mutex
	saidLocal map[string]bool // pools already reported as running here
}

func (r *localRunner) Run(ctx context.Context, t *graph.Task, attempt int) sched.Result {
	res, _ := r.run(ctx, t, attempt, identity{})
	return res
}

// run runs one attempt and also returns where its output starts in the
// task's log file (retries append to it). id is what the cache knows of
// the attempt (zero without a cache); only a remote attempt uses it.
func (r *localRunner) run(ctx context.Context, t *graph.Task, attempt int, id identity) (_ sched.Result, offset int64) {
	out := r.opt.Display.Output(t, attempt)
	if sched.IsSpeculative(ctx) {
		out.Close()
		out = discard{} // a task run ahead is not shown; its log is kept
	}
	defer out.Close()
	var w io.Writer = out
	if r.opt.LogDir != "" {
		log := &lazyLog{path: LogPath(r.opt.LogDir, t.Name), attempt: attempt, logs: r.logs}
		defer func() { offset = log.close() }()
		w = io.MultiWriter(log, out)
	}
	// --- remote execution (see remote.go): a worker runs the attempt.
	if r.opt.Remote != nil {
		if r.opt.Remote.Takes(t) {
			return r.runRemote(ctx, t, attempt, id, w), offset
		}
		r.sayLocal(t)
	}
	// ---
	spec := exec.Spec{
		Shell: t.Shell, Argv: t.Argv, Dir: filepath.Join(r.ws.Root, t.Cwd), Env: r.opt.Env,
		Timeout: t.Timeout, Output: w, Kill: r.opt.Kill,
	}
	if tr := r.opt.Tracker; tr != nil {
		pgid := 0
		spec.Started = func(id int) { pgid = id; tr.Add(id) }
		defer func() {
			if pgid > 0 {
				tr.Remove(pgid) // exec.Run returns only once the group is gone
			}
		}()
	}
	res := exec.Run(ctx, spec)
	return sched.Result{Start: res.Start, Duration: res.Duration, ExitCode: res.ExitCode, Signal: res.Signal,
		TimedOut: res.TimedOut, Interrupted: res.Interrupted, PeakRSS: res.PeakRSS, CPU: res.CPUTime, Err: res.Err}, offset
}

// lazyLog is a task's log file, created on the first byte of output: most
// tasks of a big run print nothing, and creating a file is the dearest
// thing a run does per task on some filesystems. The first attempt
// replaces the previous run's log (or removes it, when the attempt prints
// nothing); retries append.
type lazyLog struct {
	path    string
	attempt int
	logs    *logFiles // nil: every removal is tried
	f       *os.File
	offset  int64
	err     error
}

// Write writes to the log; a log that cannot be written (its directory
// removed while the run goes on, a full disk) is remembered, never
// returned: the display still gets every byte, and close says the log is
// lost so that the result is not cached without its output.
func (l *lazyLog) Write(p []byte) (int, error) {
	if l.f == nil && l.err == nil {
		l.f, l.err = openLog(l.path, l.attempt)
		if errors.Is(l.err, fs.ErrNotExist) && os.MkdirAll(filepath.Dir(l.path), 0o755) == nil {
			l.f, l.err = openLog(l.path, l.attempt) // the log directory was removed
		}
		if l.err == nil {
			l.logs.created(l.f.Name())
			l.offset, l.err = l.f.Seek(0, io.SeekEnd)
		}
	}
	if l.err == nil {
		_, l.err = l.f.Write(p)
	}
	return len(p), nil
}

// lostLog is what close returns for a log that lost output: one that
// could not be written, or was removed while it was written.
const lostLog = -1

// close closes the file and returns where this attempt's output starts,
// or lostLog.
func (l *lazyLog) close() int64 {
	if l.f != nil {
		fi, err := l.f.Stat()
		l.f.Close()
		if l.err != nil || err != nil {
			return lostLog
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink == 0 {
			return lostLog // removed while it was written
		}
		return l.offset
	}
	if l.err != nil {
		return lostLog
	}
	if l.attempt == 1 {
		if l.logs.mayExist(l.path) {
			os.Remove(l.path) // the previous run's output is not this one's
		}
		return 0
	}
	if fi, err := os.Stat(l.path); err == nil {
		return fi.Size()
	}
	return 0
}

// logFiles knows which logs may exist in the log directory: those there
// when the run started and those it created since. A task that prints
// nothing removes its previous log; where there is none, trying would cost
// a failed unlink (and rmdir) for most tasks of a big run.
//
// Contract: safe for concurrent use.
type logFiles struct {
	mu    sync.Mutex
	names map[string]bool // base names
}

// readLogFiles lists dir; nil (every removal is tried) when it cannot.
func readLogFiles(dir string) *logFiles {
	if dir == "" {
		return nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	l := &logFiles{names: make(map[string]bool, len(ents))}
	for _, e := range ents {
		l.names[e.Name()] = true
	}
	return l
}

func (l *logFiles) mayExist(path string) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.names[filepath.Base(path)]
}

func (l *logFiles) created(path string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.names[filepath.Base(path)] = true
	l.mu.Unlock()
}

// openLog truncates the log on a task's first attempt and appends on retries.
// path is LogPath's (escaping it again would put a task whose name has a
// "/" or "%" where nothing looks for its log).
func openLog(path string, attempt int) (*os.File, error) {
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if attempt == 1 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open the log file %q: %w", path, err)
	}
	return f, nil
}

// dryRunner runs nothing: every attempt succeeds at once, so the loop walks
// the plan in the order a real run would start it.
type dryRunner struct{}

func (dryRunner) Run(context.Context, *graph.Task, int) sched.Result { return sched.Result{} }

// recorder writes every finished attempt to history, then passes events
// on. Records go to a writer goroutine that stores them in batches (one
// transaction per batch, at least every 50 ms), so the run loop never waits
// for the disk. History keeps a batch's cache hits in the run's hit list,
// a value or two rewritten per batch, so a run of cache hits writes few
// keys. A run that ends normally loses nothing; a killed one may lose its
// latest batch.
type recorder struct {
	h     *history.History
	runID string
	obs   sched.Observer
	recs  chan history.TaskRecord
	done  chan error
}

func newRecorder(h *history.History, runID string, obs sched.Observer) *recorder {
	r := &recorder{h: h, runID: runID, obs: obs}
	if h != nil {
		r.recs = make(chan history.TaskRecord, 1024)
		r.done = make(chan error, 1)
		go r.write()
	}
	return r
}

func (r *recorder) Started(t *graph.Task, attempt int) { r.obs.Started(t, attempt) }

func (r *recorder) Skipped(t *graph.Task, reason string) { r.obs.Skipped(t, reason) }

// Speculating implements sched.SpecObserver: tasks run ahead are shown
// only by a display that knows them.
func (r *recorder) Speculating(t *graph.Task) {
	if so, ok := r.obs.(sched.SpecObserver); ok {
		so.Speculating(t)
	}
}

// Sampled, Changed and Held implement sched.OptimizeObserver by passing
// the optimizer's news to a display that wants them.
func (r *recorder) Sampled(s optimize.Sample, jobs int) {
	if o, ok := r.obs.(sched.OptimizeObserver); ok {
		o.Sampled(s, jobs)
	}
}

func (r *recorder) Changed(e optimize.Event) {
	if o, ok := r.obs.(sched.OptimizeObserver); ok {
		o.Changed(e)
	}
}

func (r *recorder) Held(t *graph.Task, reason string) {
	if o, ok := r.obs.(sched.OptimizeObserver); ok {
		o.Held(t, reason)
	}
}

// SpeculationDone records the attempt like any other.
func (r *recorder) SpeculationDone(t *graph.Task, res sched.Result) {
	r.record(t, 1, res)
	if so, ok := r.obs.(sched.SpecObserver); ok {
		so.SpeculationDone(t, res)
	}
}

func (r *recorder) Finished(t *graph.Task, attempt int, res sched.Result, retry bool) {
	r.record(t, attempt, res)
	r.obs.Finished(t, attempt, res, retry)
}

func (r *recorder) record(t *graph.Task, attempt int, res sched.Result) {
	if r.recs != nil {
		r.recs <- history.TaskRecord{
			RunID: r.runID, Task: t.Name, Attempt: attempt, Start: res.Start, Duration: res.Duration,
			ExitCode: res.ExitCode, Signal: res.Signal, Outcome: res.Outcome(), PeakRSS: res.PeakRSS,
			CPU: res.CPU, Key: res.Key,
		}
	}
}

// write batches records until close; it keeps the first error.
func (r *recorder) write() {
	var batch []history.TaskRecord
	var first error
	flush := func() {
		if len(batch) > 0 && first == nil {
			if err := r.h.RecordTasks(batch); err != nil {
				first = fmt.Errorf("cannot record tasks in history: %w", err)
			}
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case rec, ok := <-r.recs:
			if !ok {
				flush()
				r.done <- first
				return
			}
			if batch = append(batch, rec); len(batch) >= 256 {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

// close flushes what is left and returns the first write error.
func (r *recorder) close() error {
	if r.recs == nil {
		return nil
	}
	close(r.recs)
	return <-r.done
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }

// sayLocal tells, once per pool, that no worker serves a task's pool so
// its tasks run here.
func (r *localRunner) sayLocal(t *graph.Task) {
	pool := t.Pool
	if pool == "" {
		pool = "default"
	}
	r.mu.Lock()
	said := r.saidLocal[pool]
	if r.saidLocal == nil {
		r.saidLocal = map[string]bool{}
	}
	r.saidLocal[pool] = true
	r.mu.Unlock()
	if n, ok := r.opt.Display.(Notices); ok && !said {
		n.Notice(t, fmt.Sprintf("no worker serves pool %q: its tasks run here", pool))
	}
}
