package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/store"
)

// The state next to a strategy is opened while it loads; a strategy whose
// root() is elsewhere uses the state there, and the one opened ahead is
// never opened: its files stay as they were.
func TestPrefetchOfAnotherRoot(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(sub, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("here.js", `task("a", { cmd: "true" });`)
	write("up.js", `root(".."); task("b", { cmd: "true" });`)
	run := func(file string) string {
		var out bytes.Buffer
		env := &Env{Args: []string{"run", file, "-j", "1", "--output", "quiet"}, Stdout: &out, Stderr: &out,
			Environ: os.Environ(), Cwd: sub, Now: time.Now}
		if code := Main(env); code != 0 {
			t.Fatalf("run %s: exit %d\n%s", file, code, out.String())
		}
		return out.String()
	}
	run("here.js") // sub/.jsrt now exists
	before := snapshot(t, filepath.Join(sub, ".jsrt", "db"))
	if out := run("up.js"); !bytes.Contains([]byte(out), []byte("1 ok")) {
		t.Errorf("run up.js printed:\n%s", out)
	}
	if after := snapshot(t, filepath.Join(sub, ".jsrt", "db")); after != before {
		t.Errorf("the state next to up.js, which sets another root, changed:\n%s\nthen\n%s", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, ".jsrt", "db")); err != nil {
		t.Errorf("the state of root(\"..\") was not used: %v", err)
	}
	for _, d := range []string{filepath.Join(sub, ".jsrt"), filepath.Join(dir, ".jsrt")} {
		db, err := store.Open(context.Background(), d, store.Options{NoWait: true})
		if err != nil {
			t.Fatalf("%s was left open: %v", d, err)
		}
		db.Close()
	}
}

// snapshot lists the files of dir with their sizes and modification times.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %d\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}
