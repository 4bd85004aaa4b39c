package monitor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// Trace export: the Chrome trace-event format (JSON object form), which
// Perfetto (ui.perfetto.dev) and chrome://tracing open.
//
//   - process 1 is the run ("jsrt-script run ID");
//   - thread N (tid N) is slot N, named "slot N" and sorted by N; thread 0,
//     "optimizer", has an instant event per parallelism change;
//   - every attempt is a complete event ("ph":"X", cat "task") on its slot's
//     thread, ts and dur in microseconds from the run's start, with args
//     status, cache ("hit", "miss" or "off"), attempt, exitCode, critical
//     (on the critical path), and peakRss (bytes) when known;
//   - counter events ("ph":"C") make three tracks: "cpu %" {cpu}, "memory %"
//     {memory} and "parallelism" {jobs}.

type traceEvent struct {
	Name  string   `json:"name"`
	Cat   string   `json:"cat,omitempty"`
	Ph    string   `json:"ph"`
	Ts    float64  `json:"ts"`
	Dur   *float64 `json:"dur,omitempty"`
	Pid   int      `json:"pid"`
	Tid   int      `json:"tid"`
	Scope string   `json:"s,omitempty"`
	Cname string   `json:"cname,omitempty"`
	Args  any      `json:"args,omitempty"`
}

type spanArgs struct {
	Status   string `json:"status"`
	Cache    string `json:"cache"`
	Attempt  int    `json:"attempt"`
	ExitCode int    `json:"exitCode"`
	Critical bool   `json:"critical,omitempty"`
	PeakRSS  int64  `json:"peakRss,omitempty"`
}

const tracePid = 1

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// WriteTrace writes the run as Chrome trace-event JSON. Spans without a
// slot get one (AssignSlots on a copy).
func WriteTrace(w io.Writer, tl Timeline) error {
	tl.Spans = slices.Clone(tl.Spans)
	AssignSlots(tl.Spans)
	a := analyse(&tl)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	first := true
	emit := func(e traceEvent) error {
		if !first {
			bw.WriteByte(',')
		}
		first = false
		return enc.Encode(e)
	}
	bw.WriteString(`{"displayTimeUnit":"ms","traceEvents":[` + "\n")
	for _, e := range traceMeta(&tl) {
		if err := emit(e); err != nil {
			return err
		}
	}
	for _, s := range tl.Spans {
		if err := emit(spanEvent(s, a)); err != nil {
			return err
		}
	}
	for _, e := range traceCounters(&tl) {
		if err := emit(e); err != nil {
			return err
		}
	}
	other, err := json.Marshal(map[string]any{"runId": tl.RunID, "start": tl.Start, "jobs": tl.Jobs, "wallMs": ms(tl.Wall)})
	if err != nil {
		return err
	}
	bw.WriteString(`],"otherData":`)
	bw.Write(other)
	bw.WriteString("}\n")
	return bw.Flush()
}

func traceMeta(tl *Timeline) []traceEvent {
	name := "jsrt-script run"
	if tl.RunID != "" {
		name += " " + tl.RunID
	}
	out := []traceEvent{{Name: "process_name", Ph: "M", Pid: tracePid, Args: map[string]string{"name": name}}}
	if len(tl.Changes) > 0 {
		out = append(out,
			traceEvent{Name: "thread_name", Ph: "M", Pid: tracePid, Tid: 0, Args: map[string]string{"name": "optimizer"}},
			traceEvent{Name: "thread_sort_index", Ph: "M", Pid: tracePid, Tid: 0, Args: map[string]int{"sort_index": 0}})
	}
	slots := 0
	for _, s := range tl.Spans {
		slots = max(slots, s.Slot)
	}
	for k := 1; k <= slots; k++ {
		out = append(out,
			traceEvent{Name: "thread_name", Ph: "M", Pid: tracePid, Tid: k, Args: map[string]string{"name": fmt.Sprintf("slot %d", k)}},
			traceEvent{Name: "thread_sort_index", Ph: "M", Pid: tracePid, Tid: k, Args: map[string]int{"sort_index": k}})
	}
	return out
}

func spanEvent(s Span, a *analysis) traceEvent {
	dur := us(s.Duration())
	cache := "miss"
	switch {
	case s.Cached:
		cache = "hit"
	case a.byName[s.Task].NoCache:
		cache = "off"
	}
	e := traceEvent{Name: s.Task, Cat: "task", Ph: "X", Ts: us(s.Start), Dur: &dur, Pid: tracePid, Tid: s.Slot,
		Args: spanArgs{Status: s.Status, Cache: cache, Attempt: s.Attempt, ExitCode: s.ExitCode,
			Critical: a.onPath[s.Task], PeakRSS: s.PeakRSS}}
	switch s.Status {
	case SpanOK, SpanRunning:
	case SpanCached:
		e.Cname = "grey"
	default:
		e.Cname = "terrible"
	}
	return e
}

func traceCounters(tl *Timeline) []traceEvent {
	var out []traceEvent
	for _, r := range tl.Resources {
		out = append(out,
			traceEvent{Name: "cpu %", Ph: "C", Ts: us(r.At), Pid: tracePid, Args: map[string]float64{"cpu": r.CPUPercent}},
			traceEvent{Name: "memory %", Ph: "C", Ts: us(r.At), Pid: tracePid, Args: map[string]float64{"memory": r.MemUsedPercent}})
	}
	jobs := func(at time.Duration, n int) traceEvent {
		return traceEvent{Name: "parallelism", Ph: "C", Ts: us(at), Pid: tracePid, Args: map[string]int{"jobs": n}}
	}
	out = append(out, jobs(0, tl.Jobs))
	last := tl.Jobs
	for _, c := range tl.Changes {
		out = append(out, jobs(c.At, c.To),
			traceEvent{Name: fmt.Sprintf("parallelism %d -> %d", c.From, c.To), Cat: "optimizer", Ph: "i", Ts: us(c.At),
				Pid: tracePid, Tid: 0, Scope: "t", Args: map[string]string{"reason": c.Reason}})
		last = c.To
	}
	return append(out, jobs(tl.Wall, last))
}
