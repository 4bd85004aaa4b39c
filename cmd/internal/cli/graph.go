package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jsrt-script/jsrt-script/bindings"
	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/monitor"
	"github.com/jsrt-script/jsrt-script/store"
)

func graphCmd(env *Env, args []string) int {
	fs := newFlags(env, "graph", "STRATEGY.js [TARGET...] [--format text|dot|mermaid|json]")
	format := fs.String("format", "text", "output `format`: text (levels), dot, mermaid or json")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		errorf(env, "graph: which strategy? usage: jsrt-script graph STRATEGY.js [--format dot]")
		return ExitUsage
	}
	if _, known := graphPrinters[*format]; !known {
		errorf(env, "graph: unknown format %q (use text, dot, mermaid or json)", *format)
		return ExitUsage
	}
	ws, err := loadOnly(env, pos[0], pos[1:])
	if err != nil {
		return report(env, err)
	}
	if err := ws.Graph.Validate(); err != nil {
		return report(env, err)
	}
	targets := pos[1:]
	if len(targets) == 0 {
		targets = ws.Graph.Names()
	}
	tasks, err := ws.Graph.Closure(targets)
	if err != nil {
		return report(env, err)
	}
	printGraph(env.Stdout, *format, newGraphView(ws.Graph, tasks, readEstimates(filepath.Join(ws.Root, ".jsrt"))))
	return ExitOK
}

// graphView is a graph as printed: the tasks shown, their predicted
// durations (from history, when there is some) and the critical path.
type graphView struct {
	g        *graph.Graph
	tasks    []*graph.Task
	predMs   map[string]float64
	critical map[string]bool
}

func newGraphView(g *graph.Graph, tasks []*graph.Task, est map[string]history.Estimate) *graphView {
	v := &graphView{g: g, tasks: tasks, predMs: map[string]float64{}, critical: map[string]bool{}}
	for name, e := range est {
		v.predMs[name] = float64(e.Duration) / float64(time.Millisecond)
	}
	cost := func(t *graph.Task) float64 {
		if ms, ok := v.predMs[t.Name]; ok {
			return max(ms, 1)
		}
		return 1
	}
	for _, t := range g.CriticalPath(tasks, cost) {
		v.critical[t.Name] = true
	}
	return v
}

// label is a task's name with its predicted duration, when known.
func (v *graphView) label(t *graph.Task) string {
	if ms, ok := v.predMs[t.Name]; ok {
		return fmt.Sprintf("%s (%s)", t.Name, monitor.Round(time.Duration(ms*float64(time.Millisecond))))
	}
	return t.Name
}

var graphPrinters = map[string]func(io.Writer, *graphView){
	"text": graphText, "dot": graphDot, "mermaid": graphMermaid, "json": graphJSON,
}

// printGraph prints v in format ("" means text).
func printGraph(w io.Writer, format string, v *graphView) error {
	if format == "" {
		format = "text"
	}
	p, ok := graphPrinters[format]
	if !ok {
		return fmt.Errorf("unknown format %q (use text, dot, mermaid or json)", format)
	}
	p(w, v)
	return nil
}

// readEstimates reads history's estimates without writing or waiting; none
// when there is no state (or it is busy).
func readEstimates(dir string) map[string]history.Estimate {
	db, err := store.Open(context.Background(), dir, store.Options{ReadOnly: true, NoWait: true})
	if err != nil {
		return nil
	}
	defer db.Close()
	est, _ := history.New(db).Estimates()
	return est
}

// loadOnly runs a strategy to learn its tasks; run() calls in it are dry
// runs that print nothing, start nothing and write nothing.
func loadOnly(env *Env, file string, args []string) (*core.Workspace, error) {
	s := &session{env: env, flags: runFlags{jobs: runtime.NumCPU(), dryRun: true}, silent: true}
	defer s.close()
	eng := bindings.New(bindings.Config{Cwd: env.Cwd, Stdout: env.Stderr, Stderr: env.Stderr, Args: args, Run: s.run})
	if err := eng.Load(context.Background(), file); err != nil {
		return nil, err
	}
	return eng.Workspace(), nil
}

func graphText(w io.Writer, v *graphView) {
	in := map[string]bool{}
	for _, t := range v.tasks {
		in[t.Name] = true
	}
	for i, level := range v.g.Levels() {
		var names []string
		for _, t := range level {
			if in[t.Name] {
				names = append(names, v.label(t))
			}
		}
		if len(names) > 0 {
			fmt.Fprintf(w, "level %d: %s\n", i, strings.Join(names, " "))
		}
	}
	var path []string
	for _, t := range v.tasks {
		if v.critical[t.Name] {
			path = append(path, t.Name)
		}
	}
	word := "longest chain"
	if len(v.predMs) > 0 {
		word = "critical path (predicted)"
	}
	fmt.Fprintf(w, "%s: %s\n", word, strings.Join(path, " -> "))
}

func taskNames(ts []*graph.Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func graphDot(w io.Writer, v *graphView) {
	fmt.Fprintln(w, "digraph tasks {\n  rankdir=LR;\n  node [shape=box];")
	for _, t := range v.tasks {
		style := ""
		if v.critical[t.Name] {
			style = ", color=red, penwidth=2"
		}
		fmt.Fprintf(w, "  %q [label=%q, tooltip=%q%s];\n", t.Name, v.label(t), t.Command(), style)
	}
	for _, t := range v.tasks {
		for _, d := range v.g.Deps(t) {
			style := ""
			if v.critical[t.Name] && v.critical[d.Name] {
				style = " [color=red, penwidth=2]"
			}
			fmt.Fprintf(w, "  %q -> %q%s;\n", d.Name, t.Name, style)
		}
	}
	fmt.Fprintln(w, "}")
}

func graphMermaid(w io.Writer, v *graphView) {
	fmt.Fprintln(w, "graph LR")
	for _, t := range v.tasks {
		fmt.Fprintf(w, "  t%d[\"%s\"]\n", t.ID, strings.ReplaceAll(v.label(t), `"`, "#quot;"))
	}
	for _, t := range v.tasks {
		for _, d := range v.g.Deps(t) {
			fmt.Fprintf(w, "  t%d --> t%d\n", d.ID, t.ID)
		}
	}
	var crit []string
	for _, t := range v.tasks {
		if v.critical[t.Name] {
			crit = append(crit, fmt.Sprintf("t%d", t.ID))
		}
	}
	if len(crit) > 0 {
		fmt.Fprintf(w, "  classDef critical stroke:#d00,stroke-width:3px\n  class %s critical\n", strings.Join(crit, ","))
	}
}

type jsonTask struct {
	Name        string   `json:"name"`
	Cmd         string   `json:"cmd"`
	Deps        []string `json:"deps"`
	Level       int      `json:"level"`
	Blocking    int      `json:"blocking"`
	PredictedMs *float64 `json:"predictedMs,omitempty"`
	Critical    bool     `json:"critical"`
	Pool        string   `json:"pool,omitempty"`
	Tags        []string `json:"tags,omitempty"`
}

func graphJSON(w io.Writer, v *graphView) {
	level := map[int]int{}
	for i, l := range v.g.Levels() {
		for _, t := range l {
			level[t.ID] = i
		}
	}
	blocking := v.g.Blocking()
	out := struct {
		Tasks []jsonTask `json:"tasks"`
	}{Tasks: []jsonTask{}}
	for _, t := range v.tasks {
		jt := jsonTask{Name: t.Name, Cmd: t.Command(), Deps: taskNames(v.g.Deps(t)), Level: level[t.ID],
			Blocking: blocking[t.ID], Critical: v.critical[t.Name], Pool: t.Pool, Tags: t.Tags}
		if ms, ok := v.predMs[t.Name]; ok {
			jt.PredictedMs = &ms
		}
		out.Tasks = append(out.Tasks, jt)
	}
	writeJSON(w, out)
}

// writeJSON writes v indented, with <, > and & as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
