package monitor

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

type traceFile struct {
	DisplayTimeUnit string           `json:"displayTimeUnit"`
	TraceEvents     []map[string]any `json:"traceEvents"`
	OtherData       map[string]any   `json:"otherData"`
}

func readTrace(t *testing.T, tl Timeline) traceFile {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteTrace(&buf, tl); err != nil {
		t.Fatal(err)
	}
	var f traceFile
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("not trace JSON: %v", err)
	}
	return f
}

// checkSchema checks what Perfetto and chrome://tracing need of each event.
func checkSchema(t *testing.T, f traceFile) {
	t.Helper()
	if f.DisplayTimeUnit != "ms" {
		t.Errorf("displayTimeUnit %q", f.DisplayTimeUnit)
	}
	for i, e := range f.TraceEvents {
		name, _ := e["name"].(string)
		ph, _ := e["ph"].(string)
		ts, tsOK := e["ts"].(float64)
		_, pidOK := e["pid"].(float64)
		_, tidOK := e["tid"].(float64)
		if name == "" || !pidOK || !tidOK || !tsOK || ts < 0 {
			t.Errorf("event %d lacks name/pid/tid/ts: %v", i, e)
		}
		switch ph {
		case "X":
			if d, ok := e["dur"].(float64); !ok || d < 0 {
				t.Errorf("complete event %d without a duration: %v", i, e)
			}
		case "M", "i":
		case "C":
			args, _ := e["args"].(map[string]any)
			for k, v := range args {
				if _, ok := v.(float64); !ok {
					t.Errorf("counter %d: %s is not a number: %v", i, k, e)
				}
			}
		default:
			t.Errorf("event %d: phase %q", i, ph)
		}
	}
}

func ofPhase(f traceFile, ph string) []map[string]any {
	var out []map[string]any
	for _, e := range f.TraceEvents {
		if e["ph"] == ph {
			out = append(out, e)
		}
	}
	return out
}

func TestTraceSpans(t *testing.T) {
	t.Parallel()
	f := readTrace(t, retryRun())
	checkSchema(t, f)
	x := func(name string, ts, dur float64, tid int, args map[string]any, cname string) map[string]any {
		e := map[string]any{"name": name, "cat": "task", "ph": "X", "ts": ts, "dur": dur, "pid": 1.0, "tid": float64(tid), "args": args}
		if cname != "" {
			e["cname"] = cname
		}
		return e
	}
	args := func(status, cache string, attempt, exit int, critical bool) map[string]any {
		a := map[string]any{"status": status, "cache": cache, "attempt": float64(attempt), "exitCode": float64(exit)}
		if critical {
			a["critical"] = true
		}
		return a
	}
	bArgs := args("ok", "miss", 1, 0, false)
	bArgs["peakRss"] = 1048576.0
	want := []map[string]any{ // in the order of the spans; slots as AssignSlots gives them
		x("d", 6e6, 4e6, 1, args("ok", "miss", 1, 0, true), ""),
		x("a", 0, 2e6, 1, args("ok", "miss", 1, 0, false), ""),
		x("c", 0, 3e6, 2, args("failed", "miss", 1, 1, true), "terrible"),
		x("b", 2e6, 3e6, 1, bArgs, ""),
		x("c", 3e6, 3e6, 2, args("ok", "miss", 2, 0, true), ""),
		x("f", 5e6, 5e5, 1, args("cached", "hit", 1, 0, false), "grey"),
		x("g", 5.5e6, 5e5, 1, args("ok", "off", 1, 0, false), ""),
	}
	if got := ofPhase(f, "X"); !reflect.DeepEqual(got, want) {
		t.Errorf("complete events:\n got %v\nwant %v", got, want)
	}
	// Every task that ran is at least one complete span; e never ran.
	ran := map[string]bool{}
	for _, e := range ofPhase(f, "X") {
		ran[e["name"].(string)] = true
	}
	if want := map[string]bool{"a": true, "b": true, "c": true, "d": true, "f": true, "g": true}; !reflect.DeepEqual(ran, want) {
		t.Errorf("tasks with spans %v", ran)
	}
	wantOther := map[string]any{"runId": "0001-run", "start": "2026-03-04T05:06:07Z", "jobs": 2.0, "wallMs": 10000.0}
	if !reflect.DeepEqual(f.OtherData, wantOther) {
		t.Errorf("otherData %v", f.OtherData)
	}
}

func TestTraceTracks(t *testing.T) {
	t.Parallel()
	f := readTrace(t, blockedRun())
	checkSchema(t, f)
	meta := func(name string, tid int, args map[string]any) map[string]any {
		return map[string]any{"name": name, "ph": "M", "ts": 0.0, "pid": 1.0, "tid": float64(tid), "args": args}
	}
	wantMeta := []map[string]any{
		meta("process_name", 0, map[string]any{"name": "jsrt-script run 0002-run"}),
		meta("thread_name", 0, map[string]any{"name": "optimizer"}),
		meta("thread_sort_index", 0, map[string]any{"sort_index": 0.0}),
		meta("thread_name", 1, map[string]any{"name": "slot 1"}),
		meta("thread_sort_index", 1, map[string]any{"sort_index": 1.0}),
		meta("thread_name", 2, map[string]any{"name": "slot 2"}),
		meta("thread_sort_index", 2, map[string]any{"sort_index": 2.0}),
	}
	if got := ofPhase(f, "M"); !reflect.DeepEqual(got, wantMeta) {
		t.Errorf("metadata:\n got %v\nwant %v", got, wantMeta)
	}
	counter := func(name string, ts float64, args map[string]any) map[string]any {
		return map[string]any{"name": name, "ph": "C", "ts": ts, "pid": 1.0, "tid": 0.0, "args": args}
	}
	wantCounters := []map[string]any{
		counter("cpu %", 1e6, map[string]any{"cpu": 30.0}), counter("memory %", 1e6, map[string]any{"memory": 40.0}),
		counter("cpu %", 2e6, map[string]any{"cpu": 40.0}), counter("memory %", 2e6, map[string]any{"memory": 50.0}),
		counter("cpu %", 3e6, map[string]any{"cpu": 35.0}), counter("memory %", 3e6, map[string]any{"memory": 92.0}),
		counter("parallelism", 0, map[string]any{"jobs": 2.0}),
		counter("parallelism", 8e6, map[string]any{"jobs": 1.0}),
		counter("parallelism", 9e6, map[string]any{"jobs": 1.0}),
	}
	if got := ofPhase(f, "C"); !reflect.DeepEqual(got, wantCounters) {
		t.Errorf("counters:\n got %v\nwant %v", got, wantCounters)
	}
	wantInstant := []map[string]any{{"name": "parallelism 2 -> 1", "cat": "optimizer", "ph": "i", "ts": 8e6, "pid": 1.0,
		"tid": 0.0, "s": "t", "args": map[string]any{"reason": "cpu 95% > 90%"}}}
	if got := ofPhase(f, "i"); !reflect.DeepEqual(got, wantInstant) {
		t.Errorf("instant events:\n got %v\nwant %v", got, wantInstant)
	}
	if n := len(ofPhase(f, "X")); n != 8 {
		t.Errorf("%d complete events, want 8", n)
	}
}

// A live timeline (Recorder.Timeline) has running spans; an empty one is
// still a valid trace.
func TestTraceEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		tl    Timeline
		spans int
	}{
		{"empty", Timeline{}, 0},
		{"running", Timeline{Wall: sec, Jobs: 1, Spans: []Span{{Task: `odd "name" <&>`, End: sec, Status: SpanRunning, Attempt: 1}}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := readTrace(t, tt.tl)
			checkSchema(t, f)
			if n := len(ofPhase(f, "X")); n != tt.spans {
				t.Errorf("%d spans, want %d", n, tt.spans)
			}
		})
	}
}
