package monitor

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// screen is a small terminal emulator, enough to check what a person would
// see: text with autowrap at the width (the cursor waits at the right
// margin until the next character, as in xterm), "\n" to the start of the
// next row (a tty's onlcr), "\r", and the CSI sequences cursor up (A),
// erase in line (K), erase below (J) and colours (m, ignored). Every row
// is kept, scrollback included. Anything else is recorded in bad.
type screen struct {
	mu    sync.Mutex
	width int
	rows  [][]rune
	r, c  int
	wrap  bool   // the last column was written: the next character wraps
	rest  []byte // an escape sequence or a rune cut between writes
	raw   bytes.Buffer
	mark  int // Raw has returned the bytes before this
	bad   []string
}

func newScreen(width int) *screen { return &screen{width: width, rows: [][]rune{nil}} }

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw.Write(p)
	b := append(s.rest, p...)
	s.rest = nil
	for len(b) > 0 {
		n := s.step(b)
		if n == 0 { // incomplete: wait for more
			s.rest = append([]byte(nil), b...)
			break
		}
		b = b[n:]
	}
	return len(p), nil
}

// step interprets the start of b and returns how many bytes it used (0:
// b holds only the start of a sequence).
func (s *screen) step(b []byte) int {
	switch b[0] {
	case '\n':
		s.r, s.c, s.wrap = s.r+1, 0, false
		s.grow()
		return 1
	case '\r':
		s.c, s.wrap = 0, false
		return 1
	case 0x1b:
		return s.escape(b)
	}
	if !utf8.FullRune(b) {
		return 0
	}
	r, n := utf8.DecodeRune(b)
	if r < 0x20 || r == 0x7f {
		s.bad = append(s.bad, fmt.Sprintf("control %q", r))
		return n
	}
	s.put(r)
	return n
}

func (s *screen) put(r rune) {
	if s.wrap {
		s.r, s.c, s.wrap = s.r+1, 0, false
		s.grow()
	}
	row := s.rows[s.r]
	for len(row) <= s.c {
		row = append(row, ' ')
	}
	row[s.c] = r
	s.rows[s.r] = row
	if s.c == s.width-1 {
		s.wrap = true
	} else {
		s.c++
	}
}

func (s *screen) grow() {
	for len(s.rows) <= s.r {
		s.rows = append(s.rows, nil)
	}
}

// escape interprets one CSI sequence.
func (s *screen) escape(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	if b[1] != '[' {
		s.bad = append(s.bad, fmt.Sprintf("escape %q", b[:2]))
		return 2
	}
	i := 2
	for i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == ';') {
		i++
	}
	if i == len(b) {
		return 0
	}
	param, final := string(b[2:i]), b[i]
	n, err := strconv.Atoi(param)
	if err != nil {
		n = 0
	}
	switch {
	case final == 'A':
		s.r, s.wrap = max(0, s.r-max(n, 1)), false
	case final == 'K' && param == "":
		if s.c < len(s.rows[s.r]) {
			s.rows[s.r] = s.rows[s.r][:s.c]
		}
	case final == 'J' && param == "":
		if s.c < len(s.rows[s.r]) {
			s.rows[s.r] = s.rows[s.r][:s.c]
		}
		s.rows = s.rows[:s.r+1]
	case final == 'm':
	default:
		s.bad = append(s.bad, fmt.Sprintf("CSI %q", b[:i+1]))
	}
	return i + 1
}

// String is the screen, scrollback included: rows without trailing
// spaces, without the empty rows at the end.
func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := make([]string, len(s.rows))
	for i, r := range s.rows {
		rows[i] = strings.TrimRight(string(r), " ")
	}
	for len(rows) > 0 && rows[len(rows)-1] == "" {
		rows = rows[:len(rows)-1]
	}
	return strings.Join(rows, "\n")
}

// Raw returns the bytes written since the last call.
func (s *screen) Raw() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.raw.String()[s.mark:]
	s.mark = s.raw.Len()
	return out
}

// All returns every byte written.
func (s *screen) All() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// Bad returns the sequences the emulator did not expect.
func (s *screen) Bad() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bad...)
}

// waitFor polls the screen until it shows text (a guard deadline, not an
// assertion about speed).
func (s *screen) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed %q; it shows:\n%s", text, s.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// liveClock is a clock a test moves by hand.
type liveClock struct{ ns atomic.Int64 }

var liveEpoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func (c *liveClock) now() time.Time          { return liveEpoch.Add(time.Duration(c.ns.Load())) }
func (c *liveClock) set(d time.Duration)     { c.ns.Store(int64(d)) }
func (c *liveClock) at(s float64) *liveClock { c.set(secs(s)); return c }

// liveRig is a Live on a screen, with a fake clock and no ticker: the test
// calls redraw where the ticker would.
type liveRig struct {
	t     *testing.T
	scr   *screen
	clock *liveClock
	l     *Live
}

func newLiveRig(t *testing.T, width int, color bool, total int, preds map[string]float64) *liveRig {
	t.Helper()
	rig := &liveRig{t: t, scr: newScreen(width), clock: &liveClock{}}
	predict := func(task string) (float64, bool) { ms, ok := preds[task]; return ms, ok }
	rig.l = newLive(rig.scr, func() int { return width }, color, predict, total, rig.clock.now, nil)
	t.Cleanup(func() { rig.l.Close() })
	return rig
}

// expect compares the screen with want (rows joined by "\n").
func (rig *liveRig) expect(what string, want ...string) {
	rig.t.Helper()
	if got := rig.scr.String(); got != strings.Join(want, "\n") {
		rig.t.Errorf("%s: screen:\n%s\nwant:\n%s", what, got, strings.Join(want, "\n"))
	}
	if len(rig.scr.Bad()) > 0 {
		rig.t.Errorf("%s: sequences the display should not write: %q", what, rig.scr.Bad())
	}
}

func liveTaskOf(name string) *graph.Task { return &graph.Task{Name: name, Shell: "make " + name} }

func okAfter(d float64) sched.Result { return sched.Result{Duration: secs(d)} }

// The block shows each running task's elapsed and predicted time and its
// command, then the bar, counts, elapsed time and ETA; output and status
// lines scroll above it; Close leaves only them.
func TestLiveScreen(t *testing.T) {
	t.Parallel()
	rig := newLiveRig(t, 60, false, 3, map[string]float64{"build": 3000, "test": 1000})
	build, lint, test := liveTaskOf("build"), liveTaskOf("lint"), liveTaskOf("test")
	rig.l.Started(build, 1)
	rig.clock.at(0.5)
	rig.l.Started(lint, 1)
	rig.clock.at(1.5)
	rig.l.redraw()
	// ETA: build needs 1.5s more; lint, unpredicted, a typical task's 3s
	// less 1s; test 3s: 6.5s of work on the 2 slots in use: 3.25s.
	rig.expect("two running",
		"  build    1.5s / 3.0s    $ make build",
		"  lint     1.0s           $ make lint",
		"[>              ] 0/3 tasks, 2 running, 1.5s, ETA 4s")

	out := rig.l.Output(build, 1)
	fmt.Fprint(out, "compiling\nlinking")
	out.Close()
	rig.clock.at(3)
	rig.l.Finished(build, 1, okAfter(3), false)
	rig.l.redraw()
	rig.expect("build done",
		"[build] compiling",
		"[build] linking",
		"[build] ok 3s [1/3]",
		"  lint    2.5s           $ make lint",
		"[=====>         ] 1/3 tasks, 1 running, 3.0s, ETA 2s")

	rig.clock.at(4)
	rig.l.Finished(lint, 1, sched.Result{Duration: secs(3.5), ExitCode: 2}, false)
	rig.l.Skipped(test, `"lint" failed`)
	rig.l.redraw()
	rig.expect("all accounted for",
		"[build] compiling",
		"[build] linking",
		"[build] ok 3s [1/3]",
		"[lint] FAILED (exit 2) after 3.5s [2/3]",
		`[test] skipped: "lint" failed`,
		"[===============] 3/3 tasks, 1 failed, 4.0s")

	rig.l.Close()
	fmt.Fprintln(rig.scr, "FAILED: 3 tasks in 4s")
	rig.expect("closed, then the summary",
		"[build] compiling",
		"[build] linking",
		"[build] ok 3s [1/3]",
		"[lint] FAILED (exit 2) after 3.5s [2/3]",
		`[test] skipped: "lint" failed`,
		"FAILED: 3 tasks in 4s")
}

// The exact bytes: rows end with erase-to-end-of-line, the frame with
// erase-below; the next frame starts by going back up the block's rows;
// Close goes back up and erases. Nothing changed: nothing written.
func TestLiveBytes(t *testing.T) {
	t.Parallel()
	rig := newLiveRig(t, 40, false, 1, nil)
	rig.l.Started(liveTaskOf("a"), 1)
	rig.l.redraw()
	const first = "\r  a    0.0s           $ make a\x1b[K\n[>         ] 0/1 tasks, 1 running, 0.0s\x1b[K\n\x1b[J"
	if got := rig.scr.Raw(); got != first {
		t.Errorf("first frame %q\nwant %q", got, first)
	}
	rig.l.redraw()
	if got := rig.scr.Raw(); got != "" {
		t.Errorf("unchanged block redrawn: %q", got)
	}
	fmt.Fprintln(rig.l.Output(liveTaskOf("a"), 1), "hi")
	rig.l.redraw()
	const second = "\r\x1b[2A\x1b[J[a] hi\n  a    0.0s           $ make a\x1b[K\n[>         ] 0/1 tasks, 1 running, 0.0s\x1b[K\n\x1b[J"
	if got := rig.scr.Raw(); got != second {
		t.Errorf("frame with a line %q\nwant %q", got, second)
	}
	rig.l.Close()
	if got := rig.scr.Raw(); got != "\r\x1b[2A\x1b[J" {
		t.Errorf("close %q, want %q", got, "\r\x1b[2A\x1b[J")
	}
	rig.l.Close() // twice is fine
	if got := rig.scr.Raw(); got != "" {
		t.Errorf("second close wrote %q", got)
	}
}

// On a narrow terminal every row of the block is cut one column short of
// the width, so none wraps; scrolled lines wrap as the terminal does.
func TestLiveNarrow(t *testing.T) {
	t.Parallel()
	rig := newLiveRig(t, 16, false, 2, map[string]float64{"compile-everything": 2000})
	rig.l.Started(liveTaskOf("compile-everything"), 1)
	fmt.Fprintln(rig.l.Output(liveTaskOf("x"), 1), "0123456789abcdef!")
	rig.clock.at(1)
	rig.l.redraw()
	rig.expect("narrow",
		"[x] 0123456789ab",
		"cdef!",
		"  compile-every",
		"[>   ] 0/2 task")
	for _, row := range strings.Split(rig.scr.String(), "\n")[2:] {
		if len(row) > 15 {
			t.Errorf("row %q is wider than 15 columns", row)
		}
	}
}

// With colours the screen reads the same; names take their prefix colour.
func TestLiveColor(t *testing.T) {
	t.Parallel()
	plain := newLiveRig(t, 60, false, 2, map[string]float64{"a": 500})
	color := newLiveRig(t, 60, true, 2, map[string]float64{"a": 500})
	for _, rig := range []*liveRig{plain, color} {
		rig.l.Started(liveTaskOf("a"), 1)
		rig.clock.at(1)
		rig.l.Finished(liveTaskOf("b"), 1, sched.Result{ExitCode: 1, Duration: secs(0.2)}, false)
		rig.l.redraw()
	}
	if p, c := plain.scr.String(), color.scr.String(); p != c {
		t.Errorf("colours change the text:\n%s\nwant:\n%s", c, p)
	}
	raw := color.scr.Raw()
	for _, want := range []string{
		"\x1b[" + taskColor("a") + "ma\x1b[0m", // the name in its colour
		"\x1b[33m / 0.5s  \x1b[0m",             // over its prediction
		"\x1b[1;31mFAILED\x1b[0m",              // the status line
		"\x1b[31m, 1 failed\x1b[0m",            // the count
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("coloured output lacks %q:\n%q", want, raw)
		}
	}
	if raw := plain.scr.Raw(); regexp.MustCompile(`\x1b\[[0-9;]*m`).MatchString(raw) {
		t.Errorf("colour codes without colour: %q", raw)
	}
}

// More running tasks than rows: the oldest are shown, the rest counted.
// Retries and tasks run ahead are marked; commands stay on one row.
func TestLiveRows(t *testing.T) {
	t.Parallel()
	rig := newLiveRig(t, 90, false, 12, nil)
	for i := range 9 {
		rig.l.Started(liveTaskOf(fmt.Sprintf("t%d", i)), 1)
	}
	rig.l.redraw()
	want := []string{}
	for i := range 7 {
		want = append(want, fmt.Sprintf("  t%d    0.0s           $ make t%d", i, i))
	}
	rig.expect("nine running", append(want, "  ... and 2 more running", "[>                   ] 0/12 tasks, 9 running, 0.0s")...)

	for i := range 9 {
		rig.l.Finished(liveTaskOf(fmt.Sprintf("t%d", i)), 1, okAfter(1), false)
	}
	multi := &graph.Task{Name: "multi", Shell: "echo a\necho\tb"}
	rig.l.Finished(multi, 1, sched.Result{ExitCode: 1}, true)
	rig.l.Started(multi, 2)
	rig.l.Speculating(liveTaskOf("next"))
	rig.clock.at(2)
	rig.l.redraw()
	screen := strings.Split(rig.scr.String(), "\n")
	rig.expect("retry and ahead", append(screen[:len(screen)-3],
		"  multi (attempt 2)    2.0s           $ echo a echo b",
		"  next (ahead)         2.0s           $ make next",
		"[===============>    ] 9/12 tasks, 1 running, 1 ahead, 2.0s, ETA <1s")...)
	if got := screen[len(screen)-4]; got != "[next] running ahead (usually asked for next): its result goes to the cache only" {
		t.Errorf("speculation line %q", got)
	}
}

// The ETA: without predictions or finished tasks there is none; then
// finished attempts stand in for predictions.
func TestLiveETA(t *testing.T) {
	t.Parallel()
	rig := newLiveRig(t, 80, false, 3, nil)
	rig.l.Started(liveTaskOf("a"), 1)
	rig.l.Started(liveTaskOf("b"), 1)
	rig.clock.at(4)
	if _, ok := rig.l.eta(rig.clock.now()); ok {
		t.Error("an ETA from nothing")
	}
	rig.l.Finished(liveTaskOf("a"), 1, okAfter(4), false)
	// b: 4s typical, 4s elapsed: 0 left; c: 4s; over the 2 slots used: 2s.
	if d, ok := rig.l.eta(rig.clock.now()); !ok || d != 2*time.Second {
		t.Errorf("ETA %v %v, want 2s", d, ok)
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{0, "<1s"}, {secs(0.999), "<1s"}, {time.Second, "1s"}, {secs(1.2), "2s"}, {secs(61), "1m01s"}} {
		if got := etaText(tt.d); got != tt.want {
			t.Errorf("etaText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{secs(0.04), "0.0s"}, {secs(12.34), "12.3s"}, {secs(125), "2m05s"}, {secs(3720), "1h02m"}} {
		if got := clockText(tt.d); got != tt.want {
			t.Errorf("clockText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// Text that is not a task's (a policy's console.log) goes above the
// block line by line; an unterminated line waits for Close.
func TestLiveWrite(t *testing.T) {
	t.Parallel()
	rig := newLiveRig(t, 40, false, 1, nil)
	fmt.Fprint(rig.l, "one\ntw")
	fmt.Fprint(rig.l, "o\nthr")
	rig.l.redraw()
	rig.expect("lines", "one", "two", "[>         ] 0/1 tasks, 0.0s")
	rig.l.Close()
	rig.expect("closed", "one", "two", "thr")
	rig.l.Finished(liveTaskOf("late"), 1, okAfter(1), false)
	rig.expect("after close", "one", "two", "thr", "[late] ok 1s [1/1]")
}

// A lot of output does not wait for a redraw: past liveFlushAt bytes it
// is printed at once (and the block comes back at the next redraw).
func TestLiveFlushesLargeOutput(t *testing.T) {
	t.Parallel()
	rig := newLiveRig(t, 80, false, 1, nil)
	rig.l.Started(liveTaskOf("a"), 1)
	rig.l.redraw()
	out := rig.l.Output(liveTaskOf("a"), 1)
	line := strings.Repeat("x", 70)
	n := liveFlushAt/(len(line)+5) + 1
	for range n {
		fmt.Fprintln(out, line)
	}
	got := strings.Split(rig.scr.String(), "\n")
	if len(got) != n || got[0] != "[a] "+line || got[n-1] != "[a] "+line {
		t.Errorf("%d rows on the screen, want the %d lines without the block", len(got), n)
	}
}

// Lines of parallel writers never splice while the redraw goroutine draws;
// after Close the screen holds every line whole and no block.
func TestLiveNeverSplicesLines(t *testing.T) {
	t.Parallel()
	const writers, perWriter = 6, 200
	scr := newScreen(100000) // no wrapping: one row per line
	clock := &liveClock{}
	ticks := make(chan time.Time)
	l := newLive(scr, func() int { return 100 }, false, nil, writers, clock.now, ticks)
	stopTicks := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		for i := 0; ; i++ {
			select {
			case ticks <- liveEpoch:
				clock.set(time.Duration(i) * time.Millisecond)
			case <-stopTicks:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			task := liveTaskOf(fmt.Sprintf("w%d", w))
			l.Started(task, 1)
			writeInChunks(t, l.Output(task, 1), strings.Join(writerLines(w, perWriter), "\n")+"\n", w)
		}()
	}
	wg.Wait()
	close(stopTicks)
	<-ticked
	l.Close()
	got := map[string][]string{}
	for _, row := range strings.Split(scr.String(), "\n") {
		name, line, found := strings.Cut(row, "] ")
		if !found || !strings.HasPrefix(name, "[w") {
			t.Fatalf("row %.60q is not a whole prefixed line", row)
		}
		got[name[1:]] = append(got[name[1:]], line)
	}
	for w := range writers {
		if g, want := got[fmt.Sprintf("w%d", w)], writerLines(w, perWriter); strings.Join(g, "\n") != strings.Join(want, "\n") {
			t.Errorf("writer %d: %d lines, want %d, whole and in order", w, len(g), len(want))
		}
	}
	if len(scr.Bad()) > 0 {
		t.Errorf("unexpected sequences: %q", scr.Bad())
	}
}

// The redraw goroutine draws at each tick; a second tick is only taken
// once the first frame is written.
func TestLiveTicks(t *testing.T) {
	t.Parallel()
	scr := newScreen(40)
	ticks := make(chan time.Time)
	l := newLive(scr, func() int { return 40 }, false, nil, 1, (&liveClock{}).now, ticks)
	l.Started(liveTaskOf("a"), 1)
	ticks <- liveEpoch
	ticks <- liveEpoch
	want := "  a    0.0s           $ make a\n[>         ] 0/1 tasks, 1 running, 0.0s"
	if got := scr.String(); got != want {
		t.Errorf("after a tick:\n%s\nwant:\n%s", got, want)
	}
	l.Close()
	if got := scr.String(); got != "" {
		t.Errorf("after Close:\n%s\nwant nothing", got)
	}
}

// A width that is not known counts as 80; TermWidth asks the terminal.
func TestLiveTermWidth(t *testing.T) {
	t.Parallel()
	if got := TermWidth(&bytes.Buffer{})(); got != 80 {
		t.Errorf("TermWidth(buffer) = %d, want 80", got)
	}
	f, err := os.CreateTemp(t.TempDir(), "not-a-terminal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := TermWidth(f)(); got != 80 {
		t.Errorf("TermWidth(file) = %d, want 80", got)
	}
	rig := newLiveRig(t, 0, false, 1, nil)
	rig.l.Started(liveTaskOf("a"), 1)
	if got := rig.l.render(rig.clock.now()); !strings.HasSuffix(got, "[>                   ] 0/1 tasks, 1 running, 0.0s") {
		t.Errorf("width 0: %q, want a 20-cell bar", got)
	}
}

// Through a real pseudo-terminal: NewLive with its ticker and TermWidth
// on the terminal's side; what the terminal shows in the end is the lines
// and the summary, nothing of the block.
func TestLivePseudoTerminal(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 50}); err != nil {
		t.Fatal(err)
	}
	scr := newScreen(50)
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			scr.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	width := TermWidth(tty)
	if got := width(); got != 50 {
		t.Errorf("TermWidth(pty) = %d, want 50", got)
	}
	l := NewLive(tty, width, false, func(string) (float64, bool) { return 100, true }, 2)
	a, b := liveTaskOf("a"), liveTaskOf("b")
	l.Started(a, 1)
	l.Started(b, 1)
	scr.waitFor(t, "] 0/2 tasks, 2 running")
	out := l.Output(a, 1)
	for i := range 3 {
		fmt.Fprintf(out, "line %d\n", i)
		scr.waitFor(t, fmt.Sprintf("[a] line %d\n", i)) // printed above the block
	}
	out.Close()
	l.Finished(a, 1, okAfter(0.3), false)
	scr.waitFor(t, "] 1/2 tasks, 1 running")
	l.Finished(b, 1, okAfter(0.3), false)
	l.Close()
	fmt.Fprintln(tty, "done: 2 tasks")
	tty.Close()
	select {
	case <-read:
	case <-time.After(30 * time.Second):
		t.Fatal("the terminal's output did not end")
	}
	want := "[a] line 0\n[a] line 1\n[a] line 2\n[a] ok 300ms [1/2]\n[b] ok 300ms [2/2]\ndone: 2 tasks"
	if got := scr.String(); got != want {
		t.Errorf("terminal shows:\n%s\nwant:\n%s\nbytes: %q", got, want, scr.All())
	}
	if len(scr.Bad()) > 0 {
		t.Errorf("unexpected sequences: %q", scr.Bad())
	}
}
