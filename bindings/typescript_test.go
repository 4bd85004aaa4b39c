package bindings

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestVLQ(t *testing.T) {
	t.Parallel()
	for _, v := range []int{0, 1, -1, 15, 16, -16, 31, 32, 1000, -123456} {
		got, rest, ok := decodeVLQ(encodeVLQ(v) + "AAA")
		if !ok || got != v || rest != "AAA" {
			t.Errorf("%d: got %d %q %v", v, got, rest, ok)
		}
	}
	if _, _, ok := decodeVLQ("g"); ok {
		t.Error("an unfinished number decoded")
	}
}

// TypeScript errors point at the .ts file: syntax errors from the
// compiler, exceptions through the source map (line 1 included, where the
// module wrapper sits).
func TestTypeScriptPositions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"line1.ts", `throw new Error("first line");`, "line1.ts:1:7: Error: first line"},
		{"typed.ts", "const n: number = 2;\n\nfunction f(x: number): void {\n  if (x > 1) throw new TypeError(`x is ${x}`);\n}\nf(n);\n",
			"typed.ts:4:20: TypeError: x is 2"},
		{"syntax.ts", "let a: string = 'x';\nlet b = (a as string;\n", "syntax.ts:2:21: syntax error: Expected \")\" but found \";\""},
		{"import.ts", "import { nothing } from './absent';\nconsole.log(nothing);\n", "import.ts:1:25: syntax error: cannot find module \"./absent\""},
		{"empty.ts", "type T = number;\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.name), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			e := New(Config{Cwd: dir, Stdout: &out, Stderr: &out, Run: (&fakeRuns{}).run})
			err := e.Load(context.Background(), tc.name)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}
