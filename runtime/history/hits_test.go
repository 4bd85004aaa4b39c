package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// hitRec builds a cache hit that starts at t0 + sec seconds.
func hitRec(run, task string, sec int, key string) TaskRecord {
	r := rec(run, task, 1, sec, 3*time.Microsecond, OutcomeCached)
	r.Key = key
	return r
}

// recordLegacy stores r as a task record, the way cache hits were stored
// before they had hit lists.
func recordLegacy(t *testing.T, s kv.Store, r TaskRecord) {
	t.Helper()
	val, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Write(func(tx kv.Txn) error {
		if err := tx.Set(taskKey(r), val); err != nil {
			return err
		}
		if err := tx.Set(runTaskKey(r), taskKey(r)); err != nil {
			return err
		}
		return tx.Set(countKey(r.Task), []byte(strconv.Itoa(readCount(tx, r.Task)+1)))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// countKeys counts the keys of s under prefix.
func countKeys(t *testing.T, s kv.Store, prefix string) int {
	t.Helper()
	n := 0
	if err := s.Scan([]byte(prefix), false, func(_, _ []byte) (bool, error) { n++; return true, nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// utc returns recs with their start times in UTC, comparable with ==.
func utc(recs []TaskRecord) []TaskRecord {
	out := slices.Clone(recs)
	for i := range out {
		out[i].Start = out[i].Start.UTC()
	}
	return out
}

func describe(recs []TaskRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s/%s#%d@%d:%s", r.RunID, r.Task, r.Attempt, r.Start.Sub(t0)/time.Second, r.Outcome))
	}
	return out
}

func TestHitsRoundTrip(t *testing.T) {
	t.Parallel()
	m := kv.NewMem()
	h := New(m)
	hits := []TaskRecord{
		hitRec("r1", "build", 1, "0123456789abcdef0123456789abcdef"),
		hitRec("r1", "lint", 2, "not hex: kept as it is"),
		hitRec("r1", "test", 3, ""),
		hitRec("r1", "upper", 4, "ABCDEF"),
	}
	hits[2].Attempt, hits[2].Duration = 2, 0
	if err := h.RecordTasks(hits); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{keyTask, keyRunTask, keyCount, keyEst} {
		if n := countKeys(t, m, prefix); n != 0 {
			t.Errorf("%d keys under %s", n, prefix)
		}
	}
	for _, want := range hits {
		for _, h := range []*History{h, New(m)} { // the index kept by writes, and one read afresh
			got, err := h.TaskRecords(want.Task, 0)
			if err != nil || len(got) != 1 || utc(got)[0] != want {
				t.Errorf("TaskRecords(%s) = %+v, %v; want %+v", want.Task, got, err, want)
			}
		}
	}
	run, recs, err := h.Run("r1")
	if err != nil || run.ID != "r1" || !slices.Equal(utc(recs), hits) {
		t.Errorf("Run = %+v %+v, %v", run, recs, err)
	}
	names, err := h.TaskNames()
	if err != nil || !slices.Equal(names, []string{"build", "lint", "test", "upper"}) {
		t.Errorf("TaskNames = %v, %v", names, err)
	}
}

func TestHitsMergedWithAttempts(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	record(t, h,
		rec("r1", "t", 1, 10, ms, OutcomeFailed),
		rec("r1", "t", 2, 11, ms, OutcomeOK),
		rec("r1", "u", 1, 12, ms, OutcomeOK),
		rec("r3", "t", 1, 30, ms, OutcomeOK),
	)
	if err := h.RecordTasks([]TaskRecord{hitRec("r2", "t", 20, "aa"), hitRec("r4", "t", 40, "bb"),
		hitRec("r1", "v", 11, "cc"), hitRec("r1", "u", 12, "dd")}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit int
		want  []string
	}{
		{0, []string{"r4/t#1@40:cached", "r3/t#1@30:ok", "r2/t#1@20:cached", "r1/t#2@11:ok", "r1/t#1@10:failed"}},
		{1, []string{"r4/t#1@40:cached"}},
		{3, []string{"r4/t#1@40:cached", "r3/t#1@30:ok", "r2/t#1@20:cached"}},
		{9, []string{"r4/t#1@40:cached", "r3/t#1@30:ok", "r2/t#1@20:cached", "r1/t#2@11:ok", "r1/t#1@10:failed"}},
	} {
		recs, err := h.TaskRecords("t", tc.limit)
		if got := describe(recs); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("TaskRecords(t, %d) = %v, %v; want %v", tc.limit, got, err, tc.want)
		}
	}
	// Start order, then task and attempt (then task records first).
	_, recs, err := h.Run("r1")
	want := []string{"r1/t#1@10:failed", "r1/t#2@11:ok", "r1/v#1@11:cached", "r1/u#1@12:ok", "r1/u#1@12:cached"}
	if got := describe(recs); err != nil || !slices.Equal(got, want) {
		t.Errorf("Run(r1) = %v, %v; want %v", got, err, want)
	}
	if _, recs, err := h.Run("r2"); err != nil || len(recs) != 1 {
		t.Errorf("Run(r2), a run with only hits: %v, %v", describe(recs), err)
	}
}

// TestHitsReadLikeTaskRecords stores the same attempts twice, with hits
// in hit lists and as task records (as earlier versions did): every
// reader sees the same.
func TestHitsReadLikeTaskRecords(t *testing.T) {
	t.Parallel()
	oldStore := kv.NewMem()
	now, old := New(kv.NewMem()), New(oldStore)
	var recs []TaskRecord
	for i := range 70 {
		run := fmt.Sprintf("r%03d", i)
		switch i % 4 {
		case 0:
			recs = append(recs, rec(run, "t", 1, i, 10*ms, OutcomeFailed), rec(run, "t", 2, i, time.Duration(i)*ms, OutcomeOK))
		case 1:
			recs = append(recs, rec(run, "t", 1, i, time.Duration(i)*ms, OutcomeOK))
		default:
			recs = append(recs, hitRec(run, "t", i, fmt.Sprintf("%032x", i)))
		}
		recs = append(recs, hitRec(run, "other", i, ""))
	}
	if err := now.RecordTasks(recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		recordLegacy(t, oldStore, r)
	}
	if got, want := now.Predict("t"), old.Predict("t"); got != want || got.Flaky == 0 {
		t.Errorf("Predict with hit lists %+v, with task records %+v", got, want)
	}
	for _, limit := range []int{0, 1, 7, 100} {
		got, err1 := now.TaskRecords("t", limit)
		want, err2 := old.TaskRecords("t", limit)
		if err1 != nil || err2 != nil || !slices.Equal(utc(got), utc(want)) {
			t.Errorf("TaskRecords(t, %d):\n got %v\nwant %v (%v, %v)", limit, describe(got), describe(want), err1, err2)
		}
	}
	for _, id := range []string{"r000", "r002", "r069"} {
		_, got, err1 := now.Run(id)
		_, want, err2 := old.Run(id)
		if err1 != nil || err2 != nil || !slices.Equal(utc(got), utc(want)) {
			t.Errorf("Run(%s):\n got %v\nwant %v (%v, %v)", id, describe(got), describe(want), err1, err2)
		}
	}

	// Old records and new hits together: the old ones are still read.
	if err := old.RecordTasks([]TaskRecord{hitRec("r100", "t", 100, "")}); err != nil {
		t.Fatal(err)
	}
	got, err := old.TaskRecords("t", 3)
	if want := []string{"r100/t#1@100:cached", "r069/t#1@69:ok", "r068/t#2@68:ok"}; err != nil || !slices.Equal(describe(got), want) {
		t.Errorf("old and new records: %v, %v; want %v", describe(got), err, want)
	}
}

// TestHitsThatDoNotFit: a cache hit with more to say than a hit list holds
// stays a task record.
func TestHitsThatDoNotFit(t *testing.T) {
	t.Parallel()
	m := kv.NewMem()
	h := New(m)
	withRSS := hitRec("r1", "a", 1, "")
	withRSS.PeakRSS = 100
	noStart := hitRec("r1", "b", 1, "")
	noStart.Start = time.Time{}
	record(t, h, withRSS, noStart)
	if n := countKeys(t, m, keyTask); n != 2 {
		t.Errorf("%d task records, want 2", n)
	}
	if recs, err := h.TaskRecords("a", 0); err != nil || len(recs) != 1 || recs[0].PeakRSS != 100 {
		t.Errorf("TaskRecords(a) = %+v, %v", recs, err)
	}
	if recs, err := h.TaskRecords("b", 0); err != nil || len(recs) != 1 || !recs[0].Start.IsZero() {
		t.Errorf("TaskRecords(b) = %+v, %v", recs, err)
	}
}

func TestHitRunsRetention(t *testing.T) {
	t.Parallel()
	m := kv.NewMem()
	h := New(m)
	const runs = keepHitRuns + 10
	for i := range runs {
		id := fmt.Sprintf("r%03d", i)
		if err := h.RecordTasks([]TaskRecord{hitRec(id, "t", i, ""), hitRec(id, "u", i, "")}); err != nil {
			t.Fatal(err)
		}
		if i == runs/2 { // the index a History keeps follows the deletes
			if _, err := h.TaskRecords("t", 1); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.RecordRun(RunRecord{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if n, c := countKeys(t, m, keyHitRun), countKeys(t, m, keyHits); n != keepHitRuns || c != keepHitRuns {
		t.Errorf("%d hit lists in %d chunks, want %d", n, c, keepHitRuns)
	}
	for _, h := range []*History{h, New(m)} {
		recs, err := h.TaskRecords("u", 0)
		if err != nil || len(recs) != keepHitRuns || recs[0].RunID != "r209" || recs[len(recs)-1].RunID != "r010" {
			t.Errorf("TaskRecords: %d records %v..., %v", len(recs), describe(recs[:min(1, len(recs))]), err)
		}
	}
	if _, recs, err := h.Run("r009"); err != nil || len(recs) != 0 {
		t.Errorf("Run(r009): %v, %v", describe(recs), err)
	}
	if _, recs, err := h.Run("r010"); err != nil || len(recs) != 2 {
		t.Errorf("Run(r010): %v, %v", describe(recs), err)
	}
}

// TestHitsWriteFewKeys: the hits of a run take a constant number of keys,
// whatever their number and batches, while the list fits in a chunk.
func TestHitsWriteFewKeys(t *testing.T) {
	t.Parallel()
	for _, batch := range []int{1, recorderBatch, 1000} {
		t.Run(fmt.Sprint("batch", batch), func(t *testing.T) {
			t.Parallel()
			m := kv.NewMem()
			h := New(m)
			recordRun(t, h, noopRun(0, 500)) // an earlier run
			before := countKeys(t, m, "h1/")
			all := noopRun(1, 1000)
			recs := all
			for len(recs) > 0 {
				n := min(batch, len(recs))
				if err := h.RecordTasks(recs[:n]); err != nil {
					t.Fatal(err)
				}
				recs = recs[n:]
			}
			// h1/rh/<run> and one chunk of about 33 bytes a hit
			if added := countKeys(t, m, "h1/") - before; added != 2 {
				t.Errorf("1000 hits added %d keys, want 2", added)
			}
			if _, recs, err := h.Run(all[0].RunID); err != nil || !slices.Equal(utc(recs), utc(all)) {
				t.Errorf("Run: %d records, %v", len(recs), err)
			}
		})
	}
}

func TestHitsChunks(t *testing.T) {
	t.Parallel()
	m := kv.NewMem()
	h := New(m)
	recs := noopRun(0, 10000)
	recordRun(t, h, recs)
	var sizes []int
	_ = m.Scan([]byte(keyHits), false, func(_, val []byte) (bool, error) {
		sizes = append(sizes, len(val))
		return true, nil
	})
	// chunks fill up to hitsChunkSize and one more hit
	for i, n := range sizes {
		if len(sizes) < 2 || n > hitsChunkSize+100 || i < len(sizes)-1 && n < hitsChunkSize {
			t.Errorf("chunk sizes %v", sizes)
			break
		}
	}
	if head, err := m.Get(hitRunKey(recs[0].RunID)); err != nil || hitChunks(head) != len(sizes) {
		t.Errorf("h1/rh/ = %v, %v; %d chunks", head, err, len(sizes))
	}
	_, got, err := New(m).Run(recs[0].RunID)
	if err != nil || !slices.Equal(utc(got), utc(recs)) {
		t.Errorf("Run: %d records, %v", len(got), err)
	}
	if got, err := h.TaskRecords(recs[9999].Task, 0); err != nil || len(got) != 1 || utc(got)[0] != utc(recs[9999:])[0] {
		t.Errorf("TaskRecords: %+v, %v", got, err)
	}
}

func TestHitsGarbageSkipped(t *testing.T) {
	t.Parallel()
	m := kv.NewMem()
	h := New(m)
	if err := h.RecordTasks([]TaskRecord{hitRec("r1", "t", 1, ""), hitRec("r1", "t", 2, "")}); err != nil {
		t.Fatal(err)
	}
	chunk, err := m.Get(hitsKey("r1", 0))
	if err != nil {
		t.Fatal(err)
	}
	err = m.Write(func(tx kv.Txn) error {
		if err := tx.Set(hitsKey("r1", 0), chunk[:len(chunk)-2]); err != nil { // the second hit cut short
			return err
		}
		return tx.Set(hitsKey("r0", 0), []byte("\x09garbage"))
	})
	if err != nil {
		t.Fatal(err)
	}
	h = New(m)
	recs, err := h.TaskRecords("t", 0)
	if err != nil || len(recs) != 1 || h.Skipped() != 2 {
		t.Errorf("TaskRecords: %v, %v, skipped %d", describe(recs), err, h.Skipped())
	}
	if _, recs, err := h.Run("r0"); !errors.Is(err, ErrUnknownRun) || len(recs) != 0 {
		t.Errorf("Run(r0): %v, %v", describe(recs), err)
	}
}

// TestHitsConcurrent reads while hits are written (run with -race).
func TestHitsConcurrent(t *testing.T) {
	t.Parallel()
	h := New(kv.NewMem())
	recs := noopRun(0, 2000)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < len(recs); i += recorderBatch {
			if err := h.RecordTasks(recs[i:min(i+recorderBatch, len(recs))]); err != nil {
				t.Error(err)
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for i := 0; i < 2000; i += 97 {
				if _, err := h.TaskRecords(recs[i].Task, 0); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for _, i := range []int{0, 1999} {
		if got, err := h.TaskRecords(recs[i].Task, 0); err != nil || len(got) != 1 {
			t.Errorf("TaskRecords(%s) = %v, %v", recs[i].Task, describe(got), err)
		}
	}
	if names, err := h.TaskNames(); err != nil || len(names) != 2000 || !strings.HasPrefix(names[0], "pkg000/") {
		t.Errorf("TaskNames: %d, %v", len(names), err)
	}
}
