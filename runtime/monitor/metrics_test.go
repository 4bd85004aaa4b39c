package monitor

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The expected figures are worked out by hand from the drawings in
// fixtures_test.go.
func TestMeasure(t *testing.T) {
	t.Parallel()
	lowered := retryRun()
	// -j 2 for 4 s, 1 for 4 s, 2 for the last 2 s: 16 slot-seconds, but two
	// attempts still run from 4 to 6 s (lowering stops nothing): 18.
	lowered.Changes = []Change{{At: 8 * sec, From: 1, To: 2}, {At: 4 * sec, From: 2, To: 1}}
	live := retryRun()
	live.Wall = 4 * sec
	live.Spans = []Span{
		{Task: "a", Start: 0, End: 2 * sec, Status: SpanOK, Attempt: 1},
		{Task: "c", Start: 0, End: 3 * sec, Status: SpanFailed, Attempt: 1},
		{Task: "b", Start: 2 * sec, End: 4 * sec, Status: SpanRunning, Attempt: 1},
		{Task: "c", Start: 3 * sec, End: 4 * sec, Status: SpanRunning, Attempt: 2},
	}
	live.Tasks = nil // statuses come from the spans: a ok, b and c running
	tests := []struct {
		name string
		tl   Timeline
		want Metrics
	}{
		{"finished run", retryRun(), Metrics{
			Completed: 6, // a b c d f g; e was skipped
			// Σ task times: a 2 + b 3 + c 3+3 + d 4 + g 0.5 = 15.5 s; the hit
			// f (0.5 s restoring) held no slot and is not task time
			TaskTime: secs(15.5), SlotTime: 20 * sec,
			Efficiency:  0.775, // 15.5 / (10 × 2)
			Utilisation: 0.775, // 15.5 / 20
			Speedup:     1.55,  // 15.5 / 10
			Throughput:  0.6,   // 6 / 10 s
			// really ran: a 2, b 3, c 6, d 4, g 0.5 → 15.5 / 5
			AvgDuration: secs(3.1),
			// lookups a b c d f (g never uses the cache), 1 hit (f)
			CacheHitRate: 0.2,
		}},
		{"parallelism lowered for a while", lowered, Metrics{
			Completed: 6, TaskTime: secs(15.5), SlotTime: 18 * sec, Efficiency: 0.775, Utilisation: 15.5 / 18, Speedup: 1.55,
			Throughput: 0.6, AvgDuration: secs(3.1), CacheHitRate: 0.2,
		}},
		{"live run", live, Metrics{
			Completed: 1, Running: 2, // a done; b and c running
			TaskTime: 8 * sec, SlotTime: 8 * sec, // 2 + 3 + 2 + 1; 2 slots × 4 s
			Efficiency: 1, Utilisation: 1, Speedup: 2, Throughput: 0.25, AvgDuration: 2 * sec, CacheHitRate: 0,
		}},
		{"waiting tasks", Timeline{Wall: sec, Jobs: 4, Tasks: []TaskInfo{{Name: "a", Status: "pending"}, {Name: "b", Status: "pending"}}},
			Metrics{Waiting: 2, SlotTime: 4 * sec}},
		{"empty", Timeline{}, Metrics{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Measure(tt.tl); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Measure =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestMetricsJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(Measure(retryRun()))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"completed":6,"running":0,"waiting":0,"avgDurationMs":3100,"throughput":0.6,"efficiency":0.775,` +
		`"utilisation":0.775,"speedup":1.55,"cacheHitRate":0.2,"taskTimeMs":15500,"slotTimeMs":20000}`
	if string(b) != want {
		t.Errorf("JSON\n %s\nwant\n %s", b, want)
	}
}

func TestAssignSlots(t *testing.T) {
	t.Parallel()
	sp := func(task string, slot int, from, to float64) Span {
		return Span{Task: task, Slot: slot, Start: secs(from), End: secs(to)}
	}
	tests := []struct {
		name string
		in   []Span
		want []int
	}{
		{"lowest free slot at the start", []Span{sp("a", 0, 0, 2), sp("c", 0, 0, 3), sp("b", 0, 2, 5), sp("d", 0, 3, 4), sp("e", 0, 4, 9)},
			[]int{1, 2, 1, 2, 2}},
		{"a slot frees exactly when the next starts", []Span{sp("a", 0, 0, 1), sp("b", 0, 1, 2), sp("c", 0, 2, 3)}, []int{1, 1, 1}},
		{"order of the input does not matter", []Span{sp("e", 0, 4, 9), sp("b", 0, 2, 5), sp("c", 0, 0, 3), sp("a", 0, 0, 2)},
			[]int{2, 1, 2, 1}},
		{"ties by end, then task", []Span{sp("z", 0, 0, 5), sp("y", 0, 0, 5), sp("x", 0, 0, 1)}, []int{3, 2, 1}},
		{"a zero-length span does not hold its slot", []Span{sp("a", 0, 1, 1), sp("b", 0, 1, 3)}, []int{1, 1}},
		{"placed spans keep their slot and are avoided", []Span{sp("p", 1, 1, 5), sp("a", 0, 0, 2), sp("b", 0, 2, 3), sp("c", 0, 5, 6)},
			[]int{1, 2, 2, 1}},
		{"more overlap than slots opens a new slot", []Span{sp("a", 2, 0, 9), sp("b", 0, 0, 9), sp("c", 0, 0, 9)},
			[]int{2, 1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			AssignSlots(tt.in)
			var got []int
			for _, s := range tt.in {
				got = append(got, s.Slot)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("slots %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSlotTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		changes []Change
		want    time.Duration
	}{
		{"no changes", nil, 40 * sec},
		{"one change", []Change{{At: 5 * sec, To: 2}}, 30 * sec},
		{"change at the start", []Change{{At: 0, To: 1}}, 10 * sec},
		{"change after the wall time is ignored", []Change{{At: 12 * sec, To: 1}}, 40 * sec},
	}
	for _, tt := range tests {
		tl := Timeline{Wall: 10 * sec, Jobs: 4, Changes: tt.changes}
		if got := slotTime(&tl); got != tt.want {
			t.Errorf("%s: slotTime = %v, want %v", tt.name, got, tt.want)
		}
	}
}
