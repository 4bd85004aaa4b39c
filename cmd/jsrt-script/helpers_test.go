package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These helpers run the real jsrt-script binary, built once by TestMain,
// in a temporary workspace per test.

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// binary is the path of the jsrt-script built by TestMain.
var binary string

// safety is how long anything may take before a test gives up instead of
// hanging; it is a guard, never an assertion about speed.
const safety = 60 * time.Second

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "jsrt-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binary = filepath.Join(dir, "jsrt-script")
	build := exec.Command("go", "build", "-o", binary, "./cmd/jsrt-script")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building jsrt-script: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// moduleRoot is the nearest directory at or above the working directory
// that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// workspace copies the named testdata files into a fresh directory.
func workspace(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// result is what one finished jsrt-script process did.
type result struct {
	stdout, stderr string
	code           int // -1 when killed by a signal
}

// syncBuffer is a bytes.Buffer that a test may read while the process
// writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a jsrt-script started in the background.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
}

// command prepares jsrt-script ARGS in dir; stdin is /dev/null and the
// output goes to buffers unless the caller changes them before start.
func command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// start starts cmd; the process is killed when the test ends.
func start(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	p := &process{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process to end (killing it after the safety deadline).
func (p *process) wait(t *testing.T) result {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(safety):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("jsrt-script %s did not finish within the safety deadline; stderr:\n%s",
			strings.Join(p.cmd.Args[1:], " "), p.stderr)
	}
	return result{stdout: p.stdout.String(), stderr: p.stderr.String(), code: p.cmd.ProcessState.ExitCode()}
}

// jsrt runs jsrt-script ARGS in dir to completion.
func jsrt(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return start(t, command(dir, args...)).wait(t)
}

// eventually polls cond until it holds, failing the test after the safety
// deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(safety)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readPID waits until the task has written a pid (and a newline) to file.
// If the test fails, a process still alive under that pid is killed.
func readPID(t *testing.T, file string) int {
	t.Helper()
	var pid int
	eventually(t, file, func() bool {
		b, err := os.ReadFile(file)
		if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	t.Cleanup(func() {
		if t.Failed() && alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pid
}

// alive reports whether pid names a process that has not exited. A zombie
// counts as dead: PID 1 of a container may never reap what it inherits.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// waitDead waits until pid is dead; a kill is asynchronous, so the process
// may take a moment to go after jsrt-script has returned.
func waitDead(t *testing.T, pid int, what string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%s (pid %d) to be dead", what, pid), func() bool { return !alive(pid) })
}

// exists reports whether path (relative to dir) exists.
func exists(dir, path string) bool {
	_, err := os.Stat(filepath.Join(dir, path))
	return err == nil
}

// ranFiles lists the *.ran files that tasks touched in dir.
func ranFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.ran"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// lines reads a file of lines; a missing file has none.
func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// summary is the --json output of a run. Pointers tell a missing field
// from a zero one.
type summary struct {
	OK          *bool                  `json:"ok"`
	ExitCode    *int                   `json:"exitCode"`
	Interrupted bool                   `json:"interrupted"`
	Counts      map[string]int         `json:"counts"`
	Tasks       map[string]taskSummary `json:"tasks"`
}

type taskSummary struct {
	Status     string   `json:"status"`
	ExitCode   *int     `json:"exitCode"`
	DurationMs *float64 `json:"durationMs"`
	Attempts   *int     `json:"attempts"`
	Signal     string   `json:"signal"`
	Reason     string   `json:"reason"`
}

// decodeSummary checks that stdout is exactly one JSON object with the
// documented fields and returns it.
func decodeSummary(t *testing.T, stdout string) summary {
	t.Helper()
	var s summary
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("stdout is not a JSON summary: %v\n%s", err, stdout)
	}
	if rest := strings.TrimSpace(stdout[dec.InputOffset():]); rest != "" {
		t.Fatalf("stdout has more than one JSON object; after the first:\n%s", rest)
	}
	if s.OK == nil || s.ExitCode == nil || s.Counts == nil || s.Tasks == nil {
		t.Fatalf("summary lacks ok, exitCode, counts or tasks:\n%s", stdout)
	}
	for name, ts := range s.Tasks {
		if ts.Status == "" || ts.ExitCode == nil || ts.DurationMs == nil || ts.Attempts == nil {
			t.Fatalf("task %q lacks status, exitCode, durationMs or attempts:\n%s", name, stdout)
		}
	}
	return s
}

// golden compares got with testdata/golden/NAME, or rewrites the file
// with -update (make golden).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run make golden to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (make golden rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// write creates dir/rel (and its directories) holding content.
func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	path := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
