package monitor

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/history"
)

var runStart = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// records makes a task's history, newest first, from durations oldest
// first: one successful run per hour before runStart.
func records(task string, oldestFirst ...time.Duration) []history.TaskRecord {
	out := make([]history.TaskRecord, len(oldestFirst))
	for i, d := range oldestFirst {
		out[len(out)-1-i] = history.TaskRecord{RunID: fmt.Sprintf("r%03d", i), Task: task, Attempt: 1, Duration: d,
			Outcome: history.OutcomeOK, Start: runStart.Add(-time.Duration(len(oldestFirst)-i) * time.Hour)}
	}
	return out
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestAnomalyCheck(t *testing.T) {
	t.Parallel()
	high := Expected{Duration: 10 * sec, Samples: 20, Confidence: history.ConfidenceHigh}
	tests := []struct {
		name string
		d    time.Duration
		e    Expected
		want *Anomaly
	}{
		{"on time", 10 * sec, high, nil},
		{"50% slower is not more than 50%", 15 * sec, high, nil},
		{"51% slower", secs(15.1), high, &Anomaly{Task: "t", Duration: secs(15.1), Expected: 10 * sec, Deviation: 0.51, Samples: 20}},
		{"twice as long", 20 * sec, high, &Anomaly{Task: "t", Duration: 20 * sec, Expected: 10 * sec, Deviation: 1, Samples: 20}},
		{"60% faster", 4 * sec, high, &Anomaly{Task: "t", Duration: 4 * sec, Expected: 10 * sec, Deviation: -0.6, Samples: 20}},
		{"low confidence never alarms", 40 * sec, Expected{Duration: 10 * sec, Samples: 10, Confidence: history.ConfidenceLow}, nil},
		{"no prediction", 40 * sec, Expected{}, nil},
		{"tiny tasks need 50 ms of difference", 40 * time.Millisecond,
			Expected{Duration: 10 * time.Millisecond, Samples: 30, Confidence: history.ConfidenceHigh}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := DefaultAnomalyRule().Check("t", tt.d, tt.e)
			if ok != (tt.want != nil) || (ok && !reflect.DeepEqual(got, *tt.want)) {
				t.Errorf("Check = %+v %v, want %+v", got, ok, tt.want)
			}
		})
	}
}

// Predictions come from history as the report gets them (ExpectedBefore):
// a steady history gives no false alarm on normal runs and flags a run that
// took twice as long; a history that shifted to a new normal predicts the
// new normal, so a run at it is no anomaly.
func TestAnomaliesFromHistory(t *testing.T) {
	t.Parallel()
	steady := records("test", repeat(10*sec, 20)...)
	shifted := records("test", append(repeat(10*sec, 15), repeat(20*sec, 6)...)...)
	few := records("test", repeat(10*sec, 10)...)
	// EWMA of 15 × 10 s then 6 × 20 s: 20 s - 10 s × 0.7^6.
	shiftedEWMA := 20*sec - time.Duration(float64(10*sec)*0.117649)
	tests := []struct {
		name string
		recs []history.TaskRecord
		d    time.Duration
		want []Anomaly
	}{
		{"steady, on time", steady, 10 * sec, nil},
		{"steady, 40% slower", steady, 14 * sec, nil},
		{"steady, 45% faster", steady, secs(5.5), nil},
		{"steady, twice as long", steady, 20 * sec, []Anomaly{{Task: "test", Duration: 20 * sec, Expected: 10 * sec, Deviation: 1, Samples: 20}}},
		{"shifted, at the new normal", shifted, 20 * sec, nil},
		{"shifted, back at the old normal", shifted, 10 * sec, nil},
		{"shifted, twice the new normal", shifted, 40 * sec, []Anomaly{{Task: "test", Duration: 40 * sec, Expected: shiftedEWMA,
			Deviation: float64(40*sec-shiftedEWMA) / float64(shiftedEWMA), Samples: 21}}},
		{"10 samples are not enough", few, 40 * sec, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := ExpectedBefore("test", append(tt.recs, history.TaskRecord{RunID: "now", Task: "test", Attempt: 1,
				Duration: tt.d, Outcome: history.OutcomeOK, Start: runStart}), runStart) // the run itself is not its own prediction
			tl := Timeline{Wall: tt.d, Jobs: 1, Spans: []Span{{Task: "test", End: tt.d, Status: SpanOK, Attempt: 1}}}
			got := Anomalies(tl, map[string]Expected{"test": e})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Anomalies = %+v, want %+v (expected %+v)", got, tt.want, e)
			}
		})
	}
}

// Only successful real runs are compared: a cache hit or a failure that
// ended early is not an anomaly.
func TestAnomaliesSkipCachedAndFailed(t *testing.T) {
	t.Parallel()
	e := Expected{Duration: 10 * sec, Samples: 20, Confidence: history.ConfidenceHigh}
	tl := Timeline{Wall: 30 * sec, Jobs: 3, Spans: []Span{
		{Task: "hit", End: 10 * time.Millisecond, Status: SpanCached, Cached: true, Attempt: 1},
		{Task: "crash", End: sec, Status: SpanFailed, ExitCode: 1, Attempt: 1},
		{Task: "slow", End: 30 * sec, Status: SpanOK, Attempt: 1},
		{Task: "fast", End: 2 * sec, Status: SpanOK, Attempt: 1},
	}}
	got := Anomalies(tl, map[string]Expected{"hit": e, "crash": e, "slow": e, "fast": e})
	want := []Anomaly{
		{Task: "slow", Duration: 30 * sec, Expected: 10 * sec, Deviation: 2, Samples: 20},
		{Task: "fast", Duration: 2 * sec, Expected: 10 * sec, Deviation: -0.8, Samples: 20},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Anomalies = %+v, want %+v", got, want)
	}
}

func TestFlakyFrom(t *testing.T) {
	t.Parallel()
	rec := func(run string, attempt int, outcome string) history.TaskRecord {
		return history.TaskRecord{RunID: run, Task: "net", Attempt: attempt, Outcome: outcome}
	}
	recs := []history.TaskRecord{ // newest first
		rec("r5", 2, history.OutcomeOK), rec("r5", 1, history.OutcomeTimeout), // flaky
		rec("r4", 1, history.OutcomeOK),
		rec("r3", 2, history.OutcomeFailed), rec("r3", 1, history.OutcomeFailed), // failed for good
		rec("r2", 3, history.OutcomeOK), rec("r2", 2, history.OutcomeError), rec("r2", 1, history.OutcomeFailed), // flaky
		rec("r1", 1, history.OutcomeCached),
		rec("r0", 2, history.OutcomeOK), rec("r0", 1, history.OutcomeFailed), // flaky, but older than 5 runs
	}
	tests := []struct {
		last int
		want Flaky
	}{
		{20, Flaky{Task: "net", Flaky: 3, Runs: 6}},
		{5, Flaky{Task: "net", Flaky: 2, Runs: 5}},
		{1, Flaky{Task: "net", Flaky: 1, Runs: 1}},
		{0, Flaky{Task: "net"}},
	}
	for _, tt := range tests {
		if got := FlakyFrom("net", recs, tt.last); got != tt.want {
			t.Errorf("FlakyFrom(last %d) = %+v, want %+v", tt.last, got, tt.want)
		}
	}
}
