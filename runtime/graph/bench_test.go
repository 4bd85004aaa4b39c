package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// layered builds the benchmark graph: 100 roots, then every task depends on
// up to three random earlier ones (the same family as bench/gen).
func layered(n int) *Graph {
	r := rand.New(rand.NewPCG(1, 1))
	g := New()
	for i := 0; i < n; i++ {
		t := &Task{Name: fmt.Sprintf("t%d", i), Shell: "true"}
		if i >= 100 {
			for k := 0; k < 3; k++ {
				t.Deps = append(t.Deps, fmt.Sprintf("t%d", r.IntN(i)))
			}
		}
		g.Add(t)
	}
	return g
}

func BenchmarkValidate10k(b *testing.B) {
	for b.Loop() {
		g := layered(10000)
		if err := g.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWeights10k(b *testing.B) {
	g := layered(10000)
	if err := g.Validate(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		g.Weights(func(*Task) float64 { return 1 })
	}
}
