package monitor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// BenchmarkProfileAndReport10k is the figure: for a 10 000-task
// run, build the report and write the profile (trace JSON) and the HTML
// page to files. The target is under 0.5 s.
func BenchmarkProfileAndReport10k(b *testing.B) {
	tl := bigRun(10000, 16)
	dir := b.TempDir()
	write := func(name string, fn func(*bufio.Writer) error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		if err := fn(w); err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		rep := NewReport(ReportInput{Timeline: tl})
		write("profile.json", func(w *bufio.Writer) error { return WriteTrace(w, tl) })
		write("report.html", func(w *bufio.Writer) error { return WriteHTML(w, rep) })
	}
}

func BenchmarkReport10k(b *testing.B) {
	tl := bigRun(10000, 16)
	b.ReportAllocs()
	for b.Loop() {
		NewReport(ReportInput{Timeline: tl})
	}
}

func BenchmarkTrace10k(b *testing.B) {
	tl := bigRun(10000, 16)
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteTrace(discard{}, tl); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHTML10k(b *testing.B) {
	tl := bigRun(10000, 16)
	rep := NewReport(ReportInput{Timeline: tl})
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteHTML(discard{}, rep); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkRecorder10k records a fully cached run of 10 000 tasks: one
// Started and one Finished per task, then the final timeline.
func BenchmarkRecorder10k(b *testing.B) {
	tasks := make([]*graph.Task, 10000)
	for i := range tasks {
		tasks[i] = &graph.Task{Name: fmt.Sprintf("t%d", i), Shell: "true"}
	}
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		r := NewRecorder("", start, 2, tasks, nil)
		for _, t := range tasks {
			r.Started(t, 1)
			r.Finished(t, 1, sched.Result{Cached: true, Duration: time.Millisecond}, false)
		}
		_ = r.Timeline()
	}
}
