package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// floorRun runs every task's command with /bin/sh -c from a minimal Go list
// scheduler (p workers, dependencies respected, ready tasks in definition
// order): the raw process floor a coordinator cannot beat.
func floorRun(ws string, g *graph, p int, cmdOf func(task) (dir string, argv []string)) (time.Duration, error) {
	return floorRunPrio(ws, g, p, cmdOf, nil)
}

// bottomLevels is each task's true remaining critical path: its duration
// plus the longest chain of durations after it.
func bottomLevels(g *graph) []float64 {
	ds := dependents(g)
	bl := make([]float64, len(g.Tasks))
	for i := len(g.Tasks) - 1; i >= 0; i-- {
		longest := 0.0
		for _, d := range ds[i] {
			longest = math.Max(longest, bl[d])
		}
		bl[i] = g.Tasks[i].Dur + longest
	}
	return bl
}

// floorRunPrio is floorRun starting the ready task of highest prio first
// (ties: definition order); nil prio is definition order.
func floorRunPrio(ws string, g *graph, p int, cmdOf func(task) (dir string, argv []string), prio []float64) (time.Duration, error) {
	n := len(g.Tasks)
	waiting := make([]int, n)
	ds := dependents(g)
	var ready []int
	for i, t := range g.Tasks {
		waiting[i] = len(t.Deps)
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	var (
		mu    sync.Mutex
		cond  = sync.NewCond(&mu)
		done  int
		first error
	)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer null.Close()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < p; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				for len(ready) == 0 && done < n && first == nil {
					cond.Wait()
				}
				if done >= n || first != nil {
					mu.Unlock()
					return
				}
				k := 0
				for j := range ready {
					if prio != nil && (prio[ready[j]] > prio[ready[k]] || prio[ready[j]] == prio[ready[k]] && ready[j] < ready[k]) {
						k = j
					}
				}
				i := ready[k]
				ready = append(ready[:k], ready[k+1:]...)
				mu.Unlock()
				dir, argv := cmdOf(g.Tasks[i])
				err := spawn(dir, argv, null)
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("%s: %v", g.Tasks[i].Name, err)
				}
				done++
				for _, d := range ds[i] {
					if waiting[d]--; waiting[d] == 0 {
						ready = append(ready, d)
					}
				}
				cond.Broadcast()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return time.Since(start), first
}

// spawn runs argv (argv[0] an absolute path or looked up) and waits: a
// fork-exec and a wait, no more.
func spawn(dir string, argv []string, null *os.File) error {
	path := argv[0]
	if !filepath.IsAbs(path) {
		var err error
		if path, err = exec.LookPath(path); err != nil {
			return err
		}
	}
	p, err := os.StartProcess(path, argv, &os.ProcAttr{Dir: dir, Files: []*os.File{null, null, null}})
	if err != nil {
		return err
	}
	st, err := p.Wait()
	if err == nil && !st.Success() {
		err = fmt.Errorf("%s", st)
	}
	return err
}

// shellFloor: the task's own command under /bin/sh -c from the root.
func shellFloor(ws string, g *graph) func(task) (string, []string) {
	return func(t task) (string, []string) { return ws, []string{"/bin/sh", "-c", command(g, t)} }
}

// npmFloor: `npm run build` in the task's package (what turbo runs).
func npmFloor(ws string) func(task) (string, []string) {
	return func(t task) (string, []string) {
		return filepath.Join(ws, dirOf(t)), []string{"npm", "run", "--silent", "build"}
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return math.Sqrt(v / float64(len(xs)-1))
}

// timing is a repeated measurement of one command.
type timing struct {
	Runs   []float64 `json:"runsS"`
	Median float64   `json:"medianS"`
	Mean   float64   `json:"meanS"`
	Stddev float64   `json:"stddevS"`
	Min    float64   `json:"minS"`
	Source string    `json:"source"` // hyperfine or harness
}

func timingOf(xs []float64, source string) timing {
	t := timing{Runs: xs, Median: median(xs), Stddev: stddev(xs), Source: source, Min: math.NaN()}
	if len(xs) > 0 {
		t.Min = slices.Min(xs)
		for _, x := range xs {
			t.Mean += x
		}
		t.Mean /= float64(len(xs))
	}
	return t
}

// hyperfine times argv in dir: one warm-up, then at least minRuns runs and
// at most maxRuns (hyperfine's own rule: about 3 s of runs). Without
// hyperfine, the harness times the runs itself.
func hyperfine(dir string, vars []string, argv []string, minRuns, maxRuns int, jsonPath string) (timing, error) {
	hf, err := exec.LookPath("hyperfine")
	if err != nil {
		var xs []float64
		for i := 0; i < minRuns+1; i++ {
			r := run(dir, vars, argv, "", 10*time.Minute)
			if r.Err != nil {
				return timing{}, r.Err
			}
			if i > 0 {
				xs = append(xs, r.Wall.Seconds())
			}
		}
		return timingOf(xs, "harness (hyperfine missing)"), nil
	}
	cmd := exec.Command(hf, "-N", "-w", "1", "-m", fmt.Sprint(minRuns), "-M", fmt.Sprint(maxRuns),
		"--style", "none", "--export-json", jsonPath, "-n", filepath.Base(argv[0]), strings.Join(argv, " "))
	cmd.Dir = dir
	cmd.Env = vars
	if out, err := cmd.CombinedOutput(); err != nil {
		return timing{}, fmt.Errorf("hyperfine %s: %v: %s", strings.Join(argv, " "), err, lastLines(string(out), 5))
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		return timing{}, err
	}
	var rep struct {
		Results []struct {
			Times []float64 `json:"times"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Results) == 0 {
		return timing{}, fmt.Errorf("hyperfine json %s: %v", jsonPath, err)
	}
	return timingOf(rep.Results[0].Times, "hyperfine"), nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
