// Command peers benchmarks jsrt-script side by side with GNU make, ninja,
// go-task and Turborepo on the same generated task graphs, in the same run,
// and regenerates the "Peers" section of BENCHMARKS.md.
//
//	go run ./bench/peers            full run (about half an hour); updates
//	                                BENCHMARKS.md and bench/peers/results.json
//	go run ./bench/peers -quick     a few minutes, small graphs, turbo only if
//	                                installed; writes bench/out/peers-quick.{md,json}
//	go run ./bench/peers gen -family skewed -n 200 -seed 1 -out DIR
//	                                the generator alone: every tool's files and
//	                                theory.json for one graph
//	go run ./bench/peers render [-in FILE] [-doc BENCHMARKS.md]
//	                                the report of a results file, measuring nothing
//	go run ./bench/peers -rows makespan -merge
//	                                re-measure some rows, keep the others
//	go run ./bench/peers -tools make,ninja,go-task,jsrt-script -merge
//	                                re-measure some tools, keep the others'
//	                                results (turbo's take most of a full run)
//
// (make bench-peers [QUICK=1] runs the first two.)
//
// Tools are installed into bench/.tools when missing (go-task with go
// install, turbo with npm install --prefix; ninja and hyperfine with
// apt-get); a tool that cannot be had is skipped, and the report says so.
// Workspaces go to bench/out/work.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peers %s: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peers: "+format+"\n", args...)
	os.Exit(1)
}

type config struct {
	Skewed, Trap, Chain int   // makespan graph sizes
	Wide                []int // overhead and no-op sizes
	Edits               int   // replay graph size
	Runs                int   // measured runs per makespan cell
	OverheadRuns        int   // measured runs per overhead cell
	NoopMin, NoopMax    int   // hyperfine runs
	TurboMax            int   // largest graph turbo is run on
}

var (
	fullConfig  = config{Skewed: 200, Trap: 102, Chain: 100, Wide: []int{1000, 10000}, Edits: 30, Runs: 5, OverheadRuns: 5, NoopMin: 5, NoopMax: 10, TurboMax: 1000}
	quickConfig = config{Skewed: 80, Trap: 42, Chain: 40, Wide: []int{1000}, Edits: 20, Runs: 2, OverheadRuns: 3, NoopMin: 3, NoopMax: 5, TurboMax: 200}
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "gen" {
		genMain(os.Args[2:])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "render" {
		renderMain(os.Args[2:])
		return
	}
	quick := flag.Bool("quick", false, "quick mode: small graphs, few runs, turbo only if already installed")
	bin := flag.String("bin", "", "jsrt-script binary (default: build ./cmd/jsrt-script into bench/out)")
	only := flag.String("tools", "", "comma-separated tools to run (default: all of "+strings.Join(toolNames, ",")+")")
	rows := flag.String("rows", "makespan,overhead,noop,replay", "which measurements to take")
	doc := flag.String("doc", "", "markdown file whose Peers section to regenerate (default: BENCHMARKS.md in full mode, none in quick mode)")
	seed := flag.Uint64("seed", 1, "graph seed")
	runs := flag.Int("runs", 0, "measured runs per cell (default: 5 full, 2 quick)")
	merge := flag.Bool("merge", false, "keep the rows, and the tools' results, of the existing results file that this run (-rows, -tools) does not measure")
	flag.Parse()

	repo, err := repoRoot()
	if err != nil {
		fatalf("%v", err)
	}
	e := &env{repo: repo, tools: filepath.Join(repo, "bench", ".tools"), out: filepath.Join(repo, "bench", "out"), quick: *quick}
	cfg := fullConfig
	if *quick {
		cfg = quickConfig
	}
	if *runs > 0 {
		cfg.Runs = *runs
	}
	for _, d := range []string{filepath.Join(e.tools, "bin"), e.out} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fatalf("%v", err)
		}
	}
	e.vars = procEnv(filepath.Join(e.tools, "bin"))
	e.jsrt = *bin
	if e.jsrt == "" {
		e.jsrt = filepath.Join(e.out, "jsrt-script")
		logf("building jsrt-script into %s", e.jsrt)
		cmd := exec.Command("go", "build", "-trimpath", "-o", e.jsrt, "./cmd/jsrt-script")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			fatalf("go build: %v\n%s", err, out)
		}
	} else if e.jsrt, err = filepath.Abs(e.jsrt); err != nil {
		fatalf("%v", err)
	}
	findGNUTime()
	if err := aptInstall("hyperfine", "hyperfine"); err != nil {
		logf("hyperfine unavailable (%v): the harness times no-op runs itself", err)
	}
	sel := map[string]bool{}
	for _, t := range strings.Split(*only, ",") {
		if t = strings.TrimSpace(t); t != "" {
			sel[t] = true
		}
	}
	ts := setupTools(e, sel)
	res := &results{Mode: "full", Date: time.Now().UTC().Format(time.RFC3339), Machine: machineInfo(), Versions: map[string]string{}, Skipped: map[string]string{}, Seed: *seed, Config: cfg}
	if *quick {
		res.Mode = "quick"
	}
	if v, err := capture("/", "hyperfine", "--version"); err == nil {
		res.Versions["hyperfine"] = v
	}
	res.Versions["go"] = runtime.Version()
	for _, n := range toolNames {
		t := ts[n]
		if t.Skip != "" {
			res.Skipped[n] = t.Skip
			logf("SKIPPING %s: %s", n, t.Skip)
		} else {
			res.Versions[n] = t.Version
			logf("%s: %s", n, t.Version)
		}
	}
	res.LoadStart = loadAvg()
	start := time.Now()
	want := map[string]bool{}
	for _, r := range strings.Split(*rows, ",") {
		want[strings.TrimSpace(r)] = true
	}
	active := func(maxN int) []*tool {
		var out []*tool
		for _, n := range toolNames {
			t := ts[n]
			if t.Skip != "" || (n == "turbo" && maxN > cfg.TurboMax) {
				continue
			}
			out = append(out, t)
		}
		return out
	}
	if want["makespan"] {
		for _, fam := range []struct {
			name string
			n    int
		}{{"skewed", cfg.Skewed}, {"trap", cfg.Trap}, {"chain", cfg.Chain}} {
			g, err := generate(fam.name, fam.n, *seed)
			if err != nil {
				fatalf("%v", err)
			}
			res.Theory = append(res.Theory, theoryOf(g))
			res.Makespan = append(res.Makespan, measureMakespan(e, g, active(fam.n), cfg.Runs)...)
		}
	}
	if want["overhead"] || want["noop"] {
		for _, n := range cfg.Wide {
			g, _ := generate("wide", n, *seed)
			res.Theory = append(res.Theory, theoryOf(g))
			if n > cfg.TurboMax && ts["turbo"].Skip == "" {
				res.Notes = append(res.Notes, fmt.Sprintf("turbo not run at N = %d (capped at %d: every turbo task is an npm run)", n, cfg.TurboMax))
			}
			if want["overhead"] {
				res.Overhead = append(res.Overhead, measureOverhead(e, g, active(n), cfg.OverheadRuns)...)
			}
			if want["noop"] {
				res.Noop = append(res.Noop, measureNoop(e, g, active(n), cfg.NoopMin, cfg.NoopMax)...)
			}
		}
	}
	if want["replay"] {
		g, _ := generate("edits", cfg.Edits, *seed)
		res.Theory = append(res.Theory, theoryOf(g))
		for _, t := range active(cfg.Edits) {
			ws := filepath.Join(e.out, "work", fmt.Sprintf("edits-%d", cfg.Edits), t.Name)
			if err := freshWorkspace(e, t, ws, g); err != nil {
				res.Replay = append(res.Replay, replayResult{Tool: t.Name, Err: err.Error()})
				continue
			}
			logf("replay: %s, %d edits", t.Name, len(edits(g)))
			res.Replay = append(res.Replay, replay(e, t, ws, g))
		}
	}
	res.LoadEnd = loadAvg()
	res.DurationS = time.Since(start).Seconds()

	jsonPath := filepath.Join(e.out, "peers-quick.json")
	mdPath := filepath.Join(e.out, "peers-quick.md")
	docPath := *doc
	if !*quick {
		jsonPath = filepath.Join(repo, "bench", "peers", "results.json")
		mdPath = filepath.Join(e.out, "peers.md")
		if docPath == "" {
			docPath = filepath.Join(repo, "BENCHMARKS.md")
		}
	}
	if *merge {
		if err := mergeInto(res, jsonPath, want, sel); err != nil {
			fatalf("-merge: %v", err)
		}
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(jsonPath, append(b, '\n'), 0o644); err != nil {
		fatalf("%v", err)
	}
	rel, _ := filepath.Rel(repo, jsonPath)
	md := report(res, rel)
	if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
		fatalf("%v", err)
	}
	fmt.Print(md)
	if docPath != "" {
		if err := spliceDoc(docPath, md); err != nil {
			fatalf("%v", err)
		}
		logf("updated the Peers section of %s", docPath)
	}
	logf("done in %s; results in %s", time.Since(start).Round(time.Second), jsonPath)
}

// mergeInto completes res (which measured only the rows in want, and only
// the tools in sel when sel is not empty) with the other rows and tools of
// the results file at path, and says so in the notes.
func mergeInto(res *results, path string, want, sel map[string]bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var old results
	if err := json.Unmarshal(b, &old); err != nil {
		return err
	}
	if old.Mode != res.Mode {
		return fmt.Errorf("%s holds a %s run, this is a %s run", path, old.Mode, res.Mode)
	}
	var kept []string
	if !want["makespan"] {
		res.Makespan, kept = old.Makespan, append(kept, "makespan")
	}
	if !want["overhead"] {
		res.Overhead, kept = old.Overhead, append(kept, "overhead")
	}
	if !want["noop"] {
		res.Noop, kept = old.Noop, append(kept, "no-op")
	}
	if !want["replay"] {
		res.Replay, kept = old.Replay, append(kept, "replay")
	}
	for _, tool := range mergeTools(res, &old, want, sel) {
		res.Notes = append(res.Notes, toolNote(&old, tool))
	}
	if len(kept) == 0 {
		return nil
	}
	have := map[string]bool{}
	for _, th := range res.Theory {
		have[fmt.Sprint(th.Family, th.N)] = true
	}
	for _, th := range old.Theory {
		if !have[fmt.Sprint(th.Family, th.N)] {
			res.Theory = append(res.Theory, th)
		}
	}
	for _, n := range old.Notes {
		if !strings.HasPrefix(n, "rows ") && !strings.Contains(n, ": results from the run of ") {
			res.Notes = append(res.Notes, n)
		}
	}
	res.Notes = append(res.Notes, fmt.Sprintf("rows %s from the run of %s (load average %s at its start, %s at its end, %.0f min); the other rows from this run",
		strings.Join(kept, ", "), old.Date, old.LoadStart, old.LoadEnd, old.DurationS/60))
	return nil
}

// toolNote says which run a tool's merged results come from: old, or the
// run old itself had them from.
func toolNote(old *results, tool string) string {
	prefix := tool + ": results from the run of "
	for _, n := range old.Notes {
		if strings.HasPrefix(n, prefix) {
			return n
		}
	}
	return fmt.Sprintf("%s%s (load average %s at its start, %s at its end); the other tools from this run",
		prefix, old.Date, old.LoadStart, old.LoadEnd)
}

// mergeTools adds to the rows res measured (those in want) the results of
// the tools this run left out (not in sel) from old, with their versions,
// and returns those tools.
func mergeTools(res, old *results, want, sel map[string]bool) []string {
	if len(sel) == 0 {
		return nil
	}
	var tools []string
	for _, n := range toolNames {
		if sel[n] || old.Versions[n] == "" {
			continue
		}
		tools = append(tools, n)
		res.Versions[n] = old.Versions[n]
		delete(res.Skipped, n)
	}
	keep := func(tool string) bool { return slices.Contains(tools, tool) }
	if want["makespan"] {
		res.Makespan = withTools(res.Makespan, old.Makespan, func(r makespanResult) string { return r.Tool }, keep)
	}
	if want["overhead"] {
		res.Overhead = withTools(res.Overhead, old.Overhead, func(r overheadResult) string { return r.Tool }, keep)
	}
	if want["noop"] {
		res.Noop = withTools(res.Noop, old.Noop, func(r noopResult) string { return r.Tool }, keep)
	}
	if want["replay"] {
		res.Replay = withTools(res.Replay, old.Replay, func(r replayResult) string { return r.Tool }, keep)
	}
	return tools
}

// withTools appends the rows of old whose tool keep takes to rows, then
// orders the rows by tool as toolNames does (the oracle first).
func withTools[T any](rows, old []T, toolOf func(T) string, keep func(string) bool) []T {
	for _, r := range old {
		if keep(toolOf(r)) {
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b T) int {
		return slices.Index(toolNames, toolOf(a)) - slices.Index(toolNames, toolOf(b))
	})
	return rows
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/jsrt-script/jsrt-script") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("run from inside the jsrt-script repository (no go.mod found above %s)", dir)
		}
	}
}

// freshWorkspace writes g's sources and t's files into an empty ws.
func freshWorkspace(e *env, t *tool, ws string, g *graph) error {
	if err := os.RemoveAll(ws); err != nil {
		return err
	}
	if err := writeSources(ws, g); err != nil {
		return err
	}
	return t.prepare(e, ws, g)
}

// turboRuns caps turbo's measured runs (makespan; one fewer for overhead):
// every turbo task goes through npm run, and a 200-task graph takes
// minutes.
const turboRuns = 3

type makespanResult struct {
	Family      string  `json:"family"`
	N           int     `json:"n"`
	P           int     `json:"p"`
	LowerBoundS float64 `json:"lowerBoundS"`
	Tool        string  `json:"tool"`
	Variant     string  `json:"variant"` // cold, history; jsrt-script also cold+fixed-j, history+fixed-j
	Timing      timing  `json:"timing"`
	Ratio       float64 `json:"ratio"` // median ÷ lower bound
	RSSKB       int64   `json:"peakRssKB"`
	Err         string  `json:"error,omitempty"`
	Load        string  `json:"load"`
	FinalJobs   []int   `json:"finalJobs,omitempty"` // jsrt-script: -j at the end of each run
}

type cell struct {
	t       *tool
	variant string
	ws      string
	times   []float64
	rss     int64
	err     string
	jobs    []int // jsrt-script: the parallelism at the end of each run (its optimizer may lower -j)
}

// measureMakespan runs every tool on g from a clean state, the runs of the
// tools interleaved (so that load changes hit all of them); jsrt-script
// also with history (state kept, after a warm-up run).
func measureMakespan(e *env, g *graph, ts []*tool, runs int) []makespanResult {
	th := theoryOf(g)
	logf("makespan %s: %d tasks, Σ %.2f s, critical path %.2f s, P %d, lower bound %.2f s (load %s)", g.Family, th.N, th.SumS, th.CriticalS, th.P, th.LowerBoundS, loadAvg())
	cells := prepareCells(e, g, ts, "history", "cold+fixed-j", "history+fixed-j")
	load := loadAvg()
	// The oracle: the same commands from a minimal Go list scheduler that
	// knows the true durations (highest remaining critical path first) —
	// what process start-up alone costs a near-perfect schedule.
	oracle := &cell{t: &tool{Name: "oracle"}, variant: "cold", ws: filepath.Join(e.out, "work", fmt.Sprintf("%s-%d", g.Family, len(g.Tasks)), "oracle")}
	if err := os.RemoveAll(oracle.ws); err != nil || writeSources(oracle.ws, g) != nil {
		oracle.err = "cannot write the oracle's workspace"
	}
	bl := bottomLevels(g)
	for r := 0; r < runs; r++ {
		if oracle.err == "" {
			os.Remove(filepath.Join(oracle.ws, "run.log"))
			if d, err := floorRunPrio(oracle.ws, g, g.P, shellFloor(oracle.ws, g), bl); err != nil {
				oracle.err = err.Error()
			} else {
				oracle.times = append(oracle.times, d.Seconds())
			}
		}
		for _, c := range cells {
			if c.t.Name == "turbo" && r >= turboRuns {
				continue
			}
			runCell(e, g, c, true)
		}
	}
	var out []makespanResult
	for _, c := range append([]*cell{oracle}, cells...) {
		tm := timingOf(c.times, "harness")
		mr := makespanResult{Family: g.Family, N: th.N, P: th.P, LowerBoundS: th.LowerBoundS, Tool: c.t.Name, Variant: c.variant,
			Timing: tm, Ratio: tm.Median / th.LowerBoundS, RSSKB: c.rss, Err: c.err, Load: load, FinalJobs: c.jobs}
		logf("  %-12s %-15s median %.3f s  ratio %.3f  runs %s %s%s", c.t.Name, c.variant, tm.Median, mr.Ratio, fmtList(c.times), c.err, jobsNote(c.jobs, g.P))
		out = append(out, mr)
	}
	return out
}

// prepareCells makes a workspace per tool and variant: "cold" for every
// tool, and for jsrt-script the extra variants asked for.
func prepareCells(e *env, g *graph, ts []*tool, extra ...string) []*cell {
	var cells []*cell
	for _, t := range ts {
		base := filepath.Join(e.out, "work", fmt.Sprintf("%s-%d", g.Family, len(g.Tasks)))
		variants := []string{"cold"}
		if t.Name == "jsrt-script" {
			variants = append(variants, extra...)
		}
		for _, v := range variants {
			ws := filepath.Join(base, t.Name)
			if v != "cold" {
				ws += "-" + strings.ReplaceAll(v, "+", "-")
			}
			c := &cell{t: t, variant: v, ws: ws}
			if err := freshWorkspace(e, t, ws, g); err != nil {
				c.err = err.Error()
			} else if strings.HasPrefix(v, "history") {
				// Warm-up: the first run records the durations.
				runCell(e, g, c, true)
				c.times = nil
			}
			cells = append(cells, c)
		}
	}
	return cells
}

// runCell cleans the workspace (keeping jsrt-script's state for the
// history variant) and builds everything once, checking that every task
// ran exactly once.
func runCell(e *env, g *graph, c *cell, sleepy bool) {
	if c.err != "" {
		return
	}
	keep := strings.HasPrefix(c.variant, "history")
	if err := c.t.clean(c.ws, g, keep); err != nil {
		c.err = err.Error()
		return
	}
	variant := c.variant
	switch {
	case c.t.Name == "turbo":
		variant = "force"
	case c.t.Name == "jsrt-script" && sleepy:
		variant += "+nocache+json"
	case c.t.Name == "jsrt-script":
		variant += "+json"
	}
	timeout := 30 * time.Minute
	isJsrt := c.t.Name == "jsrt-script"
	r := runOut(c.ws, e.vars, c.t.argv(g.P, variant), filepath.Join(c.ws, "tool.log"), timeout, isJsrt)
	if isJsrt {
		var sum struct {
			Jobs int `json:"jobs"`
		}
		if json.Unmarshal(r.Stdout, &sum) == nil {
			c.jobs = append(c.jobs, sum.Jobs)
		}
	}
	if r.Err != nil {
		c.err = r.Err.Error()
		return
	}
	if got := len(runLog(c.ws)); got != len(g.Tasks) {
		c.err = fmt.Sprintf("ran %d commands, want %d", got, len(g.Tasks))
		return
	}
	c.times = append(c.times, r.Wall.Seconds())
	c.rss = max(c.rss, r.RSSKB)
}

type overheadResult struct {
	N            int       `json:"n"`
	P            int       `json:"p"`
	Tool         string    `json:"tool"`
	Variant      string    `json:"variant"` // cold; cold+fixed-j (jsrt-script with --fixed-j, a diagnostic)
	FinalJobs    []int     `json:"finalJobs,omitempty"`
	Timing       timing    `json:"timing"`
	FloorS       float64   `json:"floorS"`              // the same commands from a minimal Go executor
	NpmFloorS    float64   `json:"npmFloorS,omitempty"` // turbo: N npm runs, extrapolated from a sample
	PerTaskMs    float64   `json:"overheadPerTaskMs"`   // (median − floor) ÷ N
	RSSKB        int64     `json:"peakRssKB"`
	Err          string    `json:"error,omitempty"`
	Load         string    `json:"load"`
	FloorSamples []float64 `json:"floorRunsS"`
}

// measureOverhead: a cold build of the wide graph with every tool, against
// the raw process floor.
func measureOverhead(e *env, g *graph, ts []*tool, runs int) []overheadResult {
	n := len(g.Tasks)
	if n >= 10000 {
		runs = min(runs, 3) // a run of 10 000 processes takes a while for every tool
	}
	logf("overhead: %d independent tasks at -j%d (load %s)", n, g.P, loadAvg())
	cells := prepareCells(e, g, ts, "cold+fixed-j")
	load := loadAvg()
	var floors []float64
	floorWS := filepath.Join(e.out, "work", fmt.Sprintf("wide-%d", n), "floor")
	if err := os.RemoveAll(floorWS); err == nil && writeSources(floorWS, g) == nil {
		for r := 0; r < runs; r++ {
			os.Remove(filepath.Join(floorWS, "run.log"))
			if d, err := floorRun(floorWS, g, g.P, shellFloor(floorWS, g)); err == nil {
				floors = append(floors, d.Seconds())
			} else {
				logf("floor: %v", err)
			}
			for _, c := range cells {
				if c.t.Name == "turbo" && r >= turboRuns-1 {
					continue
				}
				runCell(e, g, c, false)
			}
		}
	}
	floor := median(floors)
	logf("  %-12s median %.3f s  runs %s", "floor (sh -c)", floor, fmtList(floors))
	var out []overheadResult
	for _, c := range cells {
		tm := timingOf(c.times, "harness")
		or := overheadResult{N: n, P: g.P, Tool: c.t.Name, Variant: c.variant, FinalJobs: c.jobs, Timing: tm, FloorS: floor, PerTaskMs: (tm.Median - floor) / float64(n) * 1000,
			RSSKB: c.rss, Err: c.err, Load: load, FloorSamples: floors}
		if c.t.Name == "turbo" && c.err == "" {
			// Every turbo task is an npm run: time a sample of them with the
			// same parallelism and scale to N.
			k := min(n, 40)
			sub := &graph{Family: g.Family, Kind: g.Kind, Tasks: g.Tasks[:k], P: g.P}
			if d, err := floorRun(c.ws, sub, g.P, npmFloor(c.ws)); err == nil {
				or.NpmFloorS = d.Seconds() * float64(n) / float64(k)
			}
		}
		logf("  %-12s %-15s median %.3f s  overhead %.3f ms/task  runs %s %s%s", c.t.Name, c.variant, tm.Median, or.PerTaskMs, fmtList(c.times), c.err, jobsNote(c.jobs, g.P))
		out = append(out, or)
	}
	return out
}

type noopResult struct {
	N      int    `json:"n"`
	Tool   string `json:"tool"`
	Timing timing `json:"timing"`
	Reran  int    `json:"reran"` // commands run during the no-op measurements (should be 0)
	RSSKB  int64  `json:"peakRssKB"`
	Err    string `json:"error,omitempty"`
	Load   string `json:"load"`
}

// measureNoop: build everything, then time builds that have nothing to do.
func measureNoop(e *env, g *graph, ts []*tool, minRuns, maxRuns int) []noopResult {
	n := len(g.Tasks)
	logf("no-op: %d up-to-date tasks (load %s)", n, loadAvg())
	var out []noopResult
	for _, t := range ts {
		ws := filepath.Join(e.out, "work", fmt.Sprintf("wide-%d", n), t.Name+"-noop")
		nr := noopResult{N: n, Tool: t.Name, Load: loadAvg()}
		argv := t.argv(g.P, "")
		err := freshWorkspace(e, t, ws, g)
		if err == nil {
			if r := run(ws, e.vars, argv, filepath.Join(ws, "tool.log"), 30*time.Minute); r.Err != nil {
				err = r.Err
			} else if got := len(runLog(ws)); got != n {
				err = fmt.Errorf("first build ran %d commands, want %d", got, n)
			}
		}
		if err == nil {
			// One more build settles state that the first one left to do
			// (file indexes, checksums), and gives the peak RSS of a no-op.
			r := run(ws, e.vars, argv, filepath.Join(ws, "tool.log"), 30*time.Minute)
			nr.RSSKB = r.RSSKB
			before := len(runLog(ws))
			nr.Timing, err = hyperfine(ws, e.vars, argv, minRuns, maxRuns, filepath.Join(ws, "hyperfine.json"))
			nr.Reran = len(runLog(ws)) - before
		}
		if err != nil {
			nr.Err = err.Error()
		}
		logf("  %-12s mean %.4f s ± %.4f  reran %d %s", t.Name, nr.Timing.Mean, nr.Timing.Stddev, nr.Reran, nr.Err)
		out = append(out, nr)
	}
	return out
}

// jobsNote says when jsrt-script ended a run with less than -j P.
func jobsNote(jobs []int, p int) string {
	low := 0
	for _, j := range jobs {
		if j < p {
			low++
		}
	}
	if low == 0 {
		return ""
	}
	return fmt.Sprintf(" (optimizer lowered -j in %d of %d runs: %v)", low, len(jobs), jobs)
}

func fmtList(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, " ")
}

type machine struct {
	CPUs   int    `json:"cpus"`
	CPU    string `json:"cpu"`
	MemGiB int    `json:"memGiB"`
	Kernel string `json:"kernel"`
	OS     string `json:"os"`
}

func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.TrimPrefix(firstLine(string(b)), "MemTotal:"), "%f", &kb)
		m.MemGiB = int(math.Round(kb / (1 << 20)))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	return m
}

type results struct {
	Mode      string            `json:"mode"`
	Date      string            `json:"date"`
	Machine   machine           `json:"machine"`
	Versions  map[string]string `json:"versions"`
	Skipped   map[string]string `json:"skipped"`
	Seed      uint64            `json:"seed"`
	Config    config            `json:"config"`
	LoadStart string            `json:"loadStart"`
	LoadEnd   string            `json:"loadEnd"`
	DurationS float64           `json:"durationS"`
	Theory    []theory          `json:"theory"`
	Makespan  []makespanResult  `json:"makespan"`
	Overhead  []overheadResult  `json:"overhead"`
	Noop      []noopResult      `json:"noop"`
	Replay    []replayResult    `json:"replay"`
	Notes     []string          `json:"notes,omitempty"`
}

// renderMain prints (and with -doc splices) the report of a results file
// without measuring anything.
func renderMain(args []string) {
	fs := flag.NewFlagSet("render", flag.ExitOnError)
	in := fs.String("in", "bench/peers/results.json", "results file")
	doc := fs.String("doc", "", "markdown file whose Peers section to regenerate")
	fs.Parse(args)
	b, err := os.ReadFile(*in)
	if err != nil {
		fatalf("render: %v", err)
	}
	var res results
	if err := json.Unmarshal(b, &res); err != nil {
		fatalf("render: %s: %v", *in, err)
	}
	md := report(&res, filepath.ToSlash(*in))
	fmt.Print(md)
	if *doc != "" {
		if err := spliceDoc(*doc, md); err != nil {
			fatalf("render: %v", err)
		}
	}
}

func genMain(args []string) {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	family := fs.String("family", "skewed", "graph family: "+strings.Join(families, ", "))
	n := fs.Int("n", 200, "number of tasks")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("out", "", "output directory (required)")
	fs.Parse(args)
	if *out == "" {
		fatalf("gen: -out DIR is required")
	}
	g, err := generate(*family, *n, *seed)
	if err != nil {
		fatalf("gen: %v", err)
	}
	npmVer := ""
	if v, err := capture("/", "npm", "--version"); err == nil {
		npmVer = firstLine(v)
	}
	if err := writeAll(*out, g, npmVer); err != nil {
		fatalf("gen: %v", err)
	}
	th := theoryOf(g)
	fmt.Printf("%s: %d tasks, Σ %.2f s, critical path %.2f s, P %d, lower bound %.2f s, Graham %.2f s\n",
		g.Family, th.N, th.SumS, th.CriticalS, th.P, th.LowerBoundS, th.GrahamS)
}
