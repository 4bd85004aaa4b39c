package files

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestGlob(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, f := range []string{"a.go", "x/b.go", "x/y/c.go", "x/y/c_test.go", ".hidden/d.go", "with space/e.go", "x/readme.md"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		pattern string
		want    []string
	}{
		{"**/*.go", []string{".hidden/d.go", "a.go", "with space/e.go", "x/b.go", "x/y/c.go", "x/y/c_test.go"}},
		{"x/**/*_test.go", []string{"x/y/c_test.go"}},
		{"*.go", []string{"a.go"}},
		{"x/{b.go,readme.md}", []string{"x/b.go", "x/readme.md"}},
		{"nothing/**", nil},
	}
	for _, c := range cases {
		got, err := Glob(root, c.pattern)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Glob(%q) = %q, %v; want %q", c.pattern, got, err, c.want)
		}
	}
	if _, err := Glob(root, "x/[a"); err == nil || err.Error() != `invalid glob pattern "x/[a"` {
		t.Errorf("bad pattern: %v", err)
	}
}
