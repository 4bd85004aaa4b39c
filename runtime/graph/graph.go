// Package graph owns the task DAG: task definitions, validation (duplicate
// names, unknown or self dependencies, cycles reported as their exact path),
// and the orders computed from it: topological order, levels, the closure of
// a set of targets, blocking counts and critical-path weights.
//
// A Graph is built by one goroutine and then only read; reads are safe to
// share once Validate has succeeded.
package graph

import (
	"sort"
	"time"
)

// Task is one node: a command with its dependencies and declared files.
type Task struct {
	ID       int    // stable id: definition order, from 0
	Name     string // unique
	Shell    string // run by /bin/sh -c when non-empty
	Argv     []string
	Deps     []string
	Inputs   []string
	Outputs  []string
	Env      []string // names of variables that belong to the cache key
	Cwd      string   // relative to the workspace root
	Timeout  time.Duration
	Retries  int
	Pool     string
	Pools    []string // alternatives: the select policy picks one with a free slot
	Tags     []string
	Priority int
	Critical bool
	NoCache  bool
	CacheTTL time.Duration // 0: entries never expire
	CacheKey string        // the strategy's own contribution to the cache key
	KeyFunc  bool          // CacheKey is computed afresh at each run (never run ahead)
	Batch    string        // tasks with the same batch key may run together as one process
	Pos      string        // where it was defined ("strategy.js:3:1"), for messages
}

// Command renders the command for display.
func (t *Task) Command() string {
	if t.Shell != "" {
		return t.Shell
	}
	return quoteArgv(t.Argv)
}

// Graph is the set of tasks and their edges.
type Graph struct {
	tasks  []*Task
	byName map[string]int
	deps   [][]int // deps[i]: ids task i depends on (valid after Validate)
	users  [][]int // users[i]: ids that depend on task i
	ok     bool
}

// New returns an empty graph.
func New() *Graph { return &Graph{byName: map[string]int{}} }

// Add appends a task, assigning its ID. A second task with the same name is a
// *DuplicateError.
func (g *Graph) Add(t *Task) error {
	if t.Name == "" {
		return &DefinitionError{Task: t.Name, Msg: "task name must not be empty"}
	}
	if i, dup := g.byName[t.Name]; dup {
		return &DuplicateError{Name: t.Name, First: g.tasks[i].Pos, Second: t.Pos}
	}
	t.ID = len(g.tasks)
	g.byName[t.Name] = t.ID
	g.tasks = append(g.tasks, t)
	g.ok = false
	return nil
}

// Len is the number of tasks.
func (g *Graph) Len() int { return len(g.tasks) }

// Tasks returns every task in definition order. The slice must not be changed.
func (g *Graph) Tasks() []*Task { return g.tasks }

// Task returns the task with that name, or nil.
func (g *Graph) Task(name string) *Task {
	if i, ok := g.byName[name]; ok {
		return g.tasks[i]
	}
	return nil
}

// Names returns every task name in definition order.
func (g *Graph) Names() []string {
	names := make([]string, len(g.tasks))
	for i, t := range g.tasks {
		names[i] = t.Name
	}
	return names
}

// Validate resolves edges and checks them: unknown deps (with a suggestion),
// self deps and cycles. It returns the first problem in definition order, so
// the same graph always gives the same message.
func (g *Graph) Validate() error {
	n := len(g.tasks)
	g.deps = make([][]int, n)
	g.users = make([][]int, n)
	names := g.Names()
	for i, t := range g.tasks {
		seen := make(map[int]bool, len(t.Deps))
		for _, d := range t.Deps {
			j, ok := g.byName[d]
			switch {
			case !ok:
				return &UnknownDepError{Task: t.Name, Dep: d, Suggestion: Suggest(d, names)}
			case j == i:
				return &CycleError{Path: []string{t.Name, t.Name}}
			case seen[j]:
				continue
			}
			seen[j] = true
			g.deps[i] = append(g.deps[i], j)
			g.users[j] = append(g.users[j], i)
		}
	}
	if path := g.findCycle(); path != nil {
		return &CycleError{Path: path}
	}
	g.ok = true
	return nil
}

// findCycle runs a colouring DFS from each task in definition order and
// returns the first cycle met as a path that starts and ends on the same task.
func (g *Graph) findCycle() []string {
	const (
		white = iota
		grey
		black
	)
	colour := make([]uint8, len(g.tasks))
	var stack []int
	var found []string
	var visit func(i int) bool
	visit = func(i int) bool {
		colour[i] = grey
		stack = append(stack, i)
		for _, j := range g.deps[i] {
			if colour[j] == grey {
				found = g.cyclePath(stack, j)
				return true
			}
			if colour[j] == white && visit(j) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		colour[i] = black
		return false
	}
	for i := range g.tasks {
		if colour[i] == white && visit(i) {
			return found
		}
	}
	return nil
}

// cyclePath turns the DFS stack, which ends in an edge back to j, into the
// path "j -> ... -> j" following dependency edges.
func (g *Graph) cyclePath(stack []int, j int) []string {
	start := 0
	for k, v := range stack {
		if v == j {
			start = k
		}
	}
	path := make([]string, 0, len(stack)-start+1)
	for _, v := range stack[start:] {
		path = append(path, g.tasks[v].Name)
	}
	return append(path, g.tasks[j].Name)
}

// Deps returns the resolved dependencies of t (after Validate).
func (g *Graph) Deps(t *Task) []*Task { return g.pick(g.deps[t.ID]) }

// Dependents returns the tasks that depend directly on t (after Validate).
func (g *Graph) Dependents(t *Task) []*Task { return g.pick(g.users[t.ID]) }

func (g *Graph) pick(ids []int) []*Task {
	out := make([]*Task, len(ids))
	for k, i := range ids {
		out[k] = g.tasks[i]
	}
	return out
}

// Closure returns the targets and everything they depend on, in topological
// order (dependencies first, ties by ID). An unknown target is an
// *UnknownTaskError with a suggestion.
func (g *Graph) Closure(targets []string) ([]*Task, error) {
	want := make([]bool, len(g.tasks))
	var mark func(i int)
	mark = func(i int) {
		if want[i] {
			return
		}
		want[i] = true
		for _, j := range g.deps[i] {
			mark(j)
		}
	}
	for _, name := range targets {
		i, ok := g.byName[name]
		if !ok {
			return nil, &UnknownTaskError{Name: name, Suggestion: Suggest(name, g.Names())}
		}
		mark(i)
	}
	var out []*Task
	for _, t := range g.Topo() {
		if want[t.ID] {
			out = append(out, t)
		}
	}
	return out, nil
}

// Topo returns every task in topological order: a task after all its deps,
// ties broken by the lower ID (Kahn's algorithm with a min-heap of ids).
func (g *Graph) Topo() []*Task {
	indeg := make([]int, len(g.tasks))
	for i := range g.tasks {
		indeg[i] = len(g.deps[i])
	}
	var ready idHeap
	for i, d := range indeg {
		if d == 0 {
			ready.push(i)
		}
	}
	out := make([]*Task, 0, len(g.tasks))
	for ready.len() > 0 {
		i := ready.pop()
		out = append(out, g.tasks[i])
		for _, u := range g.users[i] {
			if indeg[u]--; indeg[u] == 0 {
				ready.push(u)
			}
		}
	}
	return out
}

// Levels groups tasks by depth: level 0 has no deps, level k tasks depend on
// something at level k-1. Each level is in ID order.
func (g *Graph) Levels() [][]*Task {
	depth := make([]int, len(g.tasks))
	var levels [][]*Task
	for _, t := range g.Topo() {
		d := 0
		for _, j := range g.deps[t.ID] {
			d = max(d, depth[j]+1)
		}
		depth[t.ID] = d
		for len(levels) <= d {
			levels = append(levels, nil)
		}
		levels[d] = append(levels[d], t)
	}
	for _, l := range levels {
		sort.Slice(l, func(a, b int) bool { return l[a].ID < l[b].ID })
	}
	return levels
}

// Blocking returns, for each task ID, how many tasks depend on it directly or
// transitively.
func (g *Graph) Blocking() []int {
	topo := g.Topo()
	n := len(g.tasks)
	counts := make([]int, n)
	// Small graphs: exact transitive counts with a visited set per task.
	seen := make([]int, n)
	for k := range seen {
		seen[k] = -1
	}
	for idx := len(topo) - 1; idx >= 0; idx-- {
		i := topo[idx].ID
		stack := append([]int(nil), g.users[i]...)
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[u] == i {
				continue
			}
			seen[u] = i
			counts[i]++
			stack = append(stack, g.users[u]...)
		}
	}
	return counts
}

// Weights returns, for each task ID, its critical-path weight: its own cost
// plus the largest weight among the tasks that depend on it — the length of
// the longest path from the task to the end of the graph. One topological
// order, one reverse pass.
func (g *Graph) Weights(cost func(*Task) float64) []float64 {
	topo := g.Topo()
	w := make([]float64, len(g.tasks))
	for idx := len(topo) - 1; idx >= 0; idx-- {
		t := topo[idx]
		best := 0.0
		for _, u := range g.users[t.ID] {
			best = max(best, w[u])
		}
		w[t.ID] = cost(t) + best
	}
	return w
}

// CriticalPath returns the heaviest chain of the given tasks (a subset closed
// under deps, e.g. from Closure), starting at the root with the largest weight
// and following at each step the heaviest dependent inside the subset.
func (g *Graph) CriticalPath(subset []*Task, cost func(*Task) float64) []*Task {
	in := make([]bool, len(g.tasks))
	for _, t := range subset {
		in[t.ID] = true
	}
	sub := func(t *Task) float64 {
		if !in[t.ID] {
			return 0
		}
		return cost(t)
	}
	w := g.Weights(sub)
	cur := -1
	for _, t := range subset {
		if cur < 0 || w[t.ID] > w[cur] {
			cur = t.ID
		}
	}
	var path []*Task
	for cur >= 0 {
		path = append(path, g.tasks[cur])
		next := -1
		for _, u := range g.users[cur] {
			if in[u] && (next < 0 || w[u] > w[next] || (w[u] == w[next] && u < next)) {
				next = u
			}
		}
		cur = next
	}
	return path
}
