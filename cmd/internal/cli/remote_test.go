package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/remote"
)

// syncBuffer is a bytes.Buffer safe to write from one goroutine and read
// from another.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunThroughAWorker(t *testing.T) {
	t.Parallel()
	srv, err := remote.StartServer(remote.ServerOptions{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	// The worker, as `jsrt-script worker`, stopped by a signal at the end.
	sig := make(chan os.Signal, 1)
	var wout syncBuffer
	wdone := make(chan int, 1)
	go func() {
		wdone <- Main(&Env{Args: []string{"worker", "--nats", srv.URL(), "--slots", "2", "--dir", t.TempDir(), "--id", "cli-w"},
			Stdout: &wout, Stderr: &wout, Environ: []string{"PATH=" + os.Getenv("PATH")}, Cwd: t.TempDir(), Now: time.Now, Signals: sig})
	}()
	waitWorkers(t, srv.URL(), 1)

	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	os.WriteFile(filepath.Join(dir, "src", "in.txt"), []byte("hello\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "s.js"), []byte(`
task("gen", { cmd: "mkdir -p out && tr a-z A-Z < src/in.txt > out/a.txt", inputs: ["src/**"], outputs: ["out/a.txt"] });
task("use", { cmd: "cat out/a.txt out/a.txt > out/b.txt && cat out/b.txt", deps: ["gen"], outputs: ["out/b.txt"] });
`), 0o644)
	var out, errs bytes.Buffer
	code := Main(&Env{Args: []string{"run", "s.js", "use", "--nats", srv.URL(), "--remote-only", "--output", "grouped"},
		Stdout: &out, Stderr: &errs, Environ: []string{"PATH=" + os.Getenv("PATH")}, Cwd: dir, Now: time.Now})
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
	}
	if got := errs.String(); got != "jsrt-script: sending tasks to 1 worker(s) with 2 slot(s) through "+srv.URL()+"\n" {
		t.Fatalf("stderr %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out", "b.txt")); string(b) != "HELLO\nHELLO\n" {
		t.Fatalf("out/b.txt = %q", b)
	}
	if !strings.Contains(out.String(), "── use ──\nHELLO\nHELLO\n") {
		t.Fatalf("the output of use is missing:\n%s", out.String())
	}
	sig <- os.Interrupt
	if code := <-wdone; code != ExitOK {
		t.Fatalf("worker exit %d:\n%s", code, wout.String())
	}
	for _, line := range []string{"[worker] gen: started (attempt 1, delivery 1)\n", "[worker] use: ok in ", "[worker] cli-w: stopped\n"} {
		if !strings.Contains(wout.String(), line) {
			t.Fatalf("worker output lacks %q:\n%s", line, wout.String())
		}
	}
}

func waitWorkers(t *testing.T, url string, n int) {
	t.Helper()
	ex, err := remote.Dial(context.Background(), url, remote.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if got, _ := ex.Workers(); got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no worker came up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRemoteUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "s.js", "--remote-only"}, "jsrt-script: run: --remote-only needs --nats URL\n"},
		{[]string{"worker"}, "jsrt-script: worker: which server? usage: jsrt-script worker --nats URL (or set NATS_URL)\n"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:1", "--slots", "0"}, "jsrt-script: worker: --slots must be at least 1, got 0\n"},
		{[]string{"worker", "--nats", "nats://127.0.0.1:1", "extra"}, "jsrt-script: worker: unexpected argument \"extra\"; usage: jsrt-script worker --nats URL\n"},
		{[]string{"nats-server", "--port", "0"}, "jsrt-script: nats-server: --port must be between 1 and 65535, got 0\n"},
	}
	for _, c := range cases {
		var out, errs bytes.Buffer
		code := Main(&Env{Args: c.args, Stdout: &out, Stderr: &errs, Cwd: dir, Now: time.Now})
		if code != ExitUsage || errs.String() != c.want {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q", c.args, code, errs.String(), c.want)
		}
	}
}
