package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A tool under comparison. Skip is set (and the tool left out, with the
// reason printed and recorded) when it could not be found or installed.
type tool struct {
	Name    string
	Version string
	Skip    string
	bin     string
}

const goTaskVersion = "v3.54.0"

// toolNames in table order.
var toolNames = []string{"make", "ninja", "go-task", "turbo", "jsrt-script"}

type env struct {
	repo   string // repository root
	tools  string // bench/.tools
	out    string // bench/out
	quick  bool
	jsrt   string // jsrt-script binary
	vars   []string
	npmVer string
}

// procEnv is the environment every tool runs in: MAKEFLAGS and friends
// unset, telemetry and update checks off, the tools directory on PATH.
func procEnv(toolsBin string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "GNUMAKEFLAGS", "MAKEOVERRIDES", "PATH", "NINJA_STATUS":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "PATH="+toolsBin+":"+os.Getenv("PATH"),
		"TURBO_TELEMETRY_DISABLED=1", "DO_NOT_TRACK=1", "TURBO_NO_UPDATE_NOTIFIER=1", "NO_COLOR=1",
		"npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
}

// gnuTime is GNU time's path when it is installed (Debian package time);
// findGNUTime sets it.
var gnuTime string

func findGNUTime() {
	if err := aptInstall("time", "time"); err != nil {
		logf("GNU time unavailable (%v): peak RSS from wait4 (an upper bound: includes the harness's own)", err)
	}
	if out, err := exec.Command("/usr/bin/time", "-f", "%M", "true").CombinedOutput(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		gnuTime = "/usr/bin/time"
	}
}

func capture(dir string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return strings.TrimSpace(b.String()), err
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

func isRoot() bool { return os.Geteuid() == 0 }

// aptInstall installs a Debian package when the command is missing.
func aptInstall(command, pkg string) error {
	if _, err := exec.LookPath(command); err == nil {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil || !isRoot() {
		return fmt.Errorf("%s not found, and cannot apt-get install %s here (needs apt-get and root)", command, pkg)
	}
	logf("installing %s (apt-get install %s)", command, pkg)
	if out, err := capture("/", "sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "+pkg); err != nil {
		return fmt.Errorf("apt-get install %s failed: %v: %s", pkg, err, lastLines(out, 5))
	}
	_, err := exec.LookPath(command)
	return err
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " | ")
}

// setupTools finds or installs every tool. make is required; the others
// are skipped with a reason when they cannot be had.
func setupTools(e *env, only map[string]bool) map[string]*tool {
	ts := map[string]*tool{}
	for _, n := range toolNames {
		ts[n] = &tool{Name: n}
		if len(only) > 0 && !only[n] {
			ts[n].Skip = "not selected (-tools)"
		}
	}
	if t := ts["make"]; t.Skip == "" {
		if p, err := exec.LookPath("make"); err != nil {
			t.Skip = "make not found"
		} else {
			t.bin = p
			v, _ := capture("/", p, "--version")
			t.Version = firstLine(v)
		}
	}
	if t := ts["ninja"]; t.Skip == "" {
		if err := aptInstall("ninja", "ninja-build"); err != nil {
			t.Skip = err.Error()
		} else {
			t.bin, _ = exec.LookPath("ninja")
			v, _ := capture("/", t.bin, "--version")
			t.Version = "ninja " + v
		}
	}
	if t := ts["go-task"]; t.Skip == "" {
		bin := filepath.Join(e.tools, "bin", "task")
		v, err := capture("/", bin, "--version")
		if err != nil || !strings.Contains(v, strings.TrimPrefix(goTaskVersion, "v")) {
			logf("installing go-task %s into %s (go install)", goTaskVersion, filepath.Join(e.tools, "bin"))
			cmd := exec.Command("go", "install", "github.com/go-task/task/v3/cmd/task@"+goTaskVersion)
			cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(e.tools, "bin"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Skip = fmt.Sprintf("go install of go-task %s failed: %v: %s", goTaskVersion, err, lastLines(string(out), 3))
			}
			v, err = capture("/", bin, "--version")
			if err != nil && t.Skip == "" {
				t.Skip = "go-task installed but does not run: " + err.Error()
			}
		}
		if t.Skip == "" {
			t.bin = bin
			t.Version = "go-task " + firstLine(v)
		}
	}
	if t := ts["turbo"]; t.Skip == "" {
		bin := filepath.Join(e.tools, "turbo", "node_modules", ".bin", "turbo")
		if _, err := os.Stat(bin); err != nil {
			switch {
			case e.quick:
				t.Skip = "not installed, and quick mode does not install it (run the full mode, or npm install --prefix bench/.tools/turbo turbo)"
			default:
				if _, err := exec.LookPath("npm"); err != nil {
					t.Skip = "npm not found, cannot install turbo"
					break
				}
				logf("installing turbo into %s (npm install --prefix)", filepath.Join(e.tools, "turbo"))
				if out, err := capture("/", "npm", "install", "--prefix", filepath.Join(e.tools, "turbo"), "turbo"); err != nil {
					t.Skip = fmt.Sprintf("npm install turbo failed: %v: %s", err, lastLines(out, 3))
				}
			}
		}
		if t.Skip == "" {
			if _, err := exec.LookPath("npm"); err != nil {
				t.Skip = "npm not found (every turbo task runs through npm run)"
			} else if v, err := capture("/", bin, "--version"); err != nil {
				t.Skip = "turbo does not run: " + err.Error()
			} else {
				t.bin = bin
				t.Version = "turbo " + firstLine(v)
				nv, _ := capture("/", "npm", "--version")
				e.npmVer = firstLine(nv)
				t.Version += ", npm " + e.npmVer
				if v, err := capture("/", "node", "--version"); err == nil {
					t.Version += ", node " + firstLine(v)
				}
			}
		}
	}
	if t := ts["jsrt-script"]; t.Skip == "" {
		t.bin = e.jsrt
		v, err := capture("/", t.bin, "--version")
		if err != nil {
			t.Skip = "jsrt-script binary does not run: " + err.Error()
		} else {
			t.Version = firstLine(v)
			if d, err := capture(e.repo, "git", "describe", "--tags", "--always", "--dirty"); err == nil {
				t.Version += " (" + d + ")"
			}
		}
	}
	return ts
}

// argv is the command line that builds everything with p slots. For
// jsrt-script, a variant containing "nocache" adds --no-cache (every task
// runs, nothing is stored), one containing "fixed-j" adds --fixed-j (its
// resource-aware parallelism off: a diagnostic, not the default), and
// "json" adds --json (the summary the harness reads -j from); turbo's
// "force" adds --force.
func (t *tool) argv(p int, variant string) []string {
	ps := fmt.Sprint(p)
	switch t.Name {
	case "make":
		return []string{t.bin, "-j" + ps}
	case "ninja":
		return []string{t.bin, "-j" + ps}
	case "go-task":
		return []string{t.bin, "--concurrency", ps, "all"}
	case "turbo":
		a := []string{t.bin, "run", "build", "--concurrency=" + ps, "--output-logs=none", "--ui=stream", "--no-update-notifier"}
		if variant == "force" {
			a = append(a, "--force")
		}
		return a
	case "jsrt-script":
		a := []string{t.bin, "run", "strategy.js", "-j", ps, "--output", "quiet"}
		if strings.Contains(variant, "json") {
			a = append(a, "--json")
		}
		if strings.Contains(variant, "nocache") {
			a = append(a, "--no-cache")
		}
		if strings.Contains(variant, "fixed-j") {
			a = append(a, "--fixed-j")
		}
		return a
	}
	panic("unknown tool " + t.Name)
}

// prepare writes the tool's own description of g into ws (a directory that
// already holds the sources).
func (t *tool) prepare(e *env, ws string, g *graph) error {
	switch t.Name {
	case "make":
		return writeMakefile(filepath.Join(ws, "Makefile"), g)
	case "ninja":
		return writeNinja(filepath.Join(ws, "build.ninja"), g)
	case "go-task":
		return writeTaskfile(filepath.Join(ws, "Taskfile.yml"), g)
	case "jsrt-script":
		return writeStrategy(filepath.Join(ws, "strategy.js"), g)
	case "turbo":
		if err := writeTurbo(ws, g, e.npmVer); err != nil {
			return err
		}
		// npm install links the workspace packages and writes the lockfile;
		// then everything is committed (turbo hashes through git).
		steps := [][]string{
			{"npm", "install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"},
			{"git", "init", "-q"},
			{"git", "add", "-A"},
			{"git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "bench graph"},
		}
		for _, s := range steps {
			cmd := exec.Command(s[0], s[1:]...)
			cmd.Dir = ws
			cmd.Env = e.vars
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %v: %s", strings.Join(s, " "), err, lastLines(string(out), 5))
			}
		}
	}
	return nil
}

// clean removes outputs, run.log and (unless keepState) the tool's state,
// so that the next build runs every task.
func (t *tool) clean(ws string, g *graph, keepState bool) error {
	for _, tk := range g.Tasks {
		if err := os.Remove(filepath.Join(ws, outOf(tk))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if t.Name == "turbo" {
			os.RemoveAll(filepath.Join(ws, dirOf(tk), ".turbo"))
		}
	}
	os.Remove(filepath.Join(ws, "run.log"))
	if keepState {
		return nil
	}
	var state []string
	switch t.Name {
	case "ninja":
		state = []string{".ninja_log", ".ninja_deps"}
	case "go-task":
		state = []string{".task"}
	case "turbo":
		state = []string{".turbo", "node_modules/.cache/turbo"}
	case "jsrt-script":
		state = []string{".jsrt"}
	}
	for _, s := range state {
		if err := os.RemoveAll(filepath.Join(ws, s)); err != nil {
			return err
		}
	}
	return nil
}

type runResult struct {
	Wall   time.Duration
	RSSKB  int64 // peak RSS of the tool's process tree (largest process), from wait4
	Err    error
	Stdout []byte // when asked for (jsrt-script's --json summary)
}

// run starts argv in dir, its output into logPath, and waits (killing its
// process group after timeout).
func run(dir string, vars []string, argv []string, logPath string, timeout time.Duration) runResult {
	return runOut(dir, vars, argv, logPath, timeout, false)
}

// runOut is run, keeping stdout (still copied to the log) when keep is set.
func runOut(dir string, vars []string, argv []string, logPath string, timeout time.Duration, keep bool) runResult {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Peak RSS through GNU time, which forks: a child that Go starts (with
	// vfork) reports the starting process's own peak RSS as its ru_maxrss
	// (Linux keeps the high-water mark across exec), so wait4 from here
	// would report this harness's memory for small tools.
	var rssFile string
	if gnuTime != "" {
		f, err := os.CreateTemp("", "peers-rss-")
		if err == nil {
			rssFile = f.Name()
			f.Close()
			defer os.Remove(rssFile)
			argv = append([]string{gnuTime, "-f", "%M", "-o", rssFile}, argv...)
		}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = vars
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var lf *os.File
	if logPath != "" {
		var err error
		if lf, err = os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return runResult{Err: err}
		}
		defer lf.Close()
		fmt.Fprintf(lf, "\n$ %s\n", strings.Join(argv, " "))
		cmd.Stdout, cmd.Stderr = lf, lf
	}
	var stdout bytes.Buffer
	if keep {
		if lf != nil {
			cmd.Stdout = io.MultiWriter(&stdout, lf)
		} else {
			cmd.Stdout = &stdout
		}
	}
	start := time.Now()
	err := cmd.Run()
	res := runResult{Wall: time.Since(start), Stdout: stdout.Bytes()}
	if rssFile != "" {
		if b, err := os.ReadFile(rssFile); err == nil {
			lines := strings.Fields(string(b))
			if len(lines) > 0 {
				res.RSSKB, _ = strconv.ParseInt(lines[len(lines)-1], 10, 64)
			}
		}
	} else if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.RSSKB = ru.Maxrss // an upper bound: includes this harness's own peak
		}
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s", timeout)
	}
	if err != nil {
		res.Err = fmt.Errorf("%s: %v (log: %s)", strings.Join(argv, " "), err, logPath)
	}
	return res
}

// runLog returns the task names in run.log, one per command run. Names
// are matched rather than lines split: go-task's shell writes echo's text
// and its newline separately, so parallel appends can share a line.
func runLog(ws string) []string {
	b, err := os.ReadFile(filepath.Join(ws, "run.log"))
	if err != nil {
		return nil
	}
	return logName.FindAllString(string(b), -1)
}

var logName = regexp.MustCompile(`t[0-9]+`)
