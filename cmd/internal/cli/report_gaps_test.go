package cli

import (
	"bytes"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/history"
)

func TestNoteGaps(t *testing.T) {
	t.Parallel()
	start := time.Unix(1_800_000_000, 0)
	hit := history.TaskRecord{RunID: "r", Task: "a", Attempt: 1, Start: start, Outcome: history.OutcomeCached}
	ok := history.TaskRecord{RunID: "r", Task: "b", Attempt: 1, Start: start, Outcome: history.OutcomeOK}
	for _, c := range []struct {
		name string
		run  history.RunRecord
		recs []history.TaskRecord
		want string
	}{
		{"complete", history.RunRecord{ID: "r", Start: start, Counts: map[string]int{"cached": 1, "ok": 1}},
			[]history.TaskRecord{hit, ok}, ""},
		{"never finished", history.RunRecord{ID: "r"}, []history.TaskRecord{hit},
			"jsrt-script: note: run r never finished (its coordinator was killed or its machine stopped): this covers only the attempts it recorded\n"},
		{"hits no longer kept", history.RunRecord{ID: "r", Start: start, Counts: map[string]int{"cached": 3, "ok": 1}},
			[]history.TaskRecord{ok},
			"jsrt-script: note: 3 of this run's 3 cache hits are no longer kept (only the newest 200 runs keep theirs): they are left out\n"},
	} {
		var stderr bytes.Buffer
		noteGaps(&Env{Stderr: &stderr}, c.run, c.recs)
		if stderr.String() != c.want {
			t.Errorf("%s: stderr %q, want %q", c.name, stderr.String(), c.want)
		}
	}
}
