package monitor

import (
	"cmp"
	"container/heap"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// ReportInput is what a report is made from.
type ReportInput struct {
	Timeline Timeline
	// Expected are history's predictions from before the run (records older
	// than the run's start), by task; nil: no anomalies, and the next run is
	// predicted from this run alone.
	Expected map[string]Expected
	// Flaky are the tasks' flakiness over their recent runs (FlakyFrom);
	// those with Flaky > 0 are reported.
	Flaky []Flaky
}

// ResourceStats summarise the machine samples of a run.
type ResourceStats struct {
	Samples        int
	CPUAvg, CPUMax float64 // percent
	MemAvg, MemMax float64 // percent
}

// MarshalJSON uses the names cpuAvg, cpuMax, memoryAvg, memoryMax.
func (r ResourceStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Samples int     `json:"samples"`
		CPUAvg  float64 `json:"cpuAvg"`
		CPUMax  float64 `json:"cpuMax"`
		MemAvg  float64 `json:"memoryAvg"`
		MemMax  float64 `json:"memoryMax"`
	}{r.Samples, r.CPUAvg, r.CPUMax, r.MemAvg, r.MemMax})
}

// Report is what `jsrt-script report` shows about a run.
type Report struct {
	RunID           string
	Start           time.Time
	Wall            time.Duration
	Jobs            int
	Tasks           int            // in the run
	Counts          map[string]int // tasks by status
	Metrics         Metrics
	CriticalPath    CriticalPath
	Bottlenecks     []Bottleneck
	Anomalies       []Anomaly
	Flaky           []Flaky // with Flaky > 0, most flaky first
	Resources       ResourceStats
	ParallelChanges int // optimizer changes during the run
	Recommendations []string
	// NextRun is the predicted wall time of the same run again: the graph
	// replayed on Jobs slots, highest critical-path weight first, each task
	// taking its prediction updated with this run (cache hits as long as
	// restoring took now).
	NextRun time.Duration

	a *analysis // of the timeline, for WriteHTML
}

// MarshalJSON encodes the report with float-millisecond durations.
func (r *Report) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		RunID           string         `json:"runId"`
		Start           time.Time      `json:"start"`
		Wall            float64        `json:"wallMs"`
		Jobs            int            `json:"jobs"`
		Tasks           int            `json:"tasks"`
		Counts          map[string]int `json:"counts"`
		Metrics         Metrics        `json:"metrics"`
		CriticalPath    CriticalPath   `json:"criticalPath"`
		Bottlenecks     []Bottleneck   `json:"bottlenecks"`
		Anomalies       []Anomaly      `json:"anomalies"`
		Flaky           []Flaky        `json:"flaky"`
		Resources       ResourceStats  `json:"resources"`
		ParallelChanges int            `json:"parallelismChanges"`
		Recommendations []string       `json:"recommendations"`
		NextRun         float64        `json:"nextRunMs"`
	}{r.RunID, r.Start, ms(r.Wall), r.Jobs, r.Tasks, r.Counts, r.Metrics, r.CriticalPath, nonNil(r.Bottlenecks),
		nonNil(r.Anomalies), nonNil(r.Flaky), r.Resources, r.ParallelChanges, nonNil(r.Recommendations), ms(r.NextRun)})
}

// NewReport analyses a run. Spans without a slot get one (AssignSlots).
func NewReport(in ReportInput) *Report {
	tl := in.Timeline
	tl.Spans = slices.Clone(tl.Spans)
	AssignSlots(tl.Spans)
	a := analyse(&tl)
	r := &Report{RunID: tl.RunID, Start: tl.Start, Wall: tl.Wall, Jobs: tl.Jobs, Tasks: len(a.vs),
		Counts: map[string]int{}, Metrics: measure(&tl, a.vs), CriticalPath: a.path, Bottlenecks: a.bottlenecks,
		Anomalies: anomalies(a.vs, in.Expected, DefaultAnomalyRule()), Resources: resourceStats(tl.Resources),
		ParallelChanges: len(tl.Changes), a: a}
	for _, v := range a.vs {
		r.Counts[v.Status]++
	}
	for _, f := range in.Flaky {
		if f.Flaky > 0 {
			r.Flaky = append(r.Flaky, f)
		}
	}
	slices.SortStableFunc(r.Flaky, func(x, y Flaky) int {
		return cmp.Or(cmp.Compare(y.Flaky, x.Flaky), cmp.Compare(x.Task, y.Task))
	})
	r.NextRun = nextRun(a, in.Expected)
	r.Recommendations = recommend(r, a)
	return r
}

func resourceStats(rs []Resource) ResourceStats {
	s := ResourceStats{Samples: len(rs)}
	for _, x := range rs {
		s.CPUAvg += x.CPUPercent
		s.MemAvg += x.MemUsedPercent
		s.CPUMax = max(s.CPUMax, x.CPUPercent)
		s.MemMax = max(s.MemMax, x.MemUsedPercent)
	}
	if len(rs) > 0 {
		s.CPUAvg /= float64(len(rs))
		s.MemAvg /= float64(len(rs))
	}
	return s
}

// Thresholds of the recommendations.
const (
	splitShare      = 0.5 // a task this share of a critical path that is...
	splitPathShare  = 0.5 // ...this share of the wall time...
	splitMin        = time.Second
	cpuLowAvg       = 50.0 // CPU averaged below this while tasks waited for a slot: raise -j
	cpuSaturatedAvg = 90.0
	memPeak         = 90.0
	efficiencyGoal  = 0.75 // the seed's targets
	hitRateGoal     = 0.40
	hitRateLookups  = 5 // lookups before the hit rate means something
	slotWaitMin     = 100 * time.Millisecond
	maxAnomalyHints = 3
	maxStarved      = 3
)

// recommend turns the analysis into concrete advice, most useful first.
func recommend(r *Report, a *analysis) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if b, ok := heaviestOnPath(r); ok && r.CriticalPath.Share >= splitPathShare && b.PathShare >= splitShare && b.Duration >= splitMin {
		add("task %q is %s of the critical path (%s of %s): split it or make it faster",
			b.Task, percent(b.PathShare), Round(b.Duration), Round(r.CriticalPath.Duration))
	}
	queued := waitedForSlot(a)
	switch res := r.Resources; {
	case res.Samples >= 2 && res.CPUAvg < cpuLowAvg && queued > 0:
		add("CPU averaged %s while %s waited for a free slot: raise -j (it was %d)",
			percent(res.CPUAvg/100), plural(queued, "task"), r.Jobs)
	case res.Samples >= 2 && res.CPUAvg > cpuSaturatedAvg:
		add("CPU averaged %s: the machine is saturated, a higher -j will not make the run faster", percent(res.CPUAvg/100))
	}
	if r.Resources.MemMax >= memPeak {
		add("memory peaked at %s: give memory-heavy tasks a pool with fewer slots", percent(r.Resources.MemMax/100))
	}
	if m := r.Metrics; r.Jobs > 1 && m.Efficiency < efficiencyGoal && r.CriticalPath.Share >= 0.8 && len(r.CriticalPath.Tasks) > 0 {
		add("parallel efficiency %s (target over %s): the critical path is %s of the wall time, so more slots will not help; shorten the path",
			percent(m.Efficiency), percent(efficiencyGoal), percent(r.CriticalPath.Share))
	}
	for _, b := range starved(r.Bottlenecks) {
		add("task %q waited %s for a slot while %s waited for it: raise its priority", b.Task, Round(b.Waited), plural(b.Blocked, "task"))
	}
	for _, f := range r.Flaky {
		add("task %q failed then passed in %d of its last %d runs: it is flaky, find out why", f.Task, f.Flaky, f.Runs)
	}
	for i, an := range r.Anomalies {
		if i == maxAnomalyHints {
			break
		}
		add("task %q took %s, %s than predicted (%s): see what changed", an.Task, Round(an.Duration), deviation(an.Deviation), Round(an.Expected))
	}
	if lookups := r.Counts["ok"] + r.Counts["cached"] + r.Counts["failed"]; lookups >= hitRateLookups && r.Metrics.CacheHitRate < hitRateGoal && r.Counts["cached"] > 0 {
		add("cache hit rate %s (target over %s): check that tasks declare exactly their inputs",
			percent(r.Metrics.CacheHitRate), percent(hitRateGoal))
	}
	return out
}

// heaviestOnPath is the critical-path task with the largest share of it.
func heaviestOnPath(r *Report) (Bottleneck, bool) {
	var best Bottleneck
	found := false
	for _, b := range r.Bottlenecks {
		if b.OnCriticalPath && (!found || b.PathShare > best.PathShare) {
			best, found = b, true
		}
	}
	return best, found
}

// waitedForSlot counts the tasks that were ready for at least slotWaitMin
// before a slot took them.
func waitedForSlot(a *analysis) int {
	n := 0
	for _, w := range a.waited {
		if w >= slotWaitMin {
			n++
		}
	}
	return n
}

// starved are the bottlenecks that waited for a slot while more than
// BlockedMin tasks waited for them: the maxStarved worst (waited time ×
// tasks blocked), worst first.
func starved(bs []Bottleneck) []Bottleneck {
	var out []Bottleneck
	for _, b := range bs {
		if b.Blocked > BlockedMin && b.Waited >= slotWaitMin {
			out = append(out, b)
		}
	}
	cost := func(b Bottleneck) float64 { return float64(b.Waited) * float64(b.Blocked) }
	slices.SortStableFunc(out, func(x, y Bottleneck) int {
		return cmp.Or(cmp.Compare(cost(y), cost(x)), cmp.Compare(x.Task, y.Task))
	})
	return out[:min(len(out), maxStarved)]
}

func percent(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }

// plural counts things: "1 task", "3 tasks".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func deviation(d float64) string {
	if d >= 0 {
		return percent(d) + " longer"
	}
	return percent(-d) + " shorter"
}

// ewmaAlpha is history's weight of the newest sample.
const ewmaAlpha = 0.3

// nextRun replays the run's graph with predicted durations.
func nextRun(a *analysis, expected map[string]Expected) time.Duration {
	cost := make(map[string]time.Duration, len(a.vs))
	for _, v := range a.vs {
		e, known := expected[v.Name]
		known = known && e.Samples > 0 && e.Duration > 0
		switch {
		case v.ran() && v.last().Cached:
			cost[v.Name] = v.last().Duration()
		case v.ran() && v.last().Status == SpanOK && known:
			d := ewmaAlpha*float64(v.last().Duration()) + (1-ewmaAlpha)*float64(e.Duration)
			cost[v.Name] = time.Duration(math.Round(d))
		case known:
			cost[v.Name] = e.Duration
		case v.ran():
			cost[v.Name] = v.last().Duration()
		}
	}
	return simulate(a, cost, max(1, a.tl.Jobs))
}

// simulate list-schedules the graph on slots: whenever a slot is free, the
// ready task with the highest critical-path weight (then the earlier in
// topological order) starts. It returns the makespan.
func simulate(a *analysis, cost map[string]time.Duration, slots int) time.Duration {
	g := a.g
	n := g.Len()
	tasks := g.Tasks()
	ready := &readyHeap{rank: make([]int, n)}
	ready.weight = g.Weights(func(t *graph.Task) float64 { return float64(cost[t.Name]) })
	waiting := make([]int, n)
	for i, t := range a.topo {
		ready.rank[t.ID] = i
		if waiting[t.ID] = len(g.Deps(t)); waiting[t.ID] == 0 {
			ready.ids = append(ready.ids, t.ID)
		}
	}
	heap.Init(ready)
	running := &endHeap{}
	var now time.Duration
	for ready.Len() > 0 || running.Len() > 0 {
		for running.Len() < slots && ready.Len() > 0 {
			id := heap.Pop(ready).(int)
			heap.Push(running, ending{now + cost[tasks[id].Name], id})
		}
		e := heap.Pop(running).(ending)
		now = e.at
		for _, u := range g.Dependents(tasks[e.id]) {
			if waiting[u.ID]--; waiting[u.ID] == 0 {
				heap.Push(ready, u.ID)
			}
		}
	}
	return now
}

// readyHeap orders ready tasks by weight (higher first), then topological rank.
type readyHeap struct {
	ids    []int
	weight []float64
	rank   []int
}

func (h *readyHeap) Len() int { return len(h.ids) }
func (h *readyHeap) Less(i, j int) bool {
	a, b := h.ids[i], h.ids[j]
	if h.weight[a] != h.weight[b] {
		return h.weight[a] > h.weight[b]
	}
	return h.rank[a] < h.rank[b]
}
func (h *readyHeap) Swap(i, j int) { h.ids[i], h.ids[j] = h.ids[j], h.ids[i] }
func (h *readyHeap) Push(x any)    { h.ids = append(h.ids, x.(int)) }
func (h *readyHeap) Pop() any {
	x := h.ids[len(h.ids)-1]
	h.ids = h.ids[:len(h.ids)-1]
	return x
}

// endHeap orders running tasks by end time, then id.
type ending struct {
	at time.Duration
	id int
}

type endHeap []ending

func (h endHeap) Len() int { return len(h) }
func (h endHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || (h[i].at == h[j].at && h[i].id < h[j].id)
}
func (h endHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)   { *h = append(*h, x.(ending)) }
func (h *endHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	r.writeSummary(&b)
	r.writeFindings(&b)
	if s := resourceText(r); s != "" {
		fmt.Fprintf(&b, "resources: %s\n", s)
	}
	if len(r.Recommendations) > 0 {
		b.WriteString("recommendations:\n")
		for _, s := range r.Recommendations {
			fmt.Fprintf(&b, "  - %s\n", s)
		}
	}
	fmt.Fprintf(&b, "next run: about %s\n", Round(r.NextRun))
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSummary prints the run, its metrics and its critical path.
func (r *Report) writeSummary(b *strings.Builder) {
	m := r.Metrics
	fmt.Fprintf(b, "run %s: %s in %s with -j %d", r.RunID, Plural(r.Tasks, "task"), Round(r.Wall), r.Jobs)
	if parts := countParts(r.Counts); parts != "" {
		fmt.Fprintf(b, " (%s)", parts)
	}
	fmt.Fprintf(b, "\n  efficiency %s, utilisation %s, speedup %.2fx, throughput %.2f tasks/s, cache hit rate %s, average task %s\n",
		percent(m.Efficiency), percent(m.Utilisation), m.Speedup, m.Throughput, percent(m.CacheHitRate), Round(m.AvgDuration))
	if cp := r.CriticalPath; len(cp.Tasks) > 0 {
		fmt.Fprintf(b, "critical path: %s, %s of the wall time: %s\n", Round(cp.Duration), percent(cp.Share), pathText(cp.Tasks, 12))
	}
}

// writeFindings prints bottlenecks (the first 10), anomalies and flaky tasks.
func (r *Report) writeFindings(b *strings.Builder) {
	if len(r.Bottlenecks) > 0 {
		b.WriteString("bottlenecks:\n")
		for i, x := range r.Bottlenecks {
			if i == 10 {
				fmt.Fprintf(b, "  ... and %d more\n", len(r.Bottlenecks)-i)
				break
			}
			fmt.Fprintf(b, "  %s %s%s\n", x.Task, Round(x.Duration), bottleneckText(x))
		}
	}
	if len(r.Anomalies) > 0 {
		b.WriteString("anomalies:\n")
		for _, an := range r.Anomalies {
			fmt.Fprintf(b, "  %s took %s, %s than predicted (%s, %d samples)\n", an.Task, Round(an.Duration),
				deviation(an.Deviation), Round(an.Expected), an.Samples)
		}
	}
	if len(r.Flaky) > 0 {
		b.WriteString("flaky:\n")
		for _, f := range r.Flaky {
			fmt.Fprintf(b, "  %s failed then passed in %d of its last %d runs\n", f.Task, f.Flaky, f.Runs)
		}
	}
}

// resourceText sums up the machine samples, "" without samples.
func resourceText(r *Report) string {
	res := r.Resources
	if res.Samples == 0 {
		return ""
	}
	s := fmt.Sprintf("cpu %s on average (peak %s), memory %s (peak %s), %s",
		percent(res.CPUAvg/100), percent(res.CPUMax/100), percent(res.MemAvg/100), percent(res.MemMax/100), plural(res.Samples, "sample"))
	if r.ParallelChanges > 0 {
		s += ", " + plural(r.ParallelChanges, "parallelism change")
	}
	return s
}

func countParts(c map[string]int) string {
	var parts []string
	for _, st := range []string{"ok", "cached", "failed", "interrupted", "skipped", "running", "pending"} {
		if c[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[st], st))
		}
	}
	return strings.Join(parts, ", ")
}

func pathText(tasks []string, limit int) string {
	if len(tasks) <= limit {
		return strings.Join(tasks, " -> ")
	}
	head := strings.Join(tasks[:limit/2], " -> ")
	tail := strings.Join(tasks[len(tasks)-limit/2:], " -> ")
	return fmt.Sprintf("%s -> ... (%d more) -> %s", head, len(tasks)-limit/2*2, tail)
}

func bottleneckText(b Bottleneck) string {
	var parts []string
	if b.OnCriticalPath {
		parts = append(parts, percent(b.PathShare)+" of the critical path")
	}
	if b.Blocked > 0 {
		parts = append(parts, plural(b.Blocked, "task")+" waited for it")
	}
	if b.Waited >= slotWaitMin {
		parts = append(parts, fmt.Sprintf("waited %s for a slot", Round(b.Waited)))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}
