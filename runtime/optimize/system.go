package optimize

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
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

// Sample implements Sampler. A load average, runnable-thread counts or disk
// counters that cannot be read count as 0; CPU and memory failures are
// errors.
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
	out.Runnable, out.SelfRunnable = runnable(), selfRunnable()
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

// runnable is how many threads are runnable machine-wide now: the fourth
// field of /proc/loadavg ("0.50 0.40 0.30 3/245 1234"), the same count as
// procs_running in /proc/stat, from a much shorter file. 0 when unreadable
// (not Linux).
func runnable() int {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 4 {
		return 0
	}
	n, _, _ := bytes.Cut(f[3], []byte("/"))
	v, err := strconv.Atoi(string(n))
	if err != nil {
		return 0
	}
	return v
}

// selfRunnable is how many threads of this process are runnable now (state
// R in /proc/self/task/*/stat), the calling one included. 0 when unreadable.
func selfRunnable() int {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return 0
	}
	tids, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return 0
	}
	n := 0
	var buf [64]byte
	for _, tid := range tids {
		if threadRunnable("/proc/self/task/"+tid+"/stat", buf[:]) {
			n++
		}
	}
	return n
}

// threadRunnable says whether the thread whose stat file is path is
// runnable. The file starts "tid (comm) S ...": comm (at most 15 bytes) may
// hold spaces and parentheses, what follows the state is numbers, so the
// first 64 bytes hold the state.
func threadRunnable(path string, buf []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false // the thread ended
	}
	n, _ := f.Read(buf)
	f.Close()
	b := buf[:n]
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'R'
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
