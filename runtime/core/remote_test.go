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

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// fakeRemote is the test double of Remote: it "runs" a task by writing a
// line of output and its declared outputs (the list of files it was given).
type fakeRemote struct {
	mu       sync.Mutex
	attempts []RemoteAttempt
}

func (*fakeRemote) Takes(*graph.Task) bool { return true }

func (f *fakeRemote) Run(_ context.Context, a RemoteAttempt, out io.Writer) sched.Result {
	f.mu.Lock()
	f.attempts = append(f.attempts, a)
	f.mu.Unlock()
	fmt.Fprintf(out, "remote ran %s\n", a.Task.Name)
	for _, o := range a.Task.Outputs {
		var list string
		for _, file := range a.Files {
			list += file.Path + "\n"
		}
		if err := os.WriteFile(filepath.Join(a.Root, o), []byte(list), 0o644); err != nil {
			return sched.Result{ExitCode: -1, Err: err}
		}
	}
	return sched.Result{}
}

func TestRemoteAttemptsAreLoggedRecordedAndCachedLikeLocalOnes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write("src.txt", "source")
	tasks := []*graph.Task{
		{Name: "gen", Shell: "never run here", Inputs: []string{"src.txt"}, Outputs: []string{"gen.txt"}, Env: []string{"MODE"}},
		{Name: "use", Shell: "never run here", Deps: []string{"gen"}, Inputs: []string{"src.txt"}, Outputs: []string{"use.txt"}},
		{Name: "plain", Shell: "never run here"}, // no inputs: not cacheable, no key
	}
	remote := &fakeRemote{}
	run := func() map[string]string {
		ws := NewWorkspace(f.root)
		for _, tk := range tasks {
			c := *tk
			ws.Graph.Add(&c)
		}
		opt := RunOptions{Targets: []string{"use", "plain"}, Jobs: 1, Display: &quiet{}, Env: []string{"MODE=A"},
			LogDir: filepath.Join(f.state, "logs"), Remote: remote}
		opt.History = history.New(f.kv)
		opt.Caching = &Caching{Cache: cache.New(f.kv, filepath.Join(f.state, "cache"), nil), Index: cache.NewIndex(f.kv, nil)}
		res, err := Run(context.Background(), ws, opt)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range res.Tasks {
			got[r.Task.Name] = r.Status.String()
		}
		return got
	}
	if got := run(); got["gen"] != "ok" || got["use"] != "ok" || got["plain"] != "ok" {
		t.Fatalf("first run: %v", got)
	}
	byTask := map[string]RemoteAttempt{}
	for _, a := range remote.attempts {
		byTask[a.Task.Name] = a
	}
	gen, use, plain := byTask["gen"], byTask["use"], byTask["plain"]
	if len(gen.Files) != 1 || gen.Files[0].Path != "src.txt" || gen.Files[0].Digest == "" || gen.Key == "" ||
		gen.Env["MODE"] != "A" || gen.Root != f.root || gen.Attempt != 1 {
		t.Fatalf("gen attempt: %+v", gen)
	}
	if len(use.Files) != 2 || use.Files[0].Path != "gen.txt" || use.Files[1].Path != "src.txt" {
		t.Fatalf("use should get its input and the output of gen, got %+v", use.Files)
	}
	if plain.Key != "" || len(plain.Files) != 0 {
		t.Fatalf("plain has no inputs: no key, no files; got %+v", plain)
	}
	if got := f.read("use.txt"); got != "gen.txt\nsrc.txt\n" {
		t.Fatalf("use.txt = %q", got)
	}
	if b, _ := os.ReadFile(LogPath(filepath.Join(f.state, "logs"), "gen")); string(b) != "remote ran gen\n" {
		t.Fatalf("gen's log: %q", b)
	}
	recs, err := history.New(f.kv).TaskRecords("gen", 10)
	if err != nil || len(recs) != 1 || recs[0].Outcome != "ok" || recs[0].Key != string(gen.Key) {
		t.Fatalf("history of gen: %+v, %v", recs, err)
	}
	// The results were cached like local ones: the second run hits.
	if got := run(); got["gen"] != "cached" || got["use"] != "cached" || got["plain"] != "ok" {
		t.Fatalf("second run: %v", got)
	}
	if len(remote.attempts) != 4 {
		t.Fatalf("%d remote attempts, want 4 (3, then plain again)", len(remote.attempts))
	}
}

// noWorkers is a fleet that serves no pool.
type noWorkers struct{}

func (noWorkers) Takes(*graph.Task) bool { return false }
func (noWorkers) Run(context.Context, RemoteAttempt, io.Writer) sched.Result {
	panic("Run without Takes")
}

// With no worker for a task's pool, the task runs here and the run says
// so, once per pool.
func TestNoWorkerForAPoolSaysSoOnce(t *testing.T) {
	t.Parallel()
	ws := NewWorkspace(t.TempDir())
	ws.Pools["heavy"] = 1
	for _, name := range []string{"a", "b"} {
		ws.Graph.Add(&graph.Task{Name: name, Shell: "true", Pool: "heavy"})
	}
	disp := &quiet{}
	_, err := Run(context.Background(), ws, RunOptions{Targets: []string{"a", "b"}, Jobs: 2, Display: disp,
		Env: []string{"PATH=" + os.Getenv("PATH")}, Remote: noWorkers{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(disp.notices) != 1 || !strings.HasSuffix(disp.notices[0], `no worker serves pool "heavy": its tasks run here`) {
		t.Fatalf("notices %q", disp.notices)
	}
}
