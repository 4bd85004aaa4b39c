package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// lockedBuffer is a display's destination that may be written from several
// goroutines: each Write is atomic, nothing more (the display must keep its
// lines whole by itself).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func displayTask(name string) *graph.Task {
	return &graph.Task{Name: name, Shell: "make " + name}
}

// writeInChunks writes s through w in pieces of varying sizes, so lines
// arrive split across writes, then closes w.
func writeInChunks(t *testing.T, w io.WriteCloser, s string, seed int) {
	for i := 0; len(s) > 0; i++ {
		n := min(len(s), 1+(seed*131+i*977)%1500)
		if _, err := w.Write([]byte(s[:n])); err != nil {
			t.Errorf("write: %v", err)
		}
		s = s[n:]
	}
	if err := w.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// writerLines is the output of concurrent writer w: long lines, each
// starting with its writer and number, filled with the writer's own letter
// so that a splice shows.
func writerLines(w, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("w%d line %03d ", w, i) + strings.Repeat(string(rune('a'+w)), 100+(i*53)%2900)
	}
	return lines
}

func TestParseMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Mode
		err  string
	}{
		{"stream", Stream, ""},
		{"grouped", Grouped, ""},
		{"quiet", Quiet, ""},
		{"loud", 0, `unknown output mode "loud" (use stream, grouped or quiet)`},
		{"", 0, `unknown output mode "" (use stream, grouped or quiet)`},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.err {
			t.Errorf("ParseMode(%q) = %v, %q; want %v, %q", tt.in, got, gotErr, tt.want, tt.err)
		}
	}
}

func TestStreamNeverSplicesLines(t *testing.T) {
	t.Parallel()
	const writers, perWriter = 8, 300
	var buf lockedBuffer
	d := NewLines(&buf, Stream, false, false)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := d.Output(displayTask(fmt.Sprintf("w%d", w)), 1)
			<-start
			writeInChunks(t, out, strings.Join(writerLines(w, perWriter), "\n")+"\n", w)
		}()
	}
	// Status lines come from the loop goroutine meanwhile.
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		for range perWriter {
			d.Started(displayTask("loop"), 1)
		}
	}()
	close(start)
	wg.Wait()

	got := map[string][]string{}
	text := buf.String()
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("output does not end with a newline")
	}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		name, rest, ok := strings.Cut(line, "] ")
		if !ok || !strings.HasPrefix(name, "[") {
			t.Fatalf("line without a prefix: %.60q", line)
		}
		got[name[1:]] = append(got[name[1:]], rest)
	}
	for w := range writers {
		name := fmt.Sprintf("w%d", w)
		want := writerLines(w, perWriter)
		if len(got[name]) != len(want) {
			t.Errorf("%s: %d lines, want %d", name, len(got[name]), len(want))
			continue
		}
		for i := range want {
			if got[name][i] != want[i] {
				t.Errorf("%s line %d spliced or out of order: %.60q...", name, i, got[name][i])
				break
			}
		}
	}
	if n := len(got["loop"]); n != perWriter {
		t.Errorf("%d status lines, want %d", n, perWriter)
	}
	for _, l := range got["loop"] {
		if l != "$ make loop" {
			t.Errorf("status line %.60q", l)
			break
		}
	}
	if len(got) != writers+1 {
		t.Errorf("%d prefixes, want %d", len(got), writers+1)
	}
}

func TestGroupedBlocksAreContiguous(t *testing.T) {
	t.Parallel()
	const writers, perWriter = 12, 150
	var buf lockedBuffer
	d := NewLines(&buf, Grouped, false, false)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The last two writers are two attempts of the same task.
			name, attempt := fmt.Sprintf("w%d", w), 1
			if w >= writers-2 {
				name, attempt = "flaky", w-writers+3
			}
			out := d.Output(displayTask(name), attempt)
			<-start
			writeInChunks(t, out, strings.Join(writerLines(w, perWriter), "\n")+"\n", w)
		}()
	}
	close(start)
	wg.Wait()

	// Blocks: a header, then that attempt's lines and nothing else.
	type block struct {
		header string
		lines  []string
	}
	var blocks []block
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "── ") {
			blocks = append(blocks, block{header: line})
			continue
		}
		if len(blocks) == 0 {
			t.Fatalf("output before the first header: %.60q", line)
		}
		blocks[len(blocks)-1].lines = append(blocks[len(blocks)-1].lines, line)
	}
	if len(blocks) != writers {
		t.Fatalf("%d blocks, want %d", len(blocks), writers)
	}
	seen := map[int]bool{}
	for _, b := range blocks {
		var w int
		if len(b.lines) == 0 {
			t.Fatalf("block %s is empty", b.header)
		}
		if _, err := fmt.Sscanf(b.lines[0], "w%d ", &w); err != nil {
			t.Fatalf("block %s starts with %.60q", b.header, b.lines[0])
		}
		wantHeader := fmt.Sprintf("── w%d ──", w)
		if w >= writers-2 {
			wantHeader = "── flaky ──"
		}
		if b.header != wantHeader {
			t.Errorf("output of w%d under %q, want %q", w, b.header, wantHeader)
		}
		if seen[w] {
			t.Errorf("w%d has two blocks", w)
		}
		seen[w] = true
		if strings.Join(b.lines, "\n") != strings.Join(writerLines(w, perWriter), "\n") {
			t.Errorf("block of w%d is not its %d lines, whole and in order", w, perWriter)
		}
	}
}

// The bytes of task output are kept as they are; only prefixes and the
// newline ending an unterminated last line are added.
func TestOutputBytesKept(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		chunks        []string
		stream, group string
	}{
		{"last line without newline", []string{"first\nla", "st"},
			"[t] first\n[t] last\n", "── t ──\nfirst\nlast\n"},
		{"only a partial line", []string{"no newline at all"},
			"[t] no newline at all\n", "── t ──\nno newline at all\n"},
		{"empty lines", []string{"\n\nx\n"},
			"[t] \n[t] \n[t] x\n", "── t ──\n\n\nx\n"},
		{"carriage returns", []string{"progress 10%\rprogress 100%\r\n"},
			"[t] progress 10%\rprogress 100%\r\n", "── t ──\nprogress 10%\rprogress 100%\r\n"},
		{"not UTF-8", []string{"caf\xe9 \xff\xfe\n\xc3", "\xa9 split rune\n\x80"},
			"[t] caf\xe9 \xff\xfe\n[t] \xc3\xa9 split rune\n[t] \x80\n", "── t ──\ncaf\xe9 \xff\xfe\n\xc3\xa9 split rune\n\x80\n"},
		{"no output", nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, m := range []struct {
				mode Mode
				want string
			}{{Stream, tt.stream}, {Grouped, tt.group}, {Quiet, ""}} {
				var buf bytes.Buffer
				d := NewLines(&buf, m.mode, false, false)
				out := d.Output(displayTask("t"), 1)
				for _, c := range tt.chunks {
					if _, err := out.Write([]byte(c)); err != nil {
						t.Fatal(err)
					}
				}
				if err := out.Close(); err != nil {
					t.Fatal(err)
				}
				if buf.String() != m.want {
					t.Errorf("mode %d:\n got %q\nwant %q", m.mode, buf.String(), m.want)
				}
			}
		})
	}
}

// events plays one small run on a display: an ok task with output, a cache
// hit, a task that fails, is retried and fails again, a task skipped
// because of it, and a notice.
func events(t *testing.T, d *Lines) {
	t.Helper()
	a, b, c, s := displayTask("a"), displayTask("b"), displayTask("c"), displayTask("d")
	c.Retries = 2
	d.SetTotal(4)

	d.Started(a, 1)
	out := d.Output(a, 1)
	io.WriteString(out, "compiling\ndone")
	out.Close()
	d.Finished(a, 1, sched.Result{Duration: 1234 * time.Millisecond}, false)

	d.Started(b, 1)
	d.Finished(b, 1, sched.Result{Cached: true, Duration: 3 * time.Millisecond}, false)

	d.Started(c, 1)
	out = d.Output(c, 1)
	io.WriteString(out, "error: flaky\n")
	out.Close()
	d.Finished(c, 1, sched.Result{ExitCode: 1, Duration: 300 * time.Millisecond}, true)
	d.Started(c, 2)
	d.Output(c, 2).Close()
	d.Finished(c, 2, sched.Result{ExitCode: 2, Duration: 1520 * time.Millisecond}, false)

	d.Skipped(s, `dependency "c" failed`)
	d.Notice(a, "inputs unchanged")
}

func TestDisplayModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode Mode
		want string
	}{
		{Stream, `[a] $ make a
[a] compiling
[a] done
[a] ok 1.2s [1/4]
[b] $ make b
[b] cached [2/4]
[c] $ make c
[c] error: flaky
[c] failed (exit 1) after 300ms, retrying
[c] $ make c  (attempt 2 of 3)
[c] FAILED (exit 2) after 1.5s [3/4]
[d] skipped: dependency "c" failed
[a] inputs unchanged
`},
		{Grouped, `[a] $ make a
── a ──
compiling
done
[a] ok 1.2s [1/4]
[b] $ make b
[b] cached [2/4]
[c] $ make c
── c ──
error: flaky
[c] failed (exit 1) after 300ms, retrying
[c] $ make c  (attempt 2 of 3)
[c] FAILED (exit 2) after 1.5s [3/4]
[d] skipped: dependency "c" failed
[a] inputs unchanged
`},
		// Only what went wrong.
		{Quiet, `[c] failed (exit 1) after 300ms, retrying
[c] FAILED (exit 2) after 1.5s [3/4]
[d] skipped: dependency "c" failed
`},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		events(t, NewLines(&buf, tt.mode, false, false))
		if buf.String() != tt.want {
			t.Errorf("mode %d:\n got:\n%s\nwant:\n%s", tt.mode, buf.String(), tt.want)
		}
	}
}

func TestDryRunDisplay(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	d := NewLines(&buf, Stream, false, true)
	d.SetTotal(2)
	a, b := displayTask("gen"), &graph.Task{Name: "build", Argv: []string{"go", "build", "./..."}}
	d.Started(a, 1)
	d.Finished(a, 1, sched.Result{}, false)
	d.Started(b, 1)
	d.Finished(b, 1, sched.Result{}, false)
	d.Skipped(displayTask("never"), "dry run")
	const want = "[1/2] gen: make gen\n[2/2] build: go build ./...\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestFailureDescriptions(t *testing.T) {
	t.Parallel()
	task := displayTask("t")
	task.Timeout = 5 * time.Second
	tests := []struct {
		res  sched.Result
		want string
	}{
		{sched.Result{ExitCode: 3, Duration: 20 * time.Millisecond}, "[t] FAILED (exit 3) after 20ms [1/1]\n"},
		{sched.Result{ExitCode: -1, Signal: "SIGKILL", Duration: 2 * time.Second}, "[t] FAILED (killed by SIGKILL) after 2s [1/1]\n"},
		{sched.Result{ExitCode: -1, TimedOut: true, Duration: 5004 * time.Millisecond}, "[t] FAILED (timed out after 5s) after 5s [1/1]\n"},
		{sched.Result{ExitCode: -1, Interrupted: true, Duration: 125 * time.Second}, "[t] INTERRUPTED after 2m5s [1/1]\n"},
		{sched.Result{ExitCode: -1, Err: errors.New(`command "mkae" not found`)}, "[t] FAILED (command \"mkae\" not found) after 0s [1/1]\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		d := NewLines(&buf, Quiet, false, false)
		d.SetTotal(1)
		d.Finished(task, 1, tt.res, false)
		if buf.String() != tt.want {
			t.Errorf("got %q, want %q", buf.String(), tt.want)
		}
	}
}

func TestRound(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want time.Duration }{
		{1234 * time.Millisecond, 1200 * time.Millisecond},
		{1250 * time.Millisecond, 1300 * time.Millisecond},
		{340400 * time.Microsecond, 340 * time.Millisecond},
		{125500 * time.Millisecond, 126 * time.Second},
		{999400 * time.Nanosecond, 999 * time.Microsecond},
		{1500 * time.Nanosecond, 2 * time.Microsecond},
		{0, 0},
	}
	for _, tt := range tests {
		if got := Round(tt.in); got != tt.want {
			t.Errorf("Round(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// Quiet mode shows nothing of a task that succeeds, and the last lines of
// one that fails, before its status line.
func TestQuietShowsTheTailOfAFailure(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	d := NewLines(&buf, Quiet, false, false)
	d.SetTotal(2)
	for _, c := range []struct {
		name string
		out  string
		code int
	}{{"good", "fine\n", 0}, {"bad", strings.Repeat("noise\n", 30) + "error: the reason\n", 2}} {
		task := &graph.Task{Name: c.name}
		d.Started(task, 1)
		w := d.Output(task, 1)
		io.WriteString(w, c.out)
		w.Close()
		d.Finished(task, 1, sched.Result{ExitCode: c.code, Duration: time.Second}, false)
	}
	want := strings.Repeat("[bad] noise\n", 19) + "[bad] error: the reason\n[bad] FAILED (exit 2) after 1s [2/2]\n"
	if buf.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}
