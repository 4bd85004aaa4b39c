package monitor

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/history"
)

// Expected is what history predicted of a task before the run.
type Expected struct {
	Duration   time.Duration // the prediction: the EWMA of successful real runs
	StdDev     time.Duration
	Samples    int
	Confidence string // history.ConfidenceHigh, ConfidenceLow or ConfidenceNone
}

// ExpectedFrom takes a history prediction: its EWMA (the number the
// scheduler orders by; it follows a lasting change of a task's duration
// within a few runs, so a task that became slower for good stops being an
// anomaly), or the mean when there is no EWMA.
func ExpectedFrom(p history.Prediction) Expected {
	d := p.EWMA
	if d <= 0 {
		d = p.Mean
	}
	return Expected{Duration: d, StdDev: p.StdDev, Samples: p.Samples, Confidence: p.Confidence}
}

// Anomaly is a task whose duration was far from a confident prediction.
type Anomaly struct {
	Task      string
	Duration  time.Duration // this run: the successful attempt
	Expected  time.Duration
	Deviation float64 // (Duration - Expected) / Expected: +1 took twice as long, -0.6 was 60 % faster
	Samples   int     // behind the prediction
}

// MarshalJSON encodes durations as float milliseconds.
func (a Anomaly) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Task      string  `json:"task"`
		Duration  float64 `json:"durationMs"`
		Expected  float64 `json:"expectedMs"`
		Deviation float64 `json:"deviation"`
		Samples   int     `json:"samples"`
	}{a.Task, ms(a.Duration), ms(a.Expected), a.Deviation, a.Samples})
}

// AnomalyRule says when a duration is an anomaly: the prediction has high
// confidence (more than 10 samples), and the duration is more than
// Threshold away from it, relatively, and at least MinDelta in absolute
// terms (so a 3 ms task taking 6 ms is not news).
type AnomalyRule struct {
	Threshold float64
	MinDelta  time.Duration
}

// DefaultAnomalyRule is the issue's: more than 50 % away, and at least 50 ms.
func DefaultAnomalyRule() AnomalyRule {
	return AnomalyRule{Threshold: 0.5, MinDelta: 50 * time.Millisecond}
}

// Check compares one duration with its prediction.
func (r AnomalyRule) Check(task string, d time.Duration, e Expected) (Anomaly, bool) {
	if e.Confidence != history.ConfidenceHigh || e.Duration <= 0 {
		return Anomaly{}, false
	}
	delta := d - e.Duration
	dev := float64(delta) / float64(e.Duration)
	if math.Abs(dev) <= r.Threshold || delta.Abs() < r.MinDelta {
		return Anomaly{}, false
	}
	return Anomaly{Task: task, Duration: d, Expected: e.Duration, Deviation: dev, Samples: e.Samples}, true
}

// Anomalies checks every task of the timeline that ran for real and
// succeeded (its successful attempt's duration) against expected, with the
// default rule; the biggest deviations first, then by name.
func Anomalies(tl Timeline, expected map[string]Expected) []Anomaly {
	vs, _ := views(&tl)
	return anomalies(vs, expected, DefaultAnomalyRule())
}

func anomalies(vs []*taskView, expected map[string]Expected, rule AnomalyRule) []Anomaly {
	var out []Anomaly
	for _, v := range vs {
		if !v.realRun() || v.last().Status != SpanOK {
			continue
		}
		if a, ok := rule.Check(v.Name, v.last().Duration(), expected[v.Name]); ok {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b Anomaly) int {
		return cmp.Or(cmp.Compare(math.Abs(b.Deviation), math.Abs(a.Deviation)), cmp.Compare(a.Task, b.Task))
	})
	return out
}

// Flaky is a task that failed and then passed on a retry in some of its
// recent runs.
type Flaky struct {
	Task  string `json:"task"`
	Flaky int    `json:"flaky"` // runs where it failed, then passed
	Runs  int    `json:"runs"`  // runs looked at
}

// FlakyFrom looks at the newest lastRuns runs in a task's records (newest
// first, as history.TaskRecords returns them): a run is flaky when a
// failed attempt (failed, timeout or error) came before a successful one.
func FlakyFrom(task string, recs []history.TaskRecord, lastRuns int) Flaky {
	flaky, runs := history.FlakyRuns(recs, lastRuns)
	return Flaky{Task: task, Flaky: flaky, Runs: runs}
}
