// Package optimize owns resource-aware scheduling: sampling the machine (CPU,
// memory, load, runnable threads, disk I/O) while a run goes on, the
// parallelism controller that moves the effective job limit between --min-j
// and -j, and memory-aware admission of tasks whose predicted peak RSS is
// known from history.
//
// The pieces and their goroutines:
//
//   - A Sampler measures the machine. Run calls it every interval on the
//     goroutine that called Run and hands each Sample to a callback; Latest
//     carries the newest sample to the run loop without blocking.
//   - A Controller is owned by the run loop: it turns samples and finished
//     tasks into a new job limit (through a Policy: DefaultRule.Decide, or a
//     JavaScript hook) and admits or holds memory-heavy tasks. It is not safe
//     for concurrent use.
//
// Nothing here imports a JS engine; the JS hook sees the same plain objects
// (Sample.JS, State.JS) as scripts/policies/parallelism.js.
package optimize

import (
	"context"
	"encoding/json"
	"math"
	"time"
)

// DefaultInterval is how often the machine is sampled during a run.
const DefaultInterval = 500 * time.Millisecond

// Sample is one measurement of the machine.
type Sample struct {
	Time            time.Time
	CPUPercent      float64 // all CPUs busy, 0-100, over the time since the previous sample
	MemUsedPercent  float64 // (total - available) / total, 0-100
	MemAvailable    int64   // bytes available for new processes without swapping
	Load1           float64 // one-minute load average
	DiskBusyPercent float64 // busiest disk: share of the interval with I/O in flight, 0-100
	CPUs            int     // logical CPUs; 0 when unknown
	// Runnable is how many threads were runnable machine-wide at the
	// sample (procs_running), the sampling thread included; 0 when unknown.
	Runnable int
	// SelfRunnable is how many of them were this process's (the
	// coordinator's), the sampling thread included; 0 when unknown.
	SelfRunnable int
}

// sampleJSON is the shape of a Sample in JSON and in JavaScript.
type sampleJSON struct {
	Time         float64 `json:"time"` // Unix milliseconds, 0 for the zero time
	CPU          float64 `json:"cpu"`
	Memory       float64 `json:"memory"`
	MemAvailable int64   `json:"memAvailable"`
	Load1        float64 `json:"load1"`
	Disk         float64 `json:"disk"`
	CPUs         int     `json:"cpus"`
	Runnable     int     `json:"runnable"`
	SelfRunnable int     `json:"selfRunnable"`
}

func (s Sample) toJSON() sampleJSON {
	ms := 0.0
	if !s.Time.IsZero() {
		ms = float64(s.Time.UnixMilli()) + float64(s.Time.Nanosecond()%1e6)/1e6
	}
	return sampleJSON{ms, s.CPUPercent, s.MemUsedPercent, s.MemAvailable, s.Load1, s.DiskBusyPercent, s.CPUs,
		s.Runnable, s.SelfRunnable}
}

// JS returns the sample as the object a parallelism hook receives as
// metrics: {time, cpu, memory, memAvailable, load1, disk, cpus, runnable,
// selfRunnable}, time in Unix milliseconds, percentages 0-100, memAvailable
// in bytes, runnable and selfRunnable counts of threads (0 when unknown).
func (s Sample) JS() map[string]any {
	j := s.toJSON()
	return map[string]any{"time": j.Time, "cpu": j.CPU, "memory": j.Memory, "memAvailable": j.MemAvailable,
		"load1": j.Load1, "disk": j.Disk, "cpus": j.CPUs, "runnable": j.Runnable, "selfRunnable": j.SelfRunnable}
}

// MarshalJSON encodes the sample with the names JS sees.
func (s Sample) MarshalJSON() ([]byte, error) { return json.Marshal(s.toJSON()) }

// UnmarshalJSON decodes what MarshalJSON encodes.
func (s *Sample) UnmarshalJSON(b []byte) error {
	var j sampleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Sample{CPUPercent: j.CPU, MemUsedPercent: j.Memory, MemAvailable: j.MemAvailable, Load1: j.Load1,
		DiskBusyPercent: j.Disk, CPUs: j.CPUs, Runnable: j.Runnable, SelfRunnable: j.SelfRunnable}
	if j.Time != 0 {
		whole := math.Floor(j.Time)
		s.Time = time.UnixMilli(int64(whole)).Add(time.Duration(math.Round((j.Time - whole) * 1e6)))
	}
	return nil
}

// Sampler measures the machine.
//
// Contract: Sample is called from one goroutine at a time (Run's); it may
// block for as long as reading the operating system's counters takes (well
// under a millisecond on Linux) and must return promptly once ctx is done.
// Rates (CPU, disk) cover the time since the previous call.
type Sampler interface {
	Sample(ctx context.Context) (Sample, error)
}
