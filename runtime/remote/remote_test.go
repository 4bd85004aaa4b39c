package remote

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// diamond is a graph whose outputs are consumed downstream:
//
//	    gen          src/in.txt -> out/a.txt
//	   /   \
//	left   right     out/a.txt -> out/l.txt, out/r.txt
//	   \   /
//	   join          out/l.txt + out/r.txt -> out/j.txt
func diamond() []*graph.Task {
	return []*graph.Task{
		{Name: "gen", Shell: "mkdir -p out && tr a-z A-Z < src/in.txt > out/a.txt && echo gen done",
			Inputs: []string{"src/**"}, Outputs: []string{"out/a.txt"}},
		{Name: "left", Shell: "cat out/a.txt out/a.txt > out/l.txt", Deps: []string{"gen"}, Outputs: []string{"out/l.txt"}},
		{Name: "right", Shell: "sed s/HELLO/BYE/ out/a.txt > out/r.txt", Deps: []string{"gen"}, Outputs: []string{"out/r.txt"}},
		{Name: "join", Shell: "cat out/l.txt out/r.txt > out/j.txt && wc -l < out/j.txt", Deps: []string{"left", "right"},
			Outputs: []string{"out/j.txt"}},
	}
}

func checkDiamond(t *testing.T, c *coord, ctx context.Context) {
	t.Helper()
	c.write("src/in.txt", "hello\n")
	res, rec := c.run(ctx, diamond(), "join")
	want := map[string]string{"gen": "ok", "left": "ok", "right": "ok", "join": "ok"}
	if got := statuses(res); !equal(got, want) {
		t.Fatalf("statuses %v, want %v (notices %q)", got, want, rec.notices)
	}
	if got := c.read("out/j.txt"); got != "HELLO\nHELLO\nBYE\n" {
		t.Fatalf("out/j.txt = %q", got)
	}
	if got := c.read("out/a.txt"); got != "HELLO\n" {
		t.Fatalf("out/a.txt = %q", got)
	}
	if got := rec.output("join"); strings.TrimSpace(got) != "3" {
		t.Fatalf("join's output %q, want 3", got)
	}
	if got := rec.output("gen"); got != "gen done\n" {
		t.Fatalf("gen's output %q", got)
	}
	log, _ := os.ReadFile(filepath.Join(c.state, "logs", "gen.log"))
	if string(log) != "gen done\n" {
		t.Fatalf("gen's log file %q", log)
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDiamondOnTwoWorkers(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	var runs counter
	startWorker(t, s.URL(), "w1", 1, testConfig, runs.run)
	startWorker(t, s.URL(), "w2", 1, testConfig, runs.run)
	c := newCoord(t, s.URL(), Options{RemoteOnly: true})
	c.waitWorkers(2)
	checkDiamond(t, c, context.Background())
	if n := runs.total(); n != 4 {
		t.Fatalf("workers ran %d processes, want 4", n)
	}
}

func TestDiamondOnThreeWorkerProcesses(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for i := 1; i <= 3; i++ {
		startWorkerProc(t, s.URL(), "p"+strconv.Itoa(i), 1, testConfig)
	}
	c := newCoord(t, s.URL(), Options{RemoteOnly: true})
	c.waitWorkers(3)
	checkDiamond(t, c, context.Background())
}

func TestWorkerKilledMidTaskFinishesOnAnother(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	w1 := startWorkerProc(t, s.URL(), "k1", 1, testConfig)
	w2 := startWorkerProc(t, s.URL(), "k2", 1, testConfig)
	c := newCoord(t, s.URL(), Options{RemoteOnly: true})
	c.waitWorkers(2)
	mark := filepath.Join(t.TempDir(), "mark")
	c.env = append(c.env, "MARK="+mark)
	// The first delivery records its worker (the shell's parent) and its
	// own group, then hangs; the second one finishes.
	tasks := []*graph.Task{{Name: "slow", Env: []string{"MARK"}, Outputs: []string{"out.txt"},
		Shell: `echo "$PPID $$" >> "$MARK"; if [ "$(wc -l < "$MARK")" -eq 1 ]; then sleep 600; fi; echo finished > out.txt; echo done`}}
	go func() {
		first := strings.Fields(waitFile(t, mark, 1))
		worker, _ := strconv.Atoi(first[0])
		group, _ := strconv.Atoi(first[1])
		syscall.Kill(worker, syscall.SIGKILL)
		syscall.Kill(-group, syscall.SIGKILL) // what the dead worker left (its sleep)
	}()
	res, rec := c.run(context.Background(), tasks, "slow")
	if got := statuses(res); got["slow"] != "ok" {
		t.Fatalf("slow: %s (notices %q)", got["slow"], rec.notices)
	}
	if r := report(res, "slow"); r.Attempts != 1 {
		t.Fatalf("%d attempts, want 1: a lost worker is not a failed attempt", r.Attempts)
	}
	if got := c.read("out.txt"); got != "finished\n" {
		t.Fatalf("out.txt = %q", got)
	}
	if got := rec.output("slow"); got != "done\n" {
		t.Fatalf("output %q, want the second delivery's alone", got)
	}
	lines := strings.Split(strings.TrimSpace(waitFile(t, mark, 2)), "\n")
	pids := map[string]bool{}
	for _, l := range lines {
		pids[strings.Fields(l)[0]] = true
	}
	want := map[string]bool{strconv.Itoa(w1.cmd.Process.Pid): true, strconv.Itoa(w2.cmd.Process.Pid): true}
	if len(lines) != 2 || len(pids) != 2 || !want[strings.Fields(lines[0])[0]] || !want[strings.Fields(lines[1])[0]] {
		t.Fatalf("the task should have started once on each worker: %q", lines)
	}
	if len(rec.notices) != 1 || !strings.Contains(rec.notices[0], "did not finish the task: delivered again (delivery 2) to worker") {
		t.Fatalf("notices %q", rec.notices)
	}
	recs, err := c.history().TaskRecords("slow", 10)
	if err != nil || len(recs) != 1 || recs[0].Outcome != "ok" {
		t.Fatalf("history: %+v, %v; want one ok record", recs, err)
	}
}

func TestServerRestartMidRun(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	s, err := StartServer(ServerOptions{Port: -1, StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	port := s.Port()
	url := s.URL()
	var current = s
	t.Cleanup(func() { current.Shutdown() })
	startWorker(t, url, "r1", 1, testConfig, nil)
	startWorker(t, url, "r2", 1, testConfig, nil)
	c := newCoord(t, url, Options{RemoteOnly: true})
	c.waitWorkers(2)
	mark := filepath.Join(t.TempDir(), "mark")
	c.env = append(c.env, "MARK="+mark)
	tasks := []*graph.Task{
		{Name: "a", Shell: "echo a > a.txt", Outputs: []string{"a.txt"}},
		{Name: "b", Deps: []string{"a"}, Env: []string{"MARK"}, Outputs: []string{"b.txt"},
			Shell: `echo b >> "$MARK"; sleep 2; cat a.txt > b.txt; echo b >> b.txt`},
		{Name: "c", Deps: []string{"b"}, Shell: "cat b.txt > c.txt; echo c >> c.txt", Outputs: []string{"c.txt"}},
	}
	restarted := make(chan struct{})
	go func() {
		defer close(restarted)
		waitFile(t, mark, 1)
		current.Shutdown()
		ns, err := StartServer(ServerOptions{Port: port, StoreDir: store})
		if err != nil {
			t.Error(err)
			return
		}
		current = ns
	}()
	res, rec := c.run(context.Background(), tasks, "c")
	<-restarted
	want := map[string]string{"a": "ok", "b": "ok", "c": "ok"}
	if got := statuses(res); !equal(got, want) {
		t.Fatalf("statuses %v (notices %q)", got, rec.notices)
	}
	if got := c.read("c.txt"); got != "a\nb\nc\n" {
		t.Fatalf("c.txt = %q", got)
	}
}

func TestSharedCacheHitFromAnotherMachine(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	var runs counter
	startWorker(t, s.URL(), "s1", 2, testConfig, runs.run)
	tasks := []*graph.Task{{Name: "build", Shell: "mkdir -p bin && cp src/main.c bin/app && chmod +x bin/app && echo built",
		Inputs: []string{"src/*.c"}, Outputs: []string{"bin/app"}}}
	first := newCoord(t, s.URL(), Options{RemoteOnly: true})
	first.waitWorkers(1)
	first.write("src/main.c", "int main() {}\n")
	res, rec := first.run(context.Background(), tasks, "build")
	if got := statuses(res); got["build"] != "ok" || rec.output("build") != "built\n" {
		t.Fatalf("first machine: %v, output %q", got, rec.output("build"))
	}
	// Another machine: its own workspace and state, the same sources.
	second := newCoord(t, s.URL(), Options{RemoteOnly: true})
	second.waitWorkers(1)
	second.write("src/main.c", "int main() {}\n")
	res, rec = second.run(context.Background(), tasks, "build")
	if got := statuses(res); got["build"] != "cached" {
		t.Fatalf("second machine: %v (notices %q)", got, rec.notices)
	}
	if got := second.read("bin/app"); got != "int main() {}\n" {
		t.Fatalf("bin/app = %q", got)
	}
	if fi, err := os.Stat(filepath.Join(second.root, "bin/app")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("bin/app mode: %v, %v", fi, err)
	}
	if got := rec.output("build"); got != "built\n" {
		t.Fatalf("replayed output %q", got)
	}
	if len(rec.notices) != 1 || !strings.HasPrefix(rec.notices[0], "build: shared cache hit: replaying the output of a ") {
		t.Fatalf("notices %q", rec.notices)
	}
	if n := runs.total(); n != 1 {
		t.Fatalf("the task ran %d times, want 1", n)
	}
}

func TestInterruptStopsRemoteTasks(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	startWorker(t, s.URL(), "i1", 2, testConfig, nil)
	c := newCoord(t, s.URL(), Options{RemoteOnly: true})
	c.waitWorkers(1)
	dir := t.TempDir()
	c.env = append(c.env, "DIR="+dir)
	tasks := []*graph.Task{
		{Name: "one", Env: []string{"DIR"}, Shell: `echo $$ > "$DIR/one"; exec sleep 600`},
		{Name: "two", Env: []string{"DIR"}, Shell: `echo $$ > "$DIR/two"; exec sleep 600`},
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitFile(t, filepath.Join(dir, "one"), 1)
		waitFile(t, filepath.Join(dir, "two"), 1)
		cancel() // Ctrl-C
	}()
	res, _ := c.run(ctx, tasks, "one", "two")
	want := map[string]string{"one": "interrupted: interrupted", "two": "interrupted: interrupted"}
	if got := statuses(res); !equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	for _, name := range []string{"one", "two"} {
		pid, _ := strconv.Atoi(strings.TrimSpace(waitFile(t, filepath.Join(dir, name), 1)))
		deadline := time.Now().Add(safety)
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("task %s (pid %d) still runs", name, pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestMissingCommandIsAFailureNotARedelivery(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	var runs counter
	startWorker(t, s.URL(), "m1", 1, testConfig, runs.run)
	c := newCoord(t, s.URL(), Options{RemoteOnly: true})
	c.waitWorkers(1)
	tasks := []*graph.Task{{Name: "nope", Argv: []string{"jsrt-no-such-command", "x"}}}
	res, _ := c.run(context.Background(), tasks, "nope")
	want := `failed: command "jsrt-no-such-command" not found (on worker m1)`
	if got := statuses(res)["nope"]; got != want {
		t.Fatalf("nope: %q, want %q", got, want)
	}
	var we *WorkerError
	if r := report(res, "nope"); r.Attempts != 1 || !errors.As(r.Result.Err, &we) || we.Worker != "m1" {
		t.Fatalf("report %+v", r)
	}
	// The worker acks right after the result is stored: the queue empties.
	deadline := time.Now().Add(safety)
	for {
		info, err := c.ex.tasks.Info(context.Background())
		if err == nil && info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task stays queued: %+v, %v", info.State, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cons, err := c.ex.bus.js.Consumer(context.Background(), TasksStream, "pool_"+DefaultPool)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := cons.Info(context.Background()); err != nil || info.NumRedelivered != 0 || info.NumAckPending != 0 {
		t.Fatalf("consumer: %+v, %v; want nothing redelivered or pending", info, err)
	}
	if n := runs.total(); n != 1 {
		t.Fatalf("the worker tried %d times, want 1", n)
	}
}

func TestMaxDeliverExhaustedIsWorkerLost(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cfg := Config{AckWait: time.Second, MaxDeliver: 2, Heartbeat: 250 * time.Millisecond}
	c := newCoord(t, s.URL(), Options{RemoteOnly: true, Config: cfg})
	// A supervisor keeps two worker processes up: the task kills each
	// worker that runs it.
	ctx, stop := context.WithCancel(context.Background())
	var supervisors sync.WaitGroup
	defer supervisors.Wait()
	defer stop()
	for i := 1; i <= 2; i++ {
		supervisors.Add(1)
		go func() {
			defer supervisors.Done()
			for n := 0; ctx.Err() == nil; n++ {
				p := startWorkerProc(t, s.URL(), "x"+strconv.Itoa(i)+"-"+strconv.Itoa(n), 1, cfg)
				select {
				case <-p.done:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	c.waitWorkers(2)
	tasks := []*graph.Task{{Name: "boom", Shell: `kill -9 $PPID`}}
	res, _ := c.run(context.Background(), tasks, "boom")
	want := `failed: worker lost: task "boom" was delivered 2 times and no worker finished it`
	if got := statuses(res)["boom"]; got != want {
		t.Fatalf("boom: %q, want %q", got, want)
	}
	var le *LostError
	if r := report(res, "boom"); !errors.As(r.Result.Err, &le) {
		t.Fatalf("error %v is not a LostError", r.Result.Err)
	}
}

func TestNoWorkerRunsLocally(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := newCoord(t, s.URL(), Options{})
	if n, slots := c.ex.Workers(); n != 0 || slots != 0 {
		t.Fatalf("%d workers, %d slots", n, slots)
	}
	res, rec := c.run(context.Background(), []*graph.Task{{Name: "here", Shell: "echo local > here.txt; echo hi"}}, "here")
	if got := statuses(res)["here"]; got != "ok" || c.read("here.txt") != "local\n" || rec.output("here") != "hi\n" {
		t.Fatalf("here: %s, here.txt %q, output %q", got, c.read("here.txt"), rec.output("here"))
	}
}

func TestFollowerKeepsTheNewestDelivery(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	var notices []string
	f := &follower{out: &out, notice: func(m string) { notices = append(notices, m) }}
	steps := []struct {
		ev   event
		done bool
	}{
		{event{Type: evStarted, Delivery: 1, Worker: "a"}, false},
		{event{Type: evLog, Delivery: 1, Worker: "a", Offset: 0, Data: []byte("one ")}, false},
		{event{Type: evLog, Delivery: 1, Worker: "a", Offset: 0, Data: []byte("one ")}, false}, // a duplicate
		{event{Type: evStarted, Delivery: 2, Worker: "b"}, false},
		{event{Type: evLog, Delivery: 1, Worker: "a", Offset: 4, Data: []byte("late ")}, false},       // older delivery
		{event{Type: evResult, Delivery: 1, Worker: "a", Result: &resultMsg{ExitCode: 3}}, false},     // ignored
		{event{Type: evLog, Delivery: 2, Worker: "b", Offset: 0, Data: []byte("two ")}, false},        // from 0 again
		{event{Type: evLog, Delivery: 2, Worker: "b", Offset: 9, Data: []byte("after a gap")}, false}, // dropped
		{event{Type: evLog, Delivery: 2, Worker: "b", Offset: 2, Data: []byte("o three")}, false},     // overlaps
		{event{Type: evResult, Delivery: 2, Worker: "b", Result: &resultMsg{ExitCode: 0}}, true},
	}
	for i, s := range steps {
		if r := f.apply(s.ev); (r != nil) != s.done {
			t.Fatalf("step %d: result %v, want done=%v", i, r, s.done)
		}
	}
	if got := out.String(); got != "one two three" {
		t.Fatalf("output %q", got)
	}
	if err := f.rest(logRef{Size: 20, Inline: []byte("two three and more!!")}, nil); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "one two three and more!!" {
		t.Fatalf("output after the gap is filled %q", got)
	}
	want := "worker a did not finish the task: delivered again (delivery 2) to worker b"
	if len(notices) != 1 || notices[0] != want {
		t.Fatalf("notices %q", notices)
	}
}
