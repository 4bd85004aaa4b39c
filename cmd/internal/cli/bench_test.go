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
