package core

import (
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// chainSteps is the length of the chain the step benchmarks run.
const chainSteps = 20

// chainCmd is step i of the chain: like the peer benchmark's chain without
// its sleep, so that what is measured is the cost of one step.
func chainCmd(i int) string { return fmt.Sprintf("touch t/t%d/out && echo t%d >> run.log", i, i) }

// BenchmarkChainStep runs a chain of chainSteps tasks (each depending on
// the one before and hashing its output as an input) as a --no-cache run
// does, and reports the time per step: from one task's end through
// recording, the dependent's key and its start. BenchmarkChainFloor runs
// the same commands one after the other with os/exec alone; the difference
// is the coordinator's own cost per step. (go test -bench Chain -trace
// FILE shows where it goes.)
func BenchmarkChainStep(b *testing.B) {
	root, state := b.TempDir(), b.TempDir()
	ws := NewWorkspace(root)
	for i := range chainSteps {
		writeChainSource(b, root, i)
		t := &graph.Task{Name: fmt.Sprintf("t%d", i), Shell: chainCmd(i), Inputs: []string{fmt.Sprintf("t/t%d/src", i)},
			Outputs: []string{fmt.Sprintf("t/t%d/out", i)}}
		if i > 0 {
			t.Deps = []string{fmt.Sprintf("t%d", i-1)}
			t.Inputs = append(t.Inputs, fmt.Sprintf("t/t%d/out", i-1))
		}
		if err := ws.Graph.Add(t); err != nil {
			b.Fatal(err)
		}
	}
	store := kv.NewMem()
	opt := RunOptions{Targets: []string{fmt.Sprintf("t%d", chainSteps-1)}, Jobs: 2, Display: &quiet{},
		Env: []string{"PATH=" + os.Getenv("PATH")}, LogDir: filepath.Join(state, "logs"), History: history.New(store),
		Caching: &Caching{Cache: cache.New(store, filepath.Join(state, "cache"), nil), Index: cache.NewIndex(store, nil), NoCache: true}}
	var spent time.Duration
	for b.Loop() {
		cleanChain(b, root)
		start := time.Now()
		res, err := Run(context.Background(), ws, opt)
		spent += time.Since(start)
		if err != nil || !res.OK() {
			b.Fatal(err, res.Counts())
		}
	}
	b.ReportMetric(float64(spent.Microseconds())/float64(b.N*chainSteps), "µs/step")
}

func BenchmarkChainFloor(b *testing.B) {
	root := b.TempDir()
	for i := range chainSteps {
		writeChainSource(b, root, i)
	}
	var spent time.Duration
	for b.Loop() {
		cleanChain(b, root)
		start := time.Now()
		for i := range chainSteps {
			cmd := osexec.Command("/bin/sh", "-c", chainCmd(i))
			cmd.Dir = root
			if err := cmd.Run(); err != nil {
				b.Fatal(err)
			}
		}
		spent += time.Since(start)
	}
	b.ReportMetric(float64(spent.Microseconds())/float64(b.N*chainSteps), "µs/step")
}

func writeChainSource(b *testing.B, root string, i int) {
	b.Helper()
	dir := filepath.Join(root, "t", fmt.Sprintf("t%d", i))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "src"), []byte(fmt.Sprint(i)), 0o644); err != nil {
		b.Fatal(err)
	}
}

func cleanChain(b *testing.B, root string) {
	b.Helper()
	for i := range chainSteps {
		os.Remove(filepath.Join(root, "t", fmt.Sprintf("t%d", i), "out"))
	}
	os.Remove(filepath.Join(root, "run.log"))
}
