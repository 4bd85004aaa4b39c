package bindings

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoad10000 loads a strategy of 10 000 task() calls, each with
// deps, inputs and outputs, the way bench/peers writes them: the part of a
// no-op run spent before the scheduler starts.
func BenchmarkLoad10000(b *testing.B) {
	dir := b.TempDir()
	var sb strings.Builder
	sb.WriteString("const { task } = require(\"jsrt\");\n")
	for i := 0; i < 10000; i++ {
		deps := "[]"
		if i >= 100 {
			deps = fmt.Sprintf("[\"t%d\"]", i-100)
		}
		fmt.Fprintf(&sb, "task(\"t%d\", { cmd: \"touch t/t%d/out\", deps: %s, inputs: [\"t/t%d/src\"], outputs: [\"t/t%d/out\"] });\n", i, i, deps, i, i)
	}
	file := filepath.Join(dir, "strategy.js")
	if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		e := New(Config{Cwd: dir, Stdout: io.Discard, Stderr: io.Discard})
		if err := e.Load(context.Background(), file); err != nil {
			b.Fatal(err)
		}
	}
}
