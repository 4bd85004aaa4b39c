package monitor

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
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
