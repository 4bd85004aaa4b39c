package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/exec"
)

// WorkerOptions configure a worker.
type WorkerOptions struct {
	ID    string   // unique in the fleet; default HOST-PID
	Pools []string // pools served; default ["default"]
	Slots int      // tasks at once; at least 1
	Dir   string   // scratch directories and the local blob cache (required)
	Env   []string // the environment tasks start from ("K=V"); a task's declared env values are added
	// Kill, when closed, SIGKILLs running tasks at once (a second Ctrl-C);
	// cancelling Run's context stops them with SIGTERM and a grace period.
	Kill   <-chan struct{}
	Config Config
	// Logf, when set, hears one line per task started and finished.
	Logf func(format string, a ...any)
	// Exec runs one process; nil means exec.Run. Benchmarks of the
	// dispatch path swap it for one that runs nothing.
	Exec func(context.Context, exec.Spec) exec.Result
}

// Worker pulls tasks from its pools' queues and runs them, as many at once
// as it has slots, each in a scratch directory where its input files are
// laid out by digest; it publishes output, results and outputs through
// JetStream and acks a task only once its result is durable.
//
// Contract: Run once; it blocks until ctx is done, then stops the tasks it
// runs and hands them back to the queue (they are delivered again at
// once to another worker).
type Worker struct {
	nc      *nats.Conn
	opt     WorkerOptions
	cfg     Config
	bus     *bus
	blobs   *cache.Blobs
	tracker *exec.Tracker
	started time.Time
	busy    atomic.Int32

	mu        sync.Mutex
	scratch   *scratch
	running   map[string]*job
	cancelled map[string]cancelled // cancels that came before their task
}

type cancelled struct {
	kill bool
	at   time.Time
}

// job is one task a worker runs.
type job struct {
	ctx      context.Context
	cancel   context.CancelFunc
	kill     chan struct{}
	killOnce sync.Once
	stopped  atomic.Bool // by the coordinator (not because the worker stops)
}

func (j *job) stop(kill bool) {
	j.stopped.Store(true)
	j.cancel()
	if kill {
		j.killNow()
	}
}

func (j *job) killNow() { j.killOnce.Do(func() { close(j.kill) }) }

// NewWorker returns a worker on nc.
func NewWorker(nc *nats.Conn, opt WorkerOptions) (*Worker, error) {
	if opt.Dir == "" {
		return nil, errors.New("the worker needs a directory (--dir)")
	}
	if opt.ID == "" {
		opt.ID = defaultWorkerID()
	}
	opt.ID = sanitize(opt.ID)
	if len(opt.Pools) == 0 {
		opt.Pools = []string{DefaultPool}
	}
	for _, p := range opt.Pools {
		if err := CheckPool(p); err != nil {
			return nil, err
		}
	}
	if opt.Slots < 1 {
		opt.Slots = 1
	}
	if opt.Exec == nil {
		opt.Exec = exec.Run
	}
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return nil, err
	}
	opt.Dir = dir
	return &Worker{nc: nc, opt: opt, cfg: opt.Config.withDefaults(), blobs: cache.NewBlobs(filepath.Join(dir, "blobs")),
		tracker: exec.NewTracker(filepath.Join(dir, "procs")), scratch: &scratch{dir: filepath.Join(dir, "work")},
		running: map[string]*job{}, cancelled: map[string]cancelled{}}, nil
}

// ID is the worker's name in the fleet.
func (w *Worker) ID() string { return w.opt.ID }

func (w *Worker) logf(format string, a ...any) {
	if w.opt.Logf != nil {
		w.opt.Logf(format, a...)
	}
}

// Run serves tasks until ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	w.started = time.Now()
	// One worker per directory: another one would wipe this one's scratch
	// space. The flock dies with its process.
	if err := os.MkdirAll(w.opt.Dir, 0o755); err != nil {
		return fmt.Errorf("cannot create the worker directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(w.opt.Dir, "worker.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("cannot open the worker directory's lock: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("another worker is using %s: give each worker its own --dir", w.opt.Dir)
	}
	os.RemoveAll(w.scratch.dir) // what a killed worker left
	if err := os.MkdirAll(w.scratch.dir, 0o755); err != nil {
		return fmt.Errorf("cannot create the worker directory: %w", err)
	}
	if n, err := w.tracker.Sweep(); err == nil && n > 0 {
		w.logf("killed %d process group(s) left running by an earlier worker that was killed", n)
	}
	b, err := openBus(ctx, w.nc, w.cfg)
	if err != nil {
		return err
	}
	w.bus = b
	var cons []jetstream.Consumer
	for _, p := range w.opt.Pools {
		c, err := b.js.CreateOrUpdateConsumer(ctx, TasksStream, jetstream.ConsumerConfig{
			Durable: "pool_" + p, FilterSubject: tasksPrefix + p, AckPolicy: jetstream.AckExplicitPolicy,
			AckWait: w.cfg.AckWait, MaxDeliver: w.cfg.MaxDeliver, BackOff: w.cfg.backoff(), MaxWaiting: 4096,
			MaxAckPending: -1})
		if err != nil {
			return fmt.Errorf("cannot create the consumer of pool %q: %w", p, err)
		}
		cons = append(cons, c)
	}
	sub, err := w.nc.Subscribe(cancelPrefix+">", w.onCancel)
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	beat, stopBeat := context.WithCancel(context.Background())
	beaten := make(chan struct{})
	go func() { defer close(beaten); w.beat(beat) }()
	slots := make(chan struct{}, w.opt.Slots) // a token per free slot
	for range w.opt.Slots {
		slots <- struct{}{}
	}
	var pulls, running sync.WaitGroup
	for _, c := range cons {
		pulls.Add(1)
		go func() { defer pulls.Done(); w.pull(ctx, c, slots, len(cons), &running) }()
	}
	pulls.Wait()
	running.Wait()
	stopBeat()
	<-beaten
	dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b.workers.Delete(dctx, w.opt.ID)
	return nil
}

// beat keeps the worker's heartbeat fresh until ctx is done.
func (w *Worker) beat(ctx context.Context) {
	host, _ := os.Hostname()
	t := time.NewTicker(w.cfg.Heartbeat)
	defer t.Stop()
	for {
		hb := heartbeat{ID: w.opt.ID, Host: host, Pools: w.opt.Pools, Slots: w.opt.Slots, Busy: int(w.busy.Load()),
			Platform: Platform, Started: w.started}
		data, _ := json.Marshal(hb)
		pctx, cancel := context.WithTimeout(ctx, w.cfg.Heartbeat)
		w.bus.workers.Put(pctx, w.opt.ID, data)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pull fetches tasks of one pool while slots are free, as many as are
// free (never more: a task waiting in a worker would wait for nothing), and
// runs each in a goroutine that gives its slot back when done. With
// several pools each pull takes a share of the free slots and waits less
// for its pool's tasks, so that no pool holds the slots for long.
func (w *Worker) pull(ctx context.Context, c jetstream.Consumer, slots chan struct{}, pools int, running *sync.WaitGroup) {
	wait, share := 5*time.Second, cap(slots)
	if pools > 1 {
		wait, share = 500*time.Millisecond, max(1, cap(slots)/pools)
	}
	for ctx.Err() == nil {
		select {
		case <-slots:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < share {
			select {
			case <-slots:
				n++
			default:
				break more
			}
		}
		n = w.fetch(ctx, c, n, wait, slots, running)
		for range n {
			slots <- struct{}{} // not used
		}
	}
}

// fetch asks for up to n tasks and starts each that comes; it returns how
// many slots it did not use.
func (w *Worker) fetch(ctx context.Context, c jetstream.Consumer, n int, wait time.Duration, slots chan struct{}, running *sync.WaitGroup) int {
	fctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	batch, err := c.Fetch(n, jetstream.FetchContext(fctx))
	if err != nil {
		sleep(ctx, 250*time.Millisecond) // the server is away: try again shortly
		return n
	}
	for m := range batch.Messages() {
		if ctx.Err() != nil {
			m.Nak()
			continue
		}
		n--
		running.Add(1)
		go func() {
			defer func() { slots <- struct{}{}; running.Done() }()
			w.handle(ctx, m)
		}()
	}
	if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) {
		sleep(ctx, 250*time.Millisecond)
	}
	return n
}

// handle runs one delivered task and acks it once its result is durable;
// a task the worker gives up because it is stopping goes back to the
// queue.
func (w *Worker) handle(ctx context.Context, m jetstream.Msg) {
	var t taskMsg
	if err := json.Unmarshal(m.Data(), &t); err != nil || t.ID == "" || t.Session == "" {
		m.Term() // not a task: never deliver it again
		return
	}
	delivery := 1
	if md, err := m.Metadata(); err == nil {
		delivery = int(md.NumDelivered)
	}
	w.busy.Add(1)
	defer w.busy.Add(-1)
	j := w.begin(ctx, t.ID)
	defer w.end(t.ID)
	stopAlive := w.keepAlive(m, &t, delivery)
	res := w.attempt(ctx, j, &t, delivery)
	if res == nil {
		stopAlive()
		m.Nak()
		return
	}
	// A result is made durable and acked even while the worker stops.
	bg := context.WithoutCancel(ctx)
	durable := w.complete(bg, &t, delivery, res)
	stopAlive()
	for try := 0; durable && try < 5; try++ { // an ack that never lands: JetStream delivers again
		actx, cancel := context.WithTimeout(bg, 5*time.Second)
		err := m.DoubleAck(actx)
		cancel()
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// begin registers a job, already stopped if its cancel came first.
func (w *Worker) begin(ctx context.Context, id string) *job {
	jctx, cancel := context.WithCancel(ctx)
	j := &job{ctx: jctx, cancel: cancel, kill: make(chan struct{})}
	w.mu.Lock()
	w.running[id] = j
	c, early := w.cancelled[id]
	delete(w.cancelled, id)
	w.mu.Unlock()
	if early {
		j.stop(c.kill)
	}
	if w.opt.Kill != nil {
		go func() {
			select {
			case <-w.opt.Kill:
				j.killNow()
			case <-jctx.Done():
			}
		}()
	}
	return j
}

func (w *Worker) end(id string) {
	w.mu.Lock()
	if j := w.running[id]; j != nil {
		j.cancel()
		delete(w.running, id)
	}
	w.mu.Unlock()
}

// cancelKeep is how long a cancel is remembered for a task not seen yet.
const cancelKeep = 10 * time.Minute

// onCancel stops a running task, or remembers the cancel for a task that
// has not arrived yet.
func (w *Worker) onCancel(m *nats.Msg) {
	var c cancelMsg
	if json.Unmarshal(m.Data, &c) != nil || c.ID == "" {
		return
	}
	w.mu.Lock()
	j := w.running[c.ID]
	if j == nil {
		now := time.Now()
		for id, old := range w.cancelled {
			if now.Sub(old.at) > cancelKeep {
				delete(w.cancelled, id)
			}
		}
		w.cancelled[c.ID] = cancelled{kill: c.Kill, at: now}
	}
	w.mu.Unlock()
	if j != nil {
		j.stop(c.Kill)
	}
}

// keepAlive sends in-progress acks (and progress events) every third of
// AckWait until stopped, so a long task is not delivered again.
func (w *Worker) keepAlive(m jetstream.Msg, t *taskMsg, delivery int) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(w.cfg.AckWait / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				m.InProgress()
				w.emit(t, event{Type: evProgress, ID: t.ID, Delivery: delivery})
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// emit publishes an event without waiting for its ack (a lost started,
// progress or log event costs nothing: the result carries the whole
// output).
func (w *Worker) emit(t *taskMsg, ev event) {
	ev.Worker = w.opt.ID
	data, _ := json.Marshal(ev)
	w.bus.js.PublishAsync(eventsPrefix+t.Session, data)
}

// attempt runs the task and says what happened; nil means the worker is
// stopping and the task goes back to the queue.
func (w *Worker) attempt(ctx context.Context, j *job, t *taskMsg, delivery int) *resultMsg {
	start := time.Now()
	fail := func(err string) *resultMsg {
		return &resultMsg{Start: start, Duration: time.Since(start), ExitCode: -1, Err: err}
	}
	switch {
	case t.Version != wireVersion:
		return fail(fmt.Sprintf("the task message has version %d; this worker knows version %d", t.Version, wireVersion))
	case t.Platform != Platform:
		return fail(fmt.Sprintf("the task needs a %s worker; this one is %s", t.Platform, Platform))
	case j.stopped.Load():
		return &resultMsg{Start: start, ExitCode: -1, Interrupted: true}
	}
	w.emit(t, event{Type: evStarted, ID: t.ID, Delivery: delivery})
	w.logf("%s: started (attempt %d, delivery %d)", t.Task, t.Attempt, delivery)
	if t.Key != "" {
		if res := w.sharedHit(j.ctx, t, start); res != nil {
			w.logf("%s: shared cache hit", t.Task)
			return res
		}
	}
	res := w.run(j, t, delivery)
	if res.Interrupted && !j.stopped.Load() && ctx.Err() != nil {
		w.logf("%s: stopped: the worker is stopping; back to the queue", t.Task)
		return nil
	}
	w.logf("%s: %s in %s", t.Task, describe(res), res.Duration.Round(time.Millisecond))
	return res
}

func describe(r *resultMsg) string {
	switch {
	case r.Interrupted:
		return "interrupted"
	case r.TimedOut:
		return "timed out"
	case r.Err != "":
		return "error: " + r.Err
	case r.Signal != "":
		return "killed by " + r.Signal
	case r.ExitCode != 0:
		return fmt.Sprintf("failed with exit %d", r.ExitCode)
	}
	return "ok"
}

// sharedHit answers from the shared cache (another worker finished the
// same action, or this task was delivered again after its result was
// stored).
func (w *Worker) sharedHit(ctx context.Context, t *taskMsg, start time.Time) *resultMsg {
	kve, err := w.bus.cache.Get(ctx, t.Key)
	if err != nil {
		return nil
	}
	var en entry
	if json.Unmarshal(kve.Value(), &en) != nil || en.Task != t.Task {
		return nil
	}
	return &resultMsg{Start: start, Duration: time.Since(start), Cached: true, Saved: en.Duration, Output: en.Output, Outputs: en.Outputs}
}

// run lays out the files, runs the command and collects the outputs.
func (w *Worker) run(j *job, t *taskMsg, delivery int) *resultMsg {
	start := time.Now()
	fail := func(err error) *resultMsg {
		return &resultMsg{Start: start, Duration: time.Since(start), ExitCode: -1, Err: err.Error(), Interrupted: j.ctx.Err() != nil}
	}
	root, err := w.scratch.get()
	if err != nil {
		return fail(err)
	}
	defer w.scratch.put(root)
	if err := w.layOut(j.ctx, root, t); err != nil {
		return fail(err)
	}
	dir, err := inside(root, t.Cwd)
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	log := &logStream{w: w, t: t, delivery: delivery, path: root + ".log", hash: cache.NewHasher()}
	defer log.remove()
	spec := exec.Spec{Shell: t.Shell, Argv: t.Argv, Dir: dir, Env: w.env(t), Timeout: t.Timeout, Output: log, Kill: j.kill}
	pgid := 0
	spec.Started = func(id int) { pgid = id; w.tracker.Add(id) }
	r := w.opt.Exec(j.ctx, spec)
	if pgid > 0 {
		w.tracker.Remove(pgid)
	}
	log.Close()
	res := &resultMsg{Start: r.Start, Duration: r.Duration, ExitCode: r.ExitCode, Signal: r.Signal, TimedOut: r.TimedOut,
		Interrupted: r.Interrupted, PeakRSS: r.PeakRSS, CPU: r.CPUTime}
	if r.Start.IsZero() {
		res.Start = start
	}
	if r.Err != nil {
		res.Err = r.Err.Error()
	}
	if res.ok() && len(t.Outputs) > 0 {
		if res.Outputs, err = w.collect(j.ctx, root, t.Outputs); err != nil {
			res.Err = err.Error()
		}
	}
	if res.Output, err = w.logRef(j.ctx, log); err != nil && res.Err == "" {
		res.Err = "cannot store the output: " + err.Error()
	}
	return res
}

// scratch hands out empty directories for tasks to run in. One a task
// left empty (most tasks that have no files) is used again: creating and
// removing a directory costs more than everything else the worker does
// for a task that runs nothing.
//
// Contract: safe for concurrent use.
type scratch struct {
	dir  string
	mu   sync.Mutex
	free []string
	n    int
}

func (s *scratch) get() (string, error) {
	s.mu.Lock()
	if k := len(s.free); k > 0 {
		d := s.free[k-1]
		s.free = s.free[:k-1]
		s.mu.Unlock()
		return d, nil
	}
	s.n++
	d := filepath.Join(s.dir, strconv.Itoa(s.n))
	s.mu.Unlock()
	return d, os.Mkdir(d, 0o755)
}

// put takes a directory back: kept when empty, else removed.
func (s *scratch) put(d string) {
	if !emptyDir(d) {
		os.RemoveAll(d)
		return
	}
	s.mu.Lock()
	s.free = append(s.free, d)
	s.mu.Unlock()
}

func emptyDir(d string) bool {
	f, err := os.Open(d)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	return err == io.EOF
}

// inside joins rel to root, refusing a path that leaves it.
func inside(root, rel string) (string, error) {
	p := filepath.Join(root, rel)
	if r, err := filepath.Rel(root, p); err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return "", fmt.Errorf("working directory %q is outside the workspace", rel)
	}
	return p, nil
}

// env is the worker's environment plus the task's declared values.
func (w *Worker) env(t *taskMsg) []string {
	env := slices.Clone(w.opt.Env)
	names := make([]string, 0, len(t.Env))
	for k := range t.Env {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		env = append(env, k+"="+t.Env[k])
	}
	return env
}

// layOut writes the task's files under root, through the local blob cache.
func (w *Worker) layOut(ctx context.Context, root string, t *taskMsg) error {
	files := t.Files
	if t.FileList != "" {
		list, err := w.bus.fetchBytes(ctx, t.FileList)
		if err != nil {
			return fmt.Errorf("cannot fetch the file list: %w", err)
		}
		if err := json.Unmarshal(list, &files); err != nil {
			return fmt.Errorf("cannot read the file list: %w", err)
		}
	}
	for _, f := range files {
		if err := w.local(ctx, f.Digest); err != nil {
			return fmt.Errorf("input %q: %w", f.Path, err)
		}
		mode := os.FileMode(0o644)
		if f.Exec {
			mode = 0o755
		}
		o := cache.Output{Path: f.Path, Mode: mode, Digest: f.Digest, Size: -1}
		err := cache.WriteOutput(root, o, func(dst io.Writer) error {
			_, err := w.blobs.CopyTo(dst, f.Digest)
			return err
		})
		if err != nil {
			return fmt.Errorf("input %q: %w", f.Path, err)
		}
	}
	return nil
}

// local makes sure blob d is in the local blob cache.
func (w *Worker) local(ctx context.Context, d cache.Digest) error {
	if w.blobs.Has(d) {
		return nil
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(w.bus.fetch(ctx, d, pw)) }()
	got, _, err := w.blobs.Put(pr)
	pr.Close()
	if err != nil {
		return err
	}
	if got != d {
		w.blobs.Remove(got)
		return &digestError{want: d, got: got}
	}
	return nil
}

// collect stores the declared outputs in the object store.
func (w *Worker) collect(ctx context.Context, root string, patterns []string) ([]cache.Output, error) {
	paths, err := cache.CollectOutputs(root, patterns)
	if err != nil {
		return nil, err
	}
	outs := make([]cache.Output, 0, len(paths))
	for _, rel := range paths {
		abs := filepath.Join(root, filepath.FromSlash(rel))
		fi, err := os.Lstat(abs)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(abs)
			if err != nil {
				return nil, err
			}
			outs = append(outs, cache.Output{Path: rel, Link: target})
			continue
		}
		d, size, err := hashFile(abs)
		if err != nil {
			return nil, err
		}
		if err := w.bus.putFile(ctx, abs, d); err != nil {
			return nil, fmt.Errorf("storing output %q: %w", rel, err)
		}
		outs = append(outs, cache.Output{Path: rel, Mode: fi.Mode().Perm(), Digest: d, Size: size})
	}
	return outs, nil
}

func hashFile(path string) (cache.Digest, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := cache.NewHasher()
	n, err := io.Copy(h, f)
	return h.Digest(), n, err
}

// logRef is the task's whole output: inline when small, else a blob.
func (w *Worker) logRef(ctx context.Context, l *logStream) (logRef, error) {
	ref := logRef{Size: l.size}
	if l.size == 0 {
		return ref, nil
	}
	if l.err != nil {
		return ref, l.err
	}
	if l.size <= inlineLog {
		b, err := os.ReadFile(l.path)
		ref.Inline = b
		return ref, err
	}
	ref.Blob = l.hash.Digest()
	return ref, w.bus.putFile(ctx, l.path, ref.Blob)
}

// complete makes the result durable: the shared cache entry (created only
// if absent: a second worker finishing the same action changes nothing),
// then the result event. It reports whether both are stored.
func (w *Worker) complete(ctx context.Context, t *taskMsg, delivery int, res *resultMsg) bool {
	if res.ok() && !res.Cached && t.Key != "" {
		data, _ := json.Marshal(entry{Task: t.Task, Duration: res.Duration, Output: res.Output, Outputs: res.Outputs,
			Worker: w.opt.ID, Created: time.Now()})
		err := retry(ctx, func() error {
			_, err := w.bus.cache.Create(ctx, t.Key, data)
			if errors.Is(err, jetstream.ErrKeyExists) {
				return nil
			}
			return err
		})
		if err != nil {
			w.logf("%s: cannot store the result in the shared cache: %v", t.Task, err)
		}
	}
	data, _ := json.Marshal(event{Type: evResult, ID: t.ID, Delivery: delivery, Worker: w.opt.ID, Result: res})
	id := t.ID + "." + strconv.Itoa(delivery) + ".result"
	err := retry(ctx, func() error {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := w.bus.js.Publish(pctx, eventsPrefix+t.Session, data, jetstream.WithMsgID(id))
		return err
	})
	if err != nil {
		w.logf("%s: cannot publish the result (the task will be delivered again): %v", t.Task, err)
		return false
	}
	return true
}

// logStream keeps a task's output in a file (created on the first byte:
// most tasks print nothing) and streams it as log events: a chunk at most
// every 50ms, or every 32 KiB.
//
// Contract: Write is called from one goroutine (exec's copier); the timer
// flushes from another, under mu.
type logStream struct {
	w        *Worker
	t        *taskMsg
	delivery int
	path     string
	file     *os.File
	err      error // the first error writing the file
	hash     *cache.Hasher

	mu    sync.Mutex
	buf   []byte
	off   int64 // where buf starts in the output
	size  int64
	timer *time.Timer
}

const (
	logChunk = 32 << 10
	logEvery = 50 * time.Millisecond
)

func (l *logStream) Write(p []byte) (int, error) {
	if l.file == nil && l.err == nil {
		l.file, l.err = os.Create(l.path)
	}
	if l.err == nil {
		_, l.err = l.file.Write(p)
	}
	l.hash.Write(p)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	l.size += int64(len(p))
	if len(l.buf) >= logChunk {
		l.flushLocked()
	} else if l.timer == nil {
		l.timer = time.AfterFunc(logEvery, l.flush)
	}
	return len(p), nil
}

func (l *logStream) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.flushLocked()
}

func (l *logStream) flushLocked() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	for len(l.buf) > 0 {
		n := min(len(l.buf), logChunk)
		l.w.emit(l.t, event{Type: evLog, ID: l.t.ID, Delivery: l.delivery, Offset: l.off, Data: l.buf[:n]})
		l.off += int64(n)
		l.buf = l.buf[n:]
	}
	l.buf = nil
}

// Close sends what is left and closes the file.
func (l *logStream) Close() error {
	l.flush()
	if l.file != nil {
		if err := l.file.Close(); l.err == nil {
			l.err = err
		}
	}
	return nil
}

// remove deletes the file once the output is stored.
func (l *logStream) remove() {
	if l.file != nil {
		os.Remove(l.path)
	}
}
