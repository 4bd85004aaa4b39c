package optimize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
)

func TestRunStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	samples := make([]Sample, 1000)
	s := NewScript(samples...)
	n := 0
	err := Run(ctx, s, time.Millisecond, func(Sample) {
		if n++; n == 3 {
			cancel()
		}
	})
	if err != nil || n != 3 || s.Calls() != 3 {
		t.Errorf("Run = %v after %d samples (%d calls), want nil after 3", err, n, s.Calls())
	}
}

func TestRunReportsSamplerError(t *testing.T) {
	t.Parallel()
	var got []Sample
	want := series([2]float64{1, 2}, [2]float64{3, 4})
	err := Run(context.Background(), NewScript(want...), time.Millisecond, func(s Sample) { got = append(got, s) })
	if !errors.Is(err, ErrEndOfScript) || err.Error() != "optimizer: sampling stopped: optimizer: end of scripted samples" {
		t.Errorf("Run = %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("samples %v, want %v", got, want)
	}
}

func TestLatestKeepsTheNewest(t *testing.T) {
	t.Parallel()
	l := NewLatest()
	for i := range 5 {
		l.Put(Sample{CPUs: i})
	}
	if s := <-l.C(); s.CPUs != 4 {
		t.Errorf("got sample %d, want the newest (4)", s.CPUs)
	}
	select {
	case s := <-l.C():
		t.Errorf("a second sample %d was waiting", s.CPUs)
	default:
	}
}

func TestLatestConcurrent(t *testing.T) {
	t.Parallel()
	l := NewLatest()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 10000; i++ {
			l.Put(Sample{CPUs: i})
		}
	}()
	last := 0
	for last < 10000 {
		select {
		case s := <-l.C():
			if s.CPUs <= last {
				t.Fatalf("sample %d after %d", s.CPUs, last)
			}
			last = s.CPUs
		case <-done:
			s := <-l.C()
			last = s.CPUs
			if last != 10000 {
				t.Fatalf("last sample %d, want 10000", last)
			}
		}
	}
}

func TestBusyPercent(t *testing.T) {
	t.Parallel()
	a := cpu.TimesStat{User: 10, System: 5, Idle: 80, Iowait: 5}
	tests := []struct {
		name string
		b    cpu.TimesStat
		want float64
	}{
		{"half busy", cpu.TimesStat{User: 30, System: 15, Idle: 100, Iowait: 15}, 50},
		{"all idle", cpu.TimesStat{User: 10, System: 5, Idle: 180, Iowait: 5}, 0},
		{"iowait is not busy", cpu.TimesStat{User: 10, System: 5, Idle: 80, Iowait: 105}, 0},
		{"all busy", cpu.TimesStat{User: 60, System: 55, Idle: 80, Iowait: 5}, 100},
		{"no time passed", a, 0},
	}
	for _, tt := range tests {
		if got := busyPercent(a, tt.b); got != tt.want {
			t.Errorf("%s: busyPercent = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDiskBusy(t *testing.T) {
	t.Parallel()
	prev := map[string]uint64{"sda": 1000, "nvme0n1": 50}
	cur := map[string]uint64{"sda": 1100, "nvme0n1": 450, "sdb": 9999}
	tests := []struct {
		interval time.Duration
		want     float64
	}{
		{time.Second, 40},            // nvme: 400 ms of 1000
		{500 * time.Millisecond, 80}, // 400 of 500
		{200 * time.Millisecond, 100},
		{0, 0},
	}
	for _, tt := range tests {
		if got := diskBusy(prev, cur, tt.interval); got != tt.want {
			t.Errorf("diskBusy over %s = %v, want %v", tt.interval, got, tt.want)
		}
	}
}

func TestSystemSample(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc: not Linux")
	}
	ctx := context.Background()
	s, err := NewSystem(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	smp, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case smp.Time.IsZero() || time.Since(smp.Time) > time.Minute:
		t.Errorf("time %v", smp.Time)
	case smp.CPUPercent < 0 || smp.CPUPercent > 100:
		t.Errorf("cpu %v", smp.CPUPercent)
	case smp.MemUsedPercent <= 0 || smp.MemUsedPercent >= 100:
		t.Errorf("memory %v", smp.MemUsedPercent)
	case smp.MemAvailable <= 0:
		t.Errorf("available %v", smp.MemAvailable)
	case smp.Load1 < 0, smp.DiskBusyPercent < 0 || smp.DiskBusyPercent > 100:
		t.Errorf("load %v disk %v", smp.Load1, smp.DiskBusyPercent)
	case smp.CPUs < 1:
		t.Errorf("cpus %v", smp.CPUs)
	case smp.Runnable < 1 || smp.SelfRunnable < 1: // both count the sampling thread
		t.Errorf("runnable %v, of which ours %v", smp.Runnable, smp.SelfRunnable)
	}
}

func TestThreadRunnable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := map[string]bool{
		"12 (jsrt-script) R 1 12 12 0 -1 4194304 2 0 0 0 0 0 0 0 20 0 9 0": true,
		"12 (jsrt-script) S 1 12 12 0 -1 4194304 2 0 0 0 0 0 0 0 20 0 9 0": false,
		"1234567 (a) R (b) S 1 12 12 0 -1 4194304 2 0 0 0 0 0 0 0 20 0 9":  false, // comm "a) R (b"
		"1234567 (x) y) R 1 12 12 0 -1 4194304 2 0 0 0 0 0 0 0 20 0 9 0":   true,
		"":   false,
		"12": false,
	}
	i := 0
	for content, want := range tests {
		i++
		path := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := threadRunnable(path, make([]byte, 64)); got != want {
			t.Errorf("%q: runnable %v, want %v", content, got, want)
		}
	}
	if threadRunnable(filepath.Join(dir, "gone"), make([]byte, 64)) {
		t.Error("a thread that ended counts as runnable")
	}
}

// BenchmarkSystemSample measures one real sample; the cost of sampling
// every 500 ms, as a share of one core, is reported as %core@500ms.
func BenchmarkSystemSample(b *testing.B) {
	ctx := context.Background()
	s, err := NewSystem(ctx)
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := s.Sample(ctx); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(100*float64(per)/float64(DefaultInterval), "%core@500ms")
}

// BenchmarkControllerUpdate measures the decision itself.
func BenchmarkControllerUpdate(b *testing.B) {
	c := NewController(DefaultRule(), 1, 8)
	s := Sample{Time: t0, CPUPercent: 50, MemUsedPercent: 50}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Time = t0.Add(time.Duration(i) * DefaultInterval)
		c.Finished(i%7 != 0)
		c.Update(s, Load{Running: 8, Waiting: 3})
	}
}
