package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/monitor"
	"github.com/jsrt-script/jsrt-script/runtime/optimize"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// display is what session.run hands to core: the screen (lines or the live
// view) plus the recorder that builds the run's timeline for --profile,
// --report and the metrics in --json.
type screen interface {
	core.Display
	core.Notices
	sched.SpecObserver
}

type observed struct {
	screen screen
	rec    *monitor.Recorder
	// events, when set, takes the events a strategy listens to
	// (monitor.on); expected are the predictions anomalies are judged by.
	events   func(kind string, payload any)
	expected map[string]monitor.Expected
}

func newObserved(s screen, rec *monitor.Recorder) *observed {
	rec.Next = s
	return &observed{screen: s, rec: rec}
}

func (o *observed) emit(kind string, payload any) {
	if o.events != nil {
		o.events(kind, payload)
	}
}

func (o *observed) Started(t *graph.Task, attempt int) {
	o.rec.Started(t, attempt)
	if o.events != nil {
		o.emit("taskStart", map[string]any{"task": t.Name, "attempt": attempt})
	}
}

func (o *observed) Finished(t *graph.Task, attempt int, r sched.Result, retry bool) {
	o.rec.Finished(t, attempt, r, retry)
	if o.events == nil {
		return
	}
	o.emit("taskEnd", map[string]any{"task": t.Name, "attempt": attempt, "outcome": r.Outcome(), "exitCode": r.ExitCode,
		"durationMs": float64(r.Duration) / float64(time.Millisecond), "cached": r.Cached, "retrying": retry})
	if r.OK() && !r.Cached {
		if a, ok := monitor.DefaultAnomalyRule().Check(t.Name, r.Duration, o.expected[t.Name]); ok {
			o.emit("anomaly", a)
		}
	}
}
func (o *observed) Skipped(t *graph.Task, reason string) { o.rec.Skipped(t, reason) }
func (o *observed) Output(t *graph.Task, attempt int) io.WriteCloser {
	return o.screen.Output(t, attempt)
}
func (o *observed) Notice(t *graph.Task, msg string)              { o.screen.Notice(t, msg) }
func (o *observed) Speculating(t *graph.Task)                     { o.screen.Speculating(t) }
func (o *observed) SpeculationDone(t *graph.Task, r sched.Result) { o.screen.SpeculationDone(t, r) }

// Sampled implements sched.OptimizeObserver.
func (o *observed) Sampled(s optimize.Sample, jobs int) {
	o.rec.Sampled(s.Time, s.CPUPercent, s.MemUsedPercent)
	if o.events != nil {
		m := s.JS()
		m["jobs"] = jobs
		o.emit("sample", m)
	}
}

// Changed implements sched.OptimizeObserver: every change is shown with
// its reason.
func (o *observed) Changed(e optimize.Event) {
	o.rec.Changed(e.Time, e.From, e.To, e.Reason)
	o.screen.Notice(&graph.Task{Name: "optimizer"}, fmt.Sprintf("parallelism %d -> %d: %s", e.From, e.To, e.Reason))
}

// Held implements sched.OptimizeObserver.
func (o *observed) Held(t *graph.Task, reason string) {
	o.screen.Notice(t, "waiting for memory: "+reason)
}

// writeProfiles writes --profile (Chrome trace events) and --report (the
// HTML page), when asked for.
func (s *session) writeProfiles(tl monitor.Timeline, tasks []*graph.Task) error {
	if s.flags.profile != "" {
		if err := writeFile(s.abs(s.flags.profile), func(w io.Writer) error { return monitor.WriteTrace(w, tl) }); err != nil {
			return fmt.Errorf("--profile: %w", err)
		}
	}
	if s.flags.report == "" {
		return nil
	}
	in := monitor.ReportInput{Timeline: tl, Expected: map[string]monitor.Expected{}}
	for _, t := range tasks {
		recs, err := s.hist.TaskRecords(t.Name, 0)
		if err != nil {
			return err
		}
		in.Expected[t.Name] = monitor.ExpectedBefore(t.Name, recs, tl.Start)
		in.Flaky = append(in.Flaky, monitor.FlakyFrom(t.Name, recs, 20))
	}
	rep := monitor.NewReport(in)
	if err := writeFile(s.abs(s.flags.report), func(w io.Writer) error { return monitor.WriteHTML(w, rep) }); err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	return nil
}

func (s *session) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.env.Cwd, p)
}

// writeFile writes through a temporary file and a rename: a reader never
// sees half a file.
func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".jsrt-write-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriter(f)
	if err := fill(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// expectations turns history's estimates into the predictions anomalies are
// judged by (high confidence: more than 10 samples).
func (s *session) expectations() map[string]monitor.Expected {
	out := map[string]monitor.Expected{}
	if s.hist == nil {
		return out
	}
	est, err := s.hist.Estimates()
	if err != nil {
		return out
	}
	for name, e := range est {
		conf := "low"
		if e.Samples > 10 {
			conf = "high"
		}
		out[name] = monitor.Expected{Duration: e.Duration, Samples: e.Samples, Confidence: conf}
	}
	return out
}

// metrics is monitor.metrics(): the run going on, or the last one.
func (s *session) metrics() any {
	rec, _ := s.lastRec.Load().(*monitor.Recorder)
	if rec == nil {
		return nil
	}
	return monitor.Measure(rec.Timeline())
}
