package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jsrt-script/jsrt-script/scripts/types"
)

// initCmd writes a starter strategy for the project in the working
// directory, with tasks proposed from its Makefile, go.mod and
// package.json, and the typings. It never overwrites a file.
func initCmd(env *Env, args []string) int {
	fs := newFlags(env, "init", "[--ts]")
	ts := fs.Bool("ts", false, "write strategy.ts (TypeScript) instead of strategy.js")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		errorf(env, "init: no arguments expected, got %q; it writes into the current directory", strings.Join(pos, " "))
		return ExitUsage
	}
	name := "strategy.js"
	if *ts {
		name = "strategy.ts"
	}
	strategy := filepath.Join(env.Cwd, name)
	dts := filepath.Join(env.Cwd, types.FileName)
	if exists(strategy) {
		errorf(env, "init: %s already exists; not overwriting it", name)
		return ExitUsage
	}
	writeDTS := true
	if old, err := os.ReadFile(dts); err == nil {
		if !bytes.Equal(old, types.DTS) {
			errorf(env, "init: %s already exists; not overwriting it (jsrt-script types refreshes it)", types.FileName)
			return ExitUsage
		}
		writeDTS = false
	}
	groups, err := detect(env.Cwd)
	if err != nil {
		errorf(env, "init: %v", err)
		return ExitUsage
	}
	src := starter(filepath.Base(env.Cwd), groups, *ts)
	if err := writeNew(strategy, []byte(src)); err != nil {
		errorf(env, "init: %v", err)
		return ExitUsage
	}
	if writeDTS {
		if err := writeNew(dts, types.DTS); err != nil {
			errorf(env, "init: %v", err)
			return ExitUsage
		}
	}
	var from []string
	n := 0
	for _, g := range groups {
		from = append(from, g.source)
		for _, t := range g.tasks {
			if !t.off {
				n++
			}
		}
	}
	what := "an example task (no Makefile, go.mod or package.json here)"
	if len(groups) > 0 {
		what = fmt.Sprintf("%d tasks from %s", n, strings.Join(from, ", "))
	}
	fmt.Fprintf(env.Stdout, "wrote %s (%s) and %s\nnext: jsrt-script run %s --dry-run\n", name, what, types.FileName, name)
	return ExitOK
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// writeNew creates path with data, failing if it exists.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists; not overwriting it", filepath.Base(path))
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %v", filepath.Base(path), unwrapPathErr(err))
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %v", filepath.Base(path), err)
	}
	return f.Close()
}

// proposal is a task init proposes.
type proposal struct {
	name, desc string
	cmd        any  // string (shell) or []string
	off        bool // written commented out: not for every run (clean, install)
	deps       []string
	inputs     string // the name of an inputs constant, or ""
}

// group is the tasks proposed from one file.
type group struct {
	prefix          string // for names taken by an earlier group: "go:test"
	source, comment string
	consts          map[string][]string // constants the tasks refer to
	tasks           []proposal
}

// detect proposes tasks from the Makefile, go.mod and package.json in dir;
// a name taken by an earlier group gets the source's prefix ("go:test").
func detect(dir string) ([]group, error) {
	var groups []group
	for _, d := range []struct {
		prefix string
		fn     func(string) (*group, error)
	}{{"make", makeTasks}, {"go", goTasks}, {"npm", npmTasks}} {
		g, err := d.fn(dir)
		if err != nil {
			return nil, err
		}
		if g != nil && len(g.tasks) > 0 {
			g.prefix = d.prefix
			groups = append(groups, *g)
		}
	}
	taken := map[string]bool{}
	for gi := range groups {
		g := &groups[gi]
		rename := map[string]string{}
		for _, t := range g.tasks {
			rename[t.name] = t.name
			if taken[t.name] {
				rename[t.name] = g.prefix + ":" + t.name
			}
		}
		for ti := range g.tasks {
			t := &g.tasks[ti]
			t.name = rename[t.name]
			for di, dep := range t.deps {
				t.deps[di] = rename[dep]
			}
			taken[t.name] = true
		}
	}
	return groups, nil
}

// makeTasks proposes one task per target of the Makefile that looks like a
// command (not a file: no dot, slash, % or $), with the targets it depends
// on among those as deps.
func makeTasks(dir string) (*group, error) {
	var file string
	for _, name := range []string{"GNUmakefile", "makefile", "Makefile"} {
		if exists(filepath.Join(dir, name)) {
			file = name
			break
		}
	}
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %v", file, unwrapPathErr(err))
	}
	type rule struct {
		name    string
		prereqs []string
	}
	var rules []rule
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "\t") {
			continue
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		colon := strings.IndexByte(line, ':')
		if colon < 0 || strings.ContainsAny(line[:colon], "=") || strings.HasPrefix(line[colon:], ":=") || strings.HasPrefix(line[colon:], "::=") {
			continue
		}
		rest := strings.TrimPrefix(line[colon+1:], ":")
		if strings.HasPrefix(rest, "=") {
			continue
		}
		rest, _, _ = strings.Cut(rest, ";")
		for _, target := range strings.Fields(line[:colon]) {
			if strings.ContainsAny(target, "./%$()") {
				continue
			}
			if i, ok := seen[target]; ok {
				rules[i].prereqs = append(rules[i].prereqs, strings.Fields(rest)...)
				continue
			}
			seen[target] = len(rules)
			rules = append(rules, rule{target, strings.Fields(rest)})
		}
	}
	g := &group{source: file, comment: "From the " + file + ": one task per target; make still runs each target's own recipe."}
	for _, r := range rules {
		t := proposal{name: r.name, cmd: "make " + r.name, off: destructive[r.name]}
		for _, p := range r.prereqs {
			if _, ok := seen[p]; ok && p != r.name && !contains(t.deps, p) {
				t.deps = append(t.deps, p)
			}
		}
		g.tasks = append(g.tasks, t)
	}
	return g, nil
}

// destructive targets are proposed commented out: running them with
// everything else would undo or disturb the other tasks' work.
var destructive = map[string]bool{"clean": true, "distclean": true, "mrproper": true, "realclean": true,
	"install": true, "uninstall": true, "dist": true, "release": true, "deploy": true, "publish": true}

// goTasks proposes vet, build and test for a Go module: one test task per
// package with tests (plus "test" depending on them all) when there are
// several.
func goTasks(dir string) (*group, error) {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading go.mod: %v", unwrapPathErr(err))
	}
	module := ""
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
			module = strings.Trim(f[1], `"`)
		}
	}
	pkgs, err := testPackages(dir)
	if err != nil {
		return nil, err
	}
	g := &group{source: "go.mod", comment: fmt.Sprintf("From go.mod (module %s).", module),
		consts: map[string][]string{"GO_INPUTS": {"**/*.go", "go.mod", "go.sum"}}}
	g.tasks = append(g.tasks,
		proposal{name: "vet", cmd: []string{"go", "vet", "./..."}, inputs: "GO_INPUTS"},
		proposal{name: "build", cmd: []string{"go", "build", "./..."}, inputs: "GO_INPUTS"})
	if len(pkgs) <= 1 {
		g.tasks = append(g.tasks, proposal{name: "test", cmd: []string{"go", "test", "./..."}, inputs: "GO_INPUTS"})
		return g, nil
	}
	all := proposal{name: "test", cmd: "true", desc: "every package's tests"}
	for _, p := range pkgs {
		name := "test:" + p
		g.tasks = append(g.tasks, proposal{name: name, cmd: []string{"go", "test", "./" + p}, inputs: "GO_INPUTS"})
		all.deps = append(all.deps, name)
	}
	g.tasks = append(g.tasks, all)
	return g, nil
}

// testPackages lists the directories (relative, with "/") holding Go test
// files, skipping hidden directories, testdata, vendor and node_modules.
func testPackages(dir string) ([]string, error) {
	found := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, "_test.go") {
			rel, _ := filepath.Rel(dir, filepath.Dir(path))
			found[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("looking for Go packages: %v", err)
	}
	out := make([]string, 0, len(found))
	for p := range found {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// lifecycle scripts that package managers run by themselves.
var lifecycle = map[string]bool{"preinstall": true, "install": true, "postinstall": true, "prepublish": true,
	"preprepare": true, "prepare": true, "postprepare": true, "prepublishOnly": true, "prepack": true,
	"postpack": true, "publish": true, "postpublish": true, "preversion": true, "version": true, "postversion": true}

// npmTasks proposes one task per script of package.json, run with the
// package manager whose lock file is there (pnpm, yarn, else npm).
func npmTasks(dir string) (*group, error) {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading package.json: %v", unwrapPathErr(err))
	}
	var pkg struct {
		Scripts map[string]any `json:"scripts"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return nil, fmt.Errorf("package.json is not valid JSON: %v", err)
	}
	pm := "npm"
	switch {
	case exists(filepath.Join(dir, "pnpm-lock.yaml")):
		pm = "pnpm"
	case exists(filepath.Join(dir, "yarn.lock")):
		pm = "yarn"
	}
	var names []string
	for name, v := range pkg.Scripts {
		if _, ok := v.(string); !ok || lifecycle[name] {
			continue
		}
		if hook := strings.TrimPrefix(strings.TrimPrefix(name, "pre"), "post"); hook != name && pkg.Scripts[hook] != nil {
			continue // runs with its script
		}
		names = append(names, name)
	}
	sort.Strings(names)
	g := &group{source: "package.json", comment: fmt.Sprintf("From package.json: its scripts, run with %s.", pm)}
	for _, n := range names {
		g.tasks = append(g.tasks, proposal{name: n, cmd: []string{pm, "run", n}})
	}
	return g, nil
}

// starter renders the strategy.
func starter(project string, groups []group, ts bool) string {
	var b strings.Builder
	file := "strategy.js"
	if ts {
		file = "strategy.ts"
	} else {
		b.WriteString("// @ts-check\n")
	}
	fmt.Fprintf(&b, "/// <reference path=\"./%s\" />\n", types.FileName)
	fmt.Fprintf(&b, "// The jsrt-script strategy of %s, written by `jsrt-script init`: edit it.\n//\n", project)
	fmt.Fprintf(&b, "//   jsrt-script run %s --dry-run   # the plan, in start order\n", file)
	fmt.Fprintf(&b, "//   jsrt-script run %s             # every task, in parallel\n", file)
	fmt.Fprintf(&b, "//   jsrt-script run %s TASK        # one task and what it needs\n//\n", file)
	b.WriteString("// Task options: cmd, deps, inputs, outputs, env, cwd, timeout, retries, pool,\n")
	b.WriteString("// tags, priority, critical, cache. Declaring inputs (and outputs) lets a task\n")
	b.WriteString("// be skipped when they did not change.\n")
	if ts {
		b.WriteString("import { task } from \"jsrt\";\n")
	} else {
		b.WriteString("const { task } = require(\"jsrt\");\n")
	}
	if len(groups) == 0 {
		b.WriteString("\n// No Makefile, go.mod or package.json was found here: an example to start from.\n")
		b.WriteString("task(\"hello\", { cmd: \"echo hello from jsrt-script\" });\n")
		return b.String()
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "\n// %s\n", g.comment)
		names := make([]string, 0, len(g.consts))
		for n := range g.consts {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "const %s = %s;\n", n, jsValue(g.consts[n]))
		}
		for _, t := range g.tasks {
			opts := []string{"cmd: " + jsValue(t.cmd)}
			if len(t.deps) > 0 {
				opts = append(opts, "deps: "+jsValue(t.deps))
			}
			if t.inputs != "" {
				opts = append(opts, "inputs: "+t.inputs)
			}
			if t.desc != "" {
				opts = append(opts, "description: "+jsValue(t.desc))
			}
			line := fmt.Sprintf("task(%s, { %s });", jsValue(t.name), strings.Join(opts, ", "))
			if t.off {
				line = "// " + line + " // not part of every run: uncomment to use"
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// jsValue is a string or a list of strings as a JavaScript literal.
func jsValue(v any) string {
	out, _ := json.Marshal(v)
	return strings.ReplaceAll(string(out), `","`, `", "`)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
