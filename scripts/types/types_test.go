package types

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tscVersion is the TypeScript compiler the typings are checked with. It
// is installed from the npm registry into .tsc/ (ignored by git) on first
// use.
const tscVersion = "5.9.3"

// tsc returns the path of the TypeScript compiler, installing it if needed;
// the test is skipped when npm is missing.
func tsc(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join(".tsc", "node_modules", ".bin", "tsc"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--version").Output(); err == nil && strings.TrimSpace(string(out)) == "Version "+tscVersion {
		return bin
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed: the typings are not type-checked (install Node.js and npm to run this test)")
	}
	if err := os.MkdirAll(".tsc", 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(npm, "install", "--prefix", ".tsc", "--no-audit", "--no-fund", "--silent", "--no-save", "typescript@"+tscVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing typescript@%s with npm: %v\n%s", tscVersion, err, out)
	}
	return bin
}

// check runs tsc over jsrt.d.ts and files, as an editor would check
// strategies: JavaScript with checkJs, strict, no DOM and no Node typings.
func check(t *testing.T, files ...string) (string, error) {
	t.Helper()
	args := []string{"--noEmit", "--pretty", "false", "--allowJs", "--checkJs", "--strict", "--target", "es2022",
		"--module", "esnext", "--moduleResolution", "bundler", "--moduleDetection", "force", "--lib", "es2022", "jsrt.d.ts"}
	cmd := exec.Command(tsc(t), append(args, files...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestExamplesTypeCheck checks every example strategy that ships, and a
// file using the whole API, against the typings.
func TestExamplesTypeCheck(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../examples", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".js") || strings.HasSuffix(path, ".ts")) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no example strategies found under scripts/examples")
	}
	out, err := check(t, append(files, "testdata/right.ts")...)
	if err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
}

// TestTypingsCatchMistakes: the typings reject wrong options, unknown
// hooks and unknown result fields, with tsc's own messages.
func TestTypingsCatchMistakes(t *testing.T) {
	out, err := check(t, "testdata/wrong.js")
	if err == nil {
		t.Fatal("tsc accepted testdata/wrong.js")
	}
	want := `testdata/wrong.js(5,13): error TS2322: Type 'number' is not assignable to type 'string | string[]'.
testdata/wrong.js(6,26): error TS2561: Object literal may only specify known properties, but 'dep' does not exist in type 'TaskOptions'. Did you mean to write 'deps'?
testdata/wrong.js(7,14): error TS2345: Argument of type '"priorty"' is not assignable to parameter of type 'keyof SchedulerHooks'.
testdata/wrong.js(8,32): error TS2339: Property 'durationSeconds' does not exist on type 'TaskSummary'.
`
	if out != want {
		t.Errorf("tsc said:\n%s\nwant:\n%s", out, want)
	}
}

func TestEmbedded(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(FileName)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, DTS) {
		t.Error("DTS differs from jsrt.d.ts")
	}
}
