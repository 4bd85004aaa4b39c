package sched

import (
	"container/heap"
	"fmt"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// plan is the state of one run: which tasks are wanted, how many of each
// task's deps are still outstanding, what is ready (a priority queue), and
// slot use. It is owned by the loop goroutine.
type plan struct {
	g        *graph.Graph
	tasks    []*graph.Task       // wanted, then those run ahead; each in topological order
	reports  map[int]*TaskReport // wanted tasks by ID
	waiting  map[int]int         // unfinished deps per wanted task
	ready    readyQueue
	jobs     int
	slots    map[string]int // pool -> slots
	free     map[string]int // pool -> free slots
	inPool   map[int]string // running task -> the pool it took
	running  int
	stopping bool // a failure without --continue, an interrupt, a policy error

	// Ready tasks whose probe is out (see loop.push), with their place in
	// the order, and the same by priority: nothing below the first of them
	// starts until its probe is back. An item of probeQ whose task is no
	// longer in probing is dropped when it comes to the top.
	probing map[int]readyItem
	probeQ  readyQueue

	spec       map[int]bool // tasks run ahead, not asked for
	wantedLeft int          // asked-for tasks not finished yet
}

func newPlan(g *graph.Graph, tasks, spec []*graph.Task, opt Options) *plan {
	p := &plan{
		g:       g,
		tasks:   tasks,
		reports: make(map[int]*TaskReport, len(tasks)),
		waiting: make(map[int]int, len(tasks)),
		jobs:    max(1, opt.Jobs),
		slots:   map[string]int{},
		free:    map[string]int{},
		inPool:  map[int]string{},
		spec:    map[int]bool{},
		probing: map[int]readyItem{},
	}
	for name, n := range opt.Pools {
		p.slots[name] = max(1, n)
		p.free[name] = max(1, n)
	}
	p.wantedLeft = len(tasks)
	for _, t := range spec {
		p.spec[t.ID] = true
	}
	p.tasks = append(append([]*graph.Task(nil), tasks...), spec...)
	for _, t := range p.tasks {
		p.reports[t.ID] = &TaskReport{Task: t}
		p.waiting[t.ID] = len(g.Deps(t))
	}
	return p
}

// done notes that an asked-for task reached its end state.
func (p *plan) done(t *graph.Task) {
	if !p.spec[t.ID] {
		p.wantedLeft--
	}
}

// initial returns the tasks that are ready at the start.
func (p *plan) initial() []*graph.Task {
	var out []*graph.Task
	for _, t := range p.tasks {
		if p.waiting[t.ID] == 0 {
			out = append(out, t)
		}
	}
	return out
}

// next pops the highest-priority ready task that a free slot can take, with
// the pool it will run in, or nil. Tasks whose pools are full stay queued.
// choose picks among a task's pools that have a free slot.
func (p *plan) next(choose func(*graph.Task, []Candidate) (string, error), admit func(*graph.Task) bool) (*graph.Task, string, error) {
	if p.stopping || p.running >= p.jobs {
		return nil, "", nil
	}
	var held []readyItem
	defer func() {
		for _, it := range held {
			heap.Push(&p.ready, it)
		}
	}()
	for p.ready.Len() > 0 {
		it := heap.Pop(&p.ready).(readyItem)
		if top, ok := p.firstProbing(); ok && before(top, it) {
			held = append(held, it) // a probe says first whether its task needs the slot
			return nil, "", nil
		}
		if p.spec[it.t.ID] && p.wantedLeft == 0 {
			continue // the run is over: nothing more runs ahead
		}
		if !admit(it.t) {
			held = append(held, it) // its memory would not fit now
			continue
		}
		names := pools(it.t)
		if len(names) == 0 {
			return it.t, "", nil
		}
		cands := p.candidates(names)
		if len(cands) == 0 {
			held = append(held, it)
			continue
		}
		pool, err := choose(it.t, cands)
		if err != nil {
			held = append(held, it)
			return nil, "", err
		}
		if p.free[pool] <= 0 {
			return nil, "", fmt.Errorf("select policy chose pool %q for task %q, which has no free slot", pool, it.t.Name)
		}
		return it.t, pool, nil
	}
	return nil, "", nil
}

// firstProbing is the highest of the items whose probe is out.
func (p *plan) firstProbing() (readyItem, bool) {
	for p.probeQ.Len() > 0 {
		top := p.probeQ[0]
		if cur, ok := p.probing[top.t.ID]; ok && cur == top {
			return top, true
		}
		heap.Pop(&p.probeQ) // settled
	}
	return readyItem{}, false
}

// candidates describes the pools among names that have a free slot.
func (p *plan) candidates(names []string) []Candidate {
	var out []Candidate
	for _, n := range names {
		slots, free := p.slots[n], p.free[n]
		if free <= 0 {
			continue
		}
		out = append(out, Candidate{Name: n, Slots: slots, Free: free, Performance: 1,
			Availability: float64(free) / float64(slots), Load: float64(slots-free+1) / float64(slots)})
	}
	return out
}

func (p *plan) start(t *graph.Task, pool string) *TaskReport {
	p.running++
	if pool != "" {
		p.free[pool]--
		p.inPool[t.ID] = pool
	}
	r := p.reports[t.ID]
	r.Status = Running
	r.Attempts++
	r.Pool = pool
	return r
}

// release gives back the slots a finished attempt held.
func (p *plan) release(t *graph.Task) {
	p.running--
	if pool, ok := p.inPool[t.ID]; ok {
		p.free[pool]++
		delete(p.inPool, t.ID)
	}
}

// succeed marks t done and returns the dependents it made ready.
func (p *plan) succeed(t *graph.Task, st Status) []*graph.Task {
	p.reports[t.ID].Status = st
	var ready []*graph.Task
	for _, u := range p.g.Dependents(t) {
		if _, wanted := p.waiting[u.ID]; !wanted {
			continue
		}
		if p.waiting[u.ID]--; p.waiting[u.ID] == 0 && p.reports[u.ID].Status == Pending {
			ready = append(ready, u)
		}
	}
	return ready
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
			p.done(u)
			skipped = append(skipped, ur)
			walk(u)
		}
	}
	walk(t)
	return skipped
}

// readyQueue orders ready tasks by key (higher first), then lower ID. The
// key is the task's priority, plus what it gained by aging (see AgingAfter).
type readyItem struct {
	t       *graph.Task
	prio    float64
	key     float64
	readyAt time.Time
}

type readyQueue []readyItem

func (q readyQueue) Len() int           { return len(q) }
func (q readyQueue) Less(i, j int) bool { return before(q[i], q[j]) }

// before says whether a comes before b in the ready order.
func before(a, b readyItem) bool {
	if a.key != b.key {
		return a.key > b.key
	}
	return a.t.ID < b.t.ID
}
func (q readyQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *readyQueue) Push(x any)   { *q = append(*q, x.(readyItem)) }
func (q *readyQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}
