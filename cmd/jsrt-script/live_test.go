package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxPane is a run of jsrt-script in a detached tmux session: a real
// terminal emulator whose screen the test reads with capture-pane.
type tmuxPane struct {
	t    *testing.T
	tmux string
	sock string
}

// startTmux runs the shell command cmd in a new tmux server of its own,
// width × height; the server is killed when the test ends.
func startTmux(t *testing.T, width, height, cmd string) *tmuxPane {
	t.Helper()
	bin, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed")
	}
	p := &tmuxPane{t: t, tmux: bin, sock: filepath.Join(t.TempDir(), "tmux")}
	p.run("-f", "/dev/null", "new-session", "-d", "-x", width, "-y", height, cmd)
	t.Cleanup(func() { _ = exec.Command(p.tmux, "-S", p.sock, "kill-server").Run() })
	return p
}

func (p *tmuxPane) run(args ...string) string {
	p.t.Helper()
	out, err := exec.Command(p.tmux, append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the pane shows, scrollback included, wrapped lines
// joined, without the empty rows at the end.
func (p *tmuxPane) screen() []string {
	p.t.Helper()
	return strings.Split(strings.TrimRight(p.run("capture-pane", "-p", "-J", "-S", "-"), "\n"), "\n")
}

// waitFor polls the screen until a row matches re and returns the screen
// (giving up after the safety deadline, showing the screen).
func (p *tmuxPane) waitFor(what string, re *regexp.Regexp) []string {
	p.t.Helper()
	deadline := time.Now().Add(safety)
	for {
		rows := p.screen()
		for _, r := range rows {
			if re.MatchString(r) {
				return rows
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("gave up waiting for %s; the screen:\n%s", what, strings.Join(rows, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// On a terminal, the run shows a live block of running tasks and progress
// under the scrolling output; at the end the block is gone and the summary
// follows the output.
func TestLiveTerminal(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "live.js")
	cmd := "cd " + quote(dir) + " && env -u NO_COLOR " + quote(binary) + ` run live.js -j 2; echo "exit $?"; exec sleep 600`
	p := startTmux(t, "100", "40", cmd)

	blockTask := regexp.MustCompile(`^  wait +\d+\.\ds +\$ echo waiting; while`)
	progress := regexp.MustCompile(`^\[=*>? *\] \d/3 tasks, `)
	rows := p.waitFor("the live block", regexp.MustCompile(`^\[=+> *\] 1/3 tasks, 1 running, \d+\.\ds(, ETA \S+)?$`))
	if !blockTask.MatchString(rows[len(rows)-2]) {
		t.Errorf("the row above the progress is %q, want the running task wait", rows[len(rows)-2])
	}
	for _, want := range []string{"[hello] hello from hello", "[wait] waiting"} {
		if !contains(rows, want) {
			t.Errorf("the screen lacks %q above the block:\n%s", want, strings.Join(rows, "\n"))
		}
	}

	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rows = p.waitFor("the run to end", regexp.MustCompile(`^exit \d+$`))
	screen := strings.Join(rows, "\n")
	for _, r := range rows {
		if blockTask.MatchString(r) || progress.MatchString(r) || strings.HasPrefix(r, "  ") {
			t.Errorf("a row of the live block is left on the screen: %q\n%s", r, screen)
		}
	}
	for _, want := range []string{"[hello] hello from hello", "[wait] waiting", "[wait] went", "[last] last"} {
		if !contains(rows, want) {
			t.Errorf("the screen lacks %q:\n%s", want, screen)
		}
	}
	n := len(rows)
	if n < 5 || !regexp.MustCompile(`^\[last\] ok \S+ \[3/3\]$`).MatchString(rows[n-5]) ||
		!regexp.MustCompile(`^done: 3 tasks in \S+ with -j 2: 3 ok$`).MatchString(rows[n-4]) ||
		!strings.HasPrefix(rows[n-3], "slowest: ") || !strings.HasPrefix(rows[n-2], "Σ task time ") || rows[n-1] != "exit 0" {
		t.Errorf("the screen does not end with [last] ok, the summary and exit 0:\n%s", screen)
	}
}

func contains(rows []string, row string) bool {
	for _, r := range rows {
		if r == row {
			return true
		}
	}
	return false
}
