package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/history"
)

// TestHistoryOnBadger runs runtime/history against the real store: binary
// keys, reverse scans, pruning and reading back after a reopen.
func TestHistoryOnBadger(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := history.New(db)
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 260 {
		at := start.Add(time.Duration(i) * time.Minute)
		id := history.NewRunID(at)
		ids = append(ids, id)
		recs := []history.TaskRecord{
			{RunID: id, Task: "build", Attempt: 1, Start: at, Duration: time.Duration(100+i%5) * time.Millisecond, Outcome: "ok"},
			{RunID: id, Task: "test", Attempt: 1, Start: at.Add(time.Second), Duration: time.Second, Outcome: "failed"},
			{RunID: id, Task: "test", Attempt: 2, Start: at.Add(2 * time.Second), Duration: time.Second, Outcome: "ok"},
		}
		for _, r := range recs {
			if err := h.RecordTask(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.RecordRun(history.RunRecord{ID: id, Start: at, Jobs: 2, Counts: map[string]int{"ok": 2}}); err != nil {
			t.Fatal(err)
		}
	}
	want := h.Predict("test")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t, dir, Options{ReadOnly: true})
	h = history.New(db)
	if got := h.Predict("test"); got != want || got.Flaky != 50 || got.FailureRate != 0.5 || got.Mean != time.Second {
		t.Errorf("Predict after reopen = %+v, before %+v", got, want)
	}
	if p := h.Predict("build"); p.Samples != 50 || p.Confidence != "high" || p.Mean != 102*time.Millisecond {
		t.Errorf("Predict(build) = %+v", p)
	}
	recs, err := h.TaskRecords("build", 0)
	if err != nil {
		t.Fatal(err)
	}
	// pruned to 200 at the 251st record, 9 more since
	if len(recs) != 209 || recs[0].RunID != ids[259] || recs[208].RunID != ids[51] {
		t.Errorf("%d build records, newest %s", len(recs), recs[0].RunID)
	}
	runs, err := h.Runs(3)
	if err != nil || len(runs) != 3 || runs[0].ID != ids[259] || runs[2].ID != ids[257] {
		t.Errorf("Runs(3) = %v, %v", runs, err)
	}
	run, recs, err := h.Run(ids[200])
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s#%d", r.Task, r.Attempt))
	}
	if err != nil || run.Jobs != 2 || !slices.Equal(got, []string{"build#1", "test#1", "test#2"}) {
		t.Errorf("Run = %+v %v, %v", run, got, err)
	}
	if names, err := h.TaskNames(); err != nil || !slices.Equal(names, []string{"build", "test"}) {
		t.Errorf("TaskNames = %v, %v", names, err)
	}
}
