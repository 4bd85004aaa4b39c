package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/exec"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// Options configure the coordinator's side.
type Options struct {
	// RemoteOnly: a task whose pool no live worker serves waits for one
	// instead of running locally.
	RemoteOnly bool
	Config     Config
}

// Executor is core.Remote over JetStream: one per coordinator session
// (its events come on a subject of its own).
//
// Contract: Takes and Run are safe for concurrent use, as core.Remote
// requires; Close once, after the last Run has returned.
type Executor struct {
	opt     Options
	cfg     Config
	bus     *bus
	session string
	fleet   *fleet
	tasks   jetstream.Stream
	stop    context.CancelFunc
	consume jetstream.ConsumeContext
	adv     *nats.Subscription
	ownConn bool

	seq   atomic.Uint64
	known sync.Map // digests known to be in the object store

	mu     sync.Mutex
	active map[string]*dispatch // by dispatch id
	bySeq  map[uint64]*dispatch // by stream sequence of the task message
}

// dispatch is one attempt on the work queue.
type dispatch struct {
	id     string
	events chan event
	lost   chan uint64   // deliveries, when MaxDeliver is exhausted
	done   chan struct{} // closed when nobody listens any more
	seq    uint64
}

// Dial connects to url and starts an Executor that owns the connection.
func Dial(ctx context.Context, url string, opt Options) (*Executor, error) {
	nc, err := Connect(url, "jsrt-script coordinator")
	if err != nil {
		return nil, err
	}
	e, err := NewExecutor(ctx, nc, opt)
	if err != nil {
		nc.Close()
		return nil, err
	}
	e.ownConn = true
	return e, nil
}

// NewExecutor sets up JetStream on nc, starts following its events and
// the workers' heartbeats, and waits (briefly) for the first snapshot of
// the workers.
func NewExecutor(ctx context.Context, nc *nats.Conn, opt Options) (*Executor, error) {
	cfg := opt.Config.withDefaults()
	b, err := openBus(ctx, nc, cfg)
	if err != nil {
		return nil, err
	}
	tasks, err := b.js.Stream(ctx, TasksStream)
	if err != nil {
		return nil, err
	}
	e := &Executor{opt: opt, cfg: cfg, bus: b, session: nuid.Next(), fleet: newFleet(cfg.ttl()), tasks: tasks,
		active: map[string]*dispatch{}, bySeq: map[uint64]*dispatch{}}
	cons, err := b.js.OrderedConsumer(ctx, EventsStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{eventsPrefix + e.session}, DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return nil, fmt.Errorf("cannot follow the events stream: %w", err)
	}
	if e.consume, err = cons.Consume(e.onEvent); err != nil {
		return nil, fmt.Errorf("cannot follow the events stream: %w", err)
	}
	e.adv, err = nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+TasksStream+".*", e.onMaxDeliveries)
	if err != nil {
		e.consume.Stop()
		return nil, err
	}
	wctx, stop := context.WithCancel(context.Background())
	e.stop = stop
	go e.fleet.watch(wctx, b.workers, cfg.Heartbeat/2)
	select {
	case <-e.fleet.ready:
	case <-time.After(5 * time.Second):
	case <-ctx.Done():
	}
	return e, nil
}

// Close stops following events and workers (and closes the connection if
// Dial opened it).
func (e *Executor) Close() error {
	e.stop()
	e.consume.Stop()
	e.adv.Unsubscribe()
	if e.ownConn {
		return e.bus.nc.Drain()
	}
	return nil
}

// Workers returns how many workers are alive and their slots in all.
func (e *Executor) Workers() (workers, slots int) {
	for _, w := range e.fleet.live() {
		workers++
		slots += w.Slots
	}
	return workers, slots
}

// poolOf is the pool a task's messages go to.
func poolOf(t *graph.Task) string {
	switch {
	case t.Pool != "":
		return t.Pool
	case len(t.Pools) > 0:
		return t.Pools[0]
	}
	return DefaultPool
}

// Takes says whether t goes to a worker: some live worker serves its pool,
// or --remote-only.
func (e *Executor) Takes(t *graph.Task) bool {
	return e.opt.RemoteOnly || e.fleet.capacity(poolOf(t)) > 0
}

// Run runs one attempt on a worker; see core.Remote.
func (e *Executor) Run(ctx context.Context, a core.RemoteAttempt, out io.Writer) sched.Result {
	start := time.Now()
	if a.Key != "" && a.Attempt == 1 {
		if res, ok := e.sharedHit(ctx, a, out, start); ok {
			return res
		}
	}
	msg, err := e.prepare(ctx, a)
	if err != nil {
		return failed(ctx, start, err)
	}
	pool := poolOf(a.Task)
	waiting := func() { notice(a, fmt.Sprintf("waiting for a worker serving pool %q", pool)) }
	if err := e.fleet.acquire(ctx, pool, waiting); err != nil {
		return failed(ctx, start, err)
	}
	defer e.fleet.release(pool)
	d := e.register(msg.ID)
	defer e.unregister(d)
	if err := e.publish(ctx, pool, msg, d); err != nil {
		return failed(ctx, start, err)
	}
	return e.follow(ctx, a, d, out, start)
}

func notice(a core.RemoteAttempt, msg string) {
	if a.Notice != nil {
		a.Notice(msg)
	}
}

// failed is an attempt that never reached a worker.
func failed(ctx context.Context, start time.Time, err error) sched.Result {
	if ctx.Err() != nil {
		return sched.Result{Start: start, Duration: time.Since(start), ExitCode: -1, Interrupted: true}
	}
	return sched.Result{Start: start, Duration: time.Since(start), ExitCode: -1, Err: err}
}

// sharedHit restores a result another machine stored in the shared cache.
func (e *Executor) sharedHit(ctx context.Context, a core.RemoteAttempt, out io.Writer, start time.Time) (sched.Result, bool) {
	kve, err := e.bus.cache.Get(ctx, string(a.Key))
	if err != nil {
		return sched.Result{}, false // a miss, or the cache is out of reach: run the task
	}
	var en entry
	if json.Unmarshal(kve.Value(), &en) != nil || en.Task != a.Task.Name {
		return sched.Result{}, false
	}
	if err := e.restore(ctx, a.Root, en.Outputs); err != nil {
		notice(a, fmt.Sprintf("shared cache entry unusable (%v): running the task", err))
		return sched.Result{}, false
	}
	notice(a, fmt.Sprintf("shared cache hit: replaying the output of a %s run on worker %s and restoring %d output(s)",
		en.Duration.Round(time.Millisecond), en.Worker, len(en.Outputs)))
	f := &follower{out: out}
	if err := f.rest(en.Output, func(w io.Writer) error { return e.bus.fetch(ctx, en.Output.Blob, w) }); err != nil {
		return sched.Result{Start: start, Duration: time.Since(start), ExitCode: -1, Err: fmt.Errorf("replaying the output: %w", err)}, true
	}
	return sched.Result{Start: start, Duration: time.Since(start), Cached: true, Saved: en.Duration}, true
}

// restore writes outputs under root from the object store, as a cache
// hit restores them.
func (e *Executor) restore(ctx context.Context, root string, outs []cache.Output) error {
	for _, o := range outs {
		err := cache.WriteOutput(root, o, func(w io.Writer) error { return e.bus.fetch(ctx, o.Digest, w) })
		if err != nil {
			return fmt.Errorf("output %q: %w", o.Path, err)
		}
		if o.Link == "" {
			e.known.Store(o.Digest, true)
		}
	}
	return nil
}

// fileListMax is the longest file list sent inside a task message.
const fileListMax = 128 << 10

// prepare uploads the attempt's files and builds its message.
func (e *Executor) prepare(ctx context.Context, a core.RemoteAttempt) (*taskMsg, error) {
	if err := e.upload(ctx, a.Root, a.Files); err != nil {
		return nil, err
	}
	t := a.Task
	m := &taskMsg{Version: wireVersion, ID: e.session + "." + strconv.FormatUint(e.seq.Add(1), 10), Session: e.session,
		Task: t.Name, Attempt: a.Attempt, Shell: t.Shell, Argv: t.Argv, Cwd: t.Cwd, Env: a.Env, Timeout: t.Timeout,
		Key: string(a.Key), Outputs: t.Outputs, Platform: Platform}
	for _, f := range a.Files {
		m.Files = append(m.Files, fileRef{Path: f.Path, Digest: f.Digest, Exec: f.Exec})
	}
	if list, _ := json.Marshal(m.Files); len(list) > fileListMax {
		d, err := e.bus.putBytes(ctx, list)
		if err != nil {
			return nil, fmt.Errorf("storing the file list: %w", err)
		}
		m.Files, m.FileList = nil, d
	}
	return m, nil
}

// upload puts the files the object store may not have, a few at a time.
func (e *Executor) upload(ctx context.Context, root string, files []core.RemoteFile) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, 8)
	for _, f := range files {
		if _, ok := e.known.Load(f.Digest); ok {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := e.bus.putFile(ctx, filepath.Join(root, filepath.FromSlash(f.Path)), f.Digest)
			var de *digestError
			if errors.As(err, &de) {
				err = errors.New("it changed while it was being sent")
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("cannot send file %q to the workers: %w", f.Path, err)
				}
				mu.Unlock()
				return
			}
			e.known.Store(f.Digest, true)
		}()
	}
	wg.Wait()
	return first
}

func (e *Executor) register(id string) *dispatch {
	d := &dispatch{id: id, events: make(chan event, 16), lost: make(chan uint64, 1), done: make(chan struct{})}
	e.mu.Lock()
	e.active[id] = d
	e.mu.Unlock()
	return d
}

// unregister stops delivering events to d (safe to call twice).
func (e *Executor) unregister(d *dispatch) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.active[d.id] == d {
		delete(e.active, d.id)
		delete(e.bySeq, d.seq)
		close(d.done)
	}
}

// publish puts the task on its pool's queue; the message id makes a
// publish retried through a reconnection land once.
func (e *Executor) publish(ctx context.Context, pool string, m *taskMsg, d *dispatch) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var ack *jetstream.PubAck
	err = retry(ctx, func() error {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ack, err = e.bus.js.Publish(pctx, tasksPrefix+pool, data, jetstream.WithMsgID(m.ID))
		return err
	})
	if err != nil {
		return fmt.Errorf("cannot queue the task: %w", err)
	}
	e.mu.Lock()
	d.seq = ack.Sequence
	e.bySeq[ack.Sequence] = d
	e.mu.Unlock()
	return nil
}

// onEvent hands an event to its dispatch (events of finished dispatches
// are dropped).
func (e *Executor) onEvent(m jetstream.Msg) {
	var ev event
	if json.Unmarshal(m.Data(), &ev) != nil {
		return
	}
	e.mu.Lock()
	d := e.active[ev.ID]
	e.mu.Unlock()
	if d == nil {
		return
	}
	select {
	case d.events <- ev:
	case <-d.done:
	}
}

// onMaxDeliveries: JetStream gave up on a task message.
func (e *Executor) onMaxDeliveries(m *nats.Msg) {
	var adv struct {
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries uint64 `json:"deliveries"`
	}
	if json.Unmarshal(m.Data, &adv) != nil {
		return
	}
	e.mu.Lock()
	d := e.bySeq[adv.StreamSeq]
	e.mu.Unlock()
	if d != nil {
		select {
		case d.lost <- adv.Deliveries:
		default:
		}
	}
}

// LostError is an attempt no worker finished: JetStream delivered it
// MaxDeliver times and every worker went away (or stopped answering)
// before finishing it.
type LostError struct {
	Task       string
	Deliveries uint64
}

func (e *LostError) Error() string {
	return fmt.Sprintf("worker lost: task %q was delivered %d times and no worker finished it", e.Task, e.Deliveries)
}

// WorkerError is an attempt that could not run on a worker (a missing
// command, a bad working directory, an input missing from the store).
type WorkerError struct {
	Worker string
	Msg    string
}

func (e *WorkerError) Error() string { return fmt.Sprintf("%s (on worker %s)", e.Msg, e.Worker) }

// cancelGrace is how long an interrupted attempt waits for its worker to
// confirm the process group stopped.
const cancelGrace = exec.DefaultGrace + 5*time.Second

// follow waits for the dispatch's result, writing its output as it comes;
// ctx cancelled (or Kill closed) reaches the worker running it.
func (e *Executor) follow(ctx context.Context, a core.RemoteAttempt, d *dispatch, out io.Writer, start time.Time) sched.Result {
	f := &follower{out: out, notice: a.Notice}
	done, kill := ctx.Done(), a.Kill
	var giveUp <-chan time.Time
	interrupted := sched.Result{Start: start, ExitCode: -1, Interrupted: true}
	for {
		select {
		case ev := <-d.events:
			if r := f.apply(ev); r != nil {
				e.unregister(d)
				return e.finish(ctx, a, f, r)
			}
		case n := <-d.lost:
			e.deleteMsg(d.seq)
			return sched.Result{Start: start, Duration: time.Since(start), ExitCode: -1, Err: &LostError{Task: a.Task.Name, Deliveries: n}}
		case <-done:
			done = nil
			e.cancel(d.id, false)
			if f.delivery == 0 && e.deleteMsg(d.seq) == nil {
				interrupted.Duration = time.Since(start)
				return interrupted // still queued: no worker had it
			}
			t := time.NewTimer(cancelGrace)
			defer t.Stop()
			giveUp = t.C
		case <-kill:
			kill = nil
			e.cancel(d.id, true)
		case <-giveUp:
			notice(a, "the worker did not confirm that the task stopped")
			interrupted.Duration = time.Since(start)
			return interrupted
		}
	}
}

// cancel tells whichever worker runs the dispatch to stop it.
func (e *Executor) cancel(id string, kill bool) {
	data, _ := json.Marshal(cancelMsg{ID: id, Kill: kill})
	e.bus.nc.Publish(cancelPrefix+e.session, data)
	e.bus.nc.Flush()
}

// deleteMsg removes a task message from the queue.
func (e *Executor) deleteMsg(seq uint64) error {
	if seq == 0 {
		return errors.New("not queued")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return e.tasks.DeleteMsg(ctx, seq)
}

// finish turns a worker's result into the attempt's: the rest of the
// output, then (on success) the outputs restored into the workspace.
func (e *Executor) finish(ctx context.Context, a core.RemoteAttempt, f *follower, r *resultMsg) sched.Result {
	res := sched.Result{Start: r.Start, Duration: r.Duration, ExitCode: r.ExitCode, Signal: r.Signal, TimedOut: r.TimedOut,
		Interrupted: r.Interrupted || ctx.Err() != nil, PeakRSS: r.PeakRSS, CPU: r.CPU, Cached: r.Cached, Saved: r.Saved}
	if r.Err != "" {
		res.Err = &WorkerError{Worker: f.worker, Msg: r.Err}
	}
	bg := context.WithoutCancel(ctx)
	if err := f.rest(r.Output, func(w io.Writer) error { return e.bus.fetch(bg, r.Output.Blob, w) }); err != nil && res.Err == nil {
		res.Err, res.ExitCode = fmt.Errorf("cannot fetch the output from worker %s: %w", f.worker, err), -1
	}
	if !res.OK() {
		return res
	}
	if err := e.restore(ctx, a.Root, r.Outputs); err != nil {
		if ctx.Err() != nil {
			res.Interrupted = true
			return res
		}
		res.Err, res.ExitCode = fmt.Errorf("cannot restore the outputs from worker %s: %w", f.worker, err), -1
	}
	return res
}
