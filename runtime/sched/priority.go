package sched

import (
	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// prioritizer knows what ordering needs: predictions, critical-path
// weights within the run's tasks, blocking counts, and the aging rate.
type prioritizer struct {
	g        *graph.Graph
	in       []bool // wanted in this run, by ID
	pred     map[int]Prediction
	override map[int]float64 // ms, after a task overran its prediction
	weights  []float64
	blocking []int
	aging    float64 // priority gained per ms of waiting
}

// blockingCap bounds the walk that counts a task's dependents: the count is
// exact up to it, and policies only compare it with small numbers.
const blockingCap = 1000

func newPrioritizer(g *graph.Graph, tasks []*graph.Task, predict func(*graph.Task) Prediction) *prioritizer {
	pz := &prioritizer{g: g, in: make([]bool, g.Len()), pred: map[int]Prediction{}, override: map[int]float64{}}
	for _, t := range tasks {
		pz.in[t.ID] = true
		if predict != nil {
			pz.pred[t.ID] = predict(t)
		}
	}
	pz.blocking = pz.countBlocking(tasks)
	pz.recompute()
	return pz
}

// cost is a task's expected duration in ms, or 1 when nothing is known
// (then weights measure structure: how much work waits behind a task).
func (pz *prioritizer) cost(t *graph.Task) float64 {
	if !pz.in[t.ID] {
		return 0
	}
	if ms, ok := pz.override[t.ID]; ok {
		return ms
	}
	if p := pz.pred[t.ID]; p.Ms > 0 {
		return p.Ms
	}
	return 1
}

// recompute sets the weights, and the aging rate so that a task waiting one
// minute gains the largest weight of the run.
func (pz *prioritizer) recompute() {
	pz.weights = pz.g.Weights(pz.cost)
	top := 0.0
	for id, w := range pz.weights {
		if pz.in[id] {
			top = max(top, w)
		}
	}
	pz.aging = top / 60000
}

func (pz *prioritizer) countBlocking(tasks []*graph.Task) []int {
	counts := make([]int, pz.g.Len())
	seen := make([]int, pz.g.Len())
	for i := range seen {
		seen[i] = -1
	}
	for _, t := range tasks {
		stack := pz.g.Dependents(t)
		for len(stack) > 0 && counts[t.ID] < blockingCap {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[u.ID] == t.ID || !pz.in[u.ID] {
				continue
			}
			seen[u.ID] = t.ID
			counts[t.ID]++
			stack = append(stack, pz.g.Dependents(u)...)
		}
	}
	return counts
}

// info describes t for policies.
func (pz *prioritizer) info(t *graph.Task, attempt int, waitMs float64) TaskInfo {
	p := pz.pred[t.ID]
	conf := p.Confidence
	if conf == "" {
		conf = "none"
	}
	return TaskInfo{Name: t.Name, Tags: t.Tags, Priority: t.Priority, Critical: t.Critical,
		Blocking: pz.blocking[t.ID], WaitMs: waitMs, Weight: pz.weights[t.ID], PredictedMs: p.Ms,
		Confidence: conf, FailureRate: p.FailureRate, Attempt: attempt, Retries: t.Retries, Pool: t.Pool}
}
