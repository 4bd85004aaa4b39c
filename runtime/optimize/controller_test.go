package optimize

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/history"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// series builds samples 500 ms apart from (cpu, memory) pairs; disk 0,
// load unknown (cpus 0), 8 GiB available.
func series(points ...[2]float64) []Sample {
	out := make([]Sample, len(points))
	for i, p := range points {
		out[i] = Sample{Time: t0.Add(time.Duration(i) * DefaultInterval), CPUPercent: p[0], MemUsedPercent: p[1],
			MemAvailable: 8 << 30}
	}
	return out
}

func at(i int) time.Time { return t0.Add(time.Duration(i) * DefaultInterval) }

// Each scripted series is played through Run with a fake sampler, and every
// sample goes to Update with all slots busy and 5 tasks waiting.
func TestControllerSeries(t *testing.T) {
	t.Parallel()
	hot, cool, tight := [2]float64{95, 50}, [2]float64{40, 50}, [2]float64{40, 88}
	tests := []struct {
		name       string
		min, max   int
		samples    []Sample
		wantJobs   []int // after each sample
		wantEvents []Event
	}{
		{
			name: "sustained cpu above 90 steps down once per cooldown, to the lower bound",
			min:  2, max: 8,
			samples:  series(hot, hot, hot, hot, hot, hot, hot, hot, hot, hot, hot, hot, hot, hot),
			wantJobs: []int{8, 8, 8, 8, 6, 6, 6, 6, 5, 5, 5, 5, 4, 4},
			wantEvents: []Event{
				{at(4), KindParallelism, 8, 6, "cpu 95% > 90%"},
				{at(8), KindParallelism, 6, 5, "cpu 95% > 90%"},
				{at(12), KindParallelism, 5, 4, "cpu 95% > 90%"},
			},
		},
		{
			name: "down on cpu, then back up when everything is low",
			min:  1, max: 4,
			samples:  series(cool, cool, cool, cool, hot, cool, cool, cool, cool, cool, cool, cool, cool),
			wantJobs: []int{4, 4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4, 4},
			wantEvents: []Event{
				{at(4), KindParallelism, 4, 3, "cpu 95% > 90%"},
				{at(8), KindParallelism, 3, 4, "cpu 40%, memory 50%, disk 0% are low and 5 tasks wait for a slot"},
			},
		},
		{
			name: "memory above 85 holds memory-heavy tasks and blocks going up, without lowering jobs",
			min:  1, max: 8,
			samples:  series(hot, hot, hot, hot, hot, tight, tight, tight, tight, cool, cool),
			wantJobs: []int{8, 8, 8, 8, 6, 6, 6, 6, 6, 7, 7},
			wantEvents: []Event{
				{at(4), KindParallelism, 8, 6, "cpu 95% > 90%"},
				{at(5), KindMemory, 6, 6, "memory 88% > 85%: memory-heavy tasks wait"},
				{at(9), KindMemory, 6, 6, "memory 50% <= 85%: memory-heavy tasks may start"},
				{at(9), KindParallelism, 6, 7, "cpu 40%, memory 50%, disk 0% are low and 5 tasks wait for a slot"},
			},
		},
		{
			name: "a quiet machine at the upper bound changes nothing",
			min:  1, max: 3,
			samples:    series(cool, cool, cool, cool, cool, cool),
			wantJobs:   []int{3, 3, 3, 3, 3, 3},
			wantEvents: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewController(DefaultRule(), tt.min, tt.max)
			var jobs []int
			var events []Event
			err := Run(context.Background(), NewScript(tt.samples...), time.Millisecond, func(s Sample) {
				j, ev := c.Update(s, Load{Running: c.Jobs(), Waiting: 5})
				jobs = append(jobs, j)
				events = append(events, ev...)
			})
			if !errors.Is(err, ErrEndOfScript) {
				t.Fatalf("Run = %v, want the end of the script", err)
			}
			if !reflect.DeepEqual(jobs, tt.wantJobs) {
				t.Errorf("jobs = %v, want %v", jobs, tt.wantJobs)
			}
			if !reflect.DeepEqual(events, tt.wantEvents) {
				t.Errorf("events:\n got %v\nwant %v", events, tt.wantEvents)
			}
		})
	}
}

func TestControllerFailures(t *testing.T) {
	t.Parallel()
	quiet := Sample{Time: t0, CPUPercent: 20, MemUsedPercent: 30}
	tests := []struct {
		name        string
		outcomes    string // o ok, x failed, oldest first
		speculation bool
		wantJobs    int
		wantEvents  []Event
	}{
		{"2 of 10 failed: not more than 20%, up", "xxoooooooo", false, 7,
			[]Event{{t0.Add(3 * time.Second), KindParallelism, 6, 7, "cpu 20%, memory 30%, disk 0% are low and 2 tasks wait for a slot"}}},
		{"3 of 10 failed: down", "oxoxoxoooo", false, 5,
			[]Event{{t0.Add(3 * time.Second), KindParallelism, 6, 5, "3 of the last 10 finished tasks failed (30% > 20%)"}}},
		{"speculation on: failures do not count", "xxxxxxxxxx", true, 7,
			[]Event{{t0.Add(3 * time.Second), KindParallelism, 6, 7, "cpu 20%, memory 30%, disk 0% are low and 2 tasks wait for a slot"}}},
		{"only the last 20 count", "xxxxxxxxxxoooooooooooooooooooo", false, 7,
			[]Event{{t0.Add(3 * time.Second), KindParallelism, 6, 7, "cpu 20%, memory 30%, disk 0% are low and 2 tasks wait for a slot"}}},
		{"4 finished, all failed: too few to count", "xxxx", false, 7,
			[]Event{{t0.Add(3 * time.Second), KindParallelism, 6, 7, "cpu 20%, memory 30%, disk 0% are low and 2 tasks wait for a slot"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewController(DefaultRule(), 1, 8)
			c.jobs = 6
			for _, o := range tt.outcomes {
				c.Finished(o == 'o')
			}
			load := Load{Running: 6, Waiting: 2, Speculation: tt.speculation}
			if _, ev := c.Update(quiet, load); ev != nil {
				t.Fatalf("first sample: events %v", ev)
			}
			later := quiet
			later.Time = t0.Add(3 * time.Second)
			jobs, ev := c.Update(later, load)
			if jobs != tt.wantJobs || !reflect.DeepEqual(ev, tt.wantEvents) {
				t.Errorf("Update = %d %v, want %d %v", jobs, ev, tt.wantJobs, tt.wantEvents)
			}
		})
	}
}

// A policy (a JS hook, in the real program) replaces the rule; its answer
// is kept within the bounds and the event says so.
func TestControllerPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		verdict   Verdict
		wantJobs  int
		wantEvent []Event
	}{
		{"within bounds", Verdict{3, "hook says 3"}, 3, []Event{{t0, KindParallelism, 6, 3, "hook says 3"}}},
		{"below the lower bound", Verdict{0, "hook says 0"}, 2, []Event{{t0, KindParallelism, 6, 2, "hook says 0 (0 kept within 2..6)"}}},
		{"above the upper bound", Verdict{99, ""}, 6, nil},
		{"no reason", Verdict{4, ""}, 4, []Event{{t0, KindParallelism, 6, 4, "policy gave no reason"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewController(DefaultRule(), 2, 6)
			var got State
			c.Policy = func(_ Sample, st State) Verdict { got = st; return tt.verdict }
			c.Finished(true)
			c.Finished(false)
			jobs, ev := c.Update(Sample{Time: t0}, Load{Running: 5, Waiting: 1})
			if jobs != tt.wantJobs || !reflect.DeepEqual(ev, tt.wantEvent) {
				t.Errorf("Update = %d %v, want %d %v", jobs, ev, tt.wantJobs, tt.wantEvent)
			}
			want := State{Jobs: 6, MinJobs: 2, MaxJobs: 6, Running: 5, Waiting: 1, Finished: 2, Failed: 1}
			if got != want {
				t.Errorf("policy saw %+v, want %+v", got, want)
			}
		})
	}
}

func TestNewControllerBounds(t *testing.T) {
	t.Parallel()
	tests := []struct{ min, max, wantMin, wantMax int }{
		{0, 0, 1, 1}, {3, 2, 2, 2}, {2, 8, 2, 8}, {-1, 4, 1, 4},
	}
	for _, tt := range tests {
		c := NewController(DefaultRule(), tt.min, tt.max)
		if lo, hi := c.Bounds(); lo != tt.wantMin || hi != tt.wantMax || c.Jobs() != tt.wantMax {
			t.Errorf("NewController(%d, %d): bounds %d..%d jobs %d", tt.min, tt.max, lo, hi, c.Jobs())
		}
	}
}

func TestAdmit(t *testing.T) {
	t.Parallel()
	const gib = 1 << 30
	tests := []struct {
		name       string
		rss, avail int64
		running    int
		want       bool
	}{
		{"fits", 1 * gib, 2 * gib, 3, true},
		{"exactly fits", 2 * gib, 2 * gib, 3, true},
		{"does not fit", 3 * gib, 2 * gib, 1, false},
		{"does not fit but nothing else runs", 3 * gib, 2 * gib, 0, true},
		{"unknown peak", 0, 0, 5, true},
	}
	for _, tt := range tests {
		if got := Admit(tt.rss, tt.avail, tt.running); got != tt.want {
			t.Errorf("%s: Admit(%d, %d, %d) = %v, want %v", tt.name, tt.rss, tt.avail, tt.running, got, tt.want)
		}
	}
}

// The peak RSS comes from history (the maximum over successful runs); the
// controller admits against the latest sample, less what it admitted since.
func TestControllerAdmitLearnedRSS(t *testing.T) {
	t.Parallel()
	const gib = 1 << 30
	recs := []history.TaskRecord{ // newest first
		{RunID: "r3", Task: "link", Attempt: 1, Outcome: history.OutcomeOK, Duration: time.Second, PeakRSS: 2 * gib},
		{RunID: "r2", Task: "link", Attempt: 1, Outcome: history.OutcomeOK, Duration: time.Second, PeakRSS: 3 * gib},
		{RunID: "r1", Task: "link", Attempt: 1, Outcome: history.OutcomeFailed, Duration: time.Second, PeakRSS: 9 * gib},
	}
	link := history.PredictFrom("link", recs).PeakRSS // failed attempts do not count
	if link != 3*gib {
		t.Fatalf("learned peak RSS = %d, want 3 GiB", link)
	}
	type step struct {
		rss     int64
		running int
		want    bool
		reason  string
	}
	tests := []struct {
		name   string
		sample Sample
		steps  []step
	}{
		{"fits, then the reservation leaves too little", Sample{MemUsedPercent: 50, MemAvailable: 5 * gib}, []step{
			{link, 2, true, ""},
			{link, 3, false, "predicted peak 3.0 GiB does not fit in 2.0 GiB available"},
			{1 * gib, 3, true, ""},
			{link, 0, true, ""},
		}},
		{"does not fit: waits unless nothing runs", Sample{MemUsedPercent: 80, MemAvailable: 2 * gib}, []step{
			{link, 1, false, "predicted peak 3.0 GiB does not fit in 2.0 GiB available"},
			{link, 0, true, ""},
		}},
		{"memory above 85: heavy tasks wait, light ones start", Sample{MemUsedPercent: 90, MemAvailable: 20 * gib}, []step{
			{link, 1, false, "memory 90% > 85% and it is memory-heavy (predicted peak 3.0 GiB)"},
			{256 << 20, 1, false, "memory 90% > 85% and it is memory-heavy (predicted peak 256.0 MiB)"},
			{100 << 20, 1, true, ""},
			{0, 1, true, ""},
			{link, 0, true, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := NewController(DefaultRule(), 1, 4)
			if ok, _ := c.Admit(link, 3); !ok {
				t.Error("before any sample every task is admitted")
			}
			tt.sample.Time = t0
			c.Update(tt.sample, Load{})
			for i, s := range tt.steps {
				ok, reason := c.Admit(s.rss, s.running)
				if ok != s.want || reason != s.reason {
					t.Errorf("step %d: Admit(%d, %d) = %v %q, want %v %q", i, s.rss, s.running, ok, reason, s.want, s.reason)
				}
			}
			c.Update(tt.sample, Load{}) // a new sample releases reservations
			if ok, _ := c.Admit(tt.steps[0].rss, tt.steps[0].running); ok != tt.steps[0].want {
				t.Errorf("after a new sample: Admit = %v, want %v", ok, tt.steps[0].want)
			}
		})
	}
}

func TestReleaseGivesBackAReservation(t *testing.T) {
	t.Parallel()
	const gib = 1 << 30
	c := NewController(DefaultRule(), 1, 4)
	c.Update(Sample{Time: t0, MemUsedPercent: 50, MemAvailable: 5 * gib}, Load{})
	gen := c.Generation()
	if ok, _ := c.Admit(3*gib, 1); !ok {
		t.Fatal("3 GiB of 5 available was held")
	}
	if ok, _ := c.Admit(3*gib, 2); ok {
		t.Fatal("a second 3 GiB task was admitted against the same 5 GiB")
	}
	c.Release(3*gib, gen) // the first one ended before the next sample
	if ok, reason := c.Admit(3*gib, 1); !ok {
		t.Fatalf("after Release the task was held: %s", reason)
	}
	// A reservation from before a sample is already in that sample's
	// figures: releasing it must not free memory reserved since.
	c.Update(Sample{Time: t0.Add(time.Second), MemUsedPercent: 50, MemAvailable: 5 * gib}, Load{})
	if ok, _ := c.Admit(3*gib, 1); !ok {
		t.Fatal("3 GiB of 5 available was held after a new sample")
	}
	c.Release(3*gib, gen)
	if ok, _ := c.Admit(3*gib, 2); ok {
		t.Fatal("a stale Release freed memory reserved after the latest sample")
	}
}

func TestBytes(t *testing.T) {
	t.Parallel()
	tests := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 3 << 30: "3.0 GiB", 5 << 40: "5.0 TiB"}
	for n, want := range tests {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
