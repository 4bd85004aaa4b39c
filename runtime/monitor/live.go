package monitor

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-runewidth"
	"golang.org/x/term"

	"github.com/jsrt-script/jsrt-script/runtime/exec"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// Live is the display for a terminal. Under the text that scrolls (task
// output prefixed with [task] as in stream mode, and jsrt-script's lines
// about tasks finishing, failing, retrying, being skipped) it keeps a live
// block: one row per running task with its elapsed and predicted time and
// its command, then a progress bar with the finished count and an ETA from
// the predictions.
//
// Only one goroutine draws the block: every LiveInterval it moves the
// cursor back to the block's first row, prints the lines that arrived
// since, and draws the block again below them (nothing when nothing
// changed). Lines are queued whole, so they never splice; a queue past
// liveFlushAt bytes is printed at once by the writer (erasing the block
// until the next redraw), which keeps memory bounded and slows a task
// that prints faster than the terminal takes it, as Lines does. Rows of
// the block are cut to the terminal's width, so the cursor movements stay
// exact. Close stops the redraws and erases the block, leaving only the
// scrolled lines, so the summary printed next follows them.
//
// Contract: as core.Display; Notice, Speculating, SpeculationDone, Write
// and Close may also be called from any goroutine. Between NewLive and
// Close nothing else may write to the terminal (Write prints other text
// above the block).
type Live struct {
	mu      sync.Mutex
	w       io.Writer
	width   func() int
	color   bool
	predict func(string) (float64, bool)
	now     func() time.Time
	start   time.Time

	total, done, failed, cached int
	running                     []*liveTask   // in start order
	peak                        int           // most requested tasks running at once
	seenPred                    time.Duration // sum of the predictions of first attempts started...
	seenN                       int           // ...and their number
	ranSum                      time.Duration // sum of the attempts finished (not cache hits)...
	ranN                        int           // ...and their number

	pending []byte // whole lines waiting to go above the block
	partial []byte // Write's unterminated last line
	shown   int    // rows of the block on the screen
	drawn   string // the block as it was drawn
	closed  bool

	stop, exited chan struct{}
	stopTicker   func()
	closeOnce    sync.Once
}

// liveTask is one running attempt.
type liveTask struct {
	task    *graph.Task
	attempt int
	start   time.Time
	pred    time.Duration // 0: no prediction
	ahead   bool          // run ahead into the cache, not requested
}

const (
	// LiveInterval is how often the block is redrawn.
	LiveInterval = 100 * time.Millisecond
	liveFlushAt  = 64 << 10 // queued bytes that are printed without waiting for a redraw
	liveMaxRows  = 8        // running tasks shown; more are counted in one row
	liveNameMax  = 24       // columns of the task name column, at most
	liveBarMax   = 20       // cells of the progress bar, at most
)

// NewLive returns a live display writing to w, a terminal width columns
// wide (width is asked at every redraw, so a resize is followed; 0 or less
// means 80). color adds colours (pass false for NO_COLOR). predict gives a
// task's predicted duration in milliseconds. total is the number of tasks
// the run will account for. It starts the redraw goroutine: call Close.
func NewLive(w io.Writer, width func() int, color bool, predict func(string) (float64, bool), total int) *Live {
	t := time.NewTicker(LiveInterval)
	l := newLive(w, width, color, predict, total, time.Now, t.C)
	l.stopTicker = t.Stop
	return l
}

// newLive is NewLive with a clock and the ticks that trigger redraws (nil:
// none, a test calls redraw itself).
func newLive(w io.Writer, width func() int, color bool, predict func(string) (float64, bool), total int,
	now func() time.Time, ticks <-chan time.Time) *Live {
	if predict == nil {
		predict = func(string) (float64, bool) { return 0, false }
	}
	l := &Live{w: w, width: width, color: color, predict: predict, now: now, start: now(), total: total,
		stop: make(chan struct{}), exited: make(chan struct{}), stopTicker: func() {}}
	go l.loop(ticks)
	return l
}

// TermWidth returns a width function for NewLive: the columns of the
// terminal that w writes to, or 80 when w is no terminal or its size is
// unknown.
func TermWidth(w io.Writer) func() int {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return func() int { return 80 }
	}
	fd := int(f.Fd())
	return func() int {
		if cols, _, err := term.GetSize(fd); err == nil && cols > 0 {
			return cols
		}
		return 80
	}
}

// SetTotal sets the number of tasks the run will account for.
func (l *Live) SetTotal(n int) { l.mu.Lock(); l.total = n; l.mu.Unlock() }

func (l *Live) loop(ticks <-chan time.Time) {
	defer close(l.exited)
	for {
		select {
		case <-l.stop:
			return
		case <-ticks:
			l.redraw()
		}
	}
}

// Close stops the redraws, prints what is still queued and erases the
// block. Later events print their lines at once, without a block.
func (l *Live) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.exited
		l.stopTicker()
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.partial) > 0 {
			l.pending = append(append(l.pending, l.partial...), '\n')
			l.partial = nil
		}
		l.closed = true
		l.flushLocked()
	})
	return nil
}

// redraw prints the queued lines and draws the block as it is now.
func (l *Live) redraw() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	block := l.render(l.now())
	if len(l.pending) == 0 && block == l.drawn && l.shown > 0 {
		return
	}
	var b bytes.Buffer
	l.home(&b)
	if len(l.pending) > 0 {
		b.WriteString("\x1b[J") // the lines may wrap: clear the old block first
		b.Write(l.pending)
		l.pending = l.pending[:0]
	}
	rows := strings.Split(block, "\n")
	for _, row := range rows {
		b.WriteString(row)
		b.WriteString("\x1b[K\n")
	}
	b.WriteString("\x1b[J")
	l.w.Write(b.Bytes())
	l.shown, l.drawn = len(rows), block
}

// home moves the cursor to the first row of the block on the screen.
func (l *Live) home(b *bytes.Buffer) {
	b.WriteByte('\r')
	if l.shown > 0 {
		fmt.Fprintf(b, "\x1b[%dA", l.shown)
	}
}

// flushLocked erases the block and prints the queued lines; the next
// redraw draws the block again.
func (l *Live) flushLocked() {
	if l.shown == 0 && len(l.pending) == 0 {
		return
	}
	var b bytes.Buffer
	if l.shown > 0 {
		l.home(&b)
		b.WriteString("\x1b[J")
	}
	b.Write(l.pending)
	l.w.Write(b.Bytes())
	l.pending = l.pending[:0]
	l.shown, l.drawn = 0, ""
}

// queue adds one whole line (without its newline) to print above the block.
func (l *Live) queue(parts ...[]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queueLocked(parts...)
}

func (l *Live) queueLocked(parts ...[]byte) {
	for _, p := range parts {
		l.pending = append(l.pending, p...)
	}
	l.pending = append(l.pending, '\n')
	if l.closed || len(l.pending) >= liveFlushAt {
		l.flushLocked()
	}
}

// status queues one of jsrt-script's own lines about a task.
func (l *Live) status(name, msg string) { l.queue([]byte(l.prefix(name)), []byte(msg)) }

func (l *Live) prefix(name string) string {
	return (&Lines{color: l.color}).prefix(name)
}

func (l *Live) paint(code, s string) string {
	if !l.color || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Started implements sched.Observer.
func (l *Live) Started(t *graph.Task, attempt int) { l.add(t, attempt, false) }

func (l *Live) add(t *graph.Task, attempt int, ahead bool) {
	pred, ok := l.predict(t.Name)
	l.mu.Lock()
	defer l.mu.Unlock()
	lt := &liveTask{task: t, attempt: attempt, start: l.now(), ahead: ahead}
	if ok && pred > 0 && !math.IsInf(pred, 0) {
		lt.pred = time.Duration(pred * float64(time.Millisecond))
		if attempt == 1 && !ahead {
			l.seenPred += lt.pred
			l.seenN++
		}
	}
	l.running = append(l.running, lt)
	l.peak = max(l.peak, l.requested())
}

// requested counts the running tasks that the run asked for.
func (l *Live) requested() int {
	n := 0
	for _, lt := range l.running {
		if !lt.ahead {
			n++
		}
	}
	return n
}

// remove takes a task's attempt (requested, or run ahead) off the
// running list.
func (l *Live) remove(t *graph.Task, ahead bool) {
	for i, lt := range l.running {
		if lt.task.Name == t.Name && lt.ahead == ahead {
			l.running = append(l.running[:i], l.running[i+1:]...)
			return
		}
	}
}

// Finished implements sched.Observer.
func (l *Live) Finished(t *graph.Task, attempt int, r sched.Result, retry bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.remove(t, false)
	if !r.Cached {
		l.ranSum += r.Duration
		l.ranN++
	}
	dur := Round(r.Duration)
	var msg string
	switch {
	case r.OK() && r.Cached:
		l.done++
		l.cached++
		msg = l.paint("32", "cached") + " " + l.counter()
	case r.OK():
		l.done++
		msg = l.paint("32", "ok") + fmt.Sprintf(" %s %s", dur, l.counter())
	case retry:
		msg = l.paint("33", fmt.Sprintf("failed (%s) after %s, retrying", r.Describe(t.Timeout), dur))
	default:
		l.done++
		l.failed++
		msg = l.paint("1;31", failWord(r)) + fmt.Sprintf("%s after %s %s", why(r, t), dur, l.counter())
	}
	l.queueLocked([]byte(l.prefix(t.Name)), []byte(msg))
}

func (l *Live) counter() string { return l.paint("2", fmt.Sprintf("[%d/%d]", l.done, l.total)) }

// Skipped implements sched.Observer.
func (l *Live) Skipped(t *graph.Task, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done++
	l.queueLocked([]byte(l.prefix(t.Name)), []byte(l.paint("33", "skipped: "+reason)))
}

// Notice prints one of jsrt-script's own remarks about a task.
func (l *Live) Notice(t *graph.Task, msg string) { l.status(t.Name, l.paint("2", msg)) }

// Speculating implements sched.SpecObserver.
func (l *Live) Speculating(t *graph.Task) {
	l.add(t, 1, true)
	l.status(t.Name, l.paint("2", "running ahead (usually asked for next): its result goes to the cache only"))
}

// SpeculationDone implements sched.SpecObserver.
func (l *Live) SpeculationDone(t *graph.Task, r sched.Result) {
	l.mu.Lock()
	l.remove(t, true)
	l.mu.Unlock()
	switch {
	case r.OK():
		l.status(t.Name, l.paint("2", fmt.Sprintf("ran ahead into the cache in %s", Round(r.Duration))))
	case r.Interrupted:
		l.status(t.Name, l.paint("2", "stopped running ahead (requested work needed the slot, or the run ended); nothing cached"))
	default:
		l.status(t.Name, l.paint("2", "running ahead failed ("+r.Describe(t.Timeout)+"); nothing cached"))
	}
}

// Output implements core.Display: each line of the attempt's output goes
// above the block with the task's prefix, as in stream mode.
func (l *Live) Output(t *graph.Task, attempt int) io.WriteCloser {
	p := []byte(l.prefix(t.Name))
	return &exec.LineWriter{Emit: func(line []byte, _ bool) { l.queue(p, line) }}
}

// Write prints text that is not a task's (a policy's console.log) above
// the block, line by line; an unterminated last line waits for its end,
// or for Close.
func (l *Live) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		l.queueLocked(l.partial, rest[:i])
		l.partial = nil
		rest = rest[i+1:]
	}
	l.partial = append(l.partial, rest...)
	if len(l.partial) >= liveFlushAt { // a very long line goes in pieces
		l.queueLocked(l.partial)
		l.partial = nil
	}
	return len(p), nil
}

// render draws the block: the running tasks (at most liveMaxRows rows),
// then the progress row. Rows are cut to one column less than the width,
// so that none wraps and the cursor never waits at the right margin.
func (l *Live) render(now time.Time) string {
	width := l.width()
	if width <= 0 {
		width = 80
	}
	cols := max(width-1, 1)
	shown := l.running
	if len(shown) > liveMaxRows {
		shown = shown[:liveMaxRows-1]
	}
	nameW := 0
	for _, lt := range shown {
		nameW = max(nameW, runewidth.StringWidth(label(lt)))
	}
	var rows []string
	for _, lt := range shown {
		rows = append(rows, l.fit(cols, l.taskRow(lt, now, nameW)))
	}
	if more := len(l.running) - len(shown); more > 0 {
		rows = append(rows, l.fit(cols, []seg{{fmt.Sprintf("  ... and %d more running", more), "2"}}))
	}
	rows = append(rows, l.fit(cols, l.progressRow(now, width)))
	return strings.Join(rows, "\n")
}

// seg is a piece of a row and its colour (an SGR code, "" for none).
type seg struct{ text, code string }

// fit joins segs into a row of at most cols columns, colouring each
// piece when colours are on.
func (l *Live) fit(cols int, segs []seg) string {
	var b strings.Builder
	room := cols
	for _, s := range segs {
		text := clean(s.text)
		if w := runewidth.StringWidth(text); w > room {
			text = runewidth.Truncate(text, room, "")
		}
		if text == "" {
			continue
		}
		room -= runewidth.StringWidth(text)
		b.WriteString(l.paint(s.code, text))
	}
	return b.String()
}

// clean turns control characters (a command's newlines, escapes) into
// spaces: a row of the block must stay one row.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// label is a running task's name (cut to liveNameMax columns) and its
// mark: "(ahead)" when run ahead, "(attempt N)" on a retry.
func label(lt *liveTask) string {
	name := runewidth.Truncate(clean(lt.task.Name), liveNameMax, "")
	switch {
	case lt.ahead:
		return name + " (ahead)"
	case lt.attempt > 1:
		return fmt.Sprintf("%s (attempt %d)", name, lt.attempt)
	}
	return name
}

// taskRow is "  name  elapsed / predicted  $ command", the name column
// nameW wide.
func (l *Live) taskRow(lt *liveTask, now time.Time, nameW int) []seg {
	text := label(lt)
	name := runewidth.Truncate(clean(lt.task.Name), liveNameMax, "")
	mark := text[len(name):]
	pad := strings.Repeat(" ", nameW-runewidth.StringWidth(text))
	el := now.Sub(lt.start)
	markColor := "33" // a retry
	if lt.ahead {
		markColor = "2"
	}
	row := []seg{{"  ", ""}, {name, taskColor(lt.task.Name)}, {mark, markColor}, {pad, ""},
		{fmt.Sprintf("  %6s", clockText(el)), ""}}
	switch {
	case lt.pred > 0 && el > lt.pred:
		row = append(row, seg{fmt.Sprintf(" / %-6s", clockText(lt.pred)), "33"})
	case lt.pred > 0:
		row = append(row, seg{fmt.Sprintf(" / %-6s", clockText(lt.pred)), "2"})
	default:
		row = append(row, seg{strings.Repeat(" ", 9), ""})
	}
	return append(row, seg{"  $ " + lt.task.Command(), "2"})
}

// progressRow is "[=====>    ] 3/10 tasks, 2 running, 1 failed, 4.5s, ETA 8s".
func (l *Live) progressRow(now time.Time, width int) []seg {
	n := min(liveBarMax, max(4, width/4))
	filled := 0
	if l.total > 0 {
		filled = min(n, l.done*n/l.total)
	}
	bar := strings.Repeat("=", filled)
	if filled < n {
		bar += ">" + strings.Repeat(" ", n-filled-1)
	}
	row := []seg{{"[", ""}, {bar, "32"}, {"]", ""}, {fmt.Sprintf(" %d/%d tasks", l.done, l.total), "1"}}
	if n := l.requested(); n > 0 {
		row = append(row, seg{fmt.Sprintf(", %d running", n), ""})
	}
	if n := len(l.running) - l.requested(); n > 0 {
		row = append(row, seg{fmt.Sprintf(", %d ahead", n), "2"})
	}
	if l.failed > 0 {
		row = append(row, seg{fmt.Sprintf(", %d failed", l.failed), "31"})
	}
	if l.cached > 0 {
		row = append(row, seg{fmt.Sprintf(", %d cached", l.cached), ""})
	}
	row = append(row, seg{", " + clockText(now.Sub(l.start)), "2"})
	if d, ok := l.eta(now); ok {
		row = append(row, seg{", ETA " + etaText(d), ""})
	}
	return row
}

// eta is the time the run still needs: the work left (the predictions of
// running tasks less their elapsed time, and a typical task's for each
// task not started) spread over the most slots seen in use, and never less
// than the longest running task still needs. ok is false when nothing is
// known to predict with, or nothing is left.
func (l *Live) eta(now time.Time) (d time.Duration, ok bool) {
	per, known := l.typical()
	waiting := l.total - l.done
	var work, longest time.Duration
	for _, lt := range l.running {
		if lt.ahead {
			continue
		}
		waiting--
		pred := lt.pred
		if pred == 0 {
			if !known {
				return 0, false
			}
			pred = per
		}
		left := max(pred-now.Sub(lt.start), 0)
		work += left
		longest = max(longest, left)
	}
	if waiting > 0 {
		if !known {
			return 0, false
		}
		work += time.Duration(waiting) * per
	}
	if waiting <= 0 && l.requested() == 0 {
		return 0, false
	}
	return max(longest, work/time.Duration(max(l.peak, 1))), true
}

// typical is what a task not started yet is expected to take: the mean
// prediction of the tasks started so far, else the mean attempt so far.
func (l *Live) typical() (time.Duration, bool) {
	switch {
	case l.seenN > 0:
		return l.seenPred / time.Duration(l.seenN), true
	case l.ranN > 0:
		return l.ranSum / time.Duration(l.ranN), true
	}
	return 0, false
}

// taskColor is the colour of a task's name, as in its [task] prefix.
func taskColor(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return palette[h.Sum32()%uint32(len(palette))]
}

// clockText shows an elapsed time at a steady width: 0.4s, 12.3s, 2m05s, 1h02m.
func clockText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// etaText shows a time left, rounded up to whole seconds.
func etaText(d time.Duration) string {
	if d < time.Second {
		return "<1s"
	}
	s := int((d + time.Second - 1) / time.Second)
	if s < 60 {
		return fmt.Sprintf("%ds", s)
	}
	return fmt.Sprintf("%dm%02ds", s/60, s%60)
}
