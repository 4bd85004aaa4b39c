package history

import (
	"fmt"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// recorderBatch is how many records the recorder in runtime/core writes at
// most in one RecordTasks call.
const recorderBatch = 256

// BenchmarkRecordHits10000 records a no-op run, 10 000 cache hits in the
// recorder's batches and then the run record, into a store that already
// holds the previous runs.
func BenchmarkRecordHits10000(b *testing.B) {
	h := New(kv.NewMem())
	runs := make([][]TaskRecord, b.N+1)
	for i := range runs {
		runs[i] = noopRun(i, 10000)
	}
	recordRun(b, h, runs[0])
	b.ReportAllocs()
	b.ResetTimer()
	for _, recs := range runs[1:] {
		recordRun(b, h, recs)
	}
}

// noopRun returns the cache hits of the n-th no-op run of tasks tasks.
func noopRun(n, tasks int) []TaskRecord {
	start := time.Unix(1_700_000_000, 0).Add(time.Duration(n) * time.Hour)
	id := NewRunID(start)
	recs := make([]TaskRecord, tasks)
	for i := range recs {
		recs[i] = TaskRecord{RunID: id, Task: fmt.Sprintf("pkg%03d/task%02d", i/100, i%100), Attempt: 1,
			Start: start.Add(time.Duration(i) * 40 * time.Microsecond), Duration: 90 * time.Microsecond,
			Outcome: OutcomeCached, Key: fmt.Sprintf("%032x", i*7919)}
	}
	return recs
}

// recordRun writes recs as the recorder does, then their run.
func recordRun(tb testing.TB, h *History, recs []TaskRecord) {
	tb.Helper()
	id := recs[0].RunID
	for len(recs) > 0 {
		n := min(recorderBatch, len(recs))
		if err := h.RecordTasks(recs[:n]); err != nil {
			tb.Fatal(err)
		}
		recs = recs[n:]
	}
	if err := h.RecordRun(RunRecord{ID: id}); err != nil {
		tb.Fatal(err)
	}
}
