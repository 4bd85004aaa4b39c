package cli

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jsrt-script/jsrt-script/scripts/types"
)

// copyTree copies the directory src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

const initHeader = `/// <reference path="./jsrt.d.ts" />
// The jsrt-script strategy of project, written by ` + "`jsrt-script init`" + `: edit it.
//
//   jsrt-script run strategy.EXT --dry-run   # the plan, in start order
//   jsrt-script run strategy.EXT             # every task, in parallel
//   jsrt-script run strategy.EXT TASK        # one task and what it needs
//
// Task options: cmd, deps, inputs, outputs, env, cwd, timeout, retries, pool,
// tags, priority, critical, cache. Declaring inputs (and outputs) lets a task
// be skipped when they did not change.
`

const initTasks = `
// From the Makefile: one task per target; make still runs each target's own recipe.
task("all", { cmd: "make all", deps: ["test-data"] });
task("test", { cmd: "make test", deps: ["all"] });
task("lint", { cmd: "make lint" });
task("test-data", { cmd: "make test-data" });
// task("clean", { cmd: "make clean" }); // not part of every run: uncomment to use

// From go.mod (module example.com/project).
const GO_INPUTS = ["**/*.go", "go.mod", "go.sum"];
task("vet", { cmd: ["go", "vet", "./..."], inputs: GO_INPUTS });
task("build", { cmd: ["go", "build", "./..."], inputs: GO_INPUTS });
task("test:a", { cmd: ["go", "test", "./a"], inputs: GO_INPUTS });
task("test:b/c", { cmd: ["go", "test", "./b/c"], inputs: GO_INPUTS });
task("go:test", { cmd: "true", deps: ["test:a", "test:b/c"], description: "every package's tests" });

// From package.json: its scripts, run with yarn.
task("npm:build", { cmd: ["yarn", "run", "build"] });
task("npm:lint", { cmd: ["yarn", "run", "lint"] });
task("start", { cmd: ["yarn", "run", "start"] });
task("npm:test", { cmd: ["yarn", "run", "test"] });
`

func TestInit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "project")
	copyTree(t, "testdata/init/project", dir)

	code, out, errs := cli(t, dir, "", "init")
	if code != 0 || errs != "" || out != "wrote strategy.js (13 tasks from Makefile, go.mod, package.json) and jsrt.d.ts\nnext: jsrt-script run strategy.js --dry-run\n" {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "strategy.js"))
	want := "// @ts-check\n" + strings.ReplaceAll(initHeader, "EXT", "js") + "const { task } = require(\"jsrt\");\n" + initTasks
	if string(got) != want {
		t.Errorf("strategy.js:\n%s\nwant:\n%s", got, want)
	}
	if dts, _ := os.ReadFile(filepath.Join(dir, "jsrt.d.ts")); !bytes.Equal(dts, types.DTS) {
		t.Error("jsrt.d.ts is not the embedded typings")
	}
	// What init wrote is a valid strategy.
	if code, out, errs := cli(t, dir, "", "run", "strategy.js", "--dry-run"); code != 0 || !strings.Contains(out, "dry run: 13 tasks would run") {
		t.Errorf("dry run of the starter: exit %d\n%s%s", code, out, errs)
	}

	// Never overwrites.
	code, out, errs = cli(t, dir, "", "init")
	if code != 2 || out != "" || errs != "jsrt-script: init: strategy.js already exists; not overwriting it\n" {
		t.Errorf("second init: exit %d\n%s%s", code, out, errs)
	}

	// --ts next to the same typings.
	code, out, errs = cli(t, dir, "", "init", "--ts")
	if code != 0 || errs != "" || out != "wrote strategy.ts (13 tasks from Makefile, go.mod, package.json) and jsrt.d.ts\nnext: jsrt-script run strategy.ts --dry-run\n" {
		t.Fatalf("init --ts: exit %d\n%s%s", code, out, errs)
	}
	got, _ = os.ReadFile(filepath.Join(dir, "strategy.ts"))
	want = strings.ReplaceAll(initHeader, "EXT", "ts") + "import { task } from \"jsrt\";\n" + initTasks
	if string(got) != want {
		t.Errorf("strategy.ts:\n%s\nwant:\n%s", got, want)
	}
	if code, out, errs := cli(t, dir, "", "graph", "strategy.ts"); code != 0 || !strings.HasPrefix(out, "level 0: ") {
		t.Errorf("graph of the TypeScript starter: exit %d\n%s%s", code, out, errs)
	}
}

func TestInitEdgeCases(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	code, out, errs := cli(t, empty, "", "init")
	if code != 0 || out != "wrote strategy.js (an example task (no Makefile, go.mod or package.json here)) and jsrt.d.ts\nnext: jsrt-script run strategy.js --dry-run\n" {
		t.Errorf("empty dir: exit %d\n%s%s", code, out, errs)
	}
	got, _ := os.ReadFile(filepath.Join(empty, "strategy.js"))
	if !strings.HasSuffix(string(got), "\n// No Makefile, go.mod or package.json was found here: an example to start from.\ntask(\"hello\", { cmd: \"echo hello from jsrt-script\" });\n") {
		t.Errorf("empty dir strategy:\n%s", got)
	}

	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "jsrt.d.ts"), []byte("// mine\n"), 0o644)
	code, out, errs = cli(t, other, "", "init")
	if code != 2 || out != "" || errs != "jsrt-script: init: jsrt.d.ts already exists; not overwriting it (jsrt-script types refreshes it)\n" {
		t.Errorf("own jsrt.d.ts: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(other, "strategy.js")); err == nil {
		t.Error("strategy.js written although init failed")
	}

	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "package.json"), []byte("{"), 0o644)
	code, _, errs = cli(t, bad, "", "init")
	if code != 2 || errs != "jsrt-script: init: package.json is not valid JSON: unexpected end of JSON input\n" {
		t.Errorf("bad package.json: exit %d\n%s", code, errs)
	}

	code, _, errs = cli(t, bad, "", "init", "somewhere")
	if code != 2 || errs != "jsrt-script: init: no arguments expected, got \"somewhere\"; it writes into the current directory\n" {
		t.Errorf("argument: exit %d\n%s", code, errs)
	}
}

func TestTypesCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "typings"), 0o755)
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	tests := []struct {
		args      []string
		code      int
		out, errs string
	}{
		{[]string{"types"}, 0, "wrote jsrt.d.ts\n", ""},
		{[]string{"types", "typings"}, 0, "wrote typings/jsrt.d.ts\n", ""},
		{[]string{"types", "typings"}, 0, "wrote typings/jsrt.d.ts\n", ""}, // refreshes
		{[]string{"types", "missing"}, 2, "", "jsrt-script: types: directory \"missing\" does not exist\n"},
		{[]string{"types", "file"}, 2, "", "jsrt-script: types: \"file\" is not a directory\n"},
		{[]string{"types", "a", "b"}, 2, "", "jsrt-script: types: one directory at most, got 2 arguments; usage: jsrt-script types [DIR]\n"},
	}
	for _, tc := range tests {
		code, out, errs := cli(t, dir, "", tc.args...)
		if code != tc.code || out != tc.out || errs != tc.errs {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.args, code, out, errs)
		}
	}
	for _, f := range []string{"jsrt.d.ts", "typings/jsrt.d.ts"} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); !bytes.Equal(b, types.DTS) {
			t.Errorf("%s is not the embedded typings", f)
		}
	}
	if code, out, _ := cli(t, dir, "", "types", "-"); code != 0 || out != string(types.DTS) {
		t.Errorf("types -: exit %d, %d bytes", code, len(out))
	}
}
