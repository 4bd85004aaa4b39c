package monitor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/history"
)

// pageRuns are the runs the HTML page is checked on, in Go and in a browser.
func pageRuns() map[string]Timeline {
	odd := retryRun()
	odd.RunID = "0003-odd"
	odd.Tasks = append(odd.Tasks, TaskInfo{Name: `lint <src> & "docs"`, Status: "ok"}, TaskInfo{Name: "</script><script>alert(1)</script>", Status: "ok"})
	odd.Spans = append(odd.Spans,
		Span{Task: `lint <src> & "docs"`, Start: 6 * sec, End: 7 * sec, Status: SpanOK, Attempt: 1},
		Span{Task: "</script><script>alert(1)</script>", Start: 7 * sec, End: 8 * sec, Status: SpanTimeout, Attempt: 1, ExitCode: -1})
	live := blockedRun()
	live.Spans[len(live.Spans)-1].Status = SpanRunning
	live.Tasks[len(live.Tasks)-1].Status = "running"
	return map[string]Timeline{"retries": retryRun(), "odd names": odd, "live with resources": live, "300 tasks": bigRun(300, 8)}
}

func writePage(t testing.TB, tl Timeline) []byte {
	t.Helper()
	rep := NewReport(ReportInput{Timeline: tl, Flaky: []Flaky{{"c", 2, 20}},
		Expected: map[string]Expected{"d": {Duration: 2 * sec, Samples: 12, Confidence: history.ConfidenceHigh}}})
	var buf bytes.Buffer
	if err := WriteHTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// textEscape is how a browser serialises text: only &, < and > change.
func textEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func taskNames(tl Timeline) []string {
	vs, _ := views(&tl)
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

// The page is self-contained, escapes task names, and lists every task.
func TestHTMLPage(t *testing.T) {
	t.Parallel()
	external := regexp.MustCompile(`(?i)(src|href)\s*=|https?:|@import|url\(|<link|<iframe|fetch\(|XMLHttpRequest`)
	for name, tl := range pageRuns() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			page := string(writePage(t, tl))
			if m := external.FindString(page); m != "" {
				t.Errorf("the page refers to something outside itself: %q", m)
			}
			if strings.Contains(page, "<script>alert(1)") {
				t.Error("a task name was not escaped")
			}
			for _, task := range taskNames(tl) {
				if !strings.Contains(page, "<td>"+htmlText(task)+"</td>") {
					t.Errorf("task %q is not in the task table", task)
				}
			}
			if got, want := strings.Count(page, `<g class="bar `), len(tl.Spans); got != want {
				t.Errorf("%d bars in the timeline, want %d (one per attempt)", got, want)
			}
			for _, part := range []string{`id="timeline"`, `id="report"`, `id="graph"`, `id="tasks"`, `class="bar st-`} {
				if !strings.Contains(page, part) {
					t.Errorf("the page has no %s", part)
				}
			}
		})
	}
}

// htmlText is how html/template escapes text.
func htmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestHTMLCriticalPathAndGraph(t *testing.T) {
	t.Parallel()
	page := string(writePage(t, retryRun()))
	for _, want := range []string{
		`<g class="bar st-failed crit" data-task="c">`, `<g class="bar st-ok crit" data-task="d">`, `<g class="bar st-ok" data-task="a">`,
		`<g class="node st-ok crit" data-task="c">`, `<g class="node st-skipped" data-task="e">`, `<path class="edge crit" d=`,
		`<p class="path"><span data-task="c">c</span> → <span data-task="d">d</span></p>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if n := strings.Count(page, `<g class="node `); n != 7 {
		t.Errorf("%d graph nodes, want 7", n)
	}
	if n := strings.Count(page, `<path class="edge `); n != 4 { // a->b, b->d, c->d, d->e
		t.Errorf("%d graph edges, want 4", n)
	}
	big := string(writePage(t, bigRun(GraphLimit+1, 4)))
	if !strings.Contains(big, "401 tasks: too many to draw here") || strings.Contains(big, `<g class="node `) {
		t.Error("a graph over the limit is drawn")
	}
}

// chromium finds a headless-capable Chromium or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("chromium is not installed (apt-get install chromium): the HTML report is not checked in a browser")
	return ""
}

// dumpDOM loads a file in headless Chromium, lets its scripts run, and
// returns the DOM as serialised HTML.
func dumpDOM(t *testing.T, bin, file string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp("", "jsrt-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--disable-crash-reporter",
		"--user-data-dir="+profile, "--virtual-time-budget=5000", "--dump-dom", "file://"+file)
	// Chromium's helpers share its process group: once it is done, the
	// group goes, so nothing is left writing into the profile.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	os.RemoveAll(profile)
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) || ctx.Err() != nil {
			t.Fatalf("chromium: %v\n%s", err, stderr.String())
		}
		t.Fatal(err)
	}
	return stdout.String()
}

var (
	htmlTag   = regexp.MustCompile(`<html[^>]*>`)
	firstCell = regexp.MustCompile(`<tr data-task="[^"]*"[^>]*><td>([^<]*)</td>`) // text in the DOM has no raw <
)

// TestHTMLInChromium opens each page in a real headless browser: it loads
// without a JavaScript error (the page's window.onerror marks <html> with
// data-js-error), its script ran to the end (data-ready="1"), and every
// task is in the DOM, also for a run of 10 000 tasks. A page with a
// deliberate error shows that the check would catch one.
func TestHTMLInChromium(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	dir := t.TempDir()
	runs := pageRuns()
	broken := runs["retries"]
	broken.RunID = "broken"
	runs["deliberate error"] = broken
	runs["10 000 tasks"] = bigRun(10000, 16)
	for name, tl := range runs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			page := writePage(t, tl)
			if name == "deliberate error" {
				page = bytes.Replace(page, []byte("</body>"), []byte("<script>noSuchFunction();</script></body>"), 1)
			}
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".html")
			if err := os.WriteFile(file, page, 0o644); err != nil {
				t.Fatal(err)
			}
			dom := dumpDOM(t, bin, file)
			root := htmlTag.FindString(dom)
			if root == "" {
				t.Fatalf("no <html> element in the DOM:\n%.500s", dom)
			}
			if !strings.Contains(root, `data-ready="1"`) {
				t.Errorf("the page's script did not finish: %s", root)
			}
			hasError := strings.Contains(root, "data-js-error")
			if name == "deliberate error" {
				if !hasError || !strings.Contains(root, "noSuchFunction") {
					t.Errorf("the deliberate error was not caught: %s", root)
				}
				return
			}
			if hasError {
				t.Errorf("JavaScript error: %s", root)
			}
			shown := map[string]bool{}
			for _, m := range firstCell.FindAllStringSubmatch(dom, -1) {
				shown[m[1]] = true
			}
			for _, task := range taskNames(tl) {
				if !shown[textEscape(task)] {
					t.Errorf("task %q is not shown", task)
				}
			}
			if got, want := strings.Count(dom, `<g class="bar `), len(tl.Spans); got != want {
				t.Errorf("%d bars in the DOM, want %d", got, want)
			}
		})
	}
}
