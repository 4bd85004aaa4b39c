package main

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestGenerateIsDeterministicAndAcyclic(t *testing.T) {
	for _, fam := range families {
		a, err := generate(fam, 60, 7)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := generate(fam, 60, 7)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two graphs from one seed differ", fam)
		}
		for i, tk := range a.Tasks {
			for _, d := range tk.Deps {
				if d >= i {
					t.Errorf("%s: %s depends on a later task %d", fam, tk.Name, d)
				}
			}
		}
		if a.P < 1 {
			t.Errorf("%s: P = %d", fam, a.P)
		}
	}
	if _, err := generate("nope", 3, 1); err == nil {
		t.Error("unknown family accepted")
	}
}

func TestBounds(t *testing.T) {
	g, _ := generate("chain", 50, 1)
	th := theoryOf(g)
	if math.Abs(th.CriticalS-1.0) > 1e-9 || math.Abs(th.LowerBoundS-1.0) > 1e-9 {
		t.Errorf("chain of 50 × 20 ms: CP %.3f, LB %.3f, want 1", th.CriticalS, th.LowerBoundS)
	}
	g, _ = generate("trap", 102, 1)
	th = theoryOf(g)
	// The trap is built so that Σ ÷ P is the critical path, give or take
	// the short task in front of the long one.
	if r := th.SumS / float64(th.P) / th.CriticalS; r < 0.97 || r > 1.03 {
		t.Errorf("trap: Σ/P ÷ CP = %.3f, want about 1", r)
	}
	if th.GrahamS < th.LowerBoundS || th.GrahamS > (2-1/float64(th.P))*th.LowerBoundS+1e-9 {
		t.Errorf("Graham bound %.3f outside [LB, (2 − 1/P)·LB] for LB %.3f", th.GrahamS, th.LowerBoundS)
	}
	g, _ = generate("skewed", 200, 1)
	th = theoryOf(g)
	if r := th.SumS / float64(th.P) / th.CriticalS; r < 0.75 || r > 1.25 {
		t.Errorf("skewed: P %d makes Σ/P ÷ CP = %.2f, want near 1", th.P, r)
	}
}

// Every tool's file names the same edges.
func TestEmittersAgree(t *testing.T) {
	g, _ := generate("skewed", 40, 3)
	dir := t.TempDir()
	if err := writeAll(dir, g, "10.0.0"); err != nil {
		t.Fatal(err)
	}
	mk, _ := os.ReadFile(filepath.Join(dir, "Makefile"))
	nj, _ := os.ReadFile(filepath.Join(dir, "build.ninja"))
	js, _ := os.ReadFile(filepath.Join(dir, "strategy.js"))
	tf, _ := os.ReadFile(filepath.Join(dir, "Taskfile.yml"))
	for _, tk := range g.Tasks {
		rule := outOf(tk) + ": " + strings.Join(inputsOf(g, tk), " ") + "\n\t@" + command(g, tk) + "\n"
		if !strings.Contains(string(mk), rule) {
			t.Errorf("Makefile lacks %q", rule)
		}
		edge := "build " + outOf(tk) + ": sh " + strings.Join(inputsOf(g, tk), " ") + "\n  cmd = " + command(g, tk) + "\n"
		if !strings.Contains(string(nj), edge) {
			t.Errorf("build.ninja lacks %q", edge)
		}
		if !strings.Contains(string(js), jsonString(command(g, tk))) {
			t.Errorf("strategy.js lacks the command of %s", tk.Name)
		}
		if !strings.Contains(string(tf), "      - "+yamlQuote(command(g, tk))+"\n") {
			t.Errorf("Taskfile.yml lacks the command of %s", tk.Name)
		}
		pkg, err := os.ReadFile(filepath.Join(dir, dirOf(tk), "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(pkg), `"build": "cd ../.. && `+command(g, tk)+`"`) {
			t.Errorf("%s/package.json: %s", tk.Name, pkg)
		}
		for _, d := range tk.Deps {
			if !strings.Contains(string(pkg), `"`+g.Tasks[d].Name+`": "*"`) {
				t.Errorf("%s/package.json lacks dependency %s", tk.Name, g.Tasks[d].Name)
			}
		}
	}
}

// The harness's idea of the right outputs matches what the commands write.
func TestExpectedOutputsMatchCommands(t *testing.T) {
	for _, tool := range []string{"sh", "cat", "md5sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not found")
		}
	}
	g, _ := generate("edits", 16, 2)
	dir := t.TempDir()
	if err := writeSources(dir, g); err != nil {
		t.Fatal(err)
	}
	if _, err := floorRun(dir, g, 2, shellFloor(dir, g)); err != nil {
		t.Fatal(err)
	}
	src := map[string]string{}
	for _, tk := range g.Tasks {
		src[tk.Name] = initialSource(tk)
	}
	want := expectedOutputs(g, src)
	for i, tk := range g.Tasks {
		got, err := os.ReadFile(filepath.Join(dir, outOf(tk)))
		if err != nil || string(got) != want[i] {
			t.Errorf("%s: got %q (%v), want %q", tk.Name, got, err, want[i])
		}
	}
	if got := runLog(dir); len(got) != len(g.Tasks) {
		t.Errorf("run.log names %d tasks, want %d", len(got), len(g.Tasks))
	}
}

func TestRunLogSplitsSharedLines(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "run.log"), []byte("t1\nt783t2\n\nt5\n"), 0o644)
	if got := runLog(dir); !reflect.DeepEqual(got, []string{"t1", "t783", "t2", "t5"}) {
		t.Errorf("runLog = %v", got)
	}
}

func TestSpliceDoc(t *testing.T) {
	path := filepath.Join(t.TempDir(), "B.md")
	os.WriteFile(path, []byte("# Benchmarks\n\ntext\n"), 0o644)
	one := beginMark + "\none\n" + endMark + "\n"
	two := beginMark + "\ntwo\n" + endMark + "\n"
	if err := spliceDoc(path, one); err != nil {
		t.Fatal(err)
	}
	if err := spliceDoc(path, two); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	s := string(b)
	if strings.Count(s, "## Peers") != 1 || strings.Contains(s, "one") || !strings.Contains(s, "two") || !strings.HasPrefix(s, "# Benchmarks\n\ntext\n") {
		t.Errorf("after two splices:\n%s", s)
	}
}

func TestPicks(t *testing.T) {
	g, _ := generate("edits", 30, 1)
	p := pick(g)
	ds := dependents(g)
	if p.root < 0 || len(g.Tasks[p.root].Deps) != 0 || p.root2 == p.root || p.root2 < 0 {
		t.Errorf("roots %d, %d", p.root, p.root2)
	}
	if p.leaf < 0 || len(ds[p.leaf]) != 0 {
		t.Errorf("leaf %d", p.leaf)
	}
	if p.mid < 0 || len(ds[p.mid]) == 0 || len(g.Tasks[p.mid].Deps) == 0 {
		t.Errorf("middle %d", p.mid)
	}
}

func TestBottomLevels(t *testing.T) {
	g, _ := generate("trap", 42, 1)
	bl := bottomLevels(g)
	th := theoryOf(g)
	best := 0.0
	for _, b := range bl {
		best = math.Max(best, b)
	}
	if math.Abs(best-th.CriticalS) > 1e-9 {
		t.Errorf("largest bottom level %.3f, critical path %.3f", best, th.CriticalS)
	}
	// The short task in front of the long one comes first.
	s := len(g.Tasks) - 2
	if bl[s] != best {
		t.Errorf("bottom level of %s is %.3f, want the critical path %.3f", g.Tasks[s].Name, bl[s], best)
	}
}
