package remote

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/exec"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// BenchmarkDispatch measures what JetStream adds per task on loopback,
// pipelined: attempts go through the whole path (queue, worker, started
// and result events, ack) while the worker runs nothing.
func BenchmarkDispatch(b *testing.B) {
	s := startServer(b)
	noop := func(context.Context, exec.Spec) exec.Result { return exec.Result{Start: time.Now()} }
	startWorker(b, s.URL(), "bench", 64, testConfig, noop)
	c := newCoord(b, s.URL(), Options{RemoteOnly: true})
	c.waitWorkers(1)
	task := &graph.Task{Name: "noop", Argv: []string{"true"}}
	b.SetParallelism(parallelism())
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res := c.ex.Run(context.Background(), core.RemoteAttempt{Task: task, Attempt: 1, Root: c.root}, io.Discard)
			if !res.OK() {
				b.Errorf("attempt: %+v", res)
				return
			}
		}
	})
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/task")
}

// BenchmarkSpeedup runs a graph of 16 independent 250ms sleeps on 1, 2
// and 4 worker processes (one slot each) and reports the speedup as a
// fraction of the ideal one (16 × 250ms ÷ workers).
func BenchmarkSpeedup(b *testing.B) {
	const tasks, each = 16, 250 * time.Millisecond
	var graphTasks []*graph.Task
	for i := range tasks {
		graphTasks = append(graphTasks, &graph.Task{Name: "sleep" + strconv.Itoa(i), Argv: []string{"sleep", "0.25"}})
	}
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s := startServer(b)
			for i := range workers {
				startWorkerProc(b, s.URL(), "b"+strconv.Itoa(i), 1, testConfig)
			}
			c := newCoord(b, s.URL(), Options{RemoteOnly: true})
			c.waitWorkers(workers)
			ideal := time.Duration(tasks) * each / time.Duration(workers)
			b.ResetTimer()
			var wall time.Duration
			for range b.N {
				start := time.Now()
				res, _ := c.runJobs(context.Background(), workers, graphTasks)
				wall += time.Since(start)
				if !res.OK() {
					b.Fatalf("run: %v", statuses(res))
				}
			}
			b.ReportMetric(float64(ideal)/float64(wall/time.Duration(b.N)), "x-ideal")
		})
	}
}

func parallelism() int {
	if n, err := strconv.Atoi(os.Getenv("JSRT_BENCH_PAR")); err == nil {
		return n
	}
	return 32
}
