package sched

import (
	"container/heap"
	"fmt"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// plan is the state of one run: which tasks are wanted, how many of each
// task's deps are still outstanding, what is ready (a priority queue), and
// slot use. It is owned by the loop goroutine.
type plan struct {
	g        *graph.Graph
	reports  map[int]*TaskReport // wanted tasks by ID
	waiting  map[int]int         // unfinished deps per wanted task
	ready    readyQueue
	prio     []float64
	jobs     int
	pools    map[string]int // free slots per pool
	running  int
	stopping bool // a failure without --continue, or an interrupt
}

func newPlan(g *graph.Graph, tasks []*graph.Task, opt Options) *plan {
	p := &plan{
		g:       g,
		reports: make(map[int]*TaskReport, len(tasks)),
		waiting: make(map[int]int, len(tasks)),
		jobs:    max(1, opt.Jobs),
		pools:   map[string]int{},
	}
	for name, n := range opt.Pools {
		p.pools[name] = max(1, n)
	}
	p.prio = priorities(g, tasks, opt.Cost)
	for _, t := range tasks {
		p.reports[t.ID] = &TaskReport{Task: t}
		p.waiting[t.ID] = len(g.Deps(t))
	}
	for _, t := range tasks {
		if p.waiting[t.ID] == 0 {
			p.push(t)
		}
	}
	return p
}

// priorities: the critical-path weight of each task within the wanted set,
// plus a large step per unit of the task's own priority option, so an
// explicit priority always wins over weights; critical tasks go first.
func priorities(g *graph.Graph, tasks []*graph.Task, cost func(*graph.Task) float64) []float64 {
	in := make([]bool, g.Len())
	for _, t := range tasks {
		in[t.ID] = true
	}
	w := g.Weights(func(t *graph.Task) float64 {
		switch {
		case !in[t.ID]:
			return 0
		case cost == nil:
			return 1
		}
		return cost(t)
	})
	for _, t := range tasks {
		w[t.ID] += float64(t.Priority) * 1e12
		if t.Critical {
			w[t.ID] += 1e15
		}
	}
	return w
}

func (p *plan) push(t *graph.Task) { heap.Push(&p.ready, readyItem{t, p.prio[t.ID]}) }

// next pops the highest-priority ready task that a free slot can take, or
// nil. Tasks whose pool is full stay queued, in order.
func (p *plan) next() *graph.Task {
	if p.stopping || p.running >= p.jobs {
		return nil
	}
	var held []readyItem
	defer func() {
		for _, it := range held {
			heap.Push(&p.ready, it)
		}
	}()
	for p.ready.Len() > 0 {
		it := heap.Pop(&p.ready).(readyItem)
		if pool := it.t.Pool; pool != "" && p.pools[pool] <= 0 {
			held = append(held, it)
			continue
		}
		return it.t
	}
	return nil
}

func (p *plan) start(t *graph.Task) *TaskReport {
	p.running++
	if t.Pool != "" {
		p.pools[t.Pool]--
	}
	r := p.reports[t.ID]
	r.Status = Running
	r.Attempts++
	return r
}

// release gives back the slots a finished attempt held.
func (p *plan) release(t *graph.Task) {
	p.running--
	if t.Pool != "" {
		p.pools[t.Pool]++
	}
}

// succeed marks t done and makes dependents whose deps are all done ready.
func (p *plan) succeed(t *graph.Task, st Status) {
	p.reports[t.ID].Status = st
	for _, u := range p.g.Dependents(t) {
		if _, wanted := p.waiting[u.ID]; !wanted {
			continue
		}
		if p.waiting[u.ID]--; p.waiting[u.ID] == 0 && p.reports[u.ID].Status == Pending {
			p.push(u)
		}
	}
}

// fail marks t failed and every wanted task depending on it skipped, and
// returns those skipped, in topological order.
func (p *plan) fail(t *graph.Task, st Status, reason string) []*TaskReport {
	r := p.reports[t.ID]
	r.Status, r.Reason = st, reason
	var skipped []*TaskReport
	var walk func(x *graph.Task)
	walk = func(x *graph.Task) {
		for _, u := range p.g.Dependents(x) {
			ur, wanted := p.reports[u.ID]
			if !wanted || ur.Status != Pending {
				continue
			}
			ur.Status = Skipped
			ur.Reason = fmt.Sprintf("dependency %q %s", t.Name, st)
			skipped = append(skipped, ur)
			walk(u)
		}
	}
	walk(t)
	return skipped
}

// readyQueue orders ready tasks by priority (higher first), then lower ID.
type readyItem struct {
	t    *graph.Task
	prio float64
}

type readyQueue []readyItem

func (q readyQueue) Len() int { return len(q) }
func (q readyQueue) Less(i, j int) bool {
	if q[i].prio != q[j].prio {
		return q[i].prio > q[j].prio
	}
	return q[i].t.ID < q[j].t.ID
}
func (q readyQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *readyQueue) Push(x any)   { *q = append(*q, x.(readyItem)) }
func (q *readyQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}
