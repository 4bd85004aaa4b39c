package monitor

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"
)

// Metrics are the seed's measures of a run (live or finished):
//
//	parallel efficiency = Σ task times ÷ (wall × slots)
//	resource utilisation = busy slot time ÷ available slot time
//	speedup             = Σ task times ÷ wall (the sequential time over the parallel time)
//	throughput          = tasks completed ÷ wall
//	cache hit rate      = cache hits ÷ cache lookups
//
// Σ task times is the sum of every attempt's span (retries included, cache
// hits at what restoring took). Slots are Jobs (-j). Available slot time is
// the effective parallelism integrated over the wall time: Jobs × wall
// without parallelism changes, less when the optimizer lowered it; busy
// slot time is Σ task times, since an attempt holds one slot.
type Metrics struct {
	Completed int // tasks finished: ok, cached or failed
	Running   int // tasks with an attempt going on
	Waiting   int // tasks not started yet (pending)
	// AvgDuration is the mean time of the completed tasks that really ran
	// (not cache hits), all their attempts counted.
	AvgDuration  time.Duration
	Throughput   float64 // completed tasks per second
	Efficiency   float64
	Utilisation  float64
	Speedup      float64
	CacheHitRate float64       // cached tasks ÷ completed tasks that may use the cache
	TaskTime     time.Duration // Σ task times
	SlotTime     time.Duration // available slot time
}

// MarshalJSON encodes durations as float milliseconds.
func (m Metrics) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Completed    int     `json:"completed"`
		Running      int     `json:"running"`
		Waiting      int     `json:"waiting"`
		AvgDuration  float64 `json:"avgDurationMs"`
		Throughput   float64 `json:"throughput"`
		Efficiency   float64 `json:"efficiency"`
		Utilisation  float64 `json:"utilisation"`
		Speedup      float64 `json:"speedup"`
		CacheHitRate float64 `json:"cacheHitRate"`
		TaskTime     float64 `json:"taskTimeMs"`
		SlotTime     float64 `json:"slotTimeMs"`
	}{m.Completed, m.Running, m.Waiting, ms(m.AvgDuration), m.Throughput, m.Efficiency, m.Utilisation,
		m.Speedup, m.CacheHitRate, ms(m.TaskTime), ms(m.SlotTime)})
}

// Measure computes the metrics of a timeline. Zero denominators give 0.
func Measure(tl Timeline) Metrics {
	vs, _ := views(&tl)
	return measure(&tl, vs)
}

func measure(tl *Timeline, vs []*taskView) Metrics {
	var m Metrics
	var realBusy time.Duration
	real, lookups, hits := 0, 0, 0
	for _, v := range vs {
		m.TaskTime += v.busy
		switch v.Status {
		case "running":
			m.Running++
		case "pending":
			m.Waiting++
		case "ok", "cached", "failed":
			m.Completed++
			if !v.NoCache {
				lookups++
				if v.Status == "cached" {
					hits++
				}
			}
			if v.realRun() {
				real++
				realBusy += v.busy
			}
		}
	}
	m.SlotTime = slotTime(tl)
	if real > 0 {
		m.AvgDuration = realBusy / time.Duration(real)
	}
	if tl.Wall > 0 {
		m.Throughput = float64(m.Completed) / tl.Wall.Seconds()
		m.Speedup = float64(m.TaskTime) / float64(tl.Wall)
		if tl.Jobs > 0 {
			m.Efficiency = float64(m.TaskTime) / (float64(tl.Wall) * float64(tl.Jobs))
		}
	}
	if m.SlotTime > 0 {
		m.Utilisation = float64(m.TaskTime) / float64(m.SlotTime)
	}
	if lookups > 0 {
		m.CacheHitRate = float64(hits) / float64(lookups)
	}
	return m
}

// slotTime integrates the available slots over [0, wall]: the effective
// parallelism (Jobs until the first change, then each change's To), or the
// number of attempts running when that is more — lowering the parallelism
// stops nothing that runs, so those slots stay in use.
func slotTime(tl *Timeline) time.Duration {
	type event struct {
		at    time.Duration
		jobs  int // > 0: the parallelism becomes jobs
		delta int // +1 an attempt starts, -1 one ends
	}
	var evs []event
	for _, c := range tl.Changes {
		evs = append(evs, event{at: min(max(c.At, 0), tl.Wall), jobs: max(c.To, 1)})
	}
	for _, sp := range tl.Spans {
		evs = append(evs, event{at: min(max(sp.Start, 0), tl.Wall), delta: 1}, event{at: min(max(sp.End, 0), tl.Wall), delta: -1})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	var total time.Duration
	jobs, running, from := tl.Jobs, 0, time.Duration(0)
	for _, e := range evs {
		total += time.Duration(max(jobs, running)) * (e.at - from)
		from = e.at
		if e.jobs > 0 {
			jobs = e.jobs
		}
		running += e.delta
	}
	return total + time.Duration(max(jobs, running))*max(0, tl.Wall-from)
}
