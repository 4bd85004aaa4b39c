package repl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeReader plays lines; an entry "^C" is Ctrl-C at the prompt. It ends
// with io.EOF.
type fakeReader struct {
	lines   []string
	prompts []string
	history []string
	closed  bool
}

func (f *fakeReader) ReadLine(prompt string) (string, error) {
	f.prompts = append(f.prompts, prompt)
	if len(f.lines) == 0 {
		return "", io.EOF
	}
	l := f.lines[0]
	f.lines = f.lines[1:]
	if l == "^C" {
		return "", ErrInterrupted
	}
	return l, nil
}

func (f *fakeReader) AddHistory(l string) { f.history = append(f.history, l) }
func (f *fakeReader) Close() error        { f.closed = true; return nil }

// fakeEval records statements; "fail" fails, "block" waits for its
// context, "exit1" is a run that failed.
type fakeEval struct {
	got   []string
	worst int
	names Names
}

type detailed struct{ msg string }

func (d *detailed) Error() string  { return d.msg }
func (d *detailed) Detail() string { return d.msg + "\n    at repl1:1:1" }

func (f *fakeEval) Eval(ctx context.Context, kill chan struct{}, src string) (string, error) {
	f.got = append(f.got, src)
	switch src {
	case "fail":
		return "", &detailed{"repl1:1:1: Error: boom"}
	case "block":
		<-ctx.Done()
		return "", fmt.Errorf("stopped: %w", ctx.Err())
	case "exit1":
		f.worst = 1
		return "{ ok: false }", nil
	case "decl":
		return "undefined", nil
	}
	return "=> " + strings.ReplaceAll(src, "\n", "\\n"), nil
}

func (f *fakeEval) Names() Names { return f.names }
func (f *fakeEval) Worst() int   { return f.worst }

func run(t *testing.T, interactive bool, lines []string, cmds ...Command) (int, string, string, *fakeReader, *fakeEval) {
	t.Helper()
	var out, errs bytes.Buffer
	rd := &fakeReader{lines: lines}
	ev := &fakeEval{}
	code := New(Config{Reader: rd, Eval: ev, Commands: cmds, Stdout: &out, Stderr: &errs, Interactive: interactive}).Run()
	if !rd.closed {
		t.Error("reader not closed")
	}
	return code, out.String(), errs.String(), rd, ev
}

func TestMultiLine(t *testing.T) {
	t.Parallel()
	code, out, _, rd, ev := run(t, true, []string{
		"function f(a) {", "  return a", "}", // brackets
		"`one", "two`", // template literal
		"'con\\", "tinued'", // a string continued with a backslash
		"/* open", "comment */ 1",
		"x = [1,", "2] // ]]", // comment brackets do not count
		"r = /[(]/", // regex brackets do not count
		"`${ {a: 1}.a", "}`",
	})
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	want := []string{"function f(a) {\n  return a\n}", "`one\ntwo`", "'con\\\ntinued'", "/* open\ncomment */ 1",
		"x = [1,\n2] // ]]", "r = /[(]/", "`${ {a: 1}.a\n}`"}
	if strings.Join(ev.got, "|") != strings.Join(want, "|") {
		t.Errorf("statements:\n got %q\nwant %q", ev.got, want)
	}
	wantPrompts := []string{Prompt, ContinuePrompt, ContinuePrompt, Prompt, ContinuePrompt, Prompt, ContinuePrompt,
		Prompt, ContinuePrompt, Prompt, ContinuePrompt, Prompt, Prompt, ContinuePrompt, Prompt}
	if strings.Join(rd.prompts, "|") != strings.Join(wantPrompts, "|") {
		t.Errorf("prompts:\n got %q\nwant %q", rd.prompts, wantPrompts)
	}
	if !strings.HasPrefix(out, "=> function f(a) {\\n  return a\\n}\n") {
		t.Errorf("output: %q", out)
	}
	if len(rd.history) != 14 {
		t.Errorf("history: %q", rd.history)
	}
}

func TestInterruptAtPrompt(t *testing.T) {
	t.Parallel()
	code, out, errs, _, ev := run(t, true, []string{"[1,", "^C", "^C", "2"})
	if code != 0 || strings.Join(ev.got, "|") != "2" {
		t.Errorf("exit %d, statements %q", code, ev.got)
	}
	if out != "=> 2\n\n" {
		t.Errorf("stdout %q", out)
	}
	if errs != "(to exit, press Ctrl-D or type .exit)\n" {
		t.Errorf("stderr %q", errs)
	}
}

func TestErrorsKeepTheSession(t *testing.T) {
	t.Parallel()
	code, out, errs, _, ev := run(t, true, []string{"fail", "1"})
	if code != 0 || len(ev.got) != 2 {
		t.Errorf("exit %d, statements %q", code, ev.got)
	}
	if errs != "repl1:1:1: Error: boom\n    at repl1:1:1\n" || out != "=> 1\n\n" {
		t.Errorf("stdout %q stderr %q", out, errs)
	}
}

func TestScripted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		lines      []string
		code       int
		out, errs  string
		statements int
	}{
		{"ok", []string{"1", "decl"}, 0, "=> 1\n", "", 2},
		{"failed run", []string{"exit1", "2"}, 1, "{ ok: false }\n=> 2\n", "", 2},
		{"error", []string{"fail", "exit1"}, 2, "{ ok: false }\n", "repl1:1:1: Error: boom\n    at repl1:1:1\n", 2},
		{"incomplete at end", []string{"[1,"}, 0, "=> [1,\n", "", 1},
		{"exit", []string{"exit1", ".exit", "never"}, 1, "{ ok: false }\n", "", 1},
		{"unknown command", []string{".tsks"}, 2, "", "unknown command .tsks (did you mean .tasks?); .help lists the commands\n", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tasks := Command{Name: "tasks", Run: func(context.Context, chan struct{}, string) error { return nil }}
			code, out, errs, rd, ev := run(t, false, tc.lines, tasks)
			if code != tc.code || out != tc.out || errs != tc.errs || len(ev.got) != tc.statements {
				t.Errorf("exit %d, stdout %q, stderr %q, statements %q", code, out, errs, ev.got)
			}
			for _, p := range rd.prompts {
				if p != "" {
					t.Errorf("prompt %q in a scripted session", p)
				}
			}
			if len(rd.history) != 0 {
				t.Errorf("history kept: %q", rd.history)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	var args []string
	echo := Command{Name: "echo", Args: "TEXT", Help: "say it", Run: func(_ context.Context, _ chan struct{}, arg string) error {
		args = append(args, arg)
		if arg == "bad" {
			return errors.New(".echo: bad")
		}
		return nil
	}}
	code, out, errs, _, ev := run(t, true, []string{".echo  hi there ", ".echo bad", ".help", ".exit", "never"}, echo)
	if code != 0 || len(ev.got) != 0 {
		t.Errorf("exit %d, statements %q", code, ev.got)
	}
	if strings.Join(args, "|") != "hi there|bad" || errs != ".echo: bad\n" {
		t.Errorf("args %q, stderr %q", args, errs)
	}
	for _, want := range []string{"  .echo TEXT         say it\n", "  .exit              leave (also Ctrl-D)\n", "  .help              show this help\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
}

// A signal during a statement cancels it; SIGINT keeps an interactive
// session, SIGTERM ends it with 130.
func TestSignalDuringStatement(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sig         os.Signal
		interactive bool
		code        int
		statements  int
	}{
		{os.Interrupt, true, 0, 2},
		{syscall.SIGTERM, true, 130, 1},
		{os.Interrupt, false, 130, 1},
	} {
		sigs := make(chan os.Signal, 1)
		var out, errs bytes.Buffer
		rd := &fakeReader{lines: []string{"block", "after"}}
		ev := &fakeEval{}
		time.AfterFunc(30*time.Millisecond, func() { sigs <- tc.sig })
		code := New(Config{Reader: rd, Eval: ev, Stdout: &out, Stderr: &errs, Signals: sigs, Interactive: tc.interactive}).Run()
		if code != tc.code || len(ev.got) != tc.statements {
			t.Errorf("%v interactive=%v: exit %d, statements %q", tc.sig, tc.interactive, code, ev.got)
		}
		want := "interrupted: stopping (interrupt again to kill running tasks at once)\ninterrupted\n"
		if errs.String() != want {
			t.Errorf("%v: stderr %q, want %q", tc.sig, errs.String(), want)
		}
	}
}

func TestIncomplete(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]bool{
		"f(":                  true,
		"f()":                 false,
		"{ a: [1, 2":          true,
		"`a ${b":              true,
		"`a ${`c${d}`}":       true,
		"`a ${`c${d}`}`":      false,
		"'a":                  false, // unterminated: the parser says so
		"'a\\":                true,
		"\"(\"":               false,
		"a / (b)":             false,
		"x = /\\(/":           false,
		"x = a / b / c; (":    true,
		"/* (":                true,
		"// (":                false,
		"return /[/]/.x(":     true,
		"if (a) { b }":        false,
		")":                   false,
		"`${'}'}`":            false,
		"s = '{' + \"[\" + x": false,
	} {
		if got := incomplete(src); got != want {
			t.Errorf("incomplete(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestComplete(t *testing.T) {
	t.Parallel()
	names := Names{
		Globals: []string{"cache", "console", "run", "scheduler", "task", "taskList"},
		Props:   map[string][]string{"scheduler": {"on"}, "console": {"error", "log"}, "r.tasks": {"build", "test"}, "history": {"predict"}},
		Tasks:   []string{"build", "format", "test", "test-race"},
	}
	cmd := Command{Name: "history", Complete: func(_ string, n Names) []string { return n.Tasks }}
	r := New(Config{Eval: &fakeEval{names: names}, Commands: []Command{cmd, {Name: "tasks"}}})
	tests := []struct {
		before, line string
		head         string
		want         []string
	}{
		{"", "sch", "", []string{"scheduler"}},
		{"", "x = ta", "x = ", []string{"task", "taskList"}},
		{"", "scheduler.", "scheduler.", []string{"on"}},
		{"", "console.l", "console.", []string{"log"}},
		{"", "r.tasks.t", "r.tasks.", []string{"test"}},
		{"", "r?.tasks.b", "r?.tasks.", []string{"build"}},
		{"", `run("te`, `run("`, []string{"test", "test-race"}},
		{"", `await run(["build", 'f`, `await run(["build", '`, []string{"format"}},
		{"", "task(`", "task(`", []string{"build", "format", "test", "test-race"}},
		{"", `task("x", { cmd: "true", deps: ["b`, `task("x", { cmd: "true", deps: ["`, []string{"build"}},
		{"", `history.predict("f`, `history.predict("`, []string{"format"}},
		{"", `console.log("te`, `console.log("te`, nil},
		{"", "// sch", "// sch", nil},
		{"run([\n", `"bu`, `"`, []string{"build"}},
		{"", ".h", "", []string{".help", ".history"}},
		{"", ".history te", ".history ", []string{"test", "test-race"}},
		{"", "1.", "1.", nil},
	}
	for _, tc := range tests {
		head, got, tail := r.complete(tc.before, tc.line, len(tc.line), names)
		if head != tc.head || strings.Join(got, ",") != strings.Join(tc.want, ",") || tail != "" {
			t.Errorf("complete(%q): head %q, got %q; want head %q, %q", tc.line, head, got, tc.head, tc.want)
		}
	}
	// The cursor in the middle keeps what follows.
	head, got, tail := r.complete("", `run("te") + 1`, 7, names)
	if head != `run("` || len(got) != 2 || tail != `") + 1` {
		t.Errorf("middle: %q %q %q", head, got, tail)
	}
}
