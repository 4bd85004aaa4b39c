package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const ms = time.Millisecond

// rec builds a record that starts at t0 + sec seconds.
func rec(run, task string, attempt, sec int, dur time.Duration, outcome string) TaskRecord {
	return TaskRecord{RunID: run, Task: task, Attempt: attempt, Start: t0.Add(time.Duration(sec) * time.Second),
		Duration: dur, Outcome: outcome}
}

func record(t *testing.T, h *History, recs ...TaskRecord) {
	t.Helper()
	for _, r := range recs {
		if err := h.RecordTask(r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPredictStatistics(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	// Successful samples, oldest to newest: 100 200 300 400 1000 ms,
	// with a cache hit, failures and an interruption in between.
	record(t, h,
		rec("r1", "build", 1, 1, 100*ms, OutcomeOK),
		rec("r2", "build", 1, 2, 1*ms, OutcomeCached),
		rec("r3", "build", 1, 3, 200*ms, OutcomeOK),
		rec("r4", "build", 1, 4, 5000*ms, OutcomeFailed),
		rec("r5", "build", 1, 5, 300*ms, OutcomeOK),
		rec("r6", "build", 1, 6, 9000*ms, OutcomeTimeout),
		rec("r7", "build", 1, 7, 50*ms, OutcomeInterrupted),
		rec("r8", "build", 1, 8, 400*ms, OutcomeOK),
		rec("r9", "build", 1, 9, 1000*ms, OutcomeOK),
	)
	got := h.Predict("build")
	want := Prediction{
		Task: "build",
		Mean: 400 * ms, // 2000 / 5
		// e = 100; 0.3*200+0.7*100 = 130; 0.3*300+0.7*130 = 181;
		// 0.3*400+0.7*181 = 246.7; 0.3*1000+0.7*246.7 = 472.69
		EWMA: 472690 * time.Microsecond,
		// deviations -300 -200 -100 0 600: sqrt(500000/5) = 316.227766 ms
		StdDev:      316227766 * time.Nanosecond,
		P50:         300 * ms,  // rank ceil(0.5*5) = 3
		P90:         1000 * ms, // rank ceil(0.9*5) = 5
		Samples:     5,
		FailureRate: 2.0 / 7, // failed + timeout over 5 ok + 2 failures
		Confidence:  ConfidenceLow,
	}
	if got != want {
		t.Errorf("Predict:\n got %+v\nwant %+v", got, want)
	}
}

func TestPredictConfidence(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ok, cached int
		want       string
	}{
		{0, 0, ConfidenceNone},
		{0, 5, ConfidenceNone},
		{1, 0, ConfidenceLow},
		{10, 3, ConfidenceLow},
		{11, 0, ConfidenceHigh},
	} {
		t.Run(fmt.Sprintf("%dok_%dcached", tc.ok, tc.cached), func(t *testing.T) {
			t.Parallel()
			h := New(kv.NewMem())
			for i := range tc.ok {
				record(t, h, rec(fmt.Sprint("ok", i), "t", 1, i, ms, OutcomeOK))
			}
			for i := range tc.cached {
				record(t, h, rec(fmt.Sprint("c", i), "t", 1, 100+i, ms, OutcomeCached))
			}
			p := h.Predict("t")
			if p.Confidence != tc.want || p.Samples != tc.ok {
				t.Errorf("got confidence %q samples %d, want %q %d", p.Confidence, p.Samples, tc.want, tc.ok)
			}
		})
	}
}

func TestPredictWindow(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	// 10 old slow failures and successes, then 50 fast successes: only
	// the newest 50 count.
	for i := range 10 {
		record(t, h, rec(fmt.Sprint("old", i), "t", 1, i, 1000*ms, OutcomeFailed))
		record(t, h, rec(fmt.Sprint("old", i), "t", 2, i, 1000*ms, OutcomeOK))
	}
	for i := range 50 {
		record(t, h, rec(fmt.Sprint("new", i), "t", 1, 100+i, 100*ms, OutcomeOK))
	}
	p := h.Predict("t")
	if p.Samples != 50 || p.Mean != 100*ms || p.P90 != 100*ms || p.FailureRate != 0 || p.Flaky != 0 {
		t.Errorf("got %+v", p)
	}
}

func TestPredictFlaky(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	record(t, h,
		// flaky: failed, then passed on the retry
		rec("r1", "test", 1, 1, 10*ms, OutcomeFailed),
		rec("r1", "test", 2, 2, 10*ms, OutcomeOK),
		// flaky after two failures
		rec("r2", "test", 1, 3, 10*ms, OutcomeTimeout),
		rec("r2", "test", 2, 4, 10*ms, OutcomeFailed),
		rec("r2", "test", 3, 5, 10*ms, OutcomeOK),
		// not flaky: failed in every attempt
		rec("r3", "test", 1, 6, 10*ms, OutcomeFailed),
		rec("r3", "test", 2, 7, 10*ms, OutcomeFailed),
		// not flaky: failed in one run, passed in the next
		rec("r4", "test", 1, 8, 10*ms, OutcomeFailed),
		rec("r5", "test", 1, 9, 10*ms, OutcomeOK),
	)
	p := h.Predict("test")
	if p.Flaky != 2 {
		t.Errorf("Flaky = %d, want 2", p.Flaky)
	}
	if p.FailureRate != 6.0/9 || p.Samples != 3 {
		t.Errorf("FailureRate = %v, Samples = %d, want 6/9, 3", p.FailureRate, p.Samples)
	}
}

func TestPredictionJSON(t *testing.T) {
	t.Parallel()
	p := Prediction{Task: "b", Mean: 1500 * time.Microsecond, EWMA: 2 * ms, StdDev: 250 * time.Microsecond,
		P50: ms, P90: 3 * ms, Samples: 4, FailureRate: 0.25, Flaky: 1, PeakRSS: 1024, Confidence: ConfidenceLow}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"task":"b","meanMs":1.5,"ewmaMs":2,"stdDevMs":0.25,"p50Ms":1,"p90Ms":3,"samples":4,` +
		`"failureRate":0.25,"flaky":1,"peakRss":1024,"confidence":"low"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestPeakRSS(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	a := rec("r1", "t", 1, 1, ms, OutcomeOK)
	a.PeakRSS = 300
	b := rec("r2", "t", 1, 2, ms, OutcomeOK)
	b.PeakRSS = 200
	c := rec("r3", "t", 1, 3, ms, OutcomeFailed)
	c.PeakRSS = 900 // not a successful sample
	record(t, h, a, b, c)
	if got := h.Predict("t").PeakRSS; got != 300 {
		t.Errorf("PeakRSS = %d, want 300", got)
	}
}

func TestTaskRecordsNewestFirst(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	record(t, h,
		rec("r2", "t", 1, 20, ms, OutcomeOK),
		rec("r1", "t", 1, 10, ms, OutcomeOK),
		rec("r3", "t", 1, 30, ms, OutcomeOK),
		rec("r9", "t2", 1, 40, ms, OutcomeOK), // another task, a name with t as prefix
	)
	recs, err := h.TaskRecords("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := runIDs(recs); !slices.Equal(got, []string{"r3", "r2", "r1"}) {
		t.Errorf("order = %v", got)
	}
	if !recs[0].Start.Equal(t0.Add(30 * time.Second)) {
		t.Errorf("start = %v", recs[0].Start)
	}
	recs, err = h.TaskRecords("t", 2)
	if err != nil || len(recs) != 2 {
		t.Errorf("limit 2: %d records, %v", len(recs), err)
	}
	names, err := h.TaskNames()
	if err != nil || !slices.Equal(names, []string{"t", "t2"}) {
		t.Errorf("TaskNames = %v, %v", names, err)
	}
}

func TestRunsAndRun(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	ids := []string{NewRunID(t0), NewRunID(t0.Add(time.Second)), NewRunID(t0.Add(2 * time.Second))}
	for _, i := range []int{1, 2, 0} {
		err := h.RecordRun(RunRecord{ID: ids[i], Start: t0.Add(time.Duration(i) * time.Second),
			Targets: []string{"all"}, Jobs: 4, Counts: map[string]int{"ok": 2}})
		if err != nil {
			t.Fatal(err)
		}
	}
	record(t, h,
		rec(ids[1], "test", 1, 5, ms, OutcomeFailed),
		rec(ids[1], "build", 1, 3, ms, OutcomeOK),
		rec(ids[1], "test", 2, 6, ms, OutcomeOK),
		rec(ids[2], "build", 1, 7, ms, OutcomeOK),
	)
	runs, err := h.Runs(0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, r.ID)
	}
	if want := []string{ids[2], ids[1], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("Runs = %v, want %v", got, want)
	}
	if runs, _ := h.Runs(1); len(runs) != 1 {
		t.Errorf("Runs(1) returned %d", len(runs))
	}

	run, recs, err := h.Run(ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != ids[1] || run.Jobs != 4 || run.Counts["ok"] != 2 {
		t.Errorf("run = %+v", run)
	}
	var tasks []string
	for _, r := range recs {
		tasks = append(tasks, fmt.Sprintf("%s#%d", r.Task, r.Attempt))
	}
	if want := []string{"build#1", "test#1", "test#2"}; !slices.Equal(tasks, want) {
		t.Errorf("Run tasks = %v, want %v", tasks, want)
	}

	_, _, err = h.Run("nope")
	if !errors.Is(err, ErrUnknownRun) || err.Error() != `unknown run "nope"` {
		t.Errorf("unknown run: %v", err)
	}
}

func TestRunNeverFinished(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	record(t, h, rec("killed", "build", 1, 1, ms, OutcomeOK))
	run, recs, err := h.Run("killed")
	if err != nil || run.ID != "killed" || len(recs) != 1 {
		t.Errorf("got %+v %d records, %v", run, len(recs), err)
	}
}

func TestGarbageSkipped(t *testing.T) {
	t.Parallel()
	m := kv.NewMem()
	h := New(m)
	record(t, h, rec("r1", "t", 1, 1, 100*ms, OutcomeOK), rec("r2", "t", 1, 3, 300*ms, OutcomeOK))
	if err := h.RecordRun(RunRecord{ID: "r1"}); err != nil {
		t.Fatal(err)
	}
	bad := taskKey(rec("r9", "t", 1, 2, 0, ""))
	err := m.Write(func(tx kv.Txn) error {
		if err := tx.Set(bad, []byte("{not json")); err != nil {
			return err
		}
		if err := tx.Set(runTaskKey(rec("r1", "t", 1, 2, 0, "")), bad); err != nil {
			return err
		}
		return tx.Set(runKey("r0"), []byte("\x00garbage"))
	})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := h.TaskRecords("t", 0)
	if err != nil || len(recs) != 2 {
		t.Errorf("TaskRecords: %d records, %v", len(recs), err)
	}
	if p := h.Predict("t"); p.Samples != 2 || p.Mean != 200*ms {
		t.Errorf("Predict = %+v", p)
	}
	if runs, err := h.Runs(0); err != nil || len(runs) != 1 {
		t.Errorf("Runs: %d, %v", len(runs), err)
	}
	if _, recs, err := h.Run("r1"); err != nil || len(recs) != 1 {
		t.Errorf("Run: %d records, %v", len(recs), err)
	}
	if got := h.Skipped(); got != 4 { // TaskRecords, Predict, Runs, Run
		t.Errorf("Skipped = %d, want 4", got)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	for i := range keepPerTask + pruneSlack + 10 {
		record(t, h, rec(fmt.Sprintf("r%03d", i), "t", 1, i, ms, OutcomeOK))
	}
	recs, err := h.TaskRecords("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	// pruned to 200 at the 251st record, then 9 more
	if len(recs) != keepPerTask+9 || recs[0].RunID != "r259" || recs[len(recs)-1].RunID != "r051" {
		t.Errorf("%d records, newest %s, oldest %s", len(recs), recs[0].RunID, recs[len(recs)-1].RunID)
	}
	if _, _, err := h.Run("r050"); !errors.Is(err, ErrUnknownRun) {
		t.Errorf("pruned run index kept: %v", err)
	}
	if _, recs, err := h.Run("r051"); err != nil || len(recs) != 1 {
		t.Errorf("Run(r051): %d records, %v", len(recs), err)
	}
}

func TestRecordErrors(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	for _, tc := range []struct {
		err  error
		want string
	}{
		{h.RecordTask(TaskRecord{RunID: "r"}), `history: invalid task name ""`},
		{h.RecordTask(TaskRecord{Task: "t"}), `history: invalid run id ""`},
		{h.RecordTask(TaskRecord{Task: "a\x00b", RunID: "r"}), `history: invalid task name "a\x00b"`},
		{h.RecordRun(RunRecord{}), `history: invalid run id ""`},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("got %v, want %s", tc.err, tc.want)
		}
	}
}

func TestNewRunID(t *testing.T) {
	t.Parallel()
	a, b := NewRunID(t0), NewRunID(t0.Add(time.Nanosecond))
	if !regexp.MustCompile(`^[0-9a-f]{16}-[0-9a-f]{4}$`).MatchString(a) || a >= b {
		t.Errorf("ids %q %q", a, b)
	}
}

func runIDs(recs []TaskRecord) []string {
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.RunID)
	}
	return ids
}

func TestEstimatesFollowSuccessfulRuns(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	base := time.Unix(1_700_000_000, 0)
	rec := func(task, outcome string, d time.Duration, i int) {
		t.Helper()
		err := h.RecordTask(TaskRecord{RunID: fmt.Sprintf("r%d", i), Task: task, Attempt: 1,
			Start: base.Add(time.Duration(i) * time.Second), Duration: d, Outcome: outcome})
		if err != nil {
			t.Fatal(err)
		}
	}
	rec("a", OutcomeOK, 100*time.Millisecond, 1)
	rec("a", OutcomeFailed, 5*time.Second, 2) // failures do not move the estimate
	rec("a", OutcomeCached, time.Millisecond, 3)
	rec("a", OutcomeOK, 200*time.Millisecond, 4)
	rec("b", OutcomeFailed, time.Second, 5)
	est, err := h.Estimates()
	if err != nil {
		t.Fatal(err)
	}
	// 0.3*200 + 0.7*100 = 130 ms, the same as Predict's EWMA.
	if len(est) != 1 || est["a"].Duration != 130*time.Millisecond || h.Predict("a").EWMA != est["a"].Duration || est["a"].Samples != 2 {
		t.Fatalf("estimates %v, predict %v", est, h.Predict("a").EWMA)
	}
}

// countingStore counts the scans of the record counters.
type countingStore struct {
	kv.Store
	countScans int
}

func (c *countingStore) Scan(prefix []byte, reverse bool, fn func(key, val []byte) (bool, error)) error {
	if string(prefix) == keyCount {
		c.countScans++
	}
	return c.Store.Scan(prefix, reverse, fn)
}

// The batches of a big run read the record counters once, and the counts
// they keep stay right across batches, tasks new and old, and pruning.
func TestBatchesReadCountsOnce(t *testing.T) {
	t.Parallel()
	s := &countingStore{Store: kv.NewMem()}
	h := New(s)
	batch := func(run string, first, n int) {
		var recs []TaskRecord
		for i := first; i < first+n; i++ {
			recs = append(recs, rec(run, fmt.Sprintf("t%d", i), 1, i, ms, OutcomeOK))
		}
		if err := h.RecordTasks(recs); err != nil {
			t.Fatal(err)
		}
	}
	for run := range keepPerTask + pruneSlack + 5 {
		id := fmt.Sprintf("r%03d", run)
		batch(id, 0, 20)
		batch(id, 20, 20) // t20..t39 are new in the first run
	}
	if s.countScans > 3 { // the first batch, and after each of the two prunes
		t.Errorf("%d scans of the counters, want at most 3", s.countScans)
	}
	fresh := New(s.Store)
	for _, task := range []string{"t0", "t39"} {
		recs, err := fresh.TaskRecords(task, 0)
		if err != nil {
			t.Fatal(err)
		}
		var stored int
		if err := s.Store.Scan([]byte(countKey(task)), false, func(_, v []byte) (bool, error) {
			stored, _ = strconv.Atoi(string(v))
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(recs) != keepPerTask+4 || stored != len(recs) {
			t.Errorf("%s: %d records, stored count %d, want %d", task, len(recs), stored, keepPerTask+4)
		}
	}
}
