package monitor

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// BlockedMin is how many tasks must have waited for a task before it is a
// bottleneck off the critical path ("its waiting blocked more than two").
const BlockedMin = 2

// CriticalPath is the heaviest chain of dependencies of a run, weighed by
// what each task took in this run (all attempts).
type CriticalPath struct {
	Tasks    []string
	Duration time.Duration // Σ of the chain's task times
	Share    float64       // Duration ÷ wall
}

// MarshalJSON encodes the duration as float milliseconds.
func (c CriticalPath) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Tasks    []string `json:"tasks"`
		Duration float64  `json:"durationMs"`
		Share    float64  `json:"share"`
	}{nonNil(c.Tasks), ms(c.Duration), c.Share})
}

// Bottleneck is a task that held the run up: it is on the critical path,
// or more than BlockedMin tasks waited for it.
type Bottleneck struct {
	Task     string
	Duration time.Duration // its task time in this run
	// PathShare is its part of the critical path's duration; 0 off the path.
	PathShare      float64
	OnCriticalPath bool
	// Blocked counts the tasks that waited for it: those for which it was
	// the last dependency to finish, and, through them, the tasks that
	// waited for those.
	Blocked int
	// Waited is how long it was ready (its deps done) before it started:
	// time spent waiting for a slot.
	Waited time.Duration
}

// MarshalJSON encodes durations as float milliseconds.
func (b Bottleneck) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Task           string  `json:"task"`
		Duration       float64 `json:"durationMs"`
		PathShare      float64 `json:"pathShare"`
		OnCriticalPath bool    `json:"onCriticalPath"`
		Blocked        int     `json:"blocked"`
		Waited         float64 `json:"waitedMs"`
	}{b.Task, ms(b.Duration), b.PathShare, b.OnCriticalPath, b.Blocked, ms(b.Waited)})
}

// Critical returns the run's critical path.
func Critical(tl Timeline) CriticalPath {
	a := analyse(&tl)
	return a.path
}

// Bottlenecks returns the critical path's tasks, in path order, then the
// other tasks that more than BlockedMin tasks waited for, most blocking
// first (then by name).
func Bottlenecks(tl Timeline) []Bottleneck {
	return analyse(&tl).bottlenecks
}

// analysis is everything derived from a timeline's structure.
type analysis struct {
	tl          *Timeline
	vs          []*taskView
	byName      map[string]*taskView
	g           *graph.Graph
	topo        []*graph.Task // of g, computed once
	path        CriticalPath
	onPath      map[string]bool
	blocked     map[string]int
	waited      map[string]time.Duration
	bottlenecks []Bottleneck
}

func analyse(tl *Timeline) *analysis {
	a := &analysis{tl: tl, onPath: map[string]bool{}}
	a.vs, a.byName = views(tl)
	a.g = taskGraph(a.vs)
	a.topo = a.g.Topo()
	a.criticalPath()
	a.waiting()
	a.findBottlenecks()
	return a
}

func (a *analysis) criticalPath() {
	cost := func(t *graph.Task) float64 { return float64(a.byName[t.Name].busy) }
	var ran []*graph.Task
	for _, t := range a.topo {
		if a.byName[t.Name].ran() {
			ran = append(ran, t)
		}
	}
	if len(ran) == 0 {
		return
	}
	for _, t := range a.g.CriticalPath(ran, cost) {
		a.path.Tasks = append(a.path.Tasks, t.Name)
		a.path.Duration += a.byName[t.Name].busy
		a.onPath[t.Name] = true
	}
	if a.tl.Wall > 0 {
		a.path.Share = float64(a.path.Duration) / float64(a.tl.Wall)
	}
}

// waiting finds, for each task that ran, the dependency it waited for last
// (its gate), the time it then waited for a slot, and for each task how
// many tasks waited for it directly or through a chain of gates.
func (a *analysis) waiting() {
	topo := a.topo
	a.blocked = make(map[string]int, len(topo))
	a.waited = make(map[string]time.Duration, len(topo))
	gate := make(map[string]string, len(topo))
	for _, t := range topo {
		v := a.byName[t.Name]
		if !v.ran() {
			continue
		}
		var ready time.Duration
		for _, d := range a.g.Deps(t) {
			dv := a.byName[d.Name]
			if dv.ran() && (gate[t.Name] == "" || dv.end > ready) {
				gate[t.Name], ready = d.Name, dv.end
			}
		}
		a.waited[t.Name] = max(0, v.first-ready)
	}
	for i := len(topo) - 1; i >= 0; i-- {
		name := topo[i].Name
		if g := gate[name]; g != "" {
			a.blocked[g] += 1 + a.blocked[name]
		}
	}
}

func (a *analysis) findBottlenecks() {
	mk := func(name string) Bottleneck {
		v := a.byName[name]
		b := Bottleneck{Task: name, Duration: v.busy, OnCriticalPath: a.onPath[name], Blocked: a.blocked[name],
			Waited: a.waited[name]}
		if b.OnCriticalPath && a.path.Duration > 0 {
			b.PathShare = float64(v.busy) / float64(a.path.Duration)
		}
		return b
	}
	for _, name := range a.path.Tasks {
		a.bottlenecks = append(a.bottlenecks, mk(name))
	}
	var more []Bottleneck
	for _, v := range a.vs {
		if !a.onPath[v.Name] && a.blocked[v.Name] > BlockedMin {
			more = append(more, mk(v.Name))
		}
	}
	slices.SortStableFunc(more, func(x, y Bottleneck) int {
		return cmp.Or(cmp.Compare(y.Blocked, x.Blocked), cmp.Compare(x.Task, y.Task))
	})
	a.bottlenecks = append(a.bottlenecks, more...)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
