package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The cache-correctness replay: the same sequence of edits is applied to
// every tool's copy of the "edits" graph, each followed by a build. The
// tasks that must run are those whose output content changes (the md5 of
// their inputs) or whose output was deleted; a task that ran but was not
// needed is an over-build; a task whose output is wrong after the build
// (stale, or missing) is an under-build — a correctness failure. A needed
// task that did not run but whose output is right was restored from a
// cache (a hit).

type edit struct {
	Name  string
	apply func(w *workspace) error
}

// workspace is one tool's copy plus the sources the harness believes in.
type workspace struct {
	dir string
	g   *graph
	src map[string]string
	// outputs deleted by this step (they must be rebuilt or restored)
	deleted []int
}

func (w *workspace) setSrc(i int, content string) error {
	t := w.g.Tasks[i]
	w.src[t.Name] = content
	return os.WriteFile(filepath.Join(w.dir, srcOf(t)), []byte(content), 0o644)
}

func (w *workspace) touch(i int) error {
	now := time.Now()
	return os.Chtimes(filepath.Join(w.dir, srcOf(w.g.Tasks[i])), now, now)
}

func (w *workspace) rmOut(i int) error {
	w.deleted = append(w.deleted, i)
	return os.Remove(filepath.Join(w.dir, outOf(w.g.Tasks[i])))
}

// picks chooses the tasks the edits touch: a root with the most
// dependents, a second root, a leaf, and a middle task (with both deps
// and dependents).
type picks struct{ root, root2, leaf, mid int }

func pick(g *graph) picks {
	ds := dependents(g)
	p := picks{root: -1, root2: -1, leaf: -1, mid: -1}
	for i, t := range g.Tasks {
		switch {
		case len(t.Deps) == 0:
			if p.root < 0 || len(ds[i]) > len(ds[p.root]) {
				p.root = i
			}
		case len(ds[i]) == 0:
			p.leaf = i
		case p.mid < 0:
			p.mid = i
		}
	}
	for i, t := range g.Tasks {
		if len(t.Deps) == 0 && i != p.root {
			p.root2 = i
			break
		}
	}
	return p
}

func edits(g *graph) []edit {
	p := pick(g)
	name := func(i int) string { return g.Tasks[i].Name }
	v := func(i int, s string) string { return name(i) + " " + s + "\n" }
	var roots []int
	for i, t := range g.Tasks {
		if len(t.Deps) == 0 {
			roots = append(roots, i)
		}
	}
	all := func(f func(w *workspace, i int) error, idx []int) func(w *workspace) error {
		return func(w *workspace) error {
			for _, i := range idx {
				if err := f(w, i); err != nil {
					return err
				}
			}
			return nil
		}
	}
	allIdx := make([]int, len(g.Tasks))
	for i := range allIdx {
		allIdx[i] = i
	}
	set := func(i int, s string) func(w *workspace) error {
		return func(w *workspace) error { return w.setSrc(i, v(i, s)) }
	}
	return []edit{
		{"nothing changed", func(w *workspace) error { return nil }},
		{"root " + name(p.root) + ": content A→B", set(p.root, "B")},
		{"nothing changed", func(w *workspace) error { return nil }},
		{"root: touch only", func(w *workspace) error { return w.touch(p.root) }},
		{"leaf " + name(p.leaf) + ": content change", set(p.leaf, "C")},
		{"leaf: touch only", func(w *workspace) error { return w.touch(p.leaf) }},
		{"root: revert B→A", set(p.root, "v0")},
		{"root: A→B again", set(p.root, "B")},
		{"root: B→A again", set(p.root, "v0")},
		{"middle " + name(p.mid) + ": content change", set(p.mid, "M")},
		{"two roots: content change", func(w *workspace) error {
			if err := w.setSrc(p.root, v(p.root, "R2")); err != nil {
				return err
			}
			return w.setSrc(p.root2, v(p.root2, "R2"))
		}},
		{"every source: touch only", all(func(w *workspace, i int) error { return w.touch(i) }, allIdx)},
		{"root: same bytes rewritten", func(w *workspace) error { return w.setSrc(p.root, w.src[name(p.root)]) }},
		{"middle: output deleted", func(w *workspace) error { return w.rmOut(p.mid) }},
		{"leaf: content C→D", set(p.leaf, "D")},
		{"leaf: revert D→C", set(p.leaf, "C")},
		{"middle: revert to original", set(p.mid, "v0")},
		{"every root: content change", all(func(w *workspace, i int) error { return w.setSrc(i, v(i, "E")) }, roots)},
		{"every root: revert to original", all(func(w *workspace, i int) error { return w.setSrc(i, initialSource(g.Tasks[i])) }, roots)},
		{"nothing changed", func(w *workspace) error { return nil }},
	}
}

const editPause = 50 * time.Millisecond

type stepResult struct {
	Edit     string   `json:"edit"`
	Expected int      `json:"expected"` // tasks whose output must change (or be recreated)
	Ran      int      `json:"ran"`
	Over     []string `json:"over,omitempty"`
	Under    []string `json:"under,omitempty"`
	Restored int      `json:"restored"` // needed, not run, output right: a cache hit
	WallS    float64  `json:"wallS"`
	Err      string   `json:"error,omitempty"`
}

type replayResult struct {
	Tool     string       `json:"tool"`
	Steps    []stepResult `json:"steps"`
	Expected int          `json:"expected"`
	Ran      int          `json:"ran"`
	Over     int          `json:"over"`
	Under    int          `json:"under"`
	Restored int          `json:"restored"`
	RSSKB    int64        `json:"peakRssKB"`
	Err      string       `json:"error,omitempty"`
}

// replay builds g once in ws (step 0, everything expected), then applies
// every edit and builds again.
func replay(e *env, t *tool, ws string, g *graph) replayResult {
	res := replayResult{Tool: t.Name}
	w := &workspace{dir: ws, g: g, src: map[string]string{}}
	for _, tk := range g.Tasks {
		w.src[tk.Name] = initialSource(tk)
	}
	prev := make([]string, len(g.Tasks)) // nothing built yet
	steps := append([]edit{{"initial build", func(*workspace) error { return nil }}}, edits(g)...)
	logPath := filepath.Join(ws, "tool.log")
	for _, ed := range steps {
		w.deleted = nil
		sr := stepResult{Edit: ed.Name}
		before := len(runLog(ws))
		// A pause between the build and the edit: file times come from a
		// coarse clock (one tick is a few ms), and an edit in the same tick
		// as the build's last write looks older than it to mtime tools. A
		// person editing is never that quick; the harness would be.
		time.Sleep(editPause)
		if err := ed.apply(w); err != nil {
			sr.Err = err.Error()
			res.Steps = append(res.Steps, sr)
			res.Err = err.Error()
			break
		}
		want := expectedOutputs(g, w.src)
		need := map[int]bool{}
		for i := range want {
			if want[i] != prev[i] {
				need[i] = true
			}
		}
		for _, i := range w.deleted {
			need[i] = true
		}
		r := run(ws, e.vars, t.argv(g.P, ""), logPath, 5*time.Minute)
		sr.WallS = r.Wall.Seconds()
		res.RSSKB = max(res.RSSKB, r.RSSKB)
		if r.Err != nil {
			sr.Err = r.Err.Error()
			res.Err = sr.Err
		}
		ranNames := runLog(ws)[before:]
		ran := map[string]bool{}
		for _, n := range ranNames {
			ran[n] = true
		}
		sr.Ran = len(ranNames)
		sr.Expected = len(need)
		for i, tk := range g.Tasks {
			got, err := os.ReadFile(filepath.Join(ws, outOf(tk)))
			right := err == nil && string(got) == want[i]
			switch {
			case !right:
				sr.Under = append(sr.Under, tk.Name)
			case ran[tk.Name] && !need[i]:
				sr.Over = append(sr.Over, tk.Name)
			case !ran[tk.Name] && need[i]:
				sr.Restored++
			}
		}
		// A task run twice in one build is an over-build too.
		if len(ranNames) > len(ran) {
			seen := map[string]bool{}
			for _, n := range ranNames {
				if seen[n] {
					sr.Over = append(sr.Over, n+" (twice)")
				}
				seen[n] = true
			}
		}
		slices.Sort(sr.Over)
		res.Steps = append(res.Steps, sr)
		if len(res.Steps) > 1 { // step 0 is the initial build, not an edit
			res.Expected += sr.Expected
			res.Ran += sr.Ran
			res.Over += len(sr.Over)
			res.Under += len(sr.Under)
			res.Restored += sr.Restored
		}
		prev = want
	}
	return res
}

func (s stepResult) cell() string {
	c := fmt.Sprintf("%d/%d", s.Ran, s.Expected)
	var notes []string
	if s.Restored > 0 {
		notes = append(notes, fmt.Sprintf("%d hit", s.Restored))
	}
	if len(s.Over) > 0 {
		notes = append(notes, fmt.Sprintf("+%d over", len(s.Over)))
	}
	if len(s.Under) > 0 {
		notes = append(notes, fmt.Sprintf("**%d UNDER**", len(s.Under)))
	}
	if s.Err != "" {
		notes = append(notes, "error")
	}
	if len(notes) > 0 {
		c += " (" + strings.Join(notes, ", ") + ")"
	}
	return c
}
