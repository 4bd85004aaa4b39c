package monitor

import (
	"cmp"
	"slices"
	"sort"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// Span statuses: a finished attempt's outcome as history records it, or
// "running" for an attempt still going on.
const (
	SpanOK          = "ok"
	SpanCached      = "cached"
	SpanFailed      = "failed"
	SpanTimeout     = "timeout"
	SpanError       = "error"
	SpanInterrupted = "interrupted"
	SpanRunning     = "running"
)

// Timeline is one run as the monitor measures, reports and draws it. It is
// plain data: the lead fills it from a live run (Recorder) or from history
// (FromHistory). Times are offsets from the run's start.
type Timeline struct {
	RunID string
	Start time.Time     // when the run started, for display
	Wall  time.Duration // the run's wall time (for a live run: so far)
	Jobs  int           // slots: -j, the upper bound of parallelism
	// Tasks lists every task of the run, in topological order, with deps
	// when known. Tasks that never started (skipped, still waiting) are
	// only here. When empty, the tasks are those of the spans.
	Tasks []TaskInfo
	// Spans has one entry per attempt, in any order.
	Spans []Span
	// Resources are the machine samples taken during the run, in order.
	Resources []Resource
	// Changes are the optimizer's parallelism changes, in order. The
	// effective parallelism starts at Jobs.
	Changes []Change
}

// TaskInfo is one task of a run.
type TaskInfo struct {
	Name    string
	Deps    []string // names; nil when unknown (then the critical path is one task)
	Status  string   // sched status names: ok, cached, failed, skipped, interrupted, running, pending
	NoCache bool     // the task never uses the cache (cache: false)
}

// Span is one attempt of a task.
type Span struct {
	Task     string
	Slot     int           // 1-based; 0: AssignSlots gives it the lowest free slot at its start
	Start    time.Duration // since the run's start
	End      time.Duration // for a running attempt: the time it was last seen
	Status   string        // one of the Span* constants
	Attempt  int           // 1-based
	ExitCode int
	Cached   bool  // a cache hit: outputs restored, nothing ran
	PeakRSS  int64 // bytes, 0 when unknown
}

// Duration is the span's length.
func (s Span) Duration() time.Duration { return max(0, s.End-s.Start) }

// Resource is one machine sample during the run.
type Resource struct {
	At             time.Duration
	CPUPercent     float64
	MemUsedPercent float64
}

// Change is one change of the effective parallelism, with its reason.
type Change struct {
	At       time.Duration
	From, To int
	Reason   string
}

// AssignSlots gives every span whose Slot is 0 the lowest slot that is free
// at its start: not used by an earlier span (by start, then end, then task)
// nor by a span the caller placed, over the whole of the span. Spans the
// caller placed keep their slot. The order of spans is kept.
func AssignSlots(spans []Span) {
	idx := make([]int, len(spans))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		x, y := spans[idx[a]], spans[idx[b]]
		return cmp.Or(cmp.Compare(x.Start, y.Start), cmp.Compare(x.End, y.End), cmp.Compare(x.Task, y.Task)) < 0
	})
	placed := map[int]*slotSpans{} // caller-placed spans per slot, by start
	for _, i := range idx {
		if s := spans[i]; s.Slot > 0 {
			p := placed[s.Slot]
			if p == nil {
				p = &slotSpans{}
				placed[s.Slot] = p
			}
			p.add(s)
		}
	}
	var freeAt []time.Duration // per slot-1: when the greedy spans in it end
	for _, i := range idx {
		s := &spans[i]
		if s.Slot > 0 {
			continue
		}
		for k := 0; ; k++ {
			if k == len(freeAt) {
				freeAt = append(freeAt, 0)
			}
			if freeAt[k] <= s.Start && !placed[k+1].overlaps(s.Start, s.End) {
				s.Slot, freeAt[k] = k+1, max(s.End, s.Start)
				break
			}
		}
	}
}

// slotSpans are the caller-placed spans of one slot, by start, with the
// running maximum of their ends.
type slotSpans struct {
	starts, maxEnd []time.Duration
}

func (p *slotSpans) add(s Span) {
	end := s.End
	if n := len(p.maxEnd); n > 0 {
		end = max(end, p.maxEnd[n-1])
	}
	p.starts = append(p.starts, s.Start)
	p.maxEnd = append(p.maxEnd, end)
}

// overlaps reports whether a placed span overlaps [start, end); an empty
// interval counts as lasting an instant.
func (p *slotSpans) overlaps(start, end time.Duration) bool {
	if p == nil {
		return false
	}
	end = max(end, start+1)
	i := sort.Search(len(p.starts), func(i int) bool { return p.starts[i] >= end })
	return i > 0 && p.maxEnd[i-1] > start
}

// taskView is what the monitor derives per task: its info and attempts.
type taskView struct {
	TaskInfo
	spans []Span        // by start
	busy  time.Duration // Σ of its spans
	first time.Duration // start of its first attempt
	end   time.Duration // end of its last attempt
}

func (v *taskView) ran() bool { return len(v.spans) > 0 }

// last is the last attempt.
func (v *taskView) last() Span { return v.spans[len(v.spans)-1] }

// realRun reports whether the task's outcome came from running it (not the cache).
func (v *taskView) realRun() bool { return v.ran() && !v.last().Cached }

// views indexes a timeline by task, in the order of tl.Tasks (then tasks
// only seen in spans, by first start). Statuses missing from TaskInfo are
// derived from the last attempt.
func views(tl *Timeline) ([]*taskView, map[string]*taskView) {
	byName := make(map[string]*taskView, len(tl.Tasks))
	var out []*taskView
	for _, t := range tl.Tasks {
		if _, dup := byName[t.Name]; dup {
			continue
		}
		v := &taskView{TaskInfo: t}
		byName[t.Name] = v
		out = append(out, v)
	}
	spans := slices.Clone(tl.Spans)
	slices.SortStableFunc(spans, func(a, b Span) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.Attempt, b.Attempt), cmp.Compare(a.Task, b.Task))
	})
	for _, s := range spans {
		v := byName[s.Task]
		if v == nil {
			v = &taskView{TaskInfo: TaskInfo{Name: s.Task}}
			byName[s.Task] = v
			out = append(out, v)
		}
		if !v.ran() {
			v.first = s.Start
		}
		v.spans = append(v.spans, s)
		if !s.Cached { // a hit holds no slot: its restore is not task time
			v.busy += s.Duration()
		}
		v.end = max(v.end, s.End)
	}
	for _, v := range out {
		if v.Status == "" {
			v.Status = statusOf(v)
		}
	}
	return out, byName
}

// statusOf maps a task's last attempt to a task status.
func statusOf(v *taskView) string {
	if !v.ran() {
		return "pending"
	}
	switch v.last().Status {
	case SpanOK:
		return "ok"
	case SpanCached:
		return "cached"
	case SpanRunning:
		return "running"
	case SpanInterrupted:
		return "interrupted"
	}
	return "failed"
}

// taskGraph builds a validated graph of the timeline's tasks, keeping only
// deps on tasks of the timeline. Deps that make no DAG are dropped (every
// task then stands alone).
func taskGraph(vs []*taskView) *graph.Graph {
	build := func(withDeps bool) (*graph.Graph, error) {
		g := graph.New()
		known := make(map[string]bool, len(vs))
		for _, v := range vs {
			known[v.Name] = true
		}
		for _, v := range vs {
			t := &graph.Task{Name: v.Name}
			if withDeps {
				for _, d := range v.Deps {
					if known[d] && d != v.Name {
						t.Deps = append(t.Deps, d)
					}
				}
			}
			if err := g.Add(t); err != nil {
				return nil, err
			}
		}
		return g, g.Validate()
	}
	if g, err := build(true); err == nil {
		return g
	}
	g, _ := build(false)
	return g
}
