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

// GlobStat matches exactly what Glob does; a pattern without wildcards
// also gives the file's stat, following links.
func TestGlobStatAgreesWithGlob(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, f := range []string{"a.go", "x/b.go", "x/y/c.go"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.go", filepath.Join(root, "link.go")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("x", filepath.Join(root, "dirlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("gone", filepath.Join(root, "dangling")); err != nil {
		t.Fatal(err)
	}
	for _, pattern := range []string{"a.go", "x/b.go", "x", "x/", "missing", "link.go", "dirlink", "dirlink/b.go",
		"dangling", "./a.go", "x//b.go", ".", "**/*.go", "x/{b.go,y}", "x/y/c.go"} {
		want, err := Glob(root, pattern)
		if err != nil {
			t.Fatal(err)
		}
		got, err := GlobStat(root, pattern)
		if err != nil {
			t.Fatalf("GlobStat(%q): %v", pattern, err)
		}
		var paths []string
		for _, m := range got {
			paths = append(paths, m.Path)
			if m.Info != nil && m.Info.Size() != int64(len(m.Path)) && m.Path != "link.go" && m.Path != "dirlink/b.go" {
				t.Errorf("GlobStat(%q): %s has the stat of another file", pattern, m.Path)
			}
		}
		if !reflect.DeepEqual(paths, want) {
			t.Errorf("GlobStat(%q) = %q; Glob gives %q", pattern, paths, want)
		}
	}
	got, _ := GlobStat(root, "link.go")
	if len(got) != 1 || got[0].Info == nil || got[0].Info.Size() != int64(len("a.go")) || !got[0].Info.Mode().IsRegular() {
		t.Fatalf("a literal link: %+v; want the stat of what it points to", got)
	}
}
