package history

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

const (
	window    = 50  // samples, attempts and runs a prediction looks back on
	ewmaAlpha = 0.3 // weight of the newest sample in the EWMA
)

// Confidence levels of a Prediction.
const (
	ConfidenceHigh = "high" // more than 10 samples
	ConfidenceLow  = "low"  // 1 to 10 samples
	ConfidenceNone = "none" // no samples
)

// Prediction is what history expects of a task's next execution. In JSON
// durations are float milliseconds (meanMs, ewmaMs, stdDevMs, p50Ms, p90Ms).
type Prediction struct {
	Task   string
	Mean   time.Duration // of the samples
	EWMA   time.Duration // exponentially weighted, alpha 0.3, oldest to newest
	StdDev time.Duration // population standard deviation of the samples
	P50    time.Duration // nearest-rank percentiles of the samples
	P90    time.Duration

	Samples     int     // successful real (not cached) executions used, at most the newest 50
	FailureRate float64 // failed attempts / real attempts, over the newest 50 real attempts
	Flaky       int     // runs, of the newest 50 the task ran in, where it failed and then passed on a retry
	PeakRSS     int64   // max over the samples, in bytes
	Confidence  string  // ConfidenceHigh, ConfidenceLow or ConfidenceNone
}

// MarshalJSON encodes durations as float milliseconds, the unit JS uses.
func (p Prediction) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return json.Marshal(struct {
		Task        string  `json:"task"`
		Mean        float64 `json:"meanMs"`
		EWMA        float64 `json:"ewmaMs"`
		StdDev      float64 `json:"stdDevMs"`
		P50         float64 `json:"p50Ms"`
		P90         float64 `json:"p90Ms"`
		Samples     int     `json:"samples"`
		FailureRate float64 `json:"failureRate"`
		Flaky       int     `json:"flaky"`
		PeakRSS     int64   `json:"peakRss"`
		Confidence  string  `json:"confidence"`
	}{p.Task, ms(p.Mean), ms(p.EWMA), ms(p.StdDev), ms(p.P50), ms(p.P90),
		p.Samples, p.FailureRate, p.Flaky, p.PeakRSS, p.Confidence})
}

// Predict predicts task from its records. A task without history, or
// history that cannot be read, gives Confidence "none"; callers that must
// see a read error call TaskRecords and PredictFrom themselves.
func (h *History) Predict(task string) Prediction {
	recs, err := h.TaskRecords(task, 0)
	if err != nil {
		return Prediction{Task: task, Confidence: ConfidenceNone}
	}
	return PredictFrom(task, recs)
}

// PredictFrom predicts task from its records, given newest first as
// TaskRecords returns them.
//
// Duration statistics use only successful executions that really ran
// (Outcome "ok"; cache hits and failed attempts are kept apart). The
// failure rate counts "failed", "timeout" and "error" against all real
// attempts; "cached" and "interrupted" (the user stopped it) count as neither.
func PredictFrom(task string, recs []TaskRecord) Prediction {
	p := Prediction{Task: task}
	var samples []time.Duration // newest first
	attempts, failures := 0, 0
	for _, r := range recs {
		if r.Outcome == OutcomeOK && len(samples) < window {
			samples = append(samples, r.Duration)
			p.PeakRSS = max(p.PeakRSS, r.PeakRSS)
		}
		if isAttempt(r.Outcome) && attempts < window {
			attempts++
			if r.Outcome != OutcomeOK {
				failures++
			}
		}
	}
	if attempts > 0 {
		p.FailureRate = float64(failures) / float64(attempts)
	}
	p.Flaky, _ = FlakyRuns(recs, window)
	p.Samples = len(samples)
	switch {
	case p.Samples > 10:
		p.Confidence = ConfidenceHigh
	case p.Samples > 0:
		p.Confidence = ConfidenceLow
	default:
		p.Confidence = ConfidenceNone
		return p
	}
	p.Mean, p.StdDev = meanStdDev(samples)
	p.EWMA = ewma(samples)
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	p.P50 = nearestRank(sorted, 50)
	p.P90 = nearestRank(sorted, 90)
	return p
}

// isAttempt says whether an outcome is a real attempt that succeeded or failed.
func isAttempt(outcome string) bool {
	switch outcome {
	case OutcomeOK, OutcomeFailed, OutcomeTimeout, OutcomeError:
		return true
	}
	return false
}

// FlakyRuns looks at the newest lastRuns runs in a task's records (newest
// first): a run is flaky when a failed attempt (failed, timeout or error)
// came before a successful one. It returns the flaky runs and the runs
// looked at.
func FlakyRuns(recs []TaskRecord, lastRuns int) (flaky, runs int) {
	type run struct{ firstFail, lastOK int }
	byID := map[string]*run{}
	var order []string
	for _, r := range recs {
		x := byID[r.RunID]
		if x == nil {
			if len(order) == lastRuns {
				continue
			}
			x = &run{firstFail: math.MaxInt}
			byID[r.RunID] = x
			order = append(order, r.RunID)
		}
		switch {
		case r.Outcome == OutcomeOK:
			x.lastOK = max(x.lastOK, r.Attempt)
		case isAttempt(r.Outcome):
			x.firstFail = min(x.firstFail, r.Attempt)
		}
	}
	for _, id := range order {
		if byID[id].firstFail < byID[id].lastOK {
			flaky++
		}
	}
	return flaky, len(order)
}

func meanStdDev(ds []time.Duration) (mean, stddev time.Duration) {
	sum := 0.0
	for _, d := range ds {
		sum += float64(d)
	}
	m := sum / float64(len(ds))
	sq := 0.0
	for _, d := range ds {
		sq += (float64(d) - m) * (float64(d) - m)
	}
	return round(m), round(math.Sqrt(sq / float64(len(ds))))
}

// ewma runs over ds (newest first) from the oldest sample to the newest.
func ewma(ds []time.Duration) time.Duration {
	e := float64(ds[len(ds)-1])
	for i := len(ds) - 2; i >= 0; i-- {
		e = ewmaAlpha*float64(ds[i]) + (1-ewmaAlpha)*e
	}
	return round(e)
}

// nearestRank returns the p-th percentile of sorted (ascending): the
// smallest value with at least p% of the values at or below it.
func nearestRank(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n), 1-based
	return sorted[max(rank, 1)-1]
}

func round(ns float64) time.Duration { return time.Duration(math.Round(ns)) }
