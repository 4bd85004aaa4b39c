package main

// End-to-end tests: each one runs the jsrt-script binary (built once by
// TestMain) on a strategy from testdata/, copied into a workspace of its
// own, and checks stdout, stderr, the exit status and what the tasks left
// on disk. Helpers are in helpers_test.go.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// Graph and option errors: exit 2, an exact message, and no task ran
// (every task of these strategies would touch NAME.ran).
func TestGraphErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		args   []string
		stderr string
		runs   int // how many times to run; the message must not change
	}{
		{"cycle", []string{"cycle.js"}, "jsrt-script: dependency cycle: a -> b -> a\n", 3},
		{"unknown dep", []string{"unknown_dep.js"},
			`jsrt-script: task "test" depends on unknown task "buidl" (did you mean "build"?)` + "\n", 1},
		{"self dep", []string{"self_dep.js"}, "jsrt-script: dependency cycle: a -> a\n", 1},
		{"duplicate task", []string{"duplicate.js"},
			`jsrt-script: duplicate.js:3:5: task "a" is defined twice (at duplicate.js:2:5 and duplicate.js:3:5)` + "\n", 1},
		{"unknown target", []string{"build_test.js", "biuld"},
			`jsrt-script: unknown task "biuld" (did you mean "build"?)` + "\n", 1},
		{"unknown option", []string{"unknown_option.js"},
			`jsrt-script: unknown_option.js:3:5: unknown option "dep" in task "test" (did you mean "deps"?)` + "\n", 1},
		{"deps not an array", []string{"wrong_type_deps.js"},
			`jsrt-script: wrong_type_deps.js:3:5: task "test": deps must be an array of strings, got the string "build"` + "\n", 1},
		// The type is named as in the other messages, not as a Go type.
		{"dep not a string", []string{"wrong_type_dep_item.js"},
			`jsrt-script: wrong_type_dep_item.js:3:5: task "test": deps[0] must be a string, got the number 1` + "\n", 1},
		{"retries not a number", []string{"wrong_type_retries.js"},
			`jsrt-script: wrong_type_retries.js:3:5: task "test": retries must be a whole number, got the string "two"` + "\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := workspace(t, tt.args[0])
			for i := 0; i < tt.runs; i++ {
				r := jsrt(t, dir, append([]string{"run"}, tt.args...)...)
				if r.code != 2 || r.stderr != tt.stderr || r.stdout != "" {
					t.Errorf("run %d: exit %d, stderr:\n%s\nstdout:\n%s\nwant exit 2, stderr:\n%s", i+1, r.code, r.stderr, r.stdout, tt.stderr)
				}
			}
			if ran := ranFiles(t, dir); len(ran) > 0 {
				t.Errorf("tasks ran despite the error: %v", ran)
			}
		})
	}
}

// Script errors: exit 2 with file:line:column, and the JS stack for an
// exception (function name and position of every frame).
func TestScriptErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ file, stderr string }{
		{"syntax_line3.js", "jsrt-script: syntax_line3.js:3:32: syntax error: Unexpected token ;\n"},
		{"syntax_line1.js", "jsrt-script: syntax_line1.js:1:11: syntax error: Unexpected token ;\n"},
		{"exception.js", "jsrt-script: exception.js:4:9: Error: boom\n" +
			"    at inner (exception.js:4:9)\n" +
			"    at outer (exception.js:7:8)\n" +
			"    at exception.js:9:6\n"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			dir := workspace(t, tt.file)
			r := jsrt(t, dir, "run", tt.file)
			if r.code != 2 || r.stderr != tt.stderr {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2, stderr:\n%s", r.code, r.stderr, tt.stderr)
			}
			if ran := ranFiles(t, dir); len(ran) > 0 {
				t.Errorf("tasks ran despite the error: %v", ran)
			}
		})
	}
}

// base <- left, right <- top: base runs exactly once, before the others.
func TestDiamondRunsSharedDepOnce(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "diamond.js")
	r := jsrt(t, dir, "run", "diamond.js", "top", "-j", "4")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	log := lines(t, filepath.Join(dir, "log.txt"))
	if len(log) != 4 || log[0] != "base" || log[3] != "top" {
		t.Fatalf("log.txt = %q, want base, then left and right, then top, each once", log)
	}
	if mid := []string{log[1], log[2]}; !slices.Contains(mid, "left") || !slices.Contains(mid, "right") {
		t.Fatalf("log.txt = %q, want left and right between base and top", log)
	}
}

// -j 1 with 50 tasks depending on one root: all 51 run, the root first.
func TestSerialFanOut(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "fanout.js")
	r := jsrt(t, dir, "run", "fanout.js", "-j1") // attached, as make and ninja take it
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "with -j 1") {
		t.Errorf("summary does not say -j 1:\n%s", r.stdout)
	}
	log := lines(t, filepath.Join(dir, "log.txt"))
	want := []string{"root"}
	for i := 1; i <= 50; i++ {
		want = append(want, fmt.Sprintf("leaf%d", i))
	}
	if len(log) == 0 || log[0] != "root" {
		t.Fatalf("log.txt does not start with root: %q", log)
	}
	sort.Strings(log)
	sort.Strings(want)
	if !slices.Equal(log, want) {
		t.Fatalf("tasks that ran (sorted) = %q\nwant %q", log, want)
	}
}

// A failure skips its dependents; without --continue nothing new starts,
// with it everything that does not depend on the failure runs. Exit 1.
func TestFailure(t *testing.T) {
	t.Parallel()
	depFailed := `dependency "bad" failed`
	tests := []struct {
		name    string
		flags   []string
		ran     []string          // *.ran files afterwards
		skipped map[string]string // task -> reason
		ok      int
	}{
		{"stop", nil, nil, map[string]string{
			"child": depFailed, "grandchild": depFailed, "mixed": depFailed,
			"other": "not started: the run stopped early", "other2": "not started: the run stopped early",
		}, 0},
		{"continue", []string{"--continue"}, []string{"other.ran", "other2.ran"}, map[string]string{
			"child": depFailed, "grandchild": depFailed, "mixed": depFailed,
		}, 2},
	}
	for _, tt := range tests {
		for _, asJSON := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/json=%v", tt.name, asJSON), func(t *testing.T) {
				t.Parallel()
				dir := workspace(t, "failure.js")
				args := append([]string{"run", "failure.js", "-j", "1"}, tt.flags...)
				if asJSON {
					args = append(args, "--json")
				}
				r := jsrt(t, dir, args...)
				if r.code != 1 {
					t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
				}
				if got := ranFiles(t, dir); !slices.Equal(got, tt.ran) {
					t.Errorf("tasks that ran: %v, want %v", got, tt.ran)
				}
				if asJSON {
					checkFailureJSON(t, r.stdout, tt.skipped, tt.ok)
					return
				}
				for task, reason := range tt.skipped {
					if want := fmt.Sprintf("[%s] skipped: %s\n", task, reason); !strings.Contains(r.stdout, want) {
						t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
					}
				}
				counts := fmt.Sprintf(" with -j 1: %d ok, 1 failed, %d skipped\n", tt.ok, len(tt.skipped))
				if !regexp.MustCompile(`(?m)^FAILED: 6 tasks in \S+` + regexp.QuoteMeta(counts)).MatchString(r.stdout) {
					t.Errorf("stdout lacks the summary line FAILED: 6 tasks in ...%s%s", counts, r.stdout)
				}
			})
		}
	}
}

func checkFailureJSON(t *testing.T, stdout string, skipped map[string]string, ok int) {
	t.Helper()
	s := decodeSummary(t, stdout)
	if *s.OK || *s.ExitCode != 1 {
		t.Errorf("ok %v, exitCode %d; want false, 1", *s.OK, *s.ExitCode)
	}
	want := map[string]int{"failed": 1, "skipped": len(skipped)}
	if ok > 0 {
		want["ok"] = ok
	}
	if !mapsEqual(s.Counts, want) {
		t.Errorf("counts %v, want %v", s.Counts, want)
	}
	if bad := s.Tasks["bad"]; bad.Status != "failed" || *bad.ExitCode != 3 {
		t.Errorf("bad: status %q exit %d, want failed 3", bad.Status, *bad.ExitCode)
	}
	for task, reason := range skipped {
		if got := s.Tasks[task]; got.Status != "skipped" || got.Reason != reason || *got.Attempts != 0 {
			t.Errorf("%s: status %q reason %q attempts %d; want skipped, %q, 0", task, got.Status, got.Reason, *got.Attempts, reason)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A task that fails its first attempt and passes its second ends ok.
func TestRetryFlakyTask(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "flaky.js")
	r := jsrt(t, dir, "run", "flaky.js", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if f := s.Tasks["flaky"]; !*s.OK || f.Status != "ok" || *f.Attempts != 2 || *f.ExitCode != 0 {
		t.Errorf("ok %v, flaky: status %q attempts %d exit %d; want true, ok 2 0", *s.OK, f.Status, *f.Attempts, *f.ExitCode)
	}
}

// No process of a task outlives it: not after a timeout, and not after
// a task that exits leaving a background job behind.
func TestNoProcessLeftBehind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		code   int
		status string
	}{
		{"timeout.js", 1, "failed"},
		{"leftover.js", 0, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			dir := workspace(t, tt.file)
			r := jsrt(t, dir, "run", tt.file, "--json")
			gc := readPID(t, filepath.Join(dir, "gc.pid"))
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			for name, ts := range decodeSummary(t, r.stdout).Tasks {
				if ts.Status != tt.status {
					t.Errorf("%s: status %q, want %q", name, ts.Status, tt.status)
				}
			}
			waitDead(t, gc, "the task's background sleep")
		})
	}
}

// The first SIGINT stops the run: exit 130, the task reported and
// recorded as interrupted, its processes dead.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "interrupt.js")
	p := start(t, command(dir, "run", "interrupt.js", "--json"))
	task := readPID(t, filepath.Join(dir, "task.pid"))
	gc := readPID(t, filepath.Join(dir, "gc.pid"))
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	if r.code != 130 {
		t.Fatalf("exit %d, want 130; stderr:\n%s", r.code, r.stderr)
	}
	const msg = "jsrt-script: interrupted: stopping running tasks (interrupt again to kill them at once)\n"
	if !strings.Contains(r.stderr, msg) {
		t.Errorf("stderr lacks %q:\n%s", msg, r.stderr)
	}
	s := decodeSummary(t, r.stdout)
	if long := s.Tasks["long"]; !s.Interrupted || *s.ExitCode != 130 || long.Status != "interrupted" {
		t.Errorf("interrupted %v, exitCode %d, long: %q; want true, 130, interrupted", s.Interrupted, *s.ExitCode, long.Status)
	}
	waitDead(t, task, "the task")
	waitDead(t, gc, "the task's child")

	h := jsrt(t, dir, "history", "long", "--json")
	var rec struct {
		Records []struct {
			Outcome string `json:"outcome"`
		} `json:"records"`
	}
	if err := json.Unmarshal([]byte(h.stdout), &rec); err != nil || len(rec.Records) != 1 || rec.Records[0].Outcome != "interrupted" {
		t.Errorf("history long: %v, exit %d:\n%s%s\nwant one record with outcome interrupted", err, h.code, h.stdout, h.stderr)
	}
}

// A second SIGINT kills the task at once, even one that ignores SIGTERM.
// (The test cannot tell "at once" from the grace period without timing;
// it checks that the first SIGINT left the task alive and that the
// second ended everything with SIGKILL.)
func TestSecondInterruptKills(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "stubborn.js")
	p := start(t, command(dir, "run", "stubborn.js", "--json"))
	task := readPID(t, filepath.Join(dir, "task.pid"))
	gc := readPID(t, filepath.Join(dir, "gc.pid"))
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the interrupt message", func() bool { return strings.Contains(p.stderr.String(), "interrupted: stopping") })
	if !alive(task) {
		t.Fatal("the task died of SIGTERM although it ignores it")
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	if r.code != 130 {
		t.Fatalf("exit %d, want 130; stderr:\n%s", r.code, r.stderr)
	}
	if st := decodeSummary(t, r.stdout).Tasks["stubborn"]; st.Status != "interrupted" || st.Signal != "SIGKILL" {
		t.Errorf("stubborn: status %q signal %q, want interrupted SIGKILL", st.Status, st.Signal)
	}
	waitDead(t, task, "the task")
	waitDead(t, gc, "the task's child")
}

// Tasks read from a closed stdin, never from jsrt-script's own (here a
// pipe that stays open): cat ends at once.
func TestTaskStdinIsClosed(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "stdin.js")
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	defer wr.Close()
	cmd := command(dir, "run", "stdin.js")
	cmd.Stdin = rd
	r := start(t, cmd).wait(t)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// Output bytes are kept as they are: invalid UTF-8 and an unterminated last
// line, in the log byte for byte and in stream output after the prefix.
func TestOutputBytesKept(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "bytes.js")
	r := jsrt(t, dir, "run", "bytes.js")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	const out = "first\n\xff\xfe x\nno newline"
	log, err := os.ReadFile(filepath.Join(dir, ".jsrt", "logs", "bytes.log"))
	if err != nil || string(log) != out {
		t.Errorf("bytes.log = %q (%v), want %q", log, err, out)
	}
	if want := "\n[bytes] first\n[bytes] \xff\xfe x\n[bytes] no newline\n"; !strings.Contains(r.stdout, want) {
		t.Errorf("stdout lacks %q:\n%q", want, r.stdout)
	}
}

// Two tasks printing 2000 long lines each at the same time: every line of
// stdout is whole, and each task's lines come in order.
func TestParallelLinesNeverSplice(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "interleave.js")
	r := jsrt(t, dir, "run", "interleave.js", "-j", "2")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	pad := strings.Repeat("0", 5000)
	next := map[string]int{"a": 0, "b": 0}
	known := regexp.MustCompile(`^(\[[ab]\] (\$ |ok )|done: |slowest: |Σ task time )`)
	for i, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if known.MatchString(line) {
			continue
		}
		var name string
		if len(line) > 4 && (line[:4] == "[a] " || line[:4] == "[b] ") {
			name = line[1:2]
		}
		want := fmt.Sprintf("[%s] %s %04d %s", name, name, next[name], pad)
		if name == "" || line != want {
			t.Fatalf("stdout line %d is not a whole line of task output (next of %q is %d): %.120q...", i+1, name, next[name], line)
		}
		next[name]++
	}
	if next["a"] != 2000 || next["b"] != 2000 {
		t.Fatalf("lines seen: %v, want 2000 of each", next)
	}
}

// --output grouped prints each task's output as one contiguous block.
func TestGroupedOutput(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "grouped.js")
	r := jsrt(t, dir, "run", "grouped.js", "-j", "2", "--output", "grouped")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	out := strings.Split(r.stdout, "\n")
	for _, name := range []string{"a", "b"} {
		block := []string{name + "1", name + "2", name + "3", name + "4", name + "5"}
		i := slices.Index(out, block[0])
		if i < 0 || i+len(block) > len(out) || !slices.Equal(out[i:i+len(block)], block) {
			t.Errorf("stdout lacks the block %q:\n%s", block, r.stdout)
		}
	}
}

// 500 MB of task output must not grow jsrt-script's memory by 64 MB.
//
// How the coordinator is measured: the rusage of a waited-for process
// reports the peak RSS of the process and of its own waited-for
// descendants. The descendants here are the task's shell, head, tr and
// fold (a few MB each), and a child forked from the Go process reports at
// most the coordinator's RSS at fork time, so the figure is the
// coordinator's peak. The same run with 500 bytes of output gives the
// baseline (Go runtime, JS engine, Badger); the difference is the growth
// due to the output.
func TestLargeOutputBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 1 GB to disk")
	}
	t.Parallel()
	dir := workspace(t, "big_output.js", "tiny_output.js")
	peak := func(file string) int64 {
		out, err := os.Create(filepath.Join(dir, file+".out"))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		cmd := command(dir, "run", file, "--state-dir", file+".state")
		cmd.Stdout = out
		r := start(t, cmd).wait(t)
		if r.code != 0 {
			t.Fatalf("%s: exit %d, stderr:\n%s", file, r.code, r.stderr)
		}
		return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024 // KiB on Linux
	}
	base, big := peak("tiny_output.js"), peak("big_output.js")
	st, err := os.Stat(filepath.Join(dir, "big_output.js.state", "logs", "big.log"))
	if err != nil || st.Size() != 504999999 {
		t.Fatalf("big.log: %v, size %v; want 504999999 bytes", err, st)
	}
	t.Logf("peak RSS: %d MiB with 500 bytes of output, %d MiB with 500 MB", base>>20, big>>20)
	if growth := big - base; growth >= 64<<20 {
		t.Errorf("peak RSS grew by %d MiB (from %d MiB to %d MiB), want under 64 MiB", growth>>20, base>>20, big>>20)
	}
}

// lockHolder starts hold.js, which keeps the state until the file
// "release" appears, and returns it once its task runs. When the test
// ends, the task is released and waited for (it may have outlived its
// jsrt-script), before the workspace and the file in it disappear.
func lockHolder(t *testing.T, dir string) *process {
	t.Helper()
	p := start(t, command(dir, "run", "hold.js"))
	pid := readPID(t, filepath.Join(dir, "hold.pid"))
	t.Cleanup(func() {
		_ = os.WriteFile(filepath.Join(dir, "release"), nil, 0o644)
		waitDead(t, pid, "the holding task")
	})
	return p
}

// A second run waits for the first, says so, and then succeeds.
func TestLockWaits(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "hold.js", "quick.js")
	holder := lockHolder(t, dir)
	second := start(t, command(dir, "run", "quick.js"))
	msg := fmt.Sprintf("jsrt-script: waiting for another run (pid %d) holding .jsrt\n", holder.cmd.Process.Pid)
	eventually(t, "the waiting message", func() bool { return second.stderr.String() != "" })
	if exists(dir, "quick.ran") {
		t.Error("the second run ran its task while the first held the state")
	}
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := holder.wait(t); r.code != 0 {
		t.Errorf("first run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r := second.wait(t)
	if r.code != 0 || r.stderr != msg || !exists(dir, "quick.ran") {
		t.Errorf("second run: exit %d, ran %v, stderr:\n%s\nwant exit 0, ran, stderr:\n%s", r.code, exists(dir, "quick.ran"), r.stderr, msg)
	}
}

// With --no-wait a second run fails at once, naming the holder.
func TestLockNoWait(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "hold.js", "quick.js")
	holder := lockHolder(t, dir)
	r := jsrt(t, dir, "run", "quick.js", "--no-wait")
	msg := fmt.Sprintf("jsrt-script: another run (pid %d) is holding .jsrt (without --no-wait, this run would wait for it)\n", holder.cmd.Process.Pid)
	if r.code != 2 || r.stderr != msg || exists(dir, "quick.ran") {
		t.Errorf("exit %d, ran %v, stderr:\n%s\nwant exit 2, not ran, stderr:\n%s", r.code, exists(dir, "quick.ran"), r.stderr, msg)
	}
}

// A run killed with SIGKILL does not block the next one.
func TestLockFreedByKill9(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "hold.js", "quick.js")
	holder := lockHolder(t, dir)
	if err := holder.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	holder.wait(t)
	r := jsrt(t, dir, "run", "quick.js", "--no-wait")
	if r.code != 0 || !exists(dir, "quick.ran") {
		t.Errorf("exit %d, ran %v, stderr:\n%s\nwant exit 0 and the task run", r.code, exists(dir, "quick.ran"), r.stderr)
	}
}

// --dry-run prints the plan in start order and writes nothing.
func TestDryRunGolden(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "diamond.js")
	r := jsrt(t, dir, "run", "diamond.js", "--dry-run", "-j", "2")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	golden(t, "dry-run.txt", r.stdout)
	for _, f := range []string{".jsrt", "log.txt"} {
		if exists(dir, f) {
			t.Errorf("the dry run created %s", f)
		}
	}
}

// graph prints the graph in each format and never creates .jsrt.
func TestGraphGolden(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "dot", "mermaid", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			dir := workspace(t, "diamond.js")
			r := jsrt(t, dir, "graph", "diamond.js", "--format", format)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
			}
			golden(t, "graph."+format, r.stdout)
			if format == "json" && !json.Valid([]byte(r.stdout)) {
				t.Errorf("not valid JSON:\n%s", r.stdout)
			}
			if exists(dir, ".jsrt") || exists(dir, "log.txt") {
				t.Error("graph created .jsrt or ran a task")
			}
		})
	}
}

// history lists runs newest first, and a task's records.
func TestHistory(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "history.js")
	for _, target := range []string{"test", "build"} {
		if r := jsrt(t, dir, "run", "history.js", target); r.code != 0 {
			t.Fatalf("run %s: exit %d, stderr:\n%s", target, r.code, r.stderr)
		}
	}
	r := jsrt(t, dir, "history")
	runs := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(runs) != 2 ||
		!strings.HasSuffix(runs[0], " exit 0   1 ok  build") || !strings.HasSuffix(runs[1], " exit 0   2 ok  test") {
		t.Errorf("history: exit %d, stdout:\n%s\nwant the run of build, then the run of test", r.code, r.stdout)
	}
	r = jsrt(t, dir, "history", "build")
	recs := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	record := regexp.MustCompile(`^\S+  \S+ \S+  attempt 1 +\S+  ok +rss \S+$`)
	if r.code != 0 || len(recs) != 3 || !strings.HasPrefix(recs[0], "build: 2 samples ") ||
		!record.MatchString(recs[1]) || !record.MatchString(recs[2]) {
		t.Errorf("history build: exit %d, stdout:\n%s\nwant a prediction line and 2 records", r.code, r.stdout)
	}
}

// --json prints one JSON summary on stdout; task output goes to stderr.
func TestJSONSummary(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "summary.js")
	r := jsrt(t, dir, "run", "summary.js", "--json")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	if strings.Count(strings.TrimSuffix(r.stdout, "\n"), "\n") != 0 {
		t.Errorf("stdout is not one line:\n%s", r.stdout)
	}
	s := decodeSummary(t, r.stdout)
	if *s.OK || *s.ExitCode != 1 || !mapsEqual(s.Counts, map[string]int{"ok": 1, "failed": 1}) {
		t.Errorf("ok %v exitCode %d counts %v; want false 1 {ok 1, failed 1}", *s.OK, *s.ExitCode, s.Counts)
	}
	for name, want := range map[string]struct {
		status string
		code   int
	}{"hello": {"ok", 0}, "broken": {"failed", 3}} {
		ts := s.Tasks[name]
		if ts.Status != want.status || *ts.ExitCode != want.code || *ts.Attempts != 1 || *ts.DurationMs <= 0 {
			t.Errorf("%s: %+v, want status %s exitCode %d attempts 1 and a duration", name, ts, want.status, want.code)
		}
	}
	for _, line := range []string{"[hello] hello from the task\n", "[broken] broken output\n"} {
		if !strings.Contains(r.stderr, line) || strings.Contains(r.stdout, line) {
			t.Errorf("task output %q is not on stderr only;\nstderr:\n%s", line, r.stderr)
		}
	}
}

// A strategy may drive runs itself with await run(...); the exit status is
// that of the worst run.
func TestPhasedRuns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		ran  []string
		code int
	}{
		{"phased_ok.js", []string{"a", "b"}, 0},
		{"phased_fail.js", []string{"a"}, 1},
		{"phased_worst.js", []string{"a", "b"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			dir := workspace(t, tt.file)
			r := jsrt(t, dir, "run", tt.file)
			if got := lines(t, filepath.Join(dir, "log.txt")); r.code != tt.code || !slices.Equal(got, tt.ran) {
				t.Errorf("exit %d, ran %q; want exit %d, ran %q\nstderr:\n%s", r.code, got, tt.code, tt.ran, r.stderr)
			}
		})
	}
}

// --help works on every command and prints its usage once.
func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args  []string
		usage string
	}{
		{[]string{"--help"}, "usage: jsrt-script COMMAND"},
		{[]string{"help"}, "usage: jsrt-script COMMAND"},
		{[]string{"run", "--help"}, "usage: jsrt-script run "},
		{[]string{"graph", "--help"}, "usage: jsrt-script graph "},
		{[]string{"history", "--help"}, "usage: jsrt-script history "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			r := jsrt(t, t.TempDir(), tt.args...)
			if r.code != 0 || r.stderr != "" || strings.Count(r.stdout, tt.usage) != 1 {
				t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant exit 0 and %q exactly once", r.code, r.stderr, r.stdout, tt.usage)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	t.Parallel()
	r := jsrt(t, t.TempDir(), "rn", "x.js")
	const want = `jsrt-script: unknown command "rn" (did you mean "run"?); see jsrt-script --help` + "\n"
	if r.code != 2 || r.stderr != want || r.stdout != "" {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 2, stderr:\n%s", r.code, r.stderr, want)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := jsrt(t, t.TempDir(), "--version")
	if r.code != 0 || !regexp.MustCompile(`^jsrt-script \S+\n$`).MatchString(r.stdout) {
		t.Errorf("exit %d, stdout %q; want 0 and \"jsrt-script VERSION\"", r.code, r.stdout)
	}
}

// A coordinator killed with SIGKILL cannot stop its tasks: the kernel kills
// the task's leader (parent-death signal), and the next run on the same
// state kills what the leader left in its process group.
func TestKill9CoordinatorLeavesNothingAfterNextRun(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "orphan.js", "quick.js")
	p := start(t, command(dir, "run", "orphan.js"))
	child := readPID(t, filepath.Join(dir, "child.pid"))
	leader := readPID(t, filepath.Join(dir, "leader.pid"))
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.wait(t)
	waitDead(t, leader, "the task's leader after kill -9 of jsrt-script")
	r := jsrt(t, dir, "run", "quick.js")
	want := "jsrt-script: killed 1 process group(s) left running by an earlier run that was killed\n"
	if r.code != 0 || r.stderr != want {
		t.Fatalf("next run: exit %d, stderr:\n%s\nwant exit 0, stderr:\n%s", r.code, r.stderr, want)
	}
	waitDead(t, child, "the background child of the killed run's task")
}

// Policy hooks: a priority hook changes the start order; hooks that loop
// forever, throw or reject stop the run with exit 2 and a message naming
// the hook, before anything runs.
func TestPolicyHooks(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "hook_order.js")
	if r := jsrt(t, dir, "run", "hook_order.js", "-j", "1"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got := strings.Join(lines(t, filepath.Join(dir, "order.log")), " "); got != "c a b d" {
		t.Errorf("start order %q, want %q", got, "c a b d")
	}
	cases := []struct{ file, want string }{
		{"hook_loop.js", "jsrt-script: scheduler hook \"priority\" failed: ran longer than its 100ms budget (--policy-timeout) and was interrupted\n"},
		{"hook_throw.js", "jsrt-script: scheduler hook \"priority\" failed: hook_throw.js:4:9: Error: no a\n"},
		{"hook_reject.js", "jsrt-script: scheduler hook \"priority\" failed: hook_reject.js:4:9: Error: rejected for a\n"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			dir := workspace(t, c.file)
			r := jsrt(t, dir, "run", c.file, "--output", "quiet")
			if r.code != 2 || r.stderr != c.want || exists(dir, "a.ran") {
				t.Errorf("exit %d, ran %v, stderr:\n%s\nwant exit 2, nothing run, stderr:\n%s", r.code, exists(dir, "a.ran"), r.stderr, c.want)
			}
		})
	}
}

// The retry hook decides: two retries, then success; the task is recorded
// as flaky and `history --flaky` lists it.
func TestRetryHookAndFlaky(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "hook_retry.js")
	r := jsrt(t, dir, "run", "hook_retry.js", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if s := decodeSummary(t, r.stdout); s.Tasks["flaky"].Attempts == nil || *s.Tasks["flaky"].Attempts != 3 {
		t.Errorf("attempts %v, want 3", s.Tasks["flaky"].Attempts)
	}
	h := jsrt(t, dir, "history", "--flaky")
	want := "flaky                    passed on a retry in 1 of its recent runs; failure rate 67%\n"
	if h.code != 0 || h.stdout != want {
		t.Errorf("history --flaky: exit %d\n%s\nwant\n%s", h.code, h.stdout, want)
	}
}

func TestMonitorEventsAndMetrics(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "monitor_events.js")
	r := jsrt(t, dir, "run", "monitor_events.js", "--output", "quiet")
	want := "start a, end a ok 0, start b, end b failed 3\ncompleted 2, efficiency true\n"
	if r.code != 1 || !strings.HasSuffix(r.stdout, want) {
		t.Fatalf("exit %d, stdout:\n%s\nwant exit 1 and stdout ending with:\n%s", r.code, r.stdout, want)
	}
}

// After a run, graph labels tasks with their predicted durations and marks
// the critical path by them.
func TestGraphShowsPredictions(t *testing.T) {
	t.Parallel()
	dir := workspace(t, "diamond.js")
	if r := jsrt(t, dir, "run", "diamond.js"); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	r := jsrt(t, dir, "graph", "diamond.js")
	if r.code != 0 || !strings.Contains(r.stdout, "critical path (predicted): base -> ") || !regexp.MustCompile(`level 0: base \([0-9.]+[µm]?s\)`).MatchString(r.stdout) {
		t.Fatalf("exit %d, stdout:\n%s", r.code, r.stdout)
	}
	j := jsrt(t, dir, "graph", "diamond.js", "--format", "json")
	var g struct {
		Tasks []struct {
			Name        string   `json:"name"`
			PredictedMs *float64 `json:"predictedMs"`
			Critical    bool     `json:"critical"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &g); err != nil || len(g.Tasks) != 4 || g.Tasks[0].PredictedMs == nil || !g.Tasks[0].Critical {
		t.Fatalf("json: %v\n%s", err, j.stdout)
	}
}

// A cache hit replays the log of the task's run, whatever characters its
// name holds: "/" and "%" are escaped once, in the file name the run wrote
// and the hit reads, and a stale file under another spelling is never read.
func TestCacheHitReplaysLogOfAnyName(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "in.txt", "x\n")
	write(t, dir, "s.js", `task("a/b", { cmd: "echo out of a/b", inputs: ["in.txt"] });
task("p%c", { cmd: "echo out of p%c", inputs: ["in.txt"] });
`)
	if r := jsrt(t, dir, "run", "s.js"); r.code != 0 {
		t.Fatalf("first run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	write(t, dir, ".jsrt/logs/a%252Fb.log", "A STALE LOG\n")
	r := jsrt(t, dir, "run", "s.js")
	if r.code != 0 {
		t.Fatalf("second run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"[a/b] out of a/b", "[p%c] out of p%c"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the cache hit did not replay %q; stdout:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "STALE") {
		t.Errorf("a stale log was replayed; stdout:\n%s", r.stdout)
	}
}

// A cache hit takes no slot: with -j 1 held by a task that runs until the
// test lets it go, the hits (one depending on another) settle meanwhile,
// each replaying its output after its command line.
func TestCacheHitsDoNotWaitForASlot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "in.txt", "x\n")
	write(t, dir, "s.js", `task("gate", { cmd: "while [ ! -e go ]; do sleep 0.05; done" });
task("h1", { cmd: "echo out of h1", inputs: ["in.txt"] });
task("h2", { cmd: "echo out of h2", inputs: ["in.txt"] });
task("h3", { cmd: "echo out of h3", deps: ["h1", "h2"], inputs: ["in.txt"] });
`)
	write(t, dir, "go", "")
	if r := jsrt(t, dir, "run", "s.js", "-j", "1"); r.code != 0 {
		t.Fatalf("first run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	os.Remove(filepath.Join(dir, "go"))
	p := start(t, command(dir, "run", "s.js", "-j", "1"))
	eventually(t, "the hits to settle while gate runs", func() bool {
		return strings.Contains(p.stdout.String(), "[h3] cached")
	})
	if strings.Contains(p.stdout.String(), "[gate] ok") {
		t.Fatalf("gate ended before it was let go; stdout:\n%s", p.stdout)
	}
	write(t, dir, "go", "")
	r := p.wait(t)
	if r.code != 0 {
		t.Fatalf("second run: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, name := range []string{"h1", "h2", "h3"} {
		cmd := strings.Index(r.stdout, "["+name+"] $ echo")
		out := strings.Index(r.stdout, "["+name+"] out of "+name)
		end := strings.Index(r.stdout, "["+name+"] cached")
		if cmd < 0 || !(cmd < out && out < end) {
			t.Errorf("%s: want its command, then its replayed output, then cached; stdout:\n%s", name, r.stdout)
		}
	}
}
