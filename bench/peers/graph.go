package main

import (
	"crypto/md5"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// A task of a benchmark graph. Every tool gets the same name, the same
// dependencies and the same shell command (see command).
type task struct {
	Name string
	Dur  float64 // seconds of `sleep`; 0: no sleep
	Deps []int   // indexes of earlier tasks
}

// kind says what each task's command does besides appending its name to
// run.log: "sleep" (sleep, then touch the output), "touch" (touch the
// output), or "hash" (the output is the md5 of the task's source and its
// dependencies' outputs, so stale outputs can be detected).
type graph struct {
	Family string
	Seed   uint64
	Kind   string
	Tasks  []task
	P      int // parallelism the graph is meant to be run with
}

// Families, each deterministic for a seed:
//
//	skewed  layered DAG, a few long sleeps among many short ones
//	trap    layers of short tasks with many dependents, plus one long task
//	        at depth 1 with no dependents, defined last: depth-first, FIFO
//	        and "most dependents first" orders start it too late
//	wide    n independent touch tasks
//	chain   n sleep tasks, each depending on the previous one
//	edits   small layered DAG of hash tasks, for the cache-correctness replay
var families = []string{"skewed", "trap", "wide", "chain", "edits"}

func generate(family string, n int, seed uint64) (*graph, error) {
	if n < 1 {
		return nil, fmt.Errorf("n must be at least 1")
	}
	r := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	g := &graph{Family: family, Seed: seed}
	add := func(dur float64, deps ...int) int {
		slices.Sort(deps)
		deps = slices.Compact(deps)
		g.Tasks = append(g.Tasks, task{Name: fmt.Sprintf("t%d", len(g.Tasks)), Dur: dur, Deps: deps})
		return len(g.Tasks) - 1
	}
	switch family {
	case "skewed":
		g.Kind = "sleep"
		const layers = 8
		for i := 0; i < n; i++ {
			d := 0.02 + 0.18*r.Float64()
			if r.Float64() < 0.06 {
				d = 1.0 + 1.5*r.Float64()
			}
			d = round3(d)
			layer := i * layers / n
			var deps []int
			if layer > 0 {
				lo, hi := (layer-1)*n/layers, layer*n/layers
				for k := 0; k < 1+r.IntN(3); k++ {
					deps = append(deps, lo+r.IntN(hi-lo))
				}
			}
			add(d, deps...)
		}
		g.P = max(1, int(math.Round(sumDur(g)/criticalPath(g))))
	case "trap":
		g.Kind = "sleep"
		// Bulk: width w, depth 5; every task depends on two of the layer above.
		const depth = 5
		w := max(2, (n-2)/depth)
		for l := 0; l < depth; l++ {
			for k := 0; k < w; k++ {
				d := round3(0.1 + 0.1*r.Float64())
				if l == 0 {
					add(d)
					continue
				}
				base := (l - 1) * w
				add(d, base+r.IntN(w), base+r.IntN(w))
			}
		}
		bulk := sumDur(g)
		g.P = 4
		// The long task takes what the bulk leaves per slot, so that
		// Σ ÷ P equals the critical path: L = bulk ÷ (P − 1).
		s := add(0.05)
		add(round3(bulk/float64(g.P-1)), s)
	case "wide":
		g.Kind = "touch"
		for i := 0; i < n; i++ {
			add(0)
		}
		g.P = 2
	case "chain":
		g.Kind = "sleep"
		for i := 0; i < n; i++ {
			if i == 0 {
				add(0.02)
			} else {
				add(0.02, i-1)
			}
		}
		g.P = 2
	case "edits":
		g.Kind = "hash"
		const layers = 4
		for i := 0; i < n; i++ {
			layer := i * layers / n
			var deps []int
			if layer > 0 {
				lo, hi := (layer-1)*n/layers, layer*n/layers
				for k := 0; k < 1+r.IntN(2); k++ {
					deps = append(deps, lo+r.IntN(hi-lo))
				}
			}
			add(0, deps...)
		}
		g.P = 2
	default:
		return nil, fmt.Errorf("unknown family %q (one of %s)", family, strings.Join(families, ", "))
	}
	return g, nil
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func sumDur(g *graph) float64 {
	s := 0.0
	for _, t := range g.Tasks {
		s += t.Dur
	}
	return s
}

// criticalPath is the longest sum of durations along a dependency path.
func criticalPath(g *graph) float64 {
	finish := make([]float64, len(g.Tasks))
	cp := 0.0
	for i, t := range g.Tasks {
		start := 0.0
		for _, d := range t.Deps {
			start = math.Max(start, finish[d])
		}
		finish[i] = start + t.Dur
		cp = math.Max(cp, finish[i])
	}
	return cp
}

// theory is what theory.json holds: the bounds every schedule is judged by.
type theory struct {
	Family       string  `json:"family"`
	Seed         uint64  `json:"seed"`
	N            int     `json:"n"`
	P            int     `json:"p"`
	Kind         string  `json:"kind"`
	SumS         float64 `json:"sumS"`
	CriticalS    float64 `json:"criticalPathS"`
	LowerBoundS  float64 `json:"lowerBoundS"` // max(CP, Σ ÷ P)
	GrahamS      float64 `json:"grahamBoundS"`
	LongestTaskS float64 `json:"longestTaskS"`
	Edges        int     `json:"edges"`
}

func theoryOf(g *graph) theory {
	sum, cp := sumDur(g), criticalPath(g)
	p := float64(g.P)
	th := theory{Family: g.Family, Seed: g.Seed, N: len(g.Tasks), P: g.P, Kind: g.Kind,
		SumS: sum, CriticalS: cp,
		LowerBoundS: math.Max(cp, sum/p),
		// Graham: any list schedule (no idle slot while a task is ready)
		// finishes by Σ ÷ P + (1 − 1/P)·CP, which is at most (2 − 1/P) times
		// the optimum.
		GrahamS: sum/p + (1-1/p)*cp,
	}
	for _, t := range g.Tasks {
		th.LongestTaskS = math.Max(th.LongestTaskS, t.Dur)
		th.Edges += len(t.Deps)
	}
	return th
}

// Paths of a task's files, relative to the workspace root. Each task has
// its own directory (which is also its Turborepo package).
func dirOf(t task) string { return "t/" + t.Name }
func srcOf(t task) string { return "t/" + t.Name + "/src" }
func outOf(t task) string { return "t/" + t.Name + "/out" }

// inputsOf lists what a task reads: its source and its dependencies' outputs.
func inputsOf(g *graph, t task) []string {
	in := []string{srcOf(t)}
	for _, d := range t.Deps {
		in = append(in, outOf(g.Tasks[d]))
	}
	return in
}

// command is the shell command of a task, the same for every tool, run from
// the workspace root.
func command(g *graph, t task) string {
	var b strings.Builder
	switch g.Kind {
	case "sleep":
		fmt.Fprintf(&b, "sleep %.3f && touch %s", t.Dur, outOf(t))
	case "touch":
		fmt.Fprintf(&b, "touch %s", outOf(t))
	case "hash":
		fmt.Fprintf(&b, "cat %s | md5sum > %s", strings.Join(inputsOf(g, t), " "), outOf(t))
	}
	fmt.Fprintf(&b, " && echo %s >> run.log", t.Name)
	return b.String()
}

// initialSource is the content of a task's source file at generation.
func initialSource(t task) string { return t.Name + " v0\n" }

// expectedOutputs computes what every hash task's output must contain for
// the given source contents (md5sum of the concatenated inputs, as the
// md5sum tool prints it).
func expectedOutputs(g *graph, src map[string]string) []string {
	out := make([]string, len(g.Tasks))
	for i, t := range g.Tasks {
		h := md5.New()
		h.Write([]byte(src[t.Name]))
		for _, d := range t.Deps {
			h.Write([]byte(out[d]))
		}
		out[i] = fmt.Sprintf("%x  -\n", h.Sum(nil))
	}
	return out
}

// dependents returns, for each task, the tasks that depend on it.
func dependents(g *graph) [][]int {
	ds := make([][]int, len(g.Tasks))
	for i, t := range g.Tasks {
		for _, d := range t.Deps {
			ds[d] = append(ds[d], i)
		}
	}
	return ds
}
