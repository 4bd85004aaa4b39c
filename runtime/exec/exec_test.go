package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	osexec "os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sysPath is the PATH given to tasks that need to find sleep, cat, head...
const sysPath = "PATH=/usr/local/bin:/usr/bin:/bin"

func TestRunExitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		spec   Spec
		code   int
		signal string
		ok     bool
	}{
		{"success", Spec{Shell: "exit 0"}, 0, "", true},
		{"exit code", Spec{Shell: "exit 3"}, 3, "", false},
		{"sigkill", Spec{Shell: "kill -9 $$"}, -1, "SIGKILL", false},
		{"sigterm", Spec{Shell: "kill -TERM $$"}, -1, "SIGTERM", false},
		{"argv true", Spec{Argv: []string{"true"}, Env: []string{sysPath}}, 0, "", true},
		{"argv false", Spec{Argv: []string{"false"}, Env: []string{sysPath}}, 1, "", false},
		{"argv with args", Spec{Argv: []string{"/bin/sh", "-c", "exit $0", "7"}}, 7, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := Run(context.Background(), tt.spec)
			if res.Err != nil {
				t.Fatalf("Err = %v", res.Err)
			}
			if res.ExitCode != tt.code || res.Signal != tt.signal || res.OK() != tt.ok {
				t.Errorf("ExitCode, Signal, OK() = %d, %q, %v; want %d, %q, %v",
					res.ExitCode, res.Signal, res.OK(), tt.code, tt.signal, tt.ok)
			}
			if res.TimedOut || res.Interrupted {
				t.Errorf("TimedOut, Interrupted = %v, %v; want false, false", res.TimedOut, res.Interrupted)
			}
		})
	}
}

func TestRunOutput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"bytes unchanged, no final newline", Spec{Shell: `printf 'a\377\000\r\nb\200'`}, "a\xff\x00\r\nb\x80"},
		{"stdout and stderr in order", Spec{Shell: "printf 1; printf 2 >&2; printf 3; printf 4 >&2"}, "1234"},
		{"stdin is /dev/null", Spec{Shell: "cat; echo rc=$?", Env: []string{sysPath}}, "rc=0\n"},
		{"argv cat reads EOF", Spec{Argv: []string{"cat"}, Env: []string{sysPath}}, ""},
		{"nil env is empty", Spec{Argv: []string{"/usr/bin/env"}}, ""},
		{"env is complete", Spec{Argv: []string{"/usr/bin/env"}, Env: []string{"A=1", "B=x y"}}, "A=1\nB=x y\n"},
		{"working directory", Spec{Shell: "pwd -P", Dir: dir}, realDir + "\n"},
		{"no output", Spec{Shell: "true"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			tt.spec.Output = &out
			res := Run(context.Background(), tt.spec)
			if !res.OK() {
				t.Fatalf("result not OK: %+v", res)
			}
			if got := out.String(); got != tt.want {
				t.Errorf("output = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunNilOutputDiscards(t *testing.T) {
	t.Parallel()
	res := Run(context.Background(), Spec{Shell: "head -c 1000000 /dev/zero", Env: []string{sysPath}})
	if !res.OK() {
		t.Fatalf("result not OK: %+v", res)
	}
}

// counter counts the bytes written to it and checks they are all zero.
type counter struct {
	n       int64
	nonZero int64
}

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	for _, b := range p {
		if b != 0 {
			c.nonZero++
		}
	}
	return len(p), nil
}

func TestRunLargeOutput(t *testing.T) {
	t.Parallel()
	const size = 200_000_000
	var c counter
	res := Run(context.Background(), Spec{
		Shell:  fmt.Sprintf("head -c %d /dev/zero", size),
		Env:    []string{sysPath},
		Output: &c,
	})
	if !res.OK() {
		t.Fatalf("result not OK: %+v", res)
	}
	if c.n != size || c.nonZero != 0 {
		t.Errorf("got %d bytes (%d non-zero), want %d zero bytes", c.n, c.nonZero, size)
	}
}

// failingWriter accepts limit bytes, then fails every write.
type failingWriter struct {
	limit, n int
	calls    int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.n+len(p) > w.limit {
		return 0, errors.New("disk full")
	}
	w.n += len(p)
	return len(p), nil
}

func TestRunOutputErrorKeepsDraining(t *testing.T) {
	t.Parallel()
	w := &failingWriter{limit: 10}
	res := Run(context.Background(), Spec{
		Shell:   "head -c 10000000 /dev/zero; echo done >&2; exit 4",
		Env:     []string{sysPath},
		Output:  w,
		Timeout: 20 * time.Second,
	})
	if res.OutputErr == nil || res.OutputErr.Error() != "disk full" {
		t.Errorf("OutputErr = %v, want disk full", res.OutputErr)
	}
	if res.ExitCode != 4 || res.TimedOut {
		t.Errorf("ExitCode, TimedOut = %d, %v; want 4, false (the task must not block on the pipe)", res.ExitCode, res.TimedOut)
	}
	if w.calls != 1 {
		t.Errorf("Output.Write called %d times, want 1 (none after the error)", w.calls)
	}
}

func TestRunStartErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		spec  Spec
		msg   string
		cause error
	}{
		{"not in PATH", nil, Spec{Argv: []string{"gcc-99"}, Env: []string{sysPath}}, `command "gcc-99" not found`, osexec.ErrNotFound},
		{"PATH of Env, not ours", nil, Spec{Argv: []string{"sh"}}, `command "sh" not found`, osexec.ErrNotFound},
		{"missing path", nil, Spec{Argv: []string{dir + "/nope"}}, fmt.Sprintf("command %q not found", dir+"/nope"), fs.ErrNotExist},
		{"not executable", nil, Spec{Argv: []string{plain}}, fmt.Sprintf("cannot start %q: permission denied", plain), syscall.EACCES},
		{"not executable in PATH", nil, Spec{Argv: []string{"plain"}, Env: []string{"PATH=" + dir}}, `cannot start "plain": permission denied`, fs.ErrPermission},
		{"missing dir", nil, Spec{Shell: "true", Dir: dir + "/d"}, fmt.Sprintf("working directory %q does not exist", dir+"/d"), fs.ErrNotExist},
		{"dir is a file", nil, Spec{Shell: "true", Dir: plain}, fmt.Sprintf("working directory %q: not a directory", plain), syscall.ENOTDIR},
		{"missing dir and command", nil, Spec{Argv: []string{"gcc-99"}, Env: []string{sysPath}, Dir: dir + "/d"}, fmt.Sprintf("working directory %q does not exist", dir+"/d"), fs.ErrNotExist},
		{"missing dir, command by path", nil, Spec{Argv: []string{"./run"}, Dir: dir + "/d"}, fmt.Sprintf("working directory %q does not exist", dir+"/d"), fs.ErrNotExist},
		{"no command", nil, Spec{}, `cannot start "": no command`, nil},
		{"cancelled before start", ctx, Spec{Shell: "true"}, `cannot start "/bin/sh": context canceled`, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			res := Run(ctx, tt.spec)
			var se *StartError
			if !errors.As(res.Err, &se) {
				t.Fatalf("Err = %#v, want *StartError", res.Err)
			}
			if res.Err.Error() != tt.msg {
				t.Errorf("Err = %q, want %q", res.Err, tt.msg)
			}
			if tt.cause != nil && !errors.Is(res.Err, tt.cause) {
				t.Errorf("errors.Is(%v, %v) = false", res.Err, tt.cause)
			}
			if res.ExitCode != -1 || res.OK() || !res.Start.IsZero() || res.Interrupted != (tt.ctx != nil) {
				t.Errorf("ExitCode, OK(), Start, Interrupted = %d, %v, %v, %v; want -1, false, zero, %v",
					res.ExitCode, res.OK(), res.Start, res.Interrupted, tt.ctx != nil)
			}
		})
	}
}

// TestRunStdinShared: every task reads the same /dev/null descriptor, which
// must stay open across starts (os/exec closes only what it opened) and
// cost this process no descriptor per task. Not parallel: it counts the
// descriptors of the whole test process.
func TestRunStdinShared(t *testing.T) {
	Run(context.Background(), Spec{Shell: "true"}) // opens the shared descriptor
	before := openFDs(t)
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			res := Run(context.Background(), Spec{Shell: "cat; echo rc=$?", Env: []string{sysPath}, Output: &out})
			if !res.OK() || out.String() != "rc=0\n" {
				errs <- fmt.Sprintf("res %+v, output %q", res, out.String())
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if after := openFDs(t); after != before {
		t.Errorf("open descriptors: %d before, %d after 20 runs", before, after)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(ents)
}

func TestRunLookPathInEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"hello $1\"\n"
	if err := os.WriteFile(filepath.Join(dir, "greet"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res := Run(context.Background(), Spec{
		Argv:   []string{"greet", "world"},
		Env:    []string{"PATH=/nonexistent:relative:" + dir},
		Output: &out,
	})
	if !res.OK() || out.String() != "hello world\n" {
		t.Errorf("OK() = %v, output = %q; want true, %q (%+v)", res.OK(), out.String(), "hello world\n", res)
	}
}

// readPid waits for a task to write a pid to file.
func readPid(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the task did not write its pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// assertDead polls for up to 2s until pid is gone or a zombie (dead, waiting
// for init to reap it).
func assertDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		if syscall.Kill(pid, 0) == syscall.ESRCH || isZombie(pid) {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d is still running after Run returned", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the name may contain spaces
	return i >= 0 && strings.HasPrefix(s[i+1:], " Z")
}

func TestRunStopsGroup(t *testing.T) {
	t.Parallel()
	// bg starts a grandchild that holds the output pipe and ignores SIGTERM.
	const bg = "(trap '' TERM; sleep 100) & echo $! > pidfile; "
	tests := []struct {
		name        string
		shell       string
		timeout     time.Duration
		cancelAfter time.Duration
		killAfter   time.Duration
		code        int
		signal      string
		timedOut    bool
		interrupted bool
		min, max    time.Duration
	}{
		{name: "left behind after success", shell: bg + "exit 0",
			code: 0, max: 2 * time.Second},
		{name: "left behind after failure", shell: bg + "exit 2",
			code: 2, max: 2 * time.Second},
		{name: "timeout", shell: bg + "sleep 100 & sleep 100; wait", timeout: 200 * time.Millisecond,
			code: -1, signal: "SIGTERM", timedOut: true, min: 200 * time.Millisecond, max: 2 * time.Second},
		{name: "timeout, TERM ignored", shell: "trap '' TERM; " + bg + "sleep 100", timeout: 100 * time.Millisecond,
			code: -1, signal: "SIGKILL", timedOut: true, min: 600 * time.Millisecond, max: 3 * time.Second},
		{name: "cancelled", shell: bg + "sleep 100", cancelAfter: 200 * time.Millisecond,
			code: -1, signal: "SIGTERM", interrupted: true, min: 150 * time.Millisecond, max: 2 * time.Second},
		{name: "cancelled, TERM ignored, then killed", shell: "trap '' TERM; " + bg + "sleep 100",
			cancelAfter: 100 * time.Millisecond, killAfter: 300 * time.Millisecond,
			code: -1, signal: "SIGKILL", interrupted: true, min: 250 * time.Millisecond, max: 3 * time.Second},
		{name: "killed without cancel", shell: "trap '' TERM; " + bg + "sleep 100", killAfter: 200 * time.Millisecond,
			code: -1, signal: "SIGKILL", interrupted: true, min: 150 * time.Millisecond, max: 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The timers start just before the process, so min allows 50ms.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelAfter > 0 {
				time.AfterFunc(tt.cancelAfter, cancel)
			}
			kill := make(chan struct{})
			if tt.killAfter > 0 {
				time.AfterFunc(tt.killAfter, func() { close(kill) })
			}
			grace := 600 * time.Millisecond
			if tt.killAfter > 0 {
				grace = time.Minute // only Kill can end it in time
			}
			dir := t.TempDir()
			var out bytes.Buffer
			res := Run(ctx, Spec{
				Shell: tt.shell, Dir: dir, Env: []string{sysPath},
				Timeout: tt.timeout, Grace: grace, Kill: kill, Output: &out,
			})
			if res.Err != nil || res.ExitCode != tt.code || res.Signal != tt.signal ||
				res.TimedOut != tt.timedOut || res.Interrupted != tt.interrupted {
				t.Errorf("got Err=%v ExitCode=%d Signal=%q TimedOut=%v Interrupted=%v; want <nil> %d %q %v %v",
					res.Err, res.ExitCode, res.Signal, res.TimedOut, res.Interrupted,
					tt.code, tt.signal, tt.timedOut, tt.interrupted)
			}
			if res.Duration < tt.min || res.Duration > tt.max {
				t.Errorf("Duration = %v, want between %v and %v", res.Duration, tt.min, tt.max)
			}
			if out.Len() != 0 {
				t.Errorf("output = %q, want none", out.String())
			}
			assertDead(t, readPid(t, filepath.Join(dir, "pidfile")))
		})
	}
}

func TestRunTimeoutKillsEveryChild(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	began := time.Now()
	res := Run(context.Background(), Spec{
		Shell:   "sleep 100 & echo $! > bg; sleep 100 & echo $! > fg; wait",
		Dir:     dir,
		Env:     []string{sysPath},
		Timeout: 200 * time.Millisecond,
		Grace:   500 * time.Millisecond,
	})
	if elapsed := time.Since(began); elapsed > 2*time.Second {
		t.Errorf("Run took %v, want under 2s", elapsed)
	}
	if !res.TimedOut || res.OK() {
		t.Errorf("TimedOut, OK() = %v, %v; want true, false", res.TimedOut, res.OK())
	}
	assertDead(t, readPid(t, filepath.Join(dir, "bg")))
	assertDead(t, readPid(t, filepath.Join(dir, "fg")))
}

// TestRunEscapeeHoldingPipe: a process that left the group cannot be killed
// by Run, but it must not make Run hang: reading stops after Grace.
func TestRunEscapeeHoldingPipe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	began := time.Now()
	res := Run(context.Background(), Spec{
		Shell: "echo before; setsid sh -c 'echo $$ > pid; exec sleep 100' & " +
			"while [ ! -s pid ]; do sleep 0.01; done",
		Dir:     dir,
		Env:     []string{sysPath},
		Grace:   300 * time.Millisecond,
		Timeout: 5 * time.Second, // in case setsid is missing
		Output:  &out,
	})
	elapsed := time.Since(began)
	pid := readPid(t, filepath.Join(dir, "pid"))
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if !res.OK() || out.String() != "before\n" {
		t.Errorf("OK(), output = %v, %q; want true, %q (%+v)", res.OK(), out.String(), "before\n", res)
	}
	if elapsed < 300*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("Run took %v, want the 300ms grace and under 2s", elapsed)
	}
}

func TestRunTiming(t *testing.T) {
	t.Parallel()
	before := time.Now()
	res := Run(context.Background(), Spec{Shell: "sleep 0.2", Env: []string{sysPath}})
	after := time.Now()
	if !res.OK() {
		t.Fatalf("result not OK: %+v", res)
	}
	if res.Start.Before(before) || res.Start.After(after) {
		t.Errorf("Start = %v, want between %v and %v", res.Start, before, after)
	}
	if res.Duration < 200*time.Millisecond || res.Duration > after.Sub(before) {
		t.Errorf("Duration = %v, want between 200ms and %v", res.Duration, after.Sub(before))
	}
}

func TestRunResourceUsage(t *testing.T) {
	t.Parallel()
	// The shell holds 100 MB in a variable; tr burns CPU in a waited-for child.
	big := Run(context.Background(), Spec{
		Shell: `x=$(head -c 100000000 /dev/zero | tr '\0' a); echo ${#x}`,
		Env:   []string{sysPath},
	})
	// Linux carries the forking parent's (this test binary's) peak into
	// the child, so a task smaller than the parent cannot be told apart
	// from it: its peak is reported unknown (0) rather than the parent's.
	small := Run(context.Background(), Spec{Shell: "true"})
	if !big.OK() || !small.OK() {
		t.Fatalf("results not OK: %+v, %+v", big, small)
	}
	if big.PeakRSS < 100_000_000 || big.PeakRSS > 1<<30 {
		t.Errorf("PeakRSS = %d, want between 100 MB and 1 GiB", big.PeakRSS)
	}
	if small.PeakRSS != 0 {
		t.Errorf("PeakRSS of true = %d, want 0 (unknown: smaller than this process)", small.PeakRSS)
	}
	if limit := big.Duration * time.Duration(runtime.NumCPU()); big.CPUTime <= 0 || big.CPUTime > limit {
		t.Errorf("CPUTime = %v, want > 0 and <= %v (Duration times CPUs)", big.CPUTime, limit)
	}
}

func TestStartErrorUnwrap(t *testing.T) {
	t.Parallel()
	cause := syscall.EPERM
	err := error(&StartError{Cmd: "x", Err: cause})
	if !errors.Is(err, cause) || err.Error() != `cannot start "x": operation not permitted` {
		t.Errorf("err = %q, Is(EPERM) = %v", err, errors.Is(err, cause))
	}
	werr := error(&WaitError{Cmd: "x", Err: syscall.ECHILD})
	if !errors.Is(werr, syscall.ECHILD) || werr.Error() != `cannot wait for "x": no child processes` {
		t.Errorf("err = %q", werr)
	}
}

// piece is one call of LineWriter.Emit.
type piece struct {
	line    string
	partial bool
}

func (p piece) String() string { return fmt.Sprintf("{%q %v}", p.line, p.partial) }

// collect returns a LineWriter with max that records its pieces.
func collect(limit int, got *[]piece) *LineWriter {
	return &LineWriter{Max: limit, Emit: func(line []byte, partial bool) {
		*got = append(*got, piece{string(line), partial})
	}}
}

func TestLineWriter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		max    int
		writes []string
		want   []piece
	}{
		{"lines", 0, []string{"a\nbc\n"}, []piece{{"a", false}, {"bc", false}}},
		{"split across writes", 0, []string{"a", "b\nc", "d\n"}, []piece{{"ab", false}, {"cd", false}}},
		{"empty lines", 0, []string{"\n\n"}, []piece{{"", false}, {"", false}}},
		{"unterminated last", 0, []string{"a\nb"}, []piece{{"a", false}, {"b", true}}},
		{"bytes kept", 0, []string{"\xff\r\x00\n"}, []piece{{"\xff\r\x00", false}}},
		{"nothing", 0, nil, nil},
		{"long line", 4, []string{"abcdefghij\n"}, []piece{{"abcd", true}, {"efgh", true}, {"ij", false}}},
		{"exactly max", 4, []string{"abcd\n"}, []piece{{"abcd", false}}},
		{"exactly max, newline later", 4, []string{"abcd", "\n"}, []piece{{"abcd", false}}},
		{"twice max", 4, []string{"abcdefgh\nx\n"}, []piece{{"abcd", true}, {"efgh", false}, {"x", false}}},
		{"max then close", 4, []string{"ab", "cd"}, []piece{{"abcd", true}}},
		{"long line byte by byte", 2, strings.Split("abcde\n", ""), []piece{{"ab", true}, {"cd", true}, {"e", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []piece
			w := collect(tt.max, &got)
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("pieces = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLineWriterRandom checks on random input and random write sizes that the
// pieces rebuild the input exactly and none is longer than Max.
func TestLineWriterRandom(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		input := make([]byte, rng.IntN(300))
		for i := range input {
			input[i] = "ab\n\xff"[rng.IntN(4)]
		}
		limit := 1 + rng.IntN(10)
		var got []piece
		w := collect(limit, &got)
		for rest := input; len(rest) > 0; {
			n := min(1+rng.IntN(20), len(rest))
			_, _ = w.Write(rest[:n])
			rest = rest[n:]
		}
		_ = w.Close()
		var rebuilt bytes.Buffer
		for _, p := range got {
			if len(p.line) > limit || (p.partial && len(p.line) == 0) {
				t.Fatalf("round %d: bad piece %q (max %d)", round, p.line, limit)
			}
			rebuilt.WriteString(p.line)
			if !p.partial {
				rebuilt.WriteByte('\n')
			}
		}
		if !bytes.Equal(rebuilt.Bytes(), input) {
			t.Fatalf("round %d: rebuilt %q, want %q", round, rebuilt.Bytes(), input)
		}
	}
}

func TestShellArgvFastPath(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		"true":                     {"true"},
		"sleep 0.25":               {"sleep", "0.25"},
		"go test -count=1 ./x/...": {"go", "test", "-count=1", "./x/..."},
		"make -j2 all":             {"make", "-j2", "all"},
		"echo $HOME":               {"/bin/sh", "-c", "echo $HOME"},
		"a && b":                   {"/bin/sh", "-c", "a && b"},
		"cd sub":                   {"/bin/sh", "-c", "cd sub"},
		"CC=gcc make":              {"/bin/sh", "-c", "CC=gcc make"},
		"ls *.c":                   {"/bin/sh", "-c", "ls *.c"},
		"echo 'a b'":               {"/bin/sh", "-c", "echo 'a b'"},
		"exit 3":                   {"/bin/sh", "-c", "exit 3"},
	}
	for in, want := range cases {
		if got := shellArgv(in); !reflect.DeepEqual(got, want) {
			t.Errorf("shellArgv(%q) = %q, want %q", in, got, want)
		}
	}
}
