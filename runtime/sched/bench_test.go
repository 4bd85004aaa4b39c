package sched

import (
	"context"
	"fmt"
	"testing"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

type instantRunner struct{}

func (instantRunner) Run(context.Context, *graph.Task, int) Result { return Result{} }

// BenchmarkLoop1000 measures the scheduler's own cost per run of 1000
// independent tasks whose attempts finish at once.
func BenchmarkLoop1000(b *testing.B) {
	g := graph.New()
	for i := 0; i < 1000; i++ {
		g.Add(&graph.Task{Name: fmt.Sprintf("t%d", i), Shell: "true"})
	}
	if err := g.Validate(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := Run(context.Background(), g, g.Names(), Options{Jobs: 2, Runner: instantRunner{}})
		if err != nil || !rep.OK() {
			b.Fatal(err)
		}
	}
}
