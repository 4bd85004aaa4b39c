package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/exec"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/kv"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// TestMain doubles as a worker process: with JSRT_TEST_WORKER set, the test
// binary runs one worker until SIGTERM (or dies by SIGKILL, as a test
// wants).
func TestMain(m *testing.M) {
	if os.Getenv("JSRT_TEST_WORKER") != "" {
		os.Exit(workerMain())
	}
	os.Exit(m.Run())
}

func workerMain() int {
	ms := func(name string) time.Duration {
		n, _ := strconv.Atoi(os.Getenv(name))
		return time.Duration(n) * time.Millisecond
	}
	slots, _ := strconv.Atoi(os.Getenv("JSRT_TEST_SLOTS"))
	maxDeliver, _ := strconv.Atoi(os.Getenv("JSRT_TEST_MAXDELIVER"))
	nc, err := Connect(os.Getenv("JSRT_TEST_URL"), "test worker")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer nc.Close()
	w, err := NewWorker(nc, WorkerOptions{ID: os.Getenv("JSRT_TEST_ID"), Slots: slots, Dir: os.Getenv("JSRT_TEST_DIR"),
		Env:    []string{"PATH=" + os.Getenv("PATH")},
		Config: Config{AckWait: ms("JSRT_TEST_ACKWAIT"), MaxDeliver: maxDeliver, Heartbeat: ms("JSRT_TEST_HEARTBEAT")},
		Logf:   func(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// testConfig is quick enough for tests: a lost worker's task is delivered
// again after 2s.
var testConfig = Config{AckWait: 2 * time.Second, MaxDeliver: 3, Heartbeat: 250 * time.Millisecond}

// safety bounds every wait in these tests; nothing is asserted about time.
const safety = 60 * time.Second

func startServer(t testing.TB) *Server {
	t.Helper()
	s, err := StartServer(ServerOptions{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// startWorker runs a worker in a goroutine until the test ends; run
// replaces exec.Run when set.
func startWorker(t testing.TB, url, id string, slots int, cfg Config, run func(context.Context, exec.Spec) exec.Result) *Worker {
	t.Helper()
	dir := t.TempDir()
	nc, err := Connect(url, id)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorker(nc, WorkerOptions{ID: id, Slots: slots, Dir: dir, Env: []string{"PATH=" + os.Getenv("PATH")},
		Config: cfg, Exec: run})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker %s: %v", id, err)
		}
		nc.Close()
	})
	return w
}

// workerProc is a worker running as a process of its own.
type workerProc struct {
	cmd    *osexec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
}

func startWorkerProc(t testing.TB, url, id string, slots int, cfg Config) *workerProc {
	t.Helper()
	cmd := osexec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "JSRT_TEST_WORKER=1", "JSRT_TEST_URL="+url, "JSRT_TEST_ID="+id,
		"JSRT_TEST_DIR="+t.TempDir(), "JSRT_TEST_SLOTS="+strconv.Itoa(slots),
		"JSRT_TEST_ACKWAIT="+strconv.Itoa(int(cfg.AckWait/time.Millisecond)),
		"JSRT_TEST_MAXDELIVER="+strconv.Itoa(cfg.MaxDeliver),
		"JSRT_TEST_HEARTBEAT="+strconv.Itoa(int(cfg.Heartbeat/time.Millisecond)))
	p := &workerProc{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(safety):
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// coord is a coordinator: a workspace, its own state (cache, history) and
// an Executor.
type coord struct {
	t     testing.TB
	root  string
	state string
	kv    *kv.Mem
	ex    *Executor
	env   []string
}

func newCoord(t testing.TB, url string, opt Options) *coord {
	t.Helper()
	if opt.Config == (Config{}) {
		opt.Config = testConfig
	}
	ex, err := Dial(context.Background(), url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ex.Close() })
	return &coord{t: t, root: t.TempDir(), state: t.TempDir(), kv: kv.NewMem(), ex: ex,
		env: []string{"PATH=" + os.Getenv("PATH")}}
}

func (c *coord) write(rel, content string) {
	c.t.Helper()
	p := filepath.Join(c.root, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *coord) read(rel string) string {
	b, err := os.ReadFile(filepath.Join(c.root, rel))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// waitWorkers waits until n workers are alive.
func (c *coord) waitWorkers(n int) {
	c.t.Helper()
	deadline := time.Now().Add(safety)
	for {
		if got, _ := c.ex.Workers(); got == n {
			return
		}
		if time.Now().After(deadline) {
			got, _ := c.ex.Workers()
			c.t.Fatalf("%d workers alive, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *coord) history() *history.History { return history.New(c.kv) }

// run runs targets of tasks through core.Run with the executor.
func (c *coord) run(ctx context.Context, tasks []*graph.Task, targets ...string) (*core.Result, *recorder) {
	c.t.Helper()
	return c.runJobs(ctx, 8, tasks, targets...)
}

// runJobs runs with at most jobs attempts at once (all tasks without
// targets).
func (c *coord) runJobs(ctx context.Context, jobs int, tasks []*graph.Task, targets ...string) (*core.Result, *recorder) {
	c.t.Helper()
	ws := core.NewWorkspace(c.root)
	for _, t := range tasks {
		tk := *t
		if err := ws.Graph.Add(&tk); err != nil {
			c.t.Fatal(err)
		}
	}
	rec := &recorder{out: map[string]*bytes.Buffer{}}
	if len(targets) == 0 {
		for _, t := range tasks {
			targets = append(targets, t.Name)
		}
	}
	opt := core.RunOptions{Targets: targets, Jobs: jobs, Display: rec, Env: c.env, Remote: c.ex,
		LogDir: filepath.Join(c.state, "logs"), History: c.history(),
		Caching: &core.Caching{Cache: cache.New(c.kv, filepath.Join(c.state, "cache"), nil), Index: cache.NewIndex(c.kv, nil)}}
	res, err := core.Run(ctx, ws, opt)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, rec
}

// statuses maps each task to its status, with the failure reason.
func statuses(res *core.Result) map[string]string {
	out := map[string]string{}
	for _, r := range res.Tasks {
		s := r.Status.String()
		if r.Reason != "" {
			s += ": " + r.Reason
		}
		out[r.Task.Name] = s
	}
	return out
}

func report(res *core.Result, name string) *sched.TaskReport {
	for _, r := range res.Tasks {
		if r.Task.Name == name {
			return r
		}
	}
	return nil
}

// recorder is a Display that keeps each task's output and the notices.
type recorder struct {
	mu      sync.Mutex
	out     map[string]*bytes.Buffer
	notices []string
	started func(t *graph.Task)
}

func (r *recorder) Started(t *graph.Task, _ int) {
	if r.started != nil {
		r.started(t)
	}
}
func (*recorder) Finished(*graph.Task, int, sched.Result, bool) {}
func (*recorder) Skipped(*graph.Task, string)                   {}

func (r *recorder) Output(t *graph.Task, _ int) io.WriteCloser {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.out[t.Name] == nil {
		r.out[t.Name] = &bytes.Buffer{}
	}
	return &taskOut{r: r, name: t.Name}
}

func (r *recorder) Notice(t *graph.Task, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices = append(r.notices, t.Name+": "+msg)
}

func (r *recorder) output(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b := r.out[name]; b != nil {
		return b.String()
	}
	return ""
}

type taskOut struct {
	r    *recorder
	name string
}

func (o *taskOut) Write(p []byte) (int, error) {
	o.r.mu.Lock()
	defer o.r.mu.Unlock()
	return o.r.out[o.name].Write(p)
}

func (*taskOut) Close() error { return nil }

// counter wraps exec.Run and counts the processes started.
type counter struct {
	mu sync.Mutex
	n  map[string]int // by task directory base... by command
}

func (c *counter) run(ctx context.Context, spec exec.Spec) exec.Result {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[spec.Shell+fmt.Sprint(spec.Argv)]++
	c.mu.Unlock()
	return exec.Run(ctx, spec)
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

// waitFile waits until path exists with at least lines lines and returns
// its content.
func waitFile(t testing.TB, path string, lines int) string {
	t.Helper()
	deadline := time.Now().Add(safety)
	for {
		b, _ := os.ReadFile(path)
		if bytes.Count(b, []byte("\n")) >= lines {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %q, want %d line(s)", path, b, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
