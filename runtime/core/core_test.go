package core

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/kv"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// quiet is a Display that keeps notices and discards output.
type quiet struct {
	mu      sync.Mutex
	notices []string
}

func (*quiet) Started(*graph.Task, int)                      {}
func (*quiet) Finished(*graph.Task, int, sched.Result, bool) {}
func (*quiet) Skipped(*graph.Task, string)                   {}
func (*quiet) Output(*graph.Task, int) io.WriteCloser        { return nopWC{} }
func (q *quiet) Notice(t *graph.Task, msg string) {
	q.mu.Lock()
	q.notices = append(q.notices, t.Name+": "+msg)
	q.mu.Unlock()
}

type nopWC struct{}

func (nopWC) Write(p []byte) (int, error) { return len(p), nil }
func (nopWC) Close() error                { return nil }

// fixture is a workspace with a store shared by its runs.
type fixture struct {
	t     *testing.T
	root  string
	state string
	kv    *kv.Mem
}

func newFixture(t *testing.T) *fixture {
	return &fixture{t: t, root: t.TempDir(), state: t.TempDir(), kv: kv.NewMem()}
}

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.root, rel)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) read(rel string) string {
	b, _ := os.ReadFile(filepath.Join(f.root, rel))
	return string(b)
}

// run runs targets of the tasks and returns each task's status.
func (f *fixture) run(ctx context.Context, env []string, dry bool, tasks []*graph.Task, targets ...string) map[string]string {
	f.t.Helper()
	ws := NewWorkspace(f.root)
	for _, t := range tasks {
		c := *t
		if err := ws.Graph.Add(&c); err != nil {
			f.t.Fatal(err)
		}
	}
	opt := RunOptions{Targets: targets, Jobs: 2, Display: &quiet{}, DryRun: dry,
		Env: append([]string{"PATH=" + os.Getenv("PATH")}, env...)}
	if !dry {
		opt.LogDir = filepath.Join(f.state, "logs")
		opt.History = history.New(f.kv)
		opt.Caching = &Caching{Cache: cache.New(f.kv, filepath.Join(f.state, "cache"), nil), Index: cache.NewIndex(f.kv, nil)}
	}
	res, err := Run(ctx, ws, opt)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range res.Tasks {
		out[r.Task.Name] = r.Status.String()
	}
	return out
}

func TestEnvABARestoresOutputs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("src.txt", "source")
	tasks := []*graph.Task{{Name: "a", Shell: `echo "$MODE" > out.txt; echo ran >> runs.log`, Inputs: []string{"src.txt"},
		Outputs: []string{"out.txt"}, Env: []string{"MODE"}}}
	steps := []struct{ env, want, out string }{
		{"MODE=A", "ok", "A\n"}, {"MODE=B", "ok", "B\n"}, {"MODE=A", "cached", "A\n"},
		{"", "ok", "\n"}, {"MODE=", "ok", "\n"}, // unset and empty are different keys
	}
	for i, s := range steps {
		var env []string
		if s.env != "" {
			env = []string{s.env}
		}
		got := f.run(context.Background(), env, false, tasks, "a")
		if got["a"] != s.want || f.read("out.txt") != s.out {
			t.Fatalf("step %d (%s): status %s, out.txt %q; want %s, %q", i, s.env, got["a"], f.read("out.txt"), s.want, s.out)
		}
	}
	if n := strings.Count(f.read("runs.log"), "ran"); n != 4 {
		t.Fatalf("the task ran %d times, want 4", n)
	}
}

func TestSameCommandDifferentNamesNeverShare(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("in", "x")
	cmd := `echo ran >> runs.log`
	tasks := []*graph.Task{{Name: "one", Shell: cmd, Inputs: []string{"in"}}, {Name: "two", Shell: cmd, Inputs: []string{"in"}}}
	f.run(context.Background(), nil, false, tasks, "one")
	got := f.run(context.Background(), nil, false, tasks, "two")
	if got["two"] != "ok" {
		t.Fatalf("two: %s, want ok (not a hit on one's entry)", got["two"])
	}
}

func TestInterruptedAndFailedAreNotStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("in", "x")
	tasks := []*graph.Task{
		{Name: "slow", Shell: `echo ran >> slow.log; touch started; sleep 30`, Inputs: []string{"in"}},
		{Name: "bad", Shell: `echo ran >> bad.log; exit 3`, Inputs: []string{"in"}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(f.root, "started")); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if got := f.run(ctx, nil, false, tasks, "slow"); got["slow"] != "interrupted" {
		t.Fatalf("slow: %s", got["slow"])
	}
	f.run(context.Background(), nil, false, tasks, "bad")
	os.Remove(filepath.Join(f.root, "started"))
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	f.run(ctx2, nil, false, tasks, "slow") // runs again: nothing was stored
	f.run(context.Background(), nil, false, tasks, "bad")
	if a, b := strings.Count(f.read("slow.log"), "ran"), strings.Count(f.read("bad.log"), "ran"); a != 2 || b != 2 {
		t.Fatalf("slow ran %d times, bad %d; want 2 and 2 (never cached)", a, b)
	}
}

func TestInputChangedDuringRunIsNotStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("in", "x")
	tasks := []*graph.Task{{Name: "t", Shell: `echo ran >> runs.log; echo y >> in`, Inputs: []string{"in"}}}
	f.run(context.Background(), nil, false, tasks, "t")
	f.write("in", "x") // the same content the first run started from
	got := f.run(context.Background(), nil, false, tasks, "t")
	if got["t"] != "ok" || strings.Count(f.read("runs.log"), "ran") != 2 {
		t.Fatalf("a result whose inputs changed while it ran was reused: %v", got)
	}
}

func TestDryRunStoresNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("in", "x")
	tasks := []*graph.Task{{Name: "t", Shell: `echo ran >> runs.log`, Inputs: []string{"in"}}}
	f.run(context.Background(), nil, true, tasks, "t")
	if f.read("runs.log") != "" {
		t.Fatal("a dry run ran the command")
	}
	n := 0
	f.kv.Scan(nil, false, func(k, v []byte) (bool, error) { n++; return true, nil })
	if n != 0 {
		t.Fatalf("a dry run wrote %d keys", n)
	}
	if got := f.run(context.Background(), nil, false, tasks, "t"); got["t"] != "ok" {
		t.Fatalf("first real run: %s, want ok", got["t"])
	}
}

func TestChangedExpandsToChangedInputs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("src/a.c", "a")
	f.write("src/b c.c", "b")
	tasks := []*graph.Task{{Name: "fmt", Shell: `printf '%s\n' {changed} >> seen.log`, Inputs: []string{"src/*.c"}}}
	f.run(context.Background(), nil, false, tasks, "fmt")
	f.write("src/b c.c", "b2")
	f.run(context.Background(), nil, false, tasks, "fmt")
	if got := f.read("seen.log"); got != "src/a.c\nsrc/b c.c\nsrc/b c.c\n" {
		t.Fatalf("seen %q", got)
	}
}

func TestDeletedOutputIsRestored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("in", "x")
	tasks := []*graph.Task{{Name: "t", Shell: `cp in out`, Inputs: []string{"in"}, Outputs: []string{"out"}}}
	f.run(context.Background(), nil, false, tasks, "t")
	os.Remove(filepath.Join(f.root, "out"))
	if got := f.run(context.Background(), nil, false, tasks, "t"); got["t"] != "cached" || f.read("out") != "x" {
		t.Fatalf("status %s, out %q: a deleted output must come back", got["t"], f.read("out"))
	}
}

func TestMissingOutputFailsTheTask(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("in", "x")
	tasks := []*graph.Task{{Name: "t", Shell: `true`, Inputs: []string{"in"}, Outputs: []string{"bin/app"}}}
	if got := f.run(context.Background(), nil, false, tasks, "t"); got["t"] != "failed" {
		t.Fatalf("status %s, want failed", got["t"])
	}
}

// "**" never takes in jsrt-script's own state directory, so a task whose
// inputs are everything is still cached.
func TestStateDirIsNeverAnInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.state = filepath.Join(f.root, ".jsrt")
	f.write("src.txt", "x")
	tasks := []*graph.Task{{Name: "all", Shell: "echo ran >> ran.log", Inputs: []string{"*.txt", "**/*.mem", ".jsrt/**"}}}
	f.run(context.Background(), nil, false, tasks, "all")
	os.WriteFile(filepath.Join(f.state, "logs", "noise.mem"), []byte("changes every run"), 0o644)
	if got := f.run(context.Background(), nil, false, tasks, "all"); got["all"] != "cached" {
		t.Fatalf("status %s: the state directory was taken as an input", got["all"])
	}
}

// TestLogOfLatestRun: a task's log holds its latest run's output; a run in
// which it prints nothing removes the earlier run's log, and one that
// prints replaces it; a retry appends to its first attempt's.
func TestLogOfLatestRun(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	logOf := func(task string) (string, bool) {
		b, err := os.ReadFile(LogPath(filepath.Join(f.state, "logs"), task))
		return string(b), err == nil
	}
	say := func(name, cmd string) []*graph.Task {
		return []*graph.Task{{Name: name, Shell: cmd}, {Name: "other", Shell: "echo other"}}
	}
	steps := []struct {
		cmd     string
		want    string
		present bool
	}{
		{"echo one", "one\n", true},
		{"echo two", "two\n", true},
		{"true", "", false}, // printed nothing: the log of run 2 is gone
		{"true", "", false}, // nothing to remove
		{"echo three", "three\n", true},
	}
	for i, st := range steps {
		if got := f.run(context.Background(), nil, false, say("t", st.cmd), "t", "other"); got["t"] != "ok" {
			t.Fatalf("run %d: %v", i+1, got)
		}
		if log, ok := logOf("t"); ok != st.present || log != st.want {
			t.Errorf("run %d (%s): log %q (there: %v), want %q (there: %v)", i+1, st.cmd, log, ok, st.want, st.present)
		}
		if log, _ := logOf("other"); log != "other\n" {
			t.Errorf("run %d: log of other %q", i+1, log)
		}
	}
	retried := []*graph.Task{{Name: "t", Shell: `echo try; test -e once || { touch once; exit 1; }`, Retries: 1}}
	if got := f.run(context.Background(), nil, false, retried, "t"); got["t"] != "ok" {
		t.Fatalf("retried run: %v", got)
	}
	if log, _ := logOf("t"); log != "try\ntry\n" {
		t.Errorf("after a retry: log %q, want both attempts", log)
	}
}

// An input named literally (its stat taken once, by the glob) still makes
// a miss when its content changes, also through a link pointing elsewhere.
func TestLiteralInputChangeIsAMiss(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("in", "aaaa")
	f.write("other", "bbbb")
	if err := os.Symlink("in", filepath.Join(f.root, "link")); err != nil {
		t.Fatal(err)
	}
	tasks := []*graph.Task{{Name: "t", Shell: `echo ran >> runs.log`, Inputs: []string{"in", "link"}}}
	steps := []struct {
		change func()
		want   string
	}{
		{func() {}, "ok"},
		{func() {}, "cached"},
		{func() { f.write("in", "cccc") }, "ok"}, // same size
		{func() {}, "cached"},
		{func() {
			os.Remove(filepath.Join(f.root, "link"))
			os.Symlink("other", filepath.Join(f.root, "link"))
		}, "ok"},
		{func() {}, "cached"},
	}
	for i, s := range steps {
		s.change()
		if got := f.run(context.Background(), nil, false, tasks, "t"); got["t"] != s.want {
			t.Fatalf("step %d: %s, want %s", i, got["t"], s.want)
		}
	}
}

// outputs is a quiet Display that keeps what attempts print, by task.
type outputs struct {
	quiet
	mu     sync.Mutex
	opened map[string]int
	got    map[string]*strings.Builder
}

type taskOut struct {
	o    *outputs
	name string
}

func (w taskOut) Write(p []byte) (int, error) {
	w.o.mu.Lock()
	defer w.o.mu.Unlock()
	return w.o.got[w.name].Write(p)
}
func (taskOut) Close() error { return nil }

func (o *outputs) Output(t *graph.Task, _ int) io.WriteCloser {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opened[t.Name]++
	if o.got[t.Name] == nil {
		o.got[t.Name] = &strings.Builder{}
	}
	return taskOut{o, t.Name}
}

// A hit replays what its run printed to the display and the log; a hit of
// a run that printed nothing opens no display output at all.
func TestHitReplaysOutputOnlyWhenThereIsSome(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("in", "x")
	tasks := []*graph.Task{{Name: "loud", Shell: "echo hello", Inputs: []string{"in"}},
		{Name: "silent", Shell: "true", Inputs: []string{"in"}}}
	run := func(hit bool) *outputs {
		ws := NewWorkspace(f.root)
		for _, tk := range tasks {
			c := *tk
			ws.Graph.Add(&c)
		}
		d := &outputs{opened: map[string]int{}, got: map[string]*strings.Builder{}}
		opt := RunOptions{Targets: []string{"loud", "silent"}, Jobs: 2, Display: d, LogDir: filepath.Join(f.state, "logs"),
			Env:     []string{"PATH=" + os.Getenv("PATH")},
			Caching: &Caching{Cache: cache.New(f.kv, filepath.Join(f.state, "cache"), nil), Index: cache.NewIndex(f.kv, nil)}}
		res, err := Run(context.Background(), ws, opt)
		if err != nil || !res.OK() {
			t.Fatalf("run: %v", err)
		}
		if c := res.Counts(); hit && c["cached"] != 2 {
			t.Fatalf("second run: %v, want two hits", c)
		}
		return d
	}
	run(false)
	d := run(true)
	if c := d.got["loud"]; c == nil || c.String() != "hello\n" {
		t.Fatalf("replayed %v, want hello", c)
	}
	if b, err := os.ReadFile(LogPath(filepath.Join(f.state, "logs"), "loud")); err != nil || string(b) != "hello\n" {
		t.Fatalf("log after the hit: %q, %v", b, err)
	}
	if n := d.opened["silent"]; n != 0 {
		t.Fatalf("a hit with nothing to replay opened the display's output %d times", n)
	}
}

// A hit leaves the outputs as the cached run left them: files its output
// patterns match now that that run did not leave are removed, except those
// another task declares.
func TestHitRemovesOutputsTheCachedRunDidNotLeave(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	gen := `rm -rf out; mkdir -p out; for n in $(cat list); do echo $n > out/$n.txt; done`
	tasks := []*graph.Task{
		{Name: "gen", Shell: gen, Inputs: []string{"list"}, Outputs: []string{"out/**"}},
		{Name: "keep", Shell: `mkdir -p out && echo k > out/k.txt`, Inputs: []string{"list"}, Outputs: []string{"out/k.txt"}, Deps: []string{"gen"}},
		{Name: "dir", Shell: `rm -rf d; mkdir -p d; for n in $(cat list); do echo $n > d/$n; done`, Inputs: []string{"list"}, Outputs: []string{"d"}},
	}
	for i, step := range []struct{ list, want string }{
		{"a", "ok"}, {"a b", "ok"}, {"a", "cached"},
	} {
		f.write("list", step.list)
		got := f.run(context.Background(), nil, false, tasks, "gen", "keep", "dir")
		if got["gen"] != step.want || got["dir"] != step.want {
			t.Fatalf("step %d: gen %s, dir %s, want %s", i, got["gen"], got["dir"], step.want)
		}
	}
	for _, gone := range []string{"out/b.txt", "d/b"} {
		if _, err := os.Lstat(filepath.Join(f.root, gone)); !os.IsNotExist(err) {
			t.Errorf("%s left by another run is still there after the hit (%v)", gone, err)
		}
	}
	for _, there := range []string{"out/a.txt", "out/k.txt", "d/a"} {
		if _, err := os.Stat(filepath.Join(f.root, there)); err != nil {
			t.Errorf("%s: %v", there, err)
		}
	}
}

// A task whose log is removed while it runs (here its logs directory) is
// not cached: a hit would replay a log without that output.
func TestLostLogIsNotCached(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("in", "x")
	logs := filepath.Join(f.state, "logs")
	// Once "before" is in the log, remove the directory, then print more.
	cmd := fmt.Sprintf("echo before; while [ ! -s '%s' ]; do sleep 0.01; done; rm -rf '%s'; echo after", LogPath(logs, "t"), logs)
	tasks := []*graph.Task{{Name: "t", Shell: cmd, Inputs: []string{"in"}}}
	for i := range 2 {
		if got := f.run(context.Background(), nil, false, tasks, "t"); got["t"] != "ok" {
			t.Fatalf("run %d: %s, want ok (a result whose log was lost is not stored)", i+1, got["t"])
		}
	}
	quiet := []*graph.Task{{Name: "t", Shell: "echo before; echo after", Inputs: []string{"in"}}}
	for i, want := range []string{"ok", "cached"} {
		if got := f.run(context.Background(), nil, false, quiet, "t"); got["t"] != want {
			t.Fatalf("run %d with the log kept: %s, want %s", i+1, got["t"], want)
		}
	}
}
