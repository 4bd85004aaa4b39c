package core

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

func TestAheadTargetsFromHistory(t *testing.T) {
	t.Parallel()
	g := graph.New()
	for _, tk := range []*graph.Task{
		{Name: "build", Inputs: []string{"src/**"}}, {Name: "test", Inputs: []string{"src/**"}, Deps: []string{"build"}},
		{Name: "lint", Inputs: []string{"src/**"}}, {Name: "docs", Inputs: []string{"doc/**"}},
		{Name: "deploy"}, // no inputs: never run ahead (it could not be cached)
	} {
		g.Add(tk)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	h := history.New(kv.NewMem())
	start := time.Unix(1_700_000_000, 0)
	// build is followed by "test lint deploy" 4 times out of 5, by docs once.
	seq := [][]string{{"build"}, {"test", "lint", "deploy"}, {"build"}, {"test", "lint", "deploy"}, {"build"}, {"docs"},
		{"build"}, {"lint", "test", "deploy"}, {"build"}, {"test", "lint", "deploy"}}
	for i, targets := range seq {
		if err := h.RecordRun(history.RunRecord{ID: fmt.Sprintf("r%02d", i), Start: start.Add(time.Duration(i) * time.Minute), Targets: targets}); err != nil {
			t.Fatal(err)
		}
	}
	wanted, _ := g.Closure([]string{"build"})
	got, err := aheadTargets(h, g, []string{"build"}, wanted)
	if err != nil || !reflect.DeepEqual(got, []string{"lint", "test"}) {
		t.Fatalf("ahead %v, %v; want lint and test (80%% of the runs after build)", got, err)
	}
	// Fewer than AheadMinRuns earlier runs with the same targets: nothing.
	if got, _ := aheadTargets(h, g, []string{"docs"}, nil); got != nil {
		t.Fatalf("ahead after docs: %v", got)
	}
}

// failingScans is a store whose scans fail: reading history through it is
// an error.
type failingScans struct{ kv.Store }

func (failingScans) Scan([]byte, bool, func(key, val []byte) (bool, error)) error {
	return errors.New("history was read")
}

func TestAheadTargetsSkipsHistoryWhenEverythingIsWanted(t *testing.T) {
	t.Parallel()
	g := graph.New()
	g.Add(&graph.Task{Name: "build", Inputs: []string{"src/**"}})
	g.Add(&graph.Task{Name: "deploy"}) // not wanted, but never run ahead
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	h := history.New(failingScans{kv.NewMem()})
	wanted, _ := g.Closure([]string{"build"})
	if got, err := aheadTargets(h, g, []string{"build"}, wanted); err != nil || got != nil {
		t.Fatalf("ahead %v, %v; want nothing, without reading history", got, err)
	}
	g.Add(&graph.Task{Name: "lint", Inputs: []string{"src/**"}})
	if _, err := aheadTargets(h, g, []string{"build"}, wanted); err == nil {
		t.Fatal("lint could run ahead, yet history was not read")
	}
}
