package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkRun1000True is the whole run command on 1000 independent tasks
// of `true` at -j2, in process: profile it with -cpuprofile to see where the
// per-task overhead goes.
func BenchmarkRun1000True(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, "task(\"t%d\", { cmd: \"true\" });\n", i)
	}
	os.WriteFile(filepath.Join(dir, "s.js"), []byte(sb.String()), 0o644)
	for b.Loop() {
		code := Main(&Env{Args: []string{"run", "s.js", "-j", "2", "--output", "quiet"}, Stdout: io.Discard, Stderr: io.Discard,
			Environ: os.Environ(), Cwd: dir, Now: time.Now})
		if code != 0 {
			b.Fatal(code)
		}
	}
}

// BenchmarkRun1000Cached is the no-op case: 1000 tasks, each with an input
// file of its own, every one a cache hit.
func BenchmarkRun1000Cached(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	for i := 0; i < 1000; i++ {
		os.WriteFile(filepath.Join(dir, "src", fmt.Sprintf("t%d.txt", i)), []byte(fmt.Sprint(i)), 0o644)
		fmt.Fprintf(&sb, "task(\"t%d\", { cmd: \"true\", inputs: [\"src/t%d.txt\"] });\n", i, i)
	}
	os.WriteFile(filepath.Join(dir, "s.js"), []byte(sb.String()), 0o644)
	env := &Env{Args: []string{"run", "s.js", "-j", "2", "--output", "quiet"}, Stdout: io.Discard, Stderr: io.Discard,
		Environ: os.Environ(), Cwd: dir, Now: time.Now}
	if Main(env) != 0 {
		b.Fatal("first run failed")
	}
	time.Sleep(2100 * time.Millisecond) // past the racy window: the index is trusted
	for b.Loop() {
		if code := Main(env); code != 0 {
			b.Fatal(code)
		}
	}
}
