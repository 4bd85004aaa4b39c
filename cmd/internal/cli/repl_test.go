package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cli runs the command line in process with dir as the working directory
// and stdin as input (not a terminal: a REPL reads it as a script).
func cli(t *testing.T, dir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := Main(&Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errs,
		Environ: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, Cwd: dir, Now: time.Now})
	return code, out.String(), errs.String()
}

// workspace copies testdata/repl into a temporary directory.
func workspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir("testdata/repl")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata/repl", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var (
	durations = regexp.MustCompile(`\d+(\.\d+)?(ns|µs|ms|s|m)\b`)
	runIDs    = regexp.MustCompile(`[0-9a-f]{16}-[0-9a-f]{4}`)
	numbers   = regexp.MustCompile(`(Ms|efficiency|speedup): \d+(\.\d+)?(e-\d+)?`)
	dates     = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)
	rss       = regexp.MustCompile(`rss \d+(\.\d+)?[KMG]?i?B`)
	percents  = regexp.MustCompile(`\d+%`)
	speedups  = regexp.MustCompile(`speedup \d+\.\d+x`)
	padded    = regexp.MustCompile(` +T\b`)
	spaces    = regexp.MustCompile(`   +`)
	slowest   = regexp.MustCompile(`(?m)^slowest: .*$`) // ties in any order
)

// stable replaces what changes from run to run (durations, run ids,
// figures) with fixed words.
func stable(s string) string {
	s = slowest.ReplaceAllString(s, "slowest: ...")
	s = runIDs.ReplaceAllString(s, "RUNID")
	s = dates.ReplaceAllString(s, "DATE")
	s = numbers.ReplaceAllString(s, "$1: N")
	s = rss.ReplaceAllString(s, "rss SIZE")
	s = speedups.ReplaceAllString(s, "speedup Nx")
	s = percents.ReplaceAllString(s, "N%")
	s = padded.ReplaceAllString(durations.ReplaceAllString(s, "T"), " T")
	return spaces.ReplaceAllString(s, "  ")
}

func TestReplScripted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		out, errs   string
	}{
		{
			name: "values", args: []string{"repl"},
			stdin: "1 + 2\nconst o = {a: [1, 'two'], b: {c: null}}\no\n`multi\nline`\nawait Promise.resolve(42)\n",
			out:   "3\n{ a: [ 1, 'two' ], b: { c: null } }\n'multi\\nline'\n42\n",
		},
		{
			name: "error keeps the session", args: []string{"repl"},
			stdin: "let x = 1\nnull.y\nthrow new Error('boom')\nx + 1\n",
			code:  2,
			out:   "2\n",
			errs:  "repl2:1:6: TypeError: Cannot read property 'y' of undefined\nrepl3:1:7: Error: boom\n",
		},
		{
			name: "run from the prompt", args: []string{"repl", "strategy.js", "--output", "grouped"},
			stdin: "const r = await run(['test'])\nr.ok\nObject.keys(r.tasks)\n.report\n",
			out: "[build] $ echo building\n── build ──\nbuilding\n[build] ok T [1/2]\n[test] $ echo testing\n── test ──\ntesting\n[test] ok T [2/2]\n" +
				"done: 2 tasks in T with -j 2: 2 ok\nslowest: test T, build T\nΣ task time T, parallel efficiency N% (Σ ÷ (wall × 2 slots)), speedup Nx\n" +
				"true\n[ 'build', 'test' ]\n" +
				"last run RUNID: ok, 2 tasks in T with -j 2: 2 ok\n  build  ok T\n  test   ok T\nΣ task time T, parallel efficiency N%, speedup Nx\n",
		},
		{
			name: "a failed run sets the exit status", args: []string{"repl", "strategy.js", "--output", "quiet"},
			stdin: "task('bad', {cmd: 'exit 3'})\n(await run('bad')).exitCode\n",
			code:  1,
			out: "'bad'\n[bad] FAILED (exit 3) after T [1/1]\nFAILED: 1 task in T with -j 2: 0 ok, 1 failed\nslowest: bad T\n" +
				"Σ task time T, parallel efficiency N% (Σ ÷ (wall × 2 slots)), speedup Nx\nfailed \"bad\": exit 3\n1\n", // it printed nothing: no log
		},
		{
			name: "tasks and graph", args: []string{"repl", "strategy.js", "-j", "2"},
			stdin: ".tasks\n.graph\n.graph dot\n.graph svg\n",
			code:  2,
			out: "build  no history                  echo building\ntest   no history                  echo testing  (deps: build)\nslow   no history                  sleep 30\n" +
				"level 0: build slow\nlevel 1: test\nlongest chain: build -> test\n" +
				"digraph tasks {\n  rankdir=LR;\n  node [shape=box];\n  \"build\" [label=\"build\", tooltip=\"echo building\", color=red, penwidth=2];\n" +
				"  \"test\" [label=\"test\", tooltip=\"echo testing\", color=red, penwidth=2];\n  \"slow\" [label=\"slow\", tooltip=\"sleep 30\"];\n  \"build\" -> \"test\" [color=red, penwidth=2];\n}\n",
			errs: ".graph: unknown format \"svg\" (use text, dot, mermaid or json)\n",
		},
		{
			name: "load", args: []string{"repl"},
			stdin: ".tasks\n.load other.js\n.tasks\n.load broken.js\n.tasks\n.load nope.js\n.load\n",
			code:  2,
			out: "no tasks defined: task(name, {cmd}) defines one, .load FILE loads a strategy\nloaded other.js: 1 tasks\n" +
				"lint  no history                  echo linting\nlint  no history                  echo linting\n",
			errs: "broken.js:2:7: Error: broken strategy\n" +
				"cannot read strategy \"nope.js\": no such file or directory\n.load: which file? usage: .load STRATEGY.js\n",
		},
		{
			name: "history", args: []string{"repl", "strategy.js"},
			stdin: ".history\nawait run('build').then(r => r.ok)\n.history build\n",
			out:   "building\n",
		},
		{
			name: "typescript", args: []string{"repl", "await.ts", "--output", "quiet"},
			stdin: ".tasks\n",
			out: "done: 1 task in T with -j 2: 1 ok\nslowest: hello T\nΣ task time T, parallel efficiency N% (Σ ÷ (wall × 2 slots)), speedup Nx\n" +
				"ok: true\nhello  ~T (1 sample, low)        echo '[hi]'\n",
		},
		{name: "two files", args: []string{"repl", "a.js", "b.js"}, code: 2,
			errs: "jsrt-script: repl: one strategy at most, got 2 arguments (a.js b.js); usage: jsrt-script repl [STRATEGY.js]\n"},
		{name: "missing file", args: []string{"repl", "missing.js"}, code: 2,
			errs: "jsrt-script: cannot read strategy \"missing.js\": no such file or directory\n"},
		{name: "strategy error", args: []string{"repl", "broken.js"}, code: 2,
			errs: "jsrt-script: broken.js:2:7: Error: broken strategy\n"},
		{name: "bad flag", args: []string{"repl", "-j", "0"}, code: 2, errs: "jsrt-script: repl: -j must be at least 1, got 0\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := workspace(t)
			args := tc.args
			if !contains(args, "-j") && args[len(args)-1] != "0" {
				args = append(args, "-j", "2")
			}
			code, out, errs := cli(t, dir, tc.stdin, args...)
			out, errs = stable(out), stable(errs)
			if tc.name == "history" {
				// Exact history lines are the history command's; here it is
				// enough that the REPL reached it with the state directory.
				if code != 0 || !strings.Contains(errs, "no history in "+filepath.Join(dir, ".jsrt")+" yet") ||
					!strings.Contains(out, "build: 1 samples (confidence low)") {
					t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
				}
				return
			}
			if code != tc.code || out != stable(tc.out) || errs != stable(tc.errs) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", code, tc.code, out, tc.out, errs, tc.errs)
			}
		})
	}
}

func TestTypeScriptRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		code int
		errs string
	}{
		{"throw.ts", 2, "jsrt-script: throw.ts:13:11: RangeError: t: retries must be at least 1\n    at check (throw.ts:13:11)\n    at throw.ts:16:1\n"},
		{"syntax.ts", 2, "jsrt-script: syntax.ts:4:48: syntax error: Expected \")\" but found \"}\"\n"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			dir := workspace(t)
			code, _, errs := cli(t, dir, "", "run", tc.file)
			if code != tc.code || errs != tc.errs {
				t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errs, tc.errs)
			}
			// graph loads TypeScript the same way.
			code, _, errs = cli(t, dir, "", "graph", tc.file)
			if code != tc.code || errs != tc.errs {
				t.Errorf("graph: exit %d, stderr:\n%s", code, errs)
			}
		})
	}
	dir := workspace(t)
	code, out, errs := cli(t, dir, "", "run", "await.ts", "--output", "quiet")
	if code != 0 || !strings.HasSuffix(out, "ok: true\n") || errs != "" {
		t.Errorf("await.ts: exit %d\n%s\n%s", code, out, errs)
	}
	// In the REPL, an error from a loaded .ts keeps its position.
	code, _, errs = cli(t, dir, ".load throw.ts\n", "repl")
	if code != 2 || errs != "throw.ts:13:11: RangeError: t: retries must be at least 1\n    at check (throw.ts:13:11)\n    at throw.ts:16:1\n" {
		t.Errorf(".load throw.ts: exit %d, stderr:\n%s", code, errs)
	}
}

var _ = io.Discard
