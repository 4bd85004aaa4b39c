// Package monitor shows and measures runs: the line-oriented displays
// (stream and grouped), the end-of-run summary in text and JSON, and the
// seed's metrics (efficiency, speedup, throughput).
package monitor

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"sync"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/exec"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// Mode is how task output is shown.
type Mode int

const (
	Stream  Mode = iota // every line as it comes, prefixed with [task]
	Grouped             // each attempt's output as one block when it ends
	Quiet               // nothing but failures' status lines
)

// ParseMode reads --output.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "stream":
		return Stream, nil
	case "grouped":
		return Grouped, nil
	case "quiet":
		return Quiet, nil
	}
	return 0, fmt.Errorf("unknown output mode %q (use stream, grouped or quiet)", s)
}

// Lines is the plain display: whole lines, one writer lock, so lines of
// parallel tasks never splice. Bytes of task output are kept as they are;
// prefixes and colours are added here only.
type Lines struct {
	mu     sync.Mutex
	w      io.Writer
	mode   Mode
	color  bool
	dryRun bool
	total  int
	done   int
	tails  map[string][][]byte // quiet mode: the last lines of each task's attempt
}

// tailLines is how many lines of a failed task quiet mode shows.
const tailLines = 20

// NewLines returns a display writing to w. total is the number of tasks in
// the run, for the [n/total] counter.
func NewLines(w io.Writer, mode Mode, color, dryRun bool) *Lines {
	return &Lines{w: w, mode: mode, color: color, dryRun: dryRun}
}

// SetTotal sets the number of tasks the run will account for.
func (d *Lines) SetTotal(n int) { d.mu.Lock(); d.total = n; d.done = 0; d.mu.Unlock() }

var palette = []string{"36", "33", "35", "32", "34", "96", "93", "95", "92", "94"}

func (d *Lines) prefix(name string) string {
	if !d.color {
		return "[" + name + "] "
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return "\x1b[" + palette[h.Sum32()%uint32(len(palette))] + "m[" + name + "]\x1b[0m "
}

func (d *Lines) paint(code, s string) string {
	if !d.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// status prints one line of jsrt-script's own about a task.
func (d *Lines) status(name, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, "%s%s\n", d.prefix(name), msg)
}

// Started implements sched.Observer.
func (d *Lines) Started(t *graph.Task, attempt int) {
	switch {
	case d.dryRun:
		d.mu.Lock()
		d.done++
		fmt.Fprintf(d.w, "[%d/%d] %s: %s\n", d.done, d.total, t.Name, t.Command())
		d.mu.Unlock()
	case d.mode == Quiet:
	case attempt > 1:
		d.status(t.Name, d.paint("2", fmt.Sprintf("$ %s  (attempt %d of %d)", t.Command(), attempt, t.Retries+1)))
	default:
		d.status(t.Name, d.paint("2", "$ "+t.Command()))
	}
}

// Finished implements sched.Observer.
func (d *Lines) Finished(t *graph.Task, attempt int, r sched.Result, retry bool) {
	if d.dryRun {
		return
	}
	dur := Round(r.Duration)
	switch {
	case r.OK() && d.mode == Quiet:
		d.count() // quiet mode prints no line for a success
	case r.OK() && r.Cached:
		d.count()
		d.status(t.Name, d.paint("32", "cached")+" "+d.counter())
	case r.OK():
		d.count()
		d.status(t.Name, d.paint("32", "ok")+fmt.Sprintf(" %s %s", dur, d.counter()))
	case retry:
		d.status(t.Name, d.paint("33", fmt.Sprintf("failed (%s) after %s, retrying", r.Describe(t.Timeout), dur)))
	default:
		d.count()
		if d.mode == Quiet {
			d.printTail(t.Name)
		}
		d.status(t.Name, d.paint("1;31", failWord(r))+fmt.Sprintf("%s after %s %s", why(r, t), dur, d.counter()))
	}
}

// Skipped implements sched.Observer.
func (d *Lines) Skipped(t *graph.Task, reason string) {
	if d.dryRun {
		return
	}
	d.count()
	d.status(t.Name, d.paint("33", "skipped: "+reason))
}

func (d *Lines) count() { d.mu.Lock(); d.done++; d.mu.Unlock() }

func (d *Lines) counter() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.paint("2", fmt.Sprintf("[%d/%d]", d.done, d.total))
}

// Output implements core.Display.
func (d *Lines) Output(t *graph.Task, attempt int) io.WriteCloser {
	switch d.mode {
	case Stream:
		p := []byte(d.prefix(t.Name))
		lw := &exec.LineWriter{}
		lw.Emit = func(line []byte, partial bool) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.w.Write(p)
			d.w.Write(line)
			d.w.Write([]byte{'\n'})
		}
		return lw
	case Grouped:
		return &spool{d: d, name: t.Name}
	}
	// Quiet: keep the last lines, shown only if the attempt fails.
	var tail [][]byte
	lw := &exec.LineWriter{Max: 1024}
	lw.Emit = func(line []byte, _ bool) {
		if len(tail) == tailLines {
			tail = tail[1:]
		}
		tail = append(tail, bytes.Clone(line))
	}
	return &tailKeeper{lw: lw, done: func() {
		d.mu.Lock()
		if d.tails == nil {
			d.tails = map[string][][]byte{}
		}
		d.tails[t.Name] = tail
		d.mu.Unlock()
	}}
}

// tailKeeper feeds a LineWriter and hands over what it kept when closed.
type tailKeeper struct {
	lw   *exec.LineWriter
	done func()
}

func (k *tailKeeper) Write(p []byte) (int, error) { return k.lw.Write(p) }
func (k *tailKeeper) Close() error {
	k.lw.Close()
	k.done()
	return nil
}

// printTail shows, in quiet mode, the last lines a failed task printed.
func (d *Lines) printTail(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := []byte(d.prefix(name))
	for _, line := range d.tails[name] {
		d.w.Write(p)
		d.w.Write(line)
		d.w.Write([]byte{'\n'})
	}
	delete(d.tails, name)
}

// spool keeps a grouped attempt's output in a temporary file, so memory stays
// flat, and prints it as one block when the attempt ends.
type spool struct {
	d    *Lines
	name string
	f    *os.File
	err  error
}

func (s *spool) Write(p []byte) (int, error) {
	if s.f == nil && s.err == nil {
		s.f, s.err = os.CreateTemp("", "jsrt-output-*")
	}
	if s.err != nil {
		return 0, s.err
	}
	return s.f.Write(p)
}

func (s *spool) Close() error {
	if s.f == nil {
		return s.err
	}
	defer os.Remove(s.f.Name())
	defer s.f.Close()
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	fmt.Fprintf(s.d.w, "%s\n", s.d.paint("1", "── "+s.name+" ──"))
	lw := &exec.LineWriter{Emit: func(line []byte, _ bool) {
		s.d.w.Write(line)
		s.d.w.Write([]byte{'\n'})
	}}
	_, err := io.Copy(lw, s.f)
	lw.Close()
	return err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// Round shortens a duration for people: 1.2s, 340ms, 2m5s.
func Round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// Notice prints one of jsrt-script's own remarks about a task (a cache hit
// being replayed, an input pattern that matches nothing).
func (d *Lines) Notice(t *graph.Task, msg string) {
	if d.mode == Quiet {
		return
	}
	d.status(t.Name, d.paint("2", msg))
}

// Speculating implements sched.SpecObserver.
func (d *Lines) Speculating(t *graph.Task) {
	if d.mode != Quiet && !d.dryRun {
		d.status(t.Name, d.paint("2", "running ahead (usually asked for next): its result goes to the cache only"))
	}
}

// SpeculationDone implements sched.SpecObserver.
func (d *Lines) SpeculationDone(t *graph.Task, r sched.Result) {
	if d.mode == Quiet || d.dryRun {
		return
	}
	switch {
	case r.OK():
		d.status(t.Name, d.paint("2", fmt.Sprintf("ran ahead into the cache in %s", Round(r.Duration))))
	case r.Interrupted:
		d.status(t.Name, d.paint("2", "stopped running ahead (requested work needed the slot, or the run ended); nothing cached"))
	default:
		d.status(t.Name, d.paint("2", "running ahead failed ("+r.Describe(t.Timeout)+"); nothing cached"))
	}
}

// failWord is how a failed attempt is announced: INTERRUPTED when the run
// stopped it, FAILED otherwise (as the summary counts them).
func failWord(r sched.Result) string {
	if r.Interrupted {
		return "INTERRUPTED"
	}
	return "FAILED"
}

// why is the " (exit 2)" after FAILED; nothing after INTERRUPTED, which
// says it all.
func why(r sched.Result, t *graph.Task) string {
	if r.Interrupted {
		return ""
	}
	return " (" + r.Describe(t.Timeout) + ")"
}
