package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/jsrt-script/jsrt-script/bindings"
	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
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
	printers := map[string]func(io.Writer, *graph.Graph, []*graph.Task){
		"text": graphText, "dot": graphDot, "mermaid": graphMermaid, "json": graphJSON,
	}
	print, known := printers[*format]
	if !known {
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
	print(env.Stdout, ws.Graph, tasks)
	return ExitOK
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

func graphText(w io.Writer, g *graph.Graph, tasks []*graph.Task) {
	in := map[string]bool{}
	for _, t := range tasks {
		in[t.Name] = true
	}
	for i, level := range g.Levels() {
		var names []string
		for _, t := range level {
			if in[t.Name] {
				names = append(names, t.Name)
			}
		}
		if len(names) > 0 {
			fmt.Fprintf(w, "level %d: %s\n", i, strings.Join(names, " "))
		}
	}
	cp := g.CriticalPath(tasks, func(*graph.Task) float64 { return 1 })
	fmt.Fprintf(w, "longest chain: %s\n", strings.Join(taskNames(cp), " -> "))
}

func taskNames(ts []*graph.Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func graphDot(w io.Writer, g *graph.Graph, tasks []*graph.Task) {
	fmt.Fprintln(w, "digraph tasks {\n  rankdir=LR;\n  node [shape=box];")
	for _, t := range tasks {
		fmt.Fprintf(w, "  %q [tooltip=%q];\n", t.Name, t.Command())
	}
	for _, t := range tasks {
		for _, d := range g.Deps(t) {
			fmt.Fprintf(w, "  %q -> %q;\n", d.Name, t.Name)
		}
	}
	fmt.Fprintln(w, "}")
}

func graphMermaid(w io.Writer, g *graph.Graph, tasks []*graph.Task) {
	fmt.Fprintln(w, "graph LR")
	for _, t := range tasks {
		fmt.Fprintf(w, "  t%d[\"%s\"]\n", t.ID, strings.ReplaceAll(t.Name, `"`, "#quot;"))
	}
	for _, t := range tasks {
		for _, d := range g.Deps(t) {
			fmt.Fprintf(w, "  t%d --> t%d\n", d.ID, t.ID)
		}
	}
}

type jsonTask struct {
	Name     string   `json:"name"`
	Cmd      string   `json:"cmd"`
	Deps     []string `json:"deps"`
	Level    int      `json:"level"`
	Blocking int      `json:"blocking"`
	Pool     string   `json:"pool,omitempty"`
	Tags     []string `json:"tags,omitempty"`
}

func graphJSON(w io.Writer, g *graph.Graph, tasks []*graph.Task) {
	level := map[int]int{}
	for i, l := range g.Levels() {
		for _, t := range l {
			level[t.ID] = i
		}
	}
	blocking := g.Blocking()
	out := struct {
		Tasks []jsonTask `json:"tasks"`
	}{Tasks: []jsonTask{}}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, jsonTask{Name: t.Name, Cmd: t.Command(), Deps: taskNames(g.Deps(t)),
			Level: level[t.ID], Blocking: blocking[t.ID], Pool: t.Pool, Tags: t.Tags})
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Fprintln(w, string(b))
}
