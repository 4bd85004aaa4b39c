package optimize

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
)

// System samples the real machine with gopsutil. CPU and disk figures are
// rates over the time since the previous Sample (or since NewSystem for the
// first one), so a System keeps the previous counters: use one per run,
// from one goroutine at a time.
type System struct {
	now      func() time.Time
	cpus     int
	prevAt   time.Time
	prevCPU  cpu.TimesStat
	prevDisk map[string]uint64 // device -> milliseconds spent doing I/O
	noDisk   bool              // disk counters unreadable (some containers): report 0
}

// NewSystem reads the first counters, so the first Sample already covers a
// real interval. It fails when CPU or memory figures cannot be read at all.
func NewSystem(ctx context.Context) (*System, error) {
	s := &System{now: time.Now}
	n, err := cpu.CountsWithContext(ctx, true)
	if err == nil {
		s.cpus = n
	}
	t, err := cpuTotal(ctx)
	if err != nil {
		return nil, fmt.Errorf("optimizer: cannot read CPU times: %w", err)
	}
	if _, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		return nil, fmt.Errorf("optimizer: cannot read memory figures: %w", err)
	}
	s.prevCPU, s.prevAt = t, s.now()
	if s.prevDisk, err = diskTimes(ctx); err != nil {
		s.noDisk = true
	}
	return s, nil
}

// Sample implements Sampler. A load average or disk counters that cannot be
// read count as 0; CPU and memory failures are errors.
func (s *System) Sample(ctx context.Context) (Sample, error) {
	at := s.now()
	t, err := cpuTotal(ctx)
	if err != nil {
		return Sample{}, fmt.Errorf("optimizer: cannot read CPU times: %w", err)
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return Sample{}, fmt.Errorf("optimizer: cannot read memory figures: %w", err)
	}
	out := Sample{Time: at, CPUPercent: busyPercent(s.prevCPU, t), MemAvailable: int64(vm.Available), CPUs: s.cpus}
	if vm.Total > 0 {
		out.MemUsedPercent = 100 * float64(vm.Total-min(vm.Available, vm.Total)) / float64(vm.Total)
	}
	if avg, err := load.AvgWithContext(ctx); err == nil {
		out.Load1 = avg.Load1
	}
	if !s.noDisk {
		if d, err := diskTimes(ctx); err == nil {
			out.DiskBusyPercent = diskBusy(s.prevDisk, d, at.Sub(s.prevAt))
			s.prevDisk = d
		}
	}
	s.prevCPU, s.prevAt = t, at
	return out, nil
}

func cpuTotal(ctx context.Context) (cpu.TimesStat, error) {
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil {
		return cpu.TimesStat{}, err
	}
	if len(ts) == 0 {
		return cpu.TimesStat{}, fmt.Errorf("no CPU times")
	}
	return ts[0], nil
}

// busyPercent is the share of CPU time between two readings that was not
// idle or waiting for I/O. Guest time is already inside user time on Linux.
func busyPercent(a, b cpu.TimesStat) float64 {
	total := func(t cpu.TimesStat) (all, busy float64) {
		all = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
		return all, all - t.Idle - t.Iowait
	}
	a1, b1 := total(a)
	a2, b2 := total(b)
	if a2 <= a1 || b2 <= b1 {
		return 0
	}
	return min(100, 100*(b2-b1)/(a2-a1))
}

// diskTimes reads the milliseconds each block device has spent with I/O in
// flight. Loop and RAM devices are left out.
func diskTimes(ctx context.Context) (map[string]uint64, error) {
	st, err := disk.IOCountersWithContext(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(st))
	for name, c := range st {
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") || strings.HasPrefix(name, "zram") {
			continue
		}
		out[name] = c.IoTime
	}
	return out, nil
}

// diskBusy is the busiest device's share of the interval spent doing I/O.
func diskBusy(prev, cur map[string]uint64, interval time.Duration) float64 {
	ms := float64(interval) / float64(time.Millisecond)
	if ms <= 0 {
		return 0
	}
	busiest := 0.0
	for name, t := range cur {
		if p, ok := prev[name]; ok && t > p {
			busiest = max(busiest, min(100, 100*float64(t-p)/ms))
		}
	}
	return busiest
}
