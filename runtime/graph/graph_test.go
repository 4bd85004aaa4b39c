package graph

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// build makes a validated graph from "name:dep1,dep2" specs, in order.
func build(t *testing.T, specs ...string) *Graph {
	t.Helper()
	g, err := tryBuild(specs...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func tryBuild(specs ...string) (*Graph, error) {
	g := New()
	for _, s := range specs {
		name, deps, _ := strings.Cut(s, ":")
		task := &Task{Name: name}
		if deps != "" {
			task.Deps = strings.Split(deps, ",")
		}
		if err := g.Add(task); err != nil {
			return nil, err
		}
	}
	return g, g.Validate()
}

func names(ts []*Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

func TestValidateErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		specs []string
		want  string
	}{
		{[]string{"a:b", "b:a"}, "dependency cycle: a -> b -> a"},
		{[]string{"a:b", "b:c", "c:a", "d"}, "dependency cycle: a -> b -> c -> a"},
		// The cycle is reported from where the first DFS meets it, the same way every time.
		{[]string{"x", "a:x,b", "b:c", "c:b"}, "dependency cycle: b -> c -> b"},
		{[]string{"a:a"}, "dependency cycle: a -> a"},
		{[]string{"build", "test:buidl"}, `task "test" depends on unknown task "buidl" (did you mean "build"?)`},
		{[]string{"build", "test:zzz"}, `task "test" depends on unknown task "zzz"`},
		{[]string{"a", "a"}, `task "a" is defined twice`},
	}
	for _, c := range cases {
		_, err := tryBuild(c.specs...)
		if err == nil || err.Error() != c.want {
			t.Errorf("%v: got %v, want %q", c.specs, err, c.want)
		}
	}
	_, err := tryBuild("a:b", "b:a")
	var ce *CycleError
	if !errors.As(err, &ce) || !reflect.DeepEqual(ce.Path, []string{"a", "b", "a"}) {
		t.Fatalf("typed cycle error: %#v", err)
	}
}

// The diamond:
//
//	   top
//	  /   \
//	left  right
//	  \   /
//	  base
func TestDiamondOrders(t *testing.T) {
	t.Parallel()
	g := build(t, "top:left,right", "left:base", "right:base", "base", "other")
	if got, want := names(g.Topo()), []string{"base", "left", "right", "top", "other"}; !reflect.DeepEqual(got, want) {
		t.Errorf("topo %v, want %v", got, want)
	}
	levels := g.Levels()
	var got [][]string
	for _, l := range levels {
		got = append(got, names(l))
	}
	if want := [][]string{{"base", "other"}, {"left", "right"}, {"top"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("levels %v, want %v", got, want)
	}
	cl, err := g.Closure([]string{"left"})
	if err != nil || !reflect.DeepEqual(names(cl), []string{"base", "left"}) {
		t.Errorf("closure %v %v", names(cl), err)
	}
	if b := g.Blocking(); !reflect.DeepEqual(b, []int{0, 1, 1, 3, 0}) {
		t.Errorf("blocking %v", b)
	}
	if _, err := g.Closure([]string{"lfet"}); err == nil || err.Error() != `unknown task "lfet" (did you mean "left"?)` {
		t.Errorf("unknown target: %v", err)
	}
}

// Weights with costs in brackets:
//
//	a[1] -> b[5] -> d[1]
//	a[1] -> c[2] -> d[1]
//	e[3]
//
// (arrows point from a dependency to its dependent). Weight = own + heaviest dependent.
func TestWeightsAndCriticalPath(t *testing.T) {
	t.Parallel()
	g := build(t, "a", "b:a", "c:a", "d:b,c", "e")
	cost := map[string]float64{"a": 1, "b": 5, "c": 2, "d": 1, "e": 3}
	f := func(t *Task) float64 { return cost[t.Name] }
	w := g.Weights(f)
	if want := []float64{7, 6, 3, 1, 3}; !reflect.DeepEqual(w, want) {
		t.Errorf("weights %v, want %v", w, want)
	}
	all, _ := g.Closure(g.Names())
	if cp := names(g.CriticalPath(all, f)); !reflect.DeepEqual(cp, []string{"a", "b", "d"}) {
		t.Errorf("critical path %v", cp)
	}
	// Restricted to a subset, tasks outside weigh nothing.
	sub, _ := g.Closure([]string{"c", "e"})
	if cp := names(g.CriticalPath(sub, f)); !reflect.DeepEqual(cp, []string{"a", "c"}) {
		t.Errorf("sub critical path %v", cp)
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	cands := []string{"build", "test", "format", "memcheck"}
	for in, want := range map[string]string{"buidl": "build", "tset": "test", "fromat": "format", "lint": "", "x": ""} {
		if got := Suggest(in, cands); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"abc": "abc", "a b": "'a b'", "it's": `'it'\''s'`, "": "''", "src/x.c": "src/x.c"} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}
