package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// These tests drive the real binary through a pseudo-terminal, as a person
// at a terminal would: liner, Tab, Ctrl-C, Ctrl-D and the history file.

// buildBinary builds jsrt-script into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "jsrt-script")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/jsrt-script/jsrt-script/cmd/jsrt-script")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building jsrt-script: %v\n%s", err, out)
	}
	return bin
}

// terminal is the binary running on a pseudo-terminal.
type terminal struct {
	t    *testing.T
	f    *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	seen int // output before this has been matched
	done chan struct{}
}

func startTerminal(t *testing.T, bin, dir string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=xterm", "NO_COLOR=1"}
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, f: f, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		f.Close()
	})
	return tm
}

// send types s.
func (tm *terminal) send(s string) {
	tm.t.Helper()
	if _, err := tm.f.Write([]byte(s)); err != nil {
		tm.t.Fatalf("typing %q: %v", s, err)
	}
}

// expect waits until s appears in what was printed since the last match.
func (tm *terminal) expect(s string) {
	tm.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		tm.mu.Lock()
		all := tm.out.String()
		if i := strings.Index(all[tm.seen:], s); i >= 0 {
			tm.seen += i + len(s)
			tm.mu.Unlock()
			return
		}
		tm.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.t.Fatalf("waited for %q; the terminal shows, since the last match:\n%q", s, tm.out.String()[tm.seen:])
}

// exit waits for the process to end and returns its exit status.
func (tm *terminal) exit() int {
	tm.t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- tm.cmd.Wait() }()
	select {
	case err := <-errc:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			tm.t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		tm.t.Fatalf("the REPL did not exit; the terminal shows:\n%q", tm.out.String()[tm.seen:])
	}
	return -1
}

func TestReplTerminal(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("pseudo-terminals: Linux and macOS only")
	}
	bin := buildBinary(t, t.TempDir())

	t.Run("completion", func(t *testing.T) {
		t.Parallel()
		tm := startTerminal(t, bin, workspace(t), "repl", "strategy.js")
		tm.expect("jsrt> ")
		tm.send("sched\t")
		tm.expect("scheduler")
		tm.send(".o\t")
		tm.expect("scheduler.on")
		tm.send("\x03") // Ctrl-C clears the line
		tm.expect("^C")
		tm.expect("jsrt> ")
		tm.send(`run("bu` + "\t")
		tm.expect(`run("build`)
		tm.send("\x03")
		tm.expect("jsrt> ")
		tm.send(`task("x", { cmd: "true", deps: ["te` + "\t")
		tm.expect(`deps: ["test`)
		tm.send("\x03")
		tm.expect("jsrt> ")
		tm.send(".his\t")
		tm.expect(".history")
		tm.send(" sl\t")
		tm.expect(".history slow")
		tm.send("\x03")
		tm.expect("jsrt> ")
		tm.send("\x04") // Ctrl-D leaves
		if code := tm.exit(); code != 0 {
			t.Errorf("exit status %d after Ctrl-D", code)
		}
	})

	t.Run("multi-line", func(t *testing.T) {
		t.Parallel()
		tm := startTerminal(t, bin, workspace(t), "repl")
		tm.expect("jsrt> ")
		tm.send("[1,\r")
		tm.expect("...   ")
		tm.send("2]\r")
		tm.expect("[ 1, 2 ]")
		tm.send("`one\r")
		tm.expect("...   ")
		tm.send("two`\r")
		tm.expect("'one\\ntwo'")
		tm.send("({\r")
		tm.expect("...   ")
		tm.send("\x03") // Ctrl-C drops the unfinished statement
		tm.expect("jsrt> ")
		tm.send("'fresh'\r")
		tm.expect("'fresh'")
		tm.send(".exit\r")
		if code := tm.exit(); code != 0 {
			t.Errorf("exit status %d after .exit", code)
		}
	})

	t.Run("ctrl-c stops a run", func(t *testing.T) {
		t.Parallel()
		tm := startTerminal(t, bin, workspace(t), "repl", "strategy.js")
		tm.expect("jsrt> ")
		tm.send(`await run("slow")` + "\r")
		tm.expect("[slow] $ sleep 30")
		time.Sleep(200 * time.Millisecond)
		tm.send("\x03")
		tm.expect("interrupted: stopping")
		tm.expect("INTERRUPTED: 1 task")
		tm.expect("interrupted\r\n")
		tm.expect("jsrt> ")
		tm.send("1 + 1\r")
		tm.expect("2\r\n")
		tm.send("while (true) {}\r") // a loop typed at the prompt
		time.Sleep(300 * time.Millisecond)
		tm.send("\x03")
		tm.expect("interrupted\r\n")
		tm.expect("jsrt> ")
		tm.send("'still here'\r")
		tm.expect("'still here'")
		tm.send("\x04")
		if code := tm.exit(); code != 0 {
			t.Errorf("exit status %d", code)
		}
	})

	t.Run("history", func(t *testing.T) {
		t.Parallel()
		dir := workspace(t)
		tm := startTerminal(t, bin, dir, "repl")
		tm.expect("jsrt> ")
		tm.send("40 + 2\r")
		tm.expect("42")
		tm.send("'other'\r")
		tm.expect("'other'")
		tm.send("\x04")
		if code := tm.exit(); code != 0 {
			t.Fatalf("exit status %d", code)
		}
		saved, err := os.ReadFile(filepath.Join(dir, ".jsrt", "repl_history"))
		if err != nil || string(saved) != "40 + 2\n'other'\n" {
			t.Fatalf("history file: %q, %v", saved, err)
		}

		tm = startTerminal(t, bin, dir, "repl")
		tm.expect("jsrt> ")
		tm.send("\x1b[A\x1b[A") // Up twice
		tm.expect("40 + 2")
		tm.send("\r")
		tm.expect("42")
		tm.send("\x12") // Ctrl-R
		tm.expect("(reverse-i-search)")
		tm.send("oth")
		tm.expect("'other'")
		tm.send("\r")
		tm.send("\r")
		tm.expect("'other'\r\n")
		tm.send("\x04")
		if code := tm.exit(); code != 0 {
			t.Errorf("exit status %d", code)
		}
	})
}
