package monitor

import (
	"bufio"
	_ "embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The HTML report is one self-contained page: inline CSS, inline SVG and a
// little inline JavaScript (hover highlighting, a task filter), nothing
// fetched from the network. The SVG is drawn here, so the page reads the
// same without JavaScript. The page sets data-ready="1" on <html> when its
// script has run, and data-js-error="message" if any script failed.

//go:embed report.html.tmpl
var reportTemplate string

// pageTmpl is parsed on first use: every command starts the process, few
// write a report.
var pageTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Parse(reportTemplate))
})

// GraphLimit is the largest number of tasks drawn as a graph; bigger runs
// get a note instead (jsrt-script graph --format dot draws them).
const GraphLimit = 400

// htmlBottlenecks is how many bottlenecks the page lists.
const htmlBottlenecks = 40

// WriteHTML writes the page of a report made by NewReport (it draws the
// timeline the report was made from).
func WriteHTML(w io.Writer, rep *Report) error {
	a := rep.a
	if a == nil {
		return fmt.Errorf("monitor: the report was not made by NewReport")
	}
	tl := a.tl
	v := page{Report: rep, Title: "jsrt-script run " + tl.RunID, Cards: cards(rep),
		Gantt: gantt(tl, a), Graph: drawGraph(a), TasksHTML: rowsHTML(taskRows(a))}
	if !tl.Start.IsZero() {
		v.Started = tl.Start.Format("2006-01-02 15:04:05 MST")
	}
	for i, b := range rep.Bottlenecks {
		if i == htmlBottlenecks {
			v.MoreBottlenecks = len(rep.Bottlenecks) - i
			break
		}
		v.Bottlenecks = append(v.Bottlenecks, bottleneckRow{b.Task, Round(b.Duration).String(), strings.TrimPrefix(bottleneckText(b), ": ")})
	}
	for _, an := range rep.Anomalies {
		v.Anomalies = append(v.Anomalies, fmt.Sprintf("%s took %s, %s than predicted (%s, %d samples)", an.Task,
			Round(an.Duration), deviation(an.Deviation), Round(an.Expected), an.Samples))
	}
	for _, f := range rep.Flaky {
		v.Flaky = append(v.Flaky, fmt.Sprintf("%s failed then passed in %d of its last %d runs", f.Task, f.Flaky, f.Runs))
	}
	v.Resources = resourceText(rep)
	if cp := rep.CriticalPath; len(cp.Tasks) > 0 {
		v.Path = fmt.Sprintf("%s, %s of the wall time", Round(cp.Duration), percent(cp.Share))
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := pageTmpl().Execute(bw, v); err != nil {
		return err
	}
	return bw.Flush()
}

type page struct {
	Title, Started string
	Report         *Report
	Cards          []card
	Gantt          ganttView
	Graph          graphView
	TasksHTML      template.HTML // the rows of the task table
	Path           string
	Bottlenecks    []bottleneckRow
	// MoreBottlenecks is how many are left out (the JSON report has them all).
	MoreBottlenecks int
	Anomalies       []string
	Flaky           []string
	Resources       string
}

type card struct{ Label, Value, Hint string }

type bottleneckRow struct{ Task, Duration, Why string }

func cards(r *Report) []card {
	m := r.Metrics
	return []card{
		{"wall time", Round(r.Wall).String(), fmt.Sprintf("%d tasks, -j %d", r.Tasks, r.Jobs)},
		{"parallel efficiency", percent(m.Efficiency), "Σ task times ÷ (wall × slots), target over 75%"},
		{"utilisation", percent(m.Utilisation), "busy slot time ÷ available slot time"},
		{"speedup", fmt.Sprintf("%.2f×", m.Speedup), "Σ task times ÷ wall"},
		{"throughput", fmt.Sprintf("%.2f/s", m.Throughput), "tasks completed per second"},
		{"cache hit rate", percent(m.CacheHitRate), "cache hits ÷ lookups, target over 40%"},
		{"average task", Round(m.AvgDuration).String(), "tasks that really ran"},
		{"next run", "≈ " + Round(r.NextRun).String(), "predicted from history and this run"},
	}
}

// Gantt geometry, in SVG user units.
const (
	ganttWidth = 1200.0
	ganttLeft  = 70.0
	ganttRight = 16.0
	rowHeight  = 22.0
	barHeight  = 16.0
	axisHeight = 22.0
	charWidth  = 6.4 // of 11px text, for deciding whether a label fits
	counterH   = 90.0
)

type ganttView struct {
	Width, Height float64
	Rows          []ganttRow
	BarsHTML      template.HTML // one <g class="bar"> per attempt
	Ticks         []ganttTick
	Counters      *counterView
}

type ganttRow struct {
	Y, TextY float64
	Label    string
	Odd      bool
}

type ganttBar struct {
	X, Y, W, H   float64
	TextX, TextY float64
	Class, Task  string
	Title, Label string
}

type ganttTick struct {
	X     float64
	Label string
}

type counterView struct {
	Width, Height, Top, Bottom float64
	FrameH, TopText, TickY     float64
	CPU, Mem, Jobs             string // polyline points
	JobsMax                    int
	Ticks                      []ganttTick
}

func f1(x float64) float64 { return math.Round(x*10) / 10 }

func gantt(tl *Timeline, a *analysis) ganttView {
	slots := 0
	for _, s := range tl.Spans {
		slots = max(slots, s.Slot)
	}
	wall := tl.Wall
	for _, s := range tl.Spans {
		wall = max(wall, s.End)
	}
	span := float64(max(wall, time.Millisecond))
	plot := ganttWidth - ganttLeft - ganttRight
	x := func(d time.Duration) float64 { return f1(ganttLeft + plot*float64(d)/span) }
	g := ganttView{Width: ganttWidth, Height: axisHeight + rowHeight*float64(max(slots, 1)) + 4}
	for k := 1; k <= slots; k++ {
		y := axisHeight + rowHeight*float64(k-1)
		g.Rows = append(g.Rows, ganttRow{Y: y, TextY: y + rowHeight/2 + 4, Label: fmt.Sprintf("slot %d", k), Odd: k%2 == 1})
	}
	for _, t := range ticks(wall) {
		g.Ticks = append(g.Ticks, ganttTick{X: x(t), Label: tickLabel(t, wall)})
	}
	bars := make([]ganttBar, 0, len(tl.Spans))
	for _, s := range tl.Spans {
		x0, x1 := x(s.Start), x(s.End)
		y := axisHeight + rowHeight*float64(s.Slot-1) + (rowHeight-barHeight)/2
		b := ganttBar{X: x0, Y: f1(y), W: max(f1(x1-x0), 0.6), H: barHeight, Task: s.Task, Class: "st-" + s.Status,
			TextX: x0 + 3, TextY: f1(y + barHeight/2 + 4)}
		if a.onPath[s.Task] {
			b.Class += " crit"
		}
		b.Title = fmt.Sprintf("%s — %s, slot %d, attempt %d, %s, starts at %s", s.Task, Round(s.Duration()), s.Slot, s.Attempt, s.Status, Round(s.Start))
		if s.Status != SpanOK && s.Status != SpanCached && s.Status != SpanRunning {
			b.Title += fmt.Sprintf(", exit %d", s.ExitCode)
		}
		if b.W > charWidth*float64(len(s.Task))+6 {
			b.Label = s.Task
		}
		bars = append(bars, b)
	}
	g.BarsHTML = barsHTML(bars)
	g.Counters = counters(tl, wall, x)
	return g
}

// The bars and the task table are the parts of the page that grow with the
// run (10 000 tasks: 20 000 elements), so they are written here rather than
// by the template, with the same escaping: esc for text and quoted
// attribute values.

func esc(s string) string { return html.EscapeString(s) }

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func barsHTML(bars []ganttBar) template.HTML {
	var b strings.Builder
	b.Grow(len(bars) * 200)
	for _, x := range bars {
		b.WriteString(`<g class="bar ` + esc(x.Class) + `" data-task="` + esc(x.Task) + `"><title>` + esc(x.Title) +
			`</title><rect x="` + num(x.X) + `" y="` + num(x.Y) + `" width="` + num(x.W) + `" height="` + num(x.H) + `" rx="2"/>`)
		if x.Label != "" {
			b.WriteString(`<text x="` + num(x.TextX) + `" y="` + num(x.TextY) + `">` + esc(x.Label) + `</text>`)
		}
		b.WriteString("</g>\n")
	}
	return template.HTML(b.String())
}

func rowsHTML(rows []taskRow) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 200)
	for _, r := range rows {
		b.WriteString(`<tr data-task="` + esc(r.Task) + `"`)
		if r.Critical {
			b.WriteString(` class="crit" title="on the critical path"`)
		}
		b.WriteString(`><td>` + esc(r.Task) + `</td><td><span class="badge st-` + esc(r.Status) + `">` + esc(r.Status) +
			`</span></td><td>` + esc(r.Slots) + `</td><td class="num">` + esc(r.Start) + `</td><td class="num">` + esc(r.Duration) +
			`</td><td class="num">` + strconv.Itoa(r.Attempts) + `</td><td>` + esc(r.Cache) + `</td><td>` + esc(r.Deps) + "</td></tr>\n")
	}
	return template.HTML(b.String())
}

func counters(tl *Timeline, wall time.Duration, x func(time.Duration) float64) *counterView {
	if len(tl.Resources) == 0 && len(tl.Changes) == 0 {
		return nil
	}
	c := &counterView{Width: ganttWidth, Height: counterH + axisHeight, Top: 8, Bottom: counterH - 4, JobsMax: tl.Jobs}
	c.FrameH, c.TopText, c.TickY = c.Bottom-c.Top, c.Top+8, c.Bottom+16
	y := func(pct float64) float64 { return f1(c.Bottom - (c.Bottom-c.Top)*min(max(pct, 0), 100)/100) }
	var cpu, mem, jobs strings.Builder
	for _, r := range tl.Resources {
		fmt.Fprintf(&cpu, "%g,%g ", x(r.At), y(r.CPUPercent))
		fmt.Fprintf(&mem, "%g,%g ", x(r.At), y(r.MemUsedPercent))
	}
	scale := func(n int) float64 { return y(100 * float64(n) / float64(max(tl.Jobs, 1))) }
	cur := tl.Jobs
	fmt.Fprintf(&jobs, "%g,%g ", x(0), scale(cur))
	for _, ch := range tl.Changes {
		fmt.Fprintf(&jobs, "%g,%g %g,%g ", x(ch.At), scale(cur), x(ch.At), scale(ch.To))
		cur = ch.To
	}
	fmt.Fprintf(&jobs, "%g,%g", x(wall), scale(cur))
	c.CPU, c.Mem, c.Jobs = strings.TrimSpace(cpu.String()), strings.TrimSpace(mem.String()), jobs.String()
	for _, t := range ticks(wall) {
		c.Ticks = append(c.Ticks, ganttTick{X: x(t), Label: tickLabel(t, wall)})
	}
	return c
}

// ticks returns round times for the axis: at most 9 over the wall time.
func ticks(wall time.Duration) []time.Duration {
	step := tickStep(wall)
	var out []time.Duration
	for t := time.Duration(0); t <= wall; t += step {
		out = append(out, t)
	}
	return out
}

// tickStep is the smallest of 1, 2, 5 ms × 10ⁿ that cuts wall in 8 or fewer.
func tickStep(wall time.Duration) time.Duration {
	for mult := time.Millisecond; ; mult *= 10 {
		for _, s := range []time.Duration{1, 2, 5} {
			if step := s * mult; wall/step <= 8 {
				return step
			}
		}
	}
}

func tickLabel(t, wall time.Duration) string {
	switch {
	case wall >= 2*time.Minute:
		return fmt.Sprintf("%dm%02ds", int(t.Minutes()), int(t.Seconds())%60)
	case wall >= 2*time.Second:
		return strconv.FormatFloat(t.Seconds(), 'f', -1, 64) + "s"
	}
	return strconv.FormatInt(t.Milliseconds(), 10) + "ms"
}

// Graph geometry.
const (
	nodeW    = 150.0
	nodeH    = 24.0
	colGap   = 56.0
	rowGap   = 10.0
	graphPad = 10.0
	nodeChar = 15 // characters of a name shown in a node
)

type graphView struct {
	Drawn         bool
	Tasks         int
	Width, Height float64
	Nodes         []graphNode
	Edges         []graphEdge
}

type graphNode struct {
	X, Y, W, H   float64
	TextX, TextY float64
	Task, Label  string
	Class, Title string
}

type graphEdge struct{ D, Class string }

// drawGraph draws the tasks in columns by depth (deps to the left), with
// the critical path's nodes and edges highlighted.
func drawGraph(a *analysis) graphView {
	v := graphView{Tasks: len(a.topo)}
	if len(a.topo) == 0 || len(a.topo) > GraphLimit {
		return v
	}
	depth, row, cols, rows := layout(a)
	v.Drawn = true
	v.Width = 2*graphPad + float64(cols)*nodeW + float64(cols-1)*colGap
	v.Height = 2*graphPad + float64(rows)*nodeH + float64(rows-1)*rowGap
	pos := func(id int) (float64, float64) {
		return graphPad + float64(depth[id])*(nodeW+colGap), graphPad + row[id]*(nodeH+rowGap)
	}
	for _, t := range a.topo {
		x, y := pos(t.ID)
		tv := a.byName[t.Name]
		n := graphNode{X: x, Y: y, W: nodeW, H: nodeH, TextX: x + 8, TextY: y + nodeH/2 + 4, Task: t.Name,
			Label: shorten(t.Name, nodeChar), Class: "st-" + tv.Status,
			Title: fmt.Sprintf("%s — %s, %s", t.Name, tv.Status, Round(tv.busy))}
		if a.onPath[t.Name] {
			n.Class += " crit"
		}
		v.Nodes = append(v.Nodes, n)
		for _, d := range a.g.Deps(t) {
			x0, y0 := pos(d.ID)
			x0, y0 = x0+nodeW, y0+nodeH/2
			x1, y1 := x, y+nodeH/2
			e := graphEdge{D: fmt.Sprintf("M%g,%g C%g,%g %g,%g %g,%g", x0, y0, x0+colGap/2, y0, x1-colGap/2, y1, x1, y1)}
			if a.onPath[t.Name] && a.onPath[d.Name] {
				e.Class = "crit"
			}
			v.Edges = append(v.Edges, e)
		}
	}
	return v
}

// layout gives each task (by ID) a column, its depth, and a row: a column
// is ordered by the mean row of its tasks' deps, then by topological order.
func layout(a *analysis) (depth []int, row []float64, cols, rows int) {
	depth = make([]int, a.g.Len())
	var byCol [][]int
	for _, t := range a.topo {
		for _, dep := range a.g.Deps(t) {
			depth[t.ID] = max(depth[t.ID], depth[dep.ID]+1)
		}
		for len(byCol) <= depth[t.ID] {
			byCol = append(byCol, nil)
		}
		byCol[depth[t.ID]] = append(byCol[depth[t.ID]], t.ID)
	}
	row = make([]float64, a.g.Len())
	tasks := a.g.Tasks()
	for _, col := range byCol {
		key := make(map[int]float64, len(col))
		for i, id := range col {
			key[id] = float64(i)
			if deps := a.g.Deps(tasks[id]); len(deps) > 0 {
				sum := 0.0
				for _, d := range deps {
					sum += row[d.ID]
				}
				key[id] = sum / float64(len(deps))
			}
		}
		slices.SortStableFunc(col, func(x, y int) int { return cmpFloat(key[x], key[y]) })
		for i, id := range col {
			row[id] = float64(i)
		}
		rows = max(rows, len(col))
	}
	return depth, row, len(byCol), rows
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

type taskRow struct {
	Task, Status, Slots, Start, Duration, Cache, Deps string
	Attempts                                          int
	Critical                                          bool
}

func taskRows(a *analysis) []taskRow {
	out := make([]taskRow, 0, len(a.vs))
	for _, v := range a.vs {
		r := taskRow{Task: v.Name, Status: v.Status, Attempts: len(v.spans), Critical: a.onPath[v.Name],
			Deps: strings.Join(v.Deps, ", "), Cache: "—"}
		if v.ran() {
			var slots []string
			for _, s := range v.spans {
				if n := strconv.Itoa(s.Slot); !slices.Contains(slots, n) {
					slots = append(slots, n)
				}
			}
			r.Slots = strings.Join(slots, ", ")
			r.Start, r.Duration = Round(v.first).String(), Round(v.busy).String()
			switch {
			case v.last().Cached:
				r.Cache = "hit"
			case v.NoCache:
				r.Cache = "off"
			default:
				r.Cache = "miss"
			}
		}
		out = append(out, r)
	}
	return out
}
