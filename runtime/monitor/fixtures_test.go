package monitor

import (
	"fmt"
	"math/rand/v2"
	"time"
)

const sec = time.Second

func secs(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }

// retryRun is a finished run on 2 slots, 10 s of wall time. Slots are left
// to AssignSlots. c fails once, then passes; f is a cache hit; g never
// uses the cache; e was skipped.
//
//	time  0    1    2    3    4    5    6    7    8    9    10
//	slot1 [--- a ---][------ b ------][f][g][-------- d --------]
//	slot2 [------ c#1 -----][------ c#2 -----]
//
//	a -> b -> d -> e      c -> d
func retryRun() Timeline {
	return Timeline{
		RunID: "0001-run", Start: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), Wall: 10 * sec, Jobs: 2,
		Tasks: []TaskInfo{
			{Name: "a", Status: "ok"},
			{Name: "b", Deps: []string{"a"}, Status: "ok"},
			{Name: "c", Status: "ok"},
			{Name: "d", Deps: []string{"b", "c"}, Status: "ok"},
			{Name: "e", Deps: []string{"d"}, Status: "skipped"},
			{Name: "f", Status: "cached"},
			{Name: "g", Status: "ok", NoCache: true},
		},
		Spans: []Span{
			{Task: "d", Start: 6 * sec, End: 10 * sec, Status: SpanOK, Attempt: 1},
			{Task: "a", Start: 0, End: 2 * sec, Status: SpanOK, Attempt: 1},
			{Task: "c", Start: 0, End: 3 * sec, Status: SpanFailed, Attempt: 1, ExitCode: 1},
			{Task: "b", Start: 2 * sec, End: 5 * sec, Status: SpanOK, Attempt: 1, PeakRSS: 1 << 20},
			{Task: "c", Start: 3 * sec, End: 6 * sec, Status: SpanOK, Attempt: 2},
			{Task: "f", Start: 5 * sec, End: secs(5.5), Status: SpanCached, Attempt: 1, Cached: true},
			{Task: "g", Start: secs(5.5), End: 6 * sec, Status: SpanOK, Attempt: 1},
		},
	}
}

// blockedRun is a finished run on 2 slots, 9 s of wall time: x holds a slot
// for 7 s (the critical path); lib was ready at 1 s but y took the other
// slot, so lib waited 3 s while t1, t2, t3 and pkg waited for it.
//
//	time  0    1    2    3    4    5    6    7    8    9
//	slot1 [--------------- x ---------------][t3]
//	slot2 [gen][----- y -----][lib][t1][t2]      [pkg]
//
//	gen -> lib -> t1, t2, t3 -> pkg        x        y
func blockedRun() Timeline {
	sp := func(task string, slot int, from, to float64) Span {
		return Span{Task: task, Slot: slot, Start: secs(from), End: secs(to), Status: SpanOK, Attempt: 1}
	}
	return Timeline{
		RunID: "0002-run", Wall: 9 * sec, Jobs: 2,
		Tasks: []TaskInfo{
			{Name: "gen"}, {Name: "x"}, {Name: "lib", Deps: []string{"gen"}}, {Name: "y"},
			{Name: "t1", Deps: []string{"lib"}}, {Name: "t2", Deps: []string{"lib"}}, {Name: "t3", Deps: []string{"lib"}},
			{Name: "pkg", Deps: []string{"t1", "t2", "t3"}},
		},
		Spans: []Span{
			sp("x", 1, 0, 7), sp("gen", 2, 0, 1), sp("y", 2, 1, 4), sp("lib", 2, 4, 5),
			sp("t1", 2, 5, 6), sp("t2", 2, 6, 7), sp("t3", 1, 7, 8), sp("pkg", 2, 8, 9),
		},
		Resources: []Resource{{At: 1 * sec, CPUPercent: 30, MemUsedPercent: 40}, {At: 2 * sec, CPUPercent: 40, MemUsedPercent: 50},
			{At: 3 * sec, CPUPercent: 35, MemUsedPercent: 92}},
		Changes: []Change{{At: 8 * sec, From: 2, To: 1, Reason: "cpu 95% > 90%"}},
	}
}

// bigRun is a synthetic finished run of n tasks on jobs slots: each task
// depends on up to 3 of the 50 tasks before it, takes 50 ms to 2 s, and
// starts as soon as its deps are done and a slot is free (slots are left
// to AssignSlots).
func bigRun(n, jobs int) Timeline {
	rng := rand.New(rand.NewPCG(1, 2))
	tl := Timeline{RunID: "big", Jobs: jobs}
	end := make([]time.Duration, n)
	free := make([]time.Duration, jobs)
	for i := range n {
		t := TaskInfo{Name: fmt.Sprintf("pkg/%04d/test", i), Status: "ok"}
		ready := time.Duration(0)
		for k := rng.IntN(4); k > 0 && i > 0; k-- {
			j := max(0, i-1-rng.IntN(min(i, 50)))
			t.Deps = append(t.Deps, tl.Tasks[j].Name)
			ready = max(ready, end[j])
		}
		slot := 0
		for s := range free {
			if free[s] < free[slot] {
				slot = s
			}
		}
		start := max(ready, free[slot])
		d := 50*time.Millisecond + time.Duration(rng.IntN(1950))*time.Millisecond
		end[i], free[slot] = start+d, start+d
		status := SpanOK
		if i%97 == 0 {
			status, t.Status = SpanCached, "cached"
		}
		tl.Tasks = append(tl.Tasks, t)
		tl.Spans = append(tl.Spans, Span{Task: t.Name, Start: start, End: start + d, Status: status, Attempt: 1,
			Cached: status == SpanCached})
		tl.Wall = max(tl.Wall, start+d)
	}
	for at := time.Duration(0); at < tl.Wall; at += 500 * time.Millisecond {
		tl.Resources = append(tl.Resources, Resource{At: at, CPUPercent: float64(rng.IntN(100)), MemUsedPercent: 40})
	}
	return tl
}
