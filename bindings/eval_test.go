package bindings

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/core"
)

// fakeRuns is a RunFunc that records requests and answers with a small
// summary; a target named "hang" runs until the context is cancelled.
type fakeRuns struct{ calls [][]string }

func (f *fakeRuns) run(ctx context.Context, ws *core.Workspace, req RunRequest) (*Outcome, error) {
	f.calls = append(f.calls, req.Targets)
	for _, t := range req.Targets {
		if t == "hang" {
			<-ctx.Done()
			return &Outcome{Value: map[string]any{"ok": false, "interrupted": true}, ExitCode: 130}, nil
		}
	}
	return &Outcome{Value: map[string]any{"ok": true, "targets": req.Targets}, ExitCode: 0}, nil
}

func newInteractive(t *testing.T) (*Interactive, *bytes.Buffer, *fakeRuns) {
	t.Helper()
	var out bytes.Buffer
	runs := &fakeRuns{}
	e := New(Config{Cwd: t.TempDir(), Stdout: &out, Stderr: &out, Run: runs.run})
	return NewInteractive(e, e.cfg.Cwd), &out, runs
}

func TestEvalValues(t *testing.T) {
	t.Parallel()
	in, _, _ := newInteractive(t)
	steps := []struct{ src, want string }{
		{"1 + 2", "3"},
		{"'a' + 'b'", "'ab'"},
		{"let x = 5", "undefined"},
		{"x * 2", "10"},
		{"({a: 1, b: [1, 2, 'three'], c: {d: {e: {f: 1}}}})", "{ a: 1, b: [ 1, 2, 'three' ], c: { d: { e: [Object] } } }"},
		{"const n = await Promise.resolve(41); n + 1", "42"},
		{"n", "41"},
		{"await new Promise(r => setTimeout(() => r('late'), 5))", "'late'"},
		{"Promise.resolve(7)", "7"},
		{"function f() { return 'f' } f", "[Function: f]"},
		{"async function g() { return 'g' } await g()", "'g'"},
		{"g.name", "'g'"},
		{"class K { constructor() { this.v = 1 } }; new K()", "K { v: 1 }"},
		{"const {p, q: [r]} = await Promise.resolve({p: 1, q: [2]})", "undefined"},
		{"[p, r]", "[ 1, 2 ]"},
		{"let u; await 0; u", "undefined"},
		{"var o = {}; o.self = o; o", "{ self: [Circular] }"},
		{"new Map([['k', 1]])", "Map(1) { 'k' => 1 }"},
		{"new Set([1])", "Set(1) { 1 }"},
		{"(await Promise.resolve(1), 2)", "2"},
		{"task('build', {cmd: 'make'})", "'build'"},
		{"(await run('build')).targets", "[ 'build' ]"},
		{"new Error('boom')", "Error: boom\n    at repl23:1:1"},
		{"null", "null"},
		{"-0", "-0"},
		{"10n", "10n"},
		{"Symbol('s')", "Symbol(s)"},
		{"class Z {}; Z", "[class Z]"},
		{"Array.from({length: 30}, (_, i) => i)", "[\n  0,\n  1,\n  2,\n  3,\n  4,\n  5,\n  6,\n  7,\n  8,\n  9,\n  10,\n  11,\n  12,\n  13,\n  14,\n  15,\n  16,\n  17,\n  18,\n  19,\n  20,\n  21,\n  22,\n  23,\n  24,\n  25,\n  26,\n  27,\n  28,\n  29\n]"},
	}
	for _, s := range steps {
		got, err := in.Eval(context.Background(), s.src)
		if err != nil {
			t.Fatalf("%s: %v", s.src, err)
		}
		if got != s.want {
			t.Errorf("%s:\n got %q\nwant %q", s.src, got, s.want)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	t.Parallel()
	in, _, _ := newInteractive(t)
	steps := []struct{ src, want string }{
		{"throw new Error('boom')", "repl1:1:7: Error: boom"},
		{"1 +", "repl2:1:4: syntax error: Unexpected end of input"},
		{"await 1; (", "repl3:1:11: syntax error: Unexpected end of input"},
		{"const a = await 1;\n  a.b.c", "repl4:2:7: TypeError: Cannot read property 'c' of undefined"},
		{"await 0; [].x.y", "repl5:1:15: TypeError: Cannot read property 'y' of undefined"},
		{"await Promise.reject(new Error('no'))", "repl6:1:22: Error: no"},
		{"undefinedName", "repl7:1:1: ReferenceError: undefinedName is not defined"},
		{"task('t')", `repl8:1:5: task "t": options with at least cmd are required, as in task("t", { cmd: "make" })`},
	}
	for _, s := range steps {
		_, err := in.Eval(context.Background(), s.src)
		if err == nil || err.Error() != s.want {
			t.Errorf("%s:\n got %v\nwant %s", s.src, err, s.want)
		}
	}
	// The session goes on after errors.
	if got, err := in.Eval(context.Background(), "a"); err != nil || got != "1" {
		t.Errorf("after errors: %q, %v", got, err)
	}
}

func TestEvalInterrupt(t *testing.T) {
	t.Parallel()
	in, _, runs := newInteractive(t)
	for _, src := range []string{"while (true) {}", "await run('hang')", "run('hang'); for (;;) {}", "await new Promise(() => {})"} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := in.Eval(ctx, src)
		var intr *InterruptedError
		if !errors.As(err, &intr) && !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: got %v, want interrupted", src, err)
		}
		if got, err := in.Eval(context.Background(), "'still here'"); err != nil || got != "'still here'" {
			t.Fatalf("after %s: %q, %v", src, got, err)
		}
	}
	if len(runs.calls) != 2 {
		t.Errorf("runs: %v", runs.calls)
	}
}

func TestNamesSnapshot(t *testing.T) {
	t.Parallel()
	in, _, _ := newInteractive(t)
	if _, err := in.Eval(context.Background(), "const cfg = {alpha: {beta: 1}}; task('lint', {cmd: 'true'})"); err != nil {
		t.Fatal(err)
	}
	n := in.Names()
	if !contains(n.Globals, "cfg") || !contains(n.Globals, "task") || !contains(n.Globals, "console") {
		t.Errorf("globals: %v", n.Globals)
	}
	if !contains(n.Props["cfg"], "alpha") || !contains(n.Props["cfg.alpha"], "beta") {
		t.Errorf("props: %v %v", n.Props["cfg"], n.Props["cfg.alpha"])
	}
	if !contains(n.Props["console"], "log") {
		t.Errorf("console: %v", n.Props["console"])
	}
	if strings.Join(n.Tasks, ",") != "lint" {
		t.Errorf("tasks: %v", n.Tasks)
	}
}

func TestInteractiveLoad(t *testing.T) {
	t.Parallel()
	in, _, _ := newInteractive(t)
	dir := in.e.cfg.Cwd
	file := filepath.Join(dir, "s.js")
	if err := os.WriteFile(file, []byte("task('one', {cmd: 'true'});\nvar loaded = 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := in.Load(context.Background(), "s.js"); err != nil {
		t.Fatal(err)
	}
	if got := in.Names().Tasks; len(got) != 1 || got[0] != "one" {
		t.Errorf("tasks after load: %v", got)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
