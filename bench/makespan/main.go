// Command makespan measures how close jsrt-script's schedule comes to the
// lower bound on a random layered DAG of sleep tasks with skewed durations
// (a few long, many short): makespan ÷ max(critical path, Σ durations ÷
// slots). It runs the same graph cold (no history), again with the history
// of the first run (predicted critical-path order), and with --order fifo,
// each on a fresh copy of the state where that matters.
//
//	go run ./bench/makespan -bin bin/jsrt-script [-n 200] [-seed 1] [-runs 3]
//
// Sleep tasks use no CPU, so slots may exceed the machine's cores; slots are
// chosen so that Σ ÷ slots is near the critical path.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

type dag struct {
	dur  []float64 // seconds
	deps [][]int
}

func generate(n int, seed uint64) dag {
	r := rand.New(rand.NewPCG(seed, seed^0x9e37))
	d := dag{dur: make([]float64, n), deps: make([][]int, n)}
	layers := 8
	for i := 0; i < n; i++ {
		if r.Float64() < 0.06 {
			d.dur[i] = 1.0 + 1.5*r.Float64() // a few long ones
		} else {
			d.dur[i] = 0.02 + 0.18*r.Float64() // many short ones
		}
		layer := i * layers / n
		if layer == 0 {
			continue
		}
		lo, hi := (layer-1)*n/layers, layer*n/layers
		for k := 0; k < 1+r.IntN(3); k++ {
			dep := lo + r.IntN(hi-lo)
			dup := false
			for _, x := range d.deps[i] {
				dup = dup || x == dep
			}
			if !dup {
				d.deps[i] = append(d.deps[i], dep)
			}
		}
	}
	return d
}

// bounds returns the critical path and Σ durations.
func (d dag) bounds() (cp, sum float64) {
	finish := make([]float64, len(d.dur))
	for i := range d.dur {
		start := 0.0
		for _, p := range d.deps[i] {
			start = math.Max(start, finish[p])
		}
		finish[i] = start + d.dur[i]
		cp = math.Max(cp, finish[i])
		sum += d.dur[i]
	}
	return cp, sum
}

func (d dag) strategy() string {
	var b strings.Builder
	b.WriteString("const { task } = require(\"jsrt\");\n")
	for i, dur := range d.dur {
		deps := make([]string, len(d.deps[i]))
		for k, p := range d.deps[i] {
			deps[k] = fmt.Sprintf("%q", fmt.Sprintf("t%03d", p))
		}
		fmt.Fprintf(&b, "task(\"t%03d\", { cmd: \"sleep %.3f\", deps: [%s] });\n", i, dur, strings.Join(deps, ", "))
	}
	return b.String()
}

func run(bin, dir string, args ...string) (float64, error) {
	cmd := exec.Command(bin, append([]string{"run", "strategy.js", "--json", "--output", "quiet"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	var s struct {
		OK     bool    `json:"ok"`
		WallMs float64 `json:"wallMs"`
	}
	if err := json.Unmarshal(out, &s); err != nil || !s.OK {
		return 0, fmt.Errorf("bad run: %s", out)
	}
	return s.WallMs / 1000, nil
}

func main() {
	bin := flag.String("bin", "bin/jsrt-script", "the jsrt-script binary")
	n := flag.Int("n", 200, "tasks")
	seed := flag.Uint64("seed", 1, "random seed")
	runs := flag.Int("runs", 3, "measured runs of each kind (the median is reported)")
	flag.Parse()
	abs, _ := filepath.Abs(*bin)
	d := generate(*n, *seed)
	cp, sum := d.bounds()
	slots := int(math.Max(1, math.Round(sum/cp)))
	lb := math.Max(cp, sum/float64(slots))
	dir, _ := os.MkdirTemp("", "makespan-")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "strategy.js"), []byte(d.strategy()), 0o644)
	j := fmt.Sprint(slots)
	fmt.Printf("%d tasks, Σ %.2f s, critical path %.2f s, -j %s, lower bound %.2f s\n", *n, sum, cp, j, lb)
	measure := func(name string, prep func() error, args ...string) {
		var ms []float64
		for i := 0; i < *runs; i++ {
			if err := prep(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			m, err := run(abs, dir, append([]string{"-j", j, "--no-cache"}, args...)...)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			ms = append(ms, m)
		}
		med := median(ms)
		fmt.Printf("%-28s makespan %.3f s  ratio to lower bound %.3f  (runs: %s)\n", name, med, med/lb, fmtList(ms))
	}
	noState := func() error { return os.RemoveAll(filepath.Join(dir, ".jsrt")) }
	keep := func() error { return nil }
	measure("cold (no history)", noState)
	if err := noState(); err == nil {
		run(abs, dir, "-j", j, "--no-cache") // warm-up: learn durations
	}
	measure("with history", keep)
	measure("fifo (--order fifo)", keep, "--order", "fifo")
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s {
		for k := i + 1; k < len(s); k++ {
			if s[k] < s[i] {
				s[i], s[k] = s[k], s[i]
			}
		}
	}
	return s[len(s)/2]
}

func fmtList(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, " ")
}
