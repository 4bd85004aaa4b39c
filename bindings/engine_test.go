package bindings

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// recordingRun is a RunFunc (the seam between a strategy and the scheduler):
// it records each request with the cache keys the tasks had when the run
// started, and answers with canned outcomes, in call order. Runs past the
// end of outcomes end with exit status 0 and the value {ok: true}. When hang
// is set, a run lasts until its context is cancelled; when cancel is set, it
// is called as the run ends (a Ctrl-C that interrupted it). err, when set,
// is returned instead of an outcome.
//
// It is called on a goroutine of its own, so its fields are guarded.
type recordingRun struct {
	outcomes []*Outcome
	hang     bool
	started  func() // called when a run starts (the scenario's cancel, say)
	cancel   context.CancelFunc
	err      error

	mu       sync.Mutex
	reqs     []RunRequest
	keys     []map[string]string // task name -> CacheKey, per run
	running  int
	overlaps int // runs that started while another was going
}

func (r *recordingRun) run(ctx context.Context, ws *core.Workspace, req RunRequest) (*Outcome, error) {
	keys := map[string]string{}
	for _, name := range ws.Graph.Names() {
		keys[name] = ws.Graph.Task(name).CacheKey
	}
	r.mu.Lock()
	n := len(r.reqs)
	r.reqs = append(r.reqs, req)
	r.keys = append(r.keys, keys)
	if r.running > 0 {
		r.overlaps++
	}
	r.running++
	r.mu.Unlock()
	defer func() { r.mu.Lock(); r.running--; r.mu.Unlock() }()

	time.Sleep(time.Millisecond) // a run takes a while: overlapping runs would show
	if r.started != nil {
		r.started()
	}
	if r.cancel != nil {
		r.cancel()
		return &Outcome{Value: map[string]any{"ok": false, "exitCode": 130}, ExitCode: 130}, nil
	}
	if r.hang {
		<-ctx.Done()
		return &Outcome{Value: map[string]any{"ok": false, "exitCode": 130}, ExitCode: 130}, nil
	}
	if r.err != nil {
		return nil, r.err
	}
	if n < len(r.outcomes) {
		return r.outcomes[n], nil
	}
	return &Outcome{Value: map[string]any{"ok": true}}, nil
}

// requests returns the recorded requests without the engine-set hooks, so
// they compare with plain literals.
func (r *recordingRun) requests() []RunRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RunRequest, len(r.reqs))
	for i, q := range r.reqs {
		out[i] = RunRequest{Targets: q.Targets, Jobs: q.Jobs, KeepGoing: q.KeepGoing, DryRun: q.DryRun}
	}
	return out
}

// testdataDir is the absolute path of testdata.
func testdataDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// jsFixture is one Load of a fixture.
type jsFixture struct {
	file       string   // as given to Load
	cwd        string   // "" means testdata
	args       []string // jsrt.args
	run        *recordingRun
	invalidate func(ws *core.Workspace, names []string) ([]string, error)
}

// loadResult is what became of a Load.
type loadResult struct {
	e              *Engine
	err            error
	stdout, stderr string
	took           time.Duration
}

func (s jsFixture) load(t *testing.T, ctx context.Context) loadResult {
	t.Helper()
	if s.cwd == "" {
		s.cwd = testdataDir(t)
	}
	if s.run == nil {
		s.run = &recordingRun{}
	}
	var stdout, stderr bytes.Buffer
	e := New(Config{Cwd: s.cwd, Stdout: &stdout, Stderr: &stderr, Args: s.args, Run: s.run.run, Invalidate: s.invalidate})
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- e.Load(ctx, s.file) }()
	select {
	case err := <-done:
		return loadResult{e: e, err: err, stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s %v: Load did not return within 20s", s.file, s.args)
		return loadResult{}
	}
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestSyntaxErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file         string
		want         string
		line, column int
	}{
		// The module wrapper shares line 1 with the strategy: the column
		// must be the strategy's own.
		{"syntax_line1.js", "syntax_line1.js:1:11: syntax error: Unexpected token ;", 1, 11},
		{"syntax_later.js", "syntax_later.js:3:47: syntax error: Unexpected token ]", 3, 47},
		// A missing "}" must not be reported against the wrapper's own
		// closing "})", on a line the file does not have.
		{"syntax_unclosed.js", "syntax_unclosed.js:5:1: syntax error: Unexpected end of input", 5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got := jsFixture{file: tt.file}.load(t, context.Background())
			if errText(got.err) != tt.want {
				t.Errorf("error:\n got %s\nwant %s", errText(got.err), tt.want)
			}
			var se *SyntaxError
			if !errors.As(got.err, &se) {
				t.Fatalf("error is %T, want *SyntaxError", got.err)
			}
			if se.File != tt.file || se.Line != tt.line || se.Column != tt.column {
				t.Errorf("position %s:%d:%d, want %s:%d:%d", se.File, se.Line, se.Column, tt.file, tt.line, tt.column)
			}
		})
	}
}

func TestMissingStrategy(t *testing.T) {
	t.Parallel()
	got := jsFixture{file: "no-such-strategy.js"}.load(t, context.Background())
	const want = `cannot read strategy "no-such-strategy.js": no such file or directory`
	if errText(got.err) != want {
		t.Errorf("error:\n got %s\nwant %s", errText(got.err), want)
	}
	var le *LoadError
	if !errors.As(got.err, &le) || !errors.Is(got.err, fs.ErrNotExist) {
		t.Errorf("error %T does not wrap *LoadError and fs.ErrNotExist", got.err)
	}
}

func TestExceptionStack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		want   string
		stack  []Frame
		detail string
	}{
		{
			file: "throw.js",
			want: "throw.js:3:9: Error: boom",
			stack: []Frame{
				{Func: "inner", File: "throw.js", Line: 3, Column: 9},
				{Func: "outer", File: "throw.js", Line: 6, Column: 8},
				{Func: "", File: "throw.js", Line: 8, Column: 6},
			},
			detail: "throw.js:3:9: Error: boom\n    at inner (throw.js:3:9)\n    at outer (throw.js:6:8)\n    at throw.js:8:6",
		},
		{
			// Line 1: the column is corrected for the module wrapper.
			file:   "throw_line1.js",
			want:   "throw_line1.js:1:7: Error: on line one",
			stack:  []Frame{{Func: "", File: "throw_line1.js", Line: 1, Column: 7}},
			detail: "throw_line1.js:1:7: Error: on line one",
		},
		{
			// Thrown after an await: the error's name is kept.
			file: "await_rejected.js",
			want: "await_rejected.js:4:9: TypeError: bad input",
			stack: []Frame{
				{Func: "check", File: "await_rejected.js", Line: 4, Column: 9},
				{Func: "", File: "await_rejected.js", Line: 6, Column: 12},
			},
			detail: "await_rejected.js:4:9: TypeError: bad input\n    at check (await_rejected.js:4:9)\n    at await_rejected.js:6:12",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got := jsFixture{file: tt.file}.load(t, context.Background())
			if errText(got.err) != tt.want {
				t.Errorf("error:\n got %s\nwant %s", errText(got.err), tt.want)
			}
			var se *ScriptError
			if !errors.As(got.err, &se) {
				t.Fatalf("error is %T, want *ScriptError", got.err)
			}
			if !reflect.DeepEqual(se.Stack, tt.stack) {
				t.Errorf("stack:\n got %#v\nwant %#v", se.Stack, tt.stack)
			}
			if se.Detail() != tt.detail {
				t.Errorf("detail:\n got %q\nwant %q", se.Detail(), tt.detail)
			}
			if got.stdout != "" {
				t.Errorf("stdout %q: the script went on after the exception", got.stdout)
			}
		})
	}
}

func TestThrownNonError(t *testing.T) {
	t.Parallel()
	// throw_value.js throws on line 4: the position is kept even though a
	// plain value has no stack of its own.
	tests := []struct{ value, msg, want string }{
		{"string", "uncaught plain words", "throw_value.js:4:1: uncaught plain words"},
		{"number", "uncaught 42", "throw_value.js:4:1: uncaught 42"},
		{"null", "uncaught null", "throw_value.js:4:1: uncaught null"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			got := jsFixture{file: "throw_value.js", args: []string{tt.value}}.load(t, context.Background())
			var se *ScriptError
			if !errors.As(got.err, &se) {
				t.Fatalf("error %v is %T, want *ScriptError", got.err, got.err)
			}
			if se.Msg != tt.msg {
				t.Errorf("message %q, want %q", se.Msg, tt.msg)
			}
			if se.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", se.Error(), tt.want)
			}
		})
	}
}

func TestTaskOptionErrors(t *testing.T) {
	t.Parallel()
	// Each case is one line of options.js; the position is the task() call.
	tests := []struct{ name, want string }{
		{"unknown option", `options.js:4:31: unknown option "dep" in task "test" (did you mean "deps"?)`},
		{"unknown option, no suggestion", `options.js:5:46: unknown option "colour" in task "a"`},
		{"misspelt timeout", `options.js:6:33: unknown option "timout" in task "a" (did you mean "timeout"?)`},
		{"retries string", `options.js:7:31: task "a": retries must be a whole number, got the string "two"`},
		{"retries fraction", `options.js:8:33: task "a": retries must be a whole number, got the number 1.5`},
		{"retries negative", `options.js:9:33: task "a": retries must not be negative, got -1`},
		{"timeout parsecs", `options.js:10:32: task "a": timeout must be a positive number of milliseconds or a duration like "90s" or "5m", got the string "5 parsecs"`},
		{"timeout zero", `options.js:11:29: task "a": timeout must be a positive number of milliseconds or a duration like "90s" or "5m", got the number 0`},
		{"timeout negative string", `options.js:12:40: task "a": timeout must be a positive number of milliseconds or a duration like "90s" or "5m", got the string "-5s"`},
		{"no options", `options.js:13:27: task "a": options with at least cmd are required, as in task("a", { cmd: "make" })`},
		{"no cmd", `options.js:14:23: task "a": cmd is required (a shell string, or an array of arguments)`},
		{"empty cmd", `options.js:15:26: task "a": cmd must not be empty`},
		{"cmd number", `options.js:16:27: task "a": cmd must be a string or an array of strings, got the number 5`},
		{"cmd array with number", `options.js:17:38: task "a": cmd[1] must be a string, got the number 1`},
		{"cmd empty array", `options.js:18:32: task "a": cmd must not be an empty array`},
		{"deps string", `options.js:19:28: task "a": deps must be an array of strings, got the string "b"`},
		{"critical string", `options.js:20:32: task "a": critical must be true or false, got the string "yes"`},
		{"cache number", `options.js:21:29: task "a": cache must be true or false, got the number 0`},
		{"cwd outside", `options.js:22:28: task "a": cwd "../elsewhere" must be a path inside the workspace`},
		{"input outside", `options.js:23:30: task "a": inputs: path "../secrets/*" is outside the workspace`},
		{"output absolute", `options.js:24:32: task "a": outputs: path "/tmp/out" is outside the workspace`},
		{"cacheKey number", `options.js:26:32: task "a": cacheKey must be a string or a function returning one, got the number 5`},
		{"name empty", `options.js:27:27: task(name, options): name must be a non-empty string`},
		{"defined twice", `options.js:28:60: task "a" is defined twice (at options.js:28:32 and options.js:28:60)`},
		// The first unknown option in sorted order is the one reported.
		{"two unknown options", `options.js:29:36: unknown option "retires" in task "a" (did you mean "retries"?)`},
		{"deps with a hole", `options.js:30:33: task "a": deps[1] must be a string, got null`},
		{"tags not an array", `options.js:31:34: task "a": tags must be an array of strings, got an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := jsFixture{file: "options.js", args: []string{tt.name}}.load(t, context.Background())
			if errText(got.err) != tt.want {
				t.Errorf("error:\n got %s\nwant %s", errText(got.err), tt.want)
			}
			var se *ScriptError
			if !errors.As(got.err, &se) {
				t.Fatalf("error is %T, want *ScriptError", got.err)
			}
			if len(se.Stack) == 0 || se.Stack[0].File != "options.js" {
				t.Errorf("stack %v does not start in options.js", se.Stack)
			}
		})
	}
}

// A graph error keeps its type through JavaScript (errors wrap their cause).
func TestDuplicateTaskIsTyped(t *testing.T) {
	t.Parallel()
	got := jsFixture{file: "options.js", args: []string{"defined twice"}}.load(t, context.Background())
	var dup *graph.DuplicateError
	if !errors.As(got.err, &dup) {
		t.Fatalf("error %v (%T) does not wrap *graph.DuplicateError", got.err, got.err)
	}
	if dup.Name != "a" || dup.First != "options.js:28:32" || dup.Second != "options.js:28:60" {
		t.Errorf("duplicate %+v", *dup)
	}
}

func TestTaskOptionsAccepted(t *testing.T) {
	t.Parallel()
	got := jsFixture{file: "options_ok.js"}.load(t, context.Background())
	if got.err != nil {
		t.Fatal(got.err)
	}
	g := got.e.Workspace().Graph
	if names := strings.Join(g.Names(), ","); names != "shell,gen,fractional" {
		t.Fatalf("tasks %s", names)
	}
	shell := g.Task("shell")
	checks := []struct {
		what      string
		got, want any
	}{
		{"shell.Shell", shell.Shell, "go build ./..."},
		{"shell.Deps", shell.Deps, []string{"gen"}},
		{"shell.Inputs", shell.Inputs, []string{"**/*.go", "go.mod"}},
		{"shell.Outputs", shell.Outputs, []string{"bin/app"}},
		{"shell.Env", shell.Env, []string{"GOFLAGS"}},
		{"shell.Cwd", shell.Cwd, "cmd/app"},
		{"shell.Timeout", shell.Timeout, 90 * time.Second},
		{"shell.Retries", shell.Retries, 2},
		{"shell.Pool", shell.Pool, "cpu"},
		{"shell.Tags", shell.Tags, []string{"build"}},
		{"shell.Priority", shell.Priority, -3},
		{"shell.Critical", shell.Critical, true},
		{"shell.NoCache", shell.NoCache, true},
		{"shell.CacheTTL", shell.CacheTTL, time.Hour},
		{"shell.Pos", shell.Pos, "options_ok.js:1:5"},
		{"gen.Argv", g.Task("gen").Argv, []string{"go", "generate", "./..."}},
		{"gen.Timeout", g.Task("gen").Timeout, 1500 * time.Millisecond},
		{"gen.NoCache", g.Task("gen").NoCache, false},
		{"gen.Pos", g.Task("gen").Pos, "options_ok.js:18:5"},
		{"fractional.Timeout", g.Task("fractional").Timeout, 500 * time.Microsecond},
		{"fractional.Retries", g.Task("fractional").Retries, 3},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.what, c.got, c.want)
		}
	}
}

func TestPools(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		want  string
		pools map[string]int
	}{
		{"ok", "<nil>", map[string]int{"cpu": 2, "net": 1}},
		{"zero slots", `pools.js:5:27: pool "cpu": slots must be at least 1, got 0`, nil},
		{"slots string", `pools.js:7:29: pool "cpu": slots must be a whole number, got the string "two"`, nil},
		{"slots fraction", `pools.js:8:31: pool "cpu": slots must be a whole number, got the number 1.5`, nil},
		{"unknown option", `pools.js:9:31: unknown option "slot" in pool "cpu" (did you mean "slots"?)`, nil},
		{"no options", `pools.js:10:27: pool "cpu": options {slots: N} are required`, nil},
		// null is "no options" too, as it is for task().
		{"null options", `pools.js:11:29: pool "cpu": options {slots: N} are required`, nil},
		{"no name", `pools.js:12:24: pool(name, {slots}): name must be a non-empty string`, nil},
		{"defined twice", `pools.js:13:59: pool "cpu" is defined twice`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := jsFixture{file: "pools.js", args: []string{tt.name}}.load(t, context.Background())
			if errText(got.err) != tt.want {
				t.Errorf("error:\n got %s\nwant %s", errText(got.err), tt.want)
			}
			if tt.pools != nil && !reflect.DeepEqual(got.e.Workspace().Pools, tt.pools) {
				t.Errorf("pools %v, want %v", got.e.Workspace().Pools, tt.pools)
			}
		})
	}
}

func TestRootIsRelativeToStrategy(t *testing.T) {
	t.Parallel()
	dir := testdataDir(t)
	pkg := filepath.Dir(dir)
	want := filepath.Join(dir, "glob")
	wantOut := dir + "\n" + want + "\n" + want + "\n"
	tests := []struct{ name, cwd, file string }{
		{"cwd is the strategy's directory", dir, "root.js"},
		{"cwd above the strategy", pkg, "testdata/root.js"},
		{"absolute strategy path, unrelated cwd", t.TempDir(), filepath.Join(dir, "root.js")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := jsFixture{cwd: tt.cwd, file: tt.file}.load(t, context.Background())
			if got.err != nil {
				t.Fatal(got.err)
			}
			if got.stdout != wantOut {
				t.Errorf("root() printed:\n%s\nwant:\n%s", got.stdout, wantOut)
			}
			if root := got.e.Workspace().Root; root != want {
				t.Errorf("workspace root %s, want %s", root, want)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	got := jsFixture{file: "glob/strategy.js"}.load(t, context.Background())
	const wantOut = `["src/lib/util.py","src/lib/util_test.py","src/main.py"]
["src/main.py","src/notes.txt"]
[]
["lib/util_test.py"]
`
	if got.stdout != wantOut {
		t.Errorf("glob() results:\n%s\nwant:\n%s", got.stdout, wantOut)
	}
	const wantErr = `glob/strategy.js:7:5: invalid glob pattern "src/["`
	if errText(got.err) != wantErr {
		t.Errorf("error:\n got %s\nwant %s", errText(got.err), wantErr)
	}
}

// fakeSummary stands for the CLI's run summary: JS sees its JSON field names.
type fakeSummary struct {
	OK       bool                       `json:"ok"`
	ExitCode int                        `json:"exitCode"`
	Order    []string                   `json:"order"`
	Tasks    map[string]fakeTaskSummary `json:"tasks"`
	Unset    string                     `json:"unset,omitempty"`
}

type fakeTaskSummary struct {
	Status     string  `json:"status"`
	DurationMs float64 `json:"durationMs"`
}

func TestAwaitRun(t *testing.T) {
	t.Parallel()
	run := &recordingRun{outcomes: []*Outcome{
		{Value: fakeSummary{OK: false, ExitCode: 1, Order: []string{"lint", "build"},
			Tasks: map[string]fakeTaskSummary{"lint": {"ok", 1.5}, "build": {"failed", 20}}}, ExitCode: 1},
		{Value: map[string]any{"ok": true}, ExitCode: 0},
		{Value: nil, ExitCode: 0},
	}}
	got := jsFixture{file: "run.js", run: run}.load(t, context.Background())
	if got.err != nil {
		t.Fatal(got.err)
	}
	const wantOut = `true true
false 1 lint,build failed 1.5
{"ok":false,"exitCode":1,"order":["lint","build"],"tasks":{"build":{"status":"failed","durationMs":20},"lint":{"status":"ok","durationMs":1.5}}}
`
	if got.stdout != wantOut {
		t.Errorf("the script saw:\n%s\nwant:\n%s", got.stdout, wantOut)
	}
	if got.stderr != "" {
		t.Errorf("stderr %q", got.stderr)
	}
	wantReqs := []RunRequest{
		{Targets: []string{"build"}, Jobs: 2, KeepGoing: true, DryRun: true},
		{Targets: []string{"lint"}},
		{Targets: []string{"lint", "build"}}, // run() with no targets: every task
	}
	if reqs := run.requests(); !reflect.DeepEqual(reqs, wantReqs) {
		t.Errorf("requests:\n got %+v\nwant %+v", reqs, wantReqs)
	}
	if n, worst := got.e.Runs(); n != 3 || worst != 1 {
		t.Errorf("Runs() = %d, %d; want 3, 1", n, worst)
	}
}

func TestPhasedRuns(t *testing.T) {
	t.Parallel()
	run := &recordingRun{outcomes: []*Outcome{
		{Value: map[string]any{"exitCode": 3}, ExitCode: 3},
		{Value: map[string]any{"exitCode": 1}, ExitCode: 1},
	}}
	got := jsFixture{file: "phased.js", run: run}.load(t, context.Background())
	if got.err != nil {
		t.Fatal(got.err)
	}
	if want := "phase 1: 3\nphase 2: 1\n"; got.stdout != want {
		t.Errorf("stdout %q, want %q", got.stdout, want)
	}
	wantReqs := []RunRequest{{Targets: []string{"lint"}}, {Targets: []string{"test"}}}
	if reqs := run.requests(); !reflect.DeepEqual(reqs, wantReqs) {
		t.Errorf("requests:\n got %+v\nwant %+v", reqs, wantReqs)
	}
	if run.overlaps != 0 {
		t.Errorf("the second phase started before the first was over")
	}
	// The worst status, not the last one.
	if n, worst := got.e.Runs(); n != 2 || worst != 3 {
		t.Errorf("Runs() = %d, %d; want 2, 3", n, worst)
	}
}

// A Lazy outcome is made when a script awaits run(), and never for the
// CLI's own run (RunTargets), whose result no script sees.
func TestLazyOutcome(t *testing.T) {
	t.Parallel()
	var made atomic.Int32
	lazy := func(code int) Lazy {
		return func() any { made.Add(1); return map[string]any{"exitCode": code} }
	}
	run := &recordingRun{outcomes: []*Outcome{
		{Value: lazy(3), ExitCode: 3},
		{Value: lazy(1), ExitCode: 1},
		{Value: lazy(5), ExitCode: 5},
	}}
	got := jsFixture{file: "phased.js", run: run}.load(t, context.Background())
	if got.err != nil {
		t.Fatal(got.err)
	}
	if want := "phase 1: 3\nphase 2: 1\n"; got.stdout != want {
		t.Errorf("stdout %q, want %q", got.stdout, want)
	}
	code, err := got.e.RunTargets(context.Background(), RunRequest{Targets: []string{"lint"}})
	if err != nil || code != 5 {
		t.Errorf("RunTargets = %d, %v; want 5, nil", code, err)
	}
	if n := made.Load(); n != 2 {
		t.Errorf("%d outcomes made, want 2 (the script's runs only)", n)
	}
}

// An error from the RunFunc rejects run(), keeps its type, and says which
// run() call it came from.
func TestRunError(t *testing.T) {
	t.Parallel()
	run := &recordingRun{err: &graph.UnknownTaskError{Name: "biuld", Suggestion: "build"}}
	got := jsFixture{file: "run_error.js", run: run}.load(t, context.Background())
	const want = `run_error.js:3:10: unknown task "biuld" (did you mean "build"?)`
	if errText(got.err) != want {
		t.Errorf("error:\n got %s\nwant %s", errText(got.err), want)
	}
	var ute *graph.UnknownTaskError
	if !errors.As(got.err, &ute) {
		t.Errorf("error %T does not wrap *graph.UnknownTaskError", got.err)
	}
}

func TestRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, want, stdout string
	}{
		{"rejection.js", "unhandled promise rejection: rejection.js:3:16: Error: nobody listens", "script went on\n"},
		{"rejection_handled.js", "<nil>", "caught: handled later\ncaught: awaited\n"},
		// An exception in a timer callback is not a promise rejection.
		{"timer_throws.js", "timer_throws.js:2:9: Error: from a timer", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got := jsFixture{file: tt.file}.load(t, context.Background())
			if errText(got.err) != tt.want {
				t.Errorf("error:\n got %s\nwant %s", errText(got.err), tt.want)
			}
			if got.stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", got.stdout, tt.stdout)
			}
			var se *ScriptError
			if got.err != nil && !errors.As(got.err, &se) {
				t.Errorf("error %T does not wrap *ScriptError", got.err)
			}
		})
	}
}

func TestTimers(t *testing.T) {
	t.Parallel()
	got := jsFixture{file: "timers.js"}.load(t, context.Background())
	if got.err != nil {
		t.Fatal(got.err)
	}
	// The cleared timer never fires; the script's end does not stop the
	// pending ones, which fire in the order of their delays.
	if want := "end of script\nearly\nlate x y\n"; got.stdout != want {
		t.Errorf("stdout %q, want %q", got.stdout, want)
	}
	if got.took < 40*time.Millisecond {
		t.Errorf("Load returned after %s, before the 40ms timer", got.took)
	}
}

func TestCancelInterrupts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file        string
		interrupted bool // an *InterruptedError: JavaScript was running
		runs, worst int
	}{
		{"spin.js", true, 0, 0},
		{"timer_forever.js", false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(50*time.Millisecond, cancel)
			got := jsFixture{file: tt.file, run: &recordingRun{hang: true}}.load(t, ctx)
			if !errors.Is(got.err, context.Canceled) {
				t.Errorf("error %v, want one wrapping context.Canceled", got.err)
			}
			var ie *InterruptedError
			if errors.As(got.err, &ie) != tt.interrupted {
				t.Errorf("error %T: *InterruptedError %v, want %v", got.err, !tt.interrupted, tt.interrupted)
			}
			if tt.interrupted && got.err.Error() != "interrupted" {
				t.Errorf("error %q, want %q", got.err.Error(), "interrupted")
			}
			if got.took > 5*time.Second {
				t.Errorf("cancellation took %s", got.took)
			}
			if got.stdout != "" {
				t.Errorf("stdout %q: the script went on", got.stdout)
			}
			if n, worst := got.e.Runs(); n != tt.runs || worst != tt.worst {
				t.Errorf("Runs() = %d, %d; want %d, %d", n, worst, tt.runs, tt.worst)
			}
		})
	}
}

// Once the context is cancelled, no more of the script runs, even when the
// run it awaits comes back at that moment; Load says it was cancelled. The
// race is in the engine's loop, so each scenario is repeated.
func TestCancelStopsScriptAfterRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(cancel context.CancelFunc) *recordingRun
	}{
		{"the run lasts until cancelled", func(cancel context.CancelFunc) *recordingRun {
			// Cancelled once the run is going, however slow the machine.
			return &recordingRun{hang: true, started: func() { time.AfterFunc(5*time.Millisecond, cancel) }}
		}},
		{"cancelled as the run ends", func(cancel context.CancelFunc) *recordingRun {
			return &recordingRun{cancel: cancel}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const tries = 20
			wentOn := 0
			for range tries {
				ctx, cancel := context.WithCancel(context.Background())
				got := jsFixture{file: "run_hang.js", run: tt.run(cancel)}.load(t, ctx)
				cancel()
				if n, worst := got.e.Runs(); n != 1 || worst != 130 {
					t.Errorf("Runs() = %d, %d; want 1, 130", n, worst)
				}
				if !errors.Is(got.err, context.Canceled) || got.stdout != "" {
					wentOn++
					if wentOn == 1 {
						t.Errorf("error %v, stdout %q; want context.Canceled and no output", got.err, got.stdout)
					}
				}
			}
			if wentOn > 0 {
				t.Errorf("the script went on after cancellation in %d of %d tries", wentOn, tries)
			}
		})
	}
}

func TestCacheKey(t *testing.T) {
	t.Parallel()
	run := &recordingRun{}
	got := jsFixture{file: "cachekey.js", run: run}.load(t, context.Background())
	if got.err != nil {
		t.Fatal(got.err)
	}
	// The function is called at the start of each run, so it sees the
	// version the script set before that run.
	want := []map[string]string{
		{"fixed": "toolchain-1.26", "computed": "computed@v1"},
		{"fixed": "toolchain-1.26", "computed": "computed@v2"},
	}
	if !reflect.DeepEqual(run.keys, want) {
		t.Errorf("cache keys at run start:\n got %v\nwant %v", run.keys, want)
	}
	if got.stdout != "defined\n" {
		t.Errorf("stdout %q", got.stdout)
	}
}

func TestCacheKeyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"not a string", `cachekey_errors.js:10:10: task "a": cacheKey() must return a string, got the number 42`},
		// Where the key function threw, once.
		{"throws", "cachekey_errors.js:6:11: Error: no key today"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := &recordingRun{}
			got := jsFixture{file: "cachekey_errors.js", args: []string{tt.name}, run: run}.load(t, context.Background())
			if errText(got.err) != tt.want {
				t.Errorf("error:\n got %s\nwant %s", errText(got.err), tt.want)
			}
			if reqs := run.requests(); len(reqs) != 0 {
				t.Errorf("the run started anyway: %v", reqs)
			}
		})
	}
}

func TestCacheInvalidate(t *testing.T) {
	t.Parallel()
	errStore := errors.New("cache store is read-only")
	tests := []struct {
		name       string
		file       string
		invalidate func(ws *core.Workspace, names []string) ([]string, error)
		want       string
		stdout     string
		calls      [][]string
	}{
		{
			name: "names passed, affected tasks returned",
			file: "invalidate.js",
			invalidate: func(ws *core.Workspace, names []string) ([]string, error) {
				return []string{"gen", "build"}, nil
			},
			want: "<nil>", stdout: "true [\"gen\",\"build\"]\n",
			calls: [][]string{{"gen", "build"}},
		},
		{
			name:       "the seam's error is kept",
			file:       "invalidate.js",
			invalidate: func(*core.Workspace, []string) ([]string, error) { return nil, errStore },
			want:       "invalidate.js:5:30: cache store is read-only",
			calls:      [][]string{{"gen", "build"}},
		},
		{
			name: "not available",
			file: "invalidate.js",
			want: "invalidate.js:5:30: cache.invalidate is not available here",
		},
		{
			name:       "unknown task",
			file:       "invalidate_unknown.js",
			invalidate: func(*core.Workspace, []string) ([]string, error) { return nil, nil },
			want:       `invalidate_unknown.js:3:17: cache.invalidate: unknown task "biuld" (did you mean "build"?)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var calls [][]string
			s := jsFixture{file: tt.file}
			if tt.invalidate != nil {
				s.invalidate = func(ws *core.Workspace, names []string) ([]string, error) {
					mu.Lock()
					calls = append(calls, names)
					mu.Unlock()
					if ws.Graph.Task("gen") == nil && ws.Graph.Task("build") == nil {
						t.Errorf("Invalidate got a workspace without the strategy's tasks")
					}
					return tt.invalidate(ws, names)
				}
			}
			got := s.load(t, context.Background())
			if errText(got.err) != tt.want {
				t.Errorf("error:\n got %s\nwant %s", errText(got.err), tt.want)
			}
			if got.stdout != tt.stdout {
				t.Errorf("stdout %q, want %q", got.stdout, tt.stdout)
			}
			if !reflect.DeepEqual(calls, tt.calls) {
				t.Errorf("Invalidate calls %v, want %v", calls, tt.calls)
			}
			if tt.name == "the seam's error is kept" && !errors.Is(got.err, errStore) {
				t.Errorf("error %T does not wrap the seam's error", got.err)
			}
		})
	}
}

func TestRequireRelative(t *testing.T) {
	t.Parallel()
	dir := testdataDir(t)
	tests := []struct{ name, cwd, file string }{
		{"cwd is testdata", dir, "require/strategy.js"},
		{"cwd is the strategy's directory", filepath.Join(dir, "require"), "strategy.js"},
		{"cwd above testdata", filepath.Dir(dir), "testdata/require/strategy.js"},
		{"absolute path, unrelated cwd", t.TempDir(), filepath.Join(dir, "require", "strategy.js")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := jsFixture{cwd: tt.cwd, file: tt.file}.load(t, context.Background())
			if got.err != nil {
				t.Fatal(got.err)
			}
			if want := "tasks.js loaded from lib\n"; got.stdout != want {
				t.Errorf("stdout %q, want %q", got.stdout, want)
			}
			g := got.e.Workspace().Graph
			if names := strings.Join(g.Names(), ","); names != "test:api,test:web" {
				t.Fatalf("tasks %s", names)
			}
			if cmd := g.Task("test:web").Shell; cmd != "go test 'web'" {
				t.Errorf("test:web cmd %q", cmd)
			}
		})
	}
}

// A helper module's positions are its own, on line 1 as elsewhere.
func TestRequireErrorPosition(t *testing.T) {
	t.Parallel()
	got := jsFixture{file: "require/broken.js"}.load(t, context.Background())
	const want = "require/lib/throws.js:1:7: Error: helper failed"
	if errText(got.err) != want {
		t.Errorf("error:\n got %s\nwant %s", errText(got.err), want)
	}
	var se *ScriptError
	if !errors.As(got.err, &se) {
		t.Fatalf("error is %T, want *ScriptError", got.err)
	}
	wantStack := []Frame{
		{File: "require/lib/throws.js", Line: 1, Column: 7},
		{File: "require/broken.js", Line: 1, Column: 20},
	}
	if !reflect.DeepEqual(se.Stack, wantStack) {
		t.Errorf("stack:\n got %#v\nwant %#v", se.Stack, wantStack)
	}
}
