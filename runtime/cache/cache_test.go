package cache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

func write(t *testing.T, root, rel, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func strp(s string) *string { return &s }

func TestKeyCoversEveryField(t *testing.T) {
	t.Parallel()
	base := Spec{Task: "build", Command: []string{"sh", "make"}, Cwd: "", Env: map[string]*string{"CC": strp("gcc")},
		Inputs:  []FileState{{Path: "a.c", Digest: "1"}, {Path: "b.c", Digest: "2"}},
		Outputs: []string{"bin/app"}, Deps: map[string]Digest{"gen": "k1"}}
	k0, _ := Key(base)
	variants := map[string]func(s *Spec){
		"name":       func(s *Spec) { s.Task = "build2" },
		"command":    func(s *Spec) { s.Command = []string{"sh", "make all"} },
		"shell/argv": func(s *Spec) { s.Command = []string{"argv", "make"} },
		"cwd":        func(s *Spec) { s.Cwd = "sub" },
		"env value":  func(s *Spec) { s.Env = map[string]*string{"CC": strp("clang")} },
		"env empty":  func(s *Spec) { s.Env = map[string]*string{"CC": strp("")} },
		"env unset":  func(s *Spec) { s.Env = map[string]*string{"CC": nil} },
		"input":      func(s *Spec) { s.Inputs = []FileState{{Path: "a.c", Digest: "1"}, {Path: "b.c", Digest: "3"}} },
		"input name": func(s *Spec) { s.Inputs = []FileState{{Path: "a.c", Digest: "1"}, {Path: "c.c", Digest: "2"}} },
		"exec bit": func(s *Spec) {
			s.Inputs = []FileState{{Path: "a.c", Digest: "1", Exec: true}, {Path: "b.c", Digest: "2"}}
		},
		"outputs":     func(s *Spec) { s.Outputs = []string{"bin/app2"} },
		"dep key":     func(s *Spec) { s.Deps = map[string]Digest{"gen": "k2"} },
		"extra":       func(s *Spec) { s.Extra = "v2" },
		"field split": func(s *Spec) { s.Command = []string{"sh", "ma", "ke"} },
	}
	seen := map[Digest]string{k0: "base"}
	for name, change := range variants {
		s := base
		change(&s)
		k, _ := Key(s)
		if other, dup := seen[k]; dup {
			t.Errorf("%s gives the same key as %s", name, other)
		}
		seen[k] = name
	}
	// Order of inputs and map iteration never matter.
	s := base
	s.Inputs = []FileState{base.Inputs[1], base.Inputs[0]}
	if k, _ := Key(s); k != k0 {
		t.Errorf("input order changed the key")
	}
}

// keySpec is a spec with maps, whose iteration order differs between
// processes: the key must not.
func keySpec() Spec {
	env := map[string]*string{}
	deps := map[string]Digest{}
	for i := 0; i < 20; i++ {
		v := strings.Repeat("v", i)
		env[fmt.Sprintf("VAR%d", i)] = &v
		deps[fmt.Sprintf("dep%d", i)] = Digest(fmt.Sprint(i))
	}
	env["UNSET"] = nil
	return Spec{Task: "t", Command: []string{"argv", "a", "b"}, Env: env, Deps: deps,
		Inputs: []FileState{{Path: "z", Digest: "1"}, {Path: "a", Digest: "2", Exec: true}}}
}

func TestKeyIsTheSameInAnotherProcess(t *testing.T) {
	if os.Getenv("JSRT_KEY_CHILD") == "1" {
		k, _ := Key(keySpec())
		fmt.Print(k)
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyIsTheSameInAnotherProcess$")
	cmd.Env = append(os.Environ(), "JSRT_KEY_CHILD=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	k, _ := Key(keySpec())
	if got := strings.SplitN(string(out), "\n", 2)[0]; !strings.HasPrefix(got, string(k)) {
		t.Fatalf("child process computed %q, this one %q", got, k)
	}
}

func TestIndexReusesAndRehashes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write(t, root, "a.txt", "one", 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(root, "a.txt"), old, old)
	store := kv.NewMem()
	ix := NewIndex(store, nil)
	s1, err := ix.State(root, "a.txt")
	if err != nil || ix.Hashed != 1 {
		t.Fatalf("first: %v hashed=%d", err, ix.Hashed)
	}
	if err := ix.Flush(); err != nil {
		t.Fatal(err)
	}
	ix2 := NewIndex(store, nil)
	s2, _ := ix2.State(root, "a.txt")
	if ix2.Hashed != 0 || ix2.Reused != 1 || s2.Digest != s1.Digest {
		t.Fatalf("unchanged file re-read: hashed=%d reused=%d", ix2.Hashed, ix2.Reused)
	}
	// Same size, same mtime, new content: the inode/ctime change gives it
	// away; and a file modified within the racy window is always re-hashed.
	write(t, root, "a.txt", "two", 0o644)
	os.Chtimes(filepath.Join(root, "a.txt"), old, old)
	s3, _ := ix2.State(root, "a.txt")
	if s3.Digest == s1.Digest {
		t.Fatal("new content with the same size and mtime kept the old digest")
	}
	write(t, root, "b.txt", "new", 0o644)
	ix3 := NewIndex(store, nil)
	ix3.State(root, "b.txt")
	ix3.Flush()
	ix3.State(root, "b.txt")
	if ix3.Hashed != 2 {
		t.Fatalf("a file modified within %s must be re-hashed every time, hashed=%d", Racy, ix3.Hashed)
	}
}

func newCache(t *testing.T) (*Cache, string) {
	t.Helper()
	return New(kv.NewMem(), t.TempDir(), nil), t.TempDir()
}

func save(t *testing.T, c *Cache, root, task string, key Digest, outputs ...string) {
	t.Helper()
	err := c.Save(SaveRequest{Task: task, Key: key, Root: root, Log: strings.NewReader("log of " + task + "\n"), Outputs: outputs})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSaveRestoreModesAndLinks(t *testing.T) {
	t.Parallel()
	c, root := newCache(t)
	write(t, root, "bin/app", "binary", 0o6755) // setuid and setgid: never restored
	write(t, root, "bin/data", "data", 0o640)
	if err := os.Symlink("app", filepath.Join(root, "bin/current")); err != nil {
		t.Fatal(err)
	}
	save(t, c, root, "build", "k1", "bin")
	os.RemoveAll(filepath.Join(root, "bin"))
	e, err := c.Lookup("build", "k1")
	if err != nil || e == nil {
		t.Fatalf("lookup: %v %v", e, err)
	}
	var log bytes.Buffer
	if err := c.Restore(root, e, &log); err != nil {
		t.Fatal(err)
	}
	if log.String() != "log of build\n" {
		t.Errorf("log %q", log.String())
	}
	for rel, want := range map[string]os.FileMode{"bin/app": 0o755, "bin/data": 0o640} {
		fi, err := os.Lstat(filepath.Join(root, rel))
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v (%v)", rel, fi.Mode(), want, err)
		}
	}
	if target, err := os.Readlink(filepath.Join(root, "bin/current")); err != nil || target != "app" {
		t.Errorf("symlink restored as %q, %v", target, err)
	}
}

func TestRestoreNeverWritesThroughLinks(t *testing.T) {
	t.Parallel()
	c, root := newCache(t)
	outside := t.TempDir()
	write(t, root, "out/f", "cached", 0o644)
	save(t, c, root, "t", "k", "out/f")
	// The output is now a link to a file outside: restoring replaces the
	// link, the outside file is untouched.
	write(t, outside, "victim", "keep me", 0o644)
	os.Remove(filepath.Join(root, "out/f"))
	os.Symlink(filepath.Join(outside, "victim"), filepath.Join(root, "out/f"))
	e, _ := c.Lookup("t", "k")
	if err := c.Restore(root, e, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "keep me" {
		t.Fatalf("wrote through a link: %q", b)
	}
	// A parent directory that is a link leading outside is refused.
	os.RemoveAll(filepath.Join(root, "out"))
	os.Symlink(outside, filepath.Join(root, "out"))
	err := c.Restore(root, e, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `output "out/f" would be written outside the workspace through a link`) {
		t.Fatalf("restore through a linked directory: %v", err)
	}
}

func TestMissingOrCorruptBlobIsAMiss(t *testing.T) {
	t.Parallel()
	for _, damage := range []string{"delete", "corrupt"} {
		c, root := newCache(t)
		write(t, root, "o", "output", 0o644)
		save(t, c, root, "t", "k", "o")
		e, _ := c.Lookup("t", "k")
		blob := c.blobs.path(e.Outputs[0].Digest)
		if damage == "delete" {
			os.Remove(blob)
		} else {
			os.WriteFile(blob, []byte("tampered"), 0o644)
		}
		os.Remove(filepath.Join(root, "o"))
		err := c.Restore(root, e, &bytes.Buffer{})
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: restore error %v, want ErrCorrupt", damage, err)
		}
		if again, _ := c.Lookup("t", "k"); again != nil {
			t.Fatalf("%s: the broken entry is still there", damage)
		}
		if _, err := os.Stat(filepath.Join(root, "o")); !os.IsNotExist(err) {
			t.Fatalf("%s: a partial output was left behind", damage)
		}
		// Stored again, the blob is whole again (a tampered one is gone).
		write(t, root, "o", "output", 0o644)
		save(t, c, root, "t", "k", "o")
		e, _ = c.Lookup("t", "k")
		os.Remove(filepath.Join(root, "o"))
		if err := c.Restore(root, e, &bytes.Buffer{}); err != nil {
			t.Fatalf("%s: restore after storing again: %v", damage, err)
		}
	}
}

// A tampered log blob is found before any of it is replayed.
func TestCorruptLogIsNotReplayed(t *testing.T) {
	t.Parallel()
	c, root := newCache(t)
	if err := c.Save(SaveRequest{Task: "t", Key: "k", Root: root, Log: strings.NewReader("the real log\n")}); err != nil {
		t.Fatal(err)
	}
	e, _ := c.Lookup("t", "k")
	os.WriteFile(c.blobs.path(e.Log), []byte("garbage\n"), 0o644)
	var replayed bytes.Buffer
	if err := c.Restore(root, e, &replayed); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("restore error %v, want ErrCorrupt", err)
	}
	if replayed.Len() != 0 {
		t.Fatalf("replayed %q from a corrupt log", replayed.String())
	}
}

func TestMissingOutputsAreAnError(t *testing.T) {
	t.Parallel()
	c, root := newCache(t)
	err := c.Save(SaveRequest{Task: "t", Key: "k", Root: root, Log: strings.NewReader(""), Outputs: []string{"bin/app", "dist/**/*.js"}})
	if err == nil || err.Error() != `declared outputs missing after a successful run: "bin/app", "dist/**/*.js"` {
		t.Fatalf("got %v", err)
	}
	if e, _ := c.Lookup("t", "k"); e != nil {
		t.Fatal("stored despite missing outputs")
	}
}

func TestCheckPattern(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]string{
		"bin/app": "", "dist/**": "", "../x": `path "../x" is outside the workspace`,
		"/etc/passwd": `path "/etc/passwd" is outside the workspace`, "a/../../b": `path "a/../../b" is outside the workspace`,
	} {
		err := CheckPattern(p)
		if (err == nil && want != "") || (err != nil && err.Error() != want) {
			t.Errorf("CheckPattern(%q) = %v, want %q", p, err, want)
		}
	}
}

func TestInvalidateFollowsDependentsAndGCEvictsLRU(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	c := New(kv.NewMem(), t.TempDir(), func() time.Time { return now })
	root := t.TempDir()
	for i, task := range []string{"gen", "build", "test", "lint"} {
		write(t, root, task+".out", strings.Repeat(task, 25), 0o644)
		deps := map[string][]string{"build": {"gen"}, "test": {"build"}}[task]
		err := c.Save(SaveRequest{Task: task, Key: Digest("k" + task), Root: root, Log: strings.NewReader("log " + task),
			Outputs: []string{task + ".out"}, Deps: deps})
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Duration(i+1) * time.Minute)
	}
	gone, err := c.Invalidate("gen")
	if err != nil || !reflect.DeepEqual(gone, []string{"build", "gen", "test"}) {
		t.Fatalf("invalidate: %v %v", gone, err)
	}
	if e, _ := c.Lookup("lint", "klint"); e == nil {
		t.Fatal("an unrelated entry was dropped")
	}
	st, _ := c.Stats()
	if st.Entries != 1 {
		t.Fatalf("entries after invalidate: %d", st.Entries)
	}
	res, err := c.GC(0)
	if err != nil || res.Blobs == 0 {
		t.Fatalf("gc did not sweep the dropped entries' blobs: %+v %v", res, err)
	}
	res, err = c.GC(10) // smaller than the one entry left
	if err != nil || res.Evicted != 1 {
		t.Fatalf("gc under a size bound: %+v %v", res, err)
	}
}

// A hit refreshes an entry's last use (written by Flush), so LRU eviction
// keeps what was used last, not what was stored last.
func TestLRUFollowsHits(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	c := New(kv.NewMem(), t.TempDir(), func() time.Time { return now })
	root := t.TempDir()
	for _, task := range []string{"old", "new"} {
		write(t, root, task+".out", strings.Repeat(task, 40), 0o644)
		if err := c.Save(SaveRequest{Task: task, Key: "k", Root: root, Log: strings.NewReader(task), Outputs: []string{task + ".out"}}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(2 * usedGrain) // a last use is rewritten once it is usedGrain old
	}
	e, _ := c.Lookup("old", "k")
	if err := c.Restore(root, e, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	res, err := c.GC(e.Size) // room for one entry
	if err != nil || res.Evicted != 1 {
		t.Fatalf("gc: %+v %v", res, err)
	}
	if kept, _ := c.Lookup("old", "k"); kept == nil {
		t.Fatal("the entry used last was evicted")
	}
	if gone, _ := c.Lookup("new", "k"); gone != nil {
		t.Fatal("the entry stored last but not used survived")
	}
}

// MayHit is false only for a task Preload found no entry of and that has
// saved none since; before a Preload every task may hit.
func TestMayHit(t *testing.T) {
	t.Parallel()
	c, root := newCache(t)
	save(t, c, root, "a", "k1")
	if !c.MayHit("b") {
		t.Error("MayHit before Preload: want true for any task")
	}
	if err := c.Preload(); err != nil {
		t.Fatal(err)
	}
	if !c.MayHit("a") || c.MayHit("b") || c.MayHit("a\x00") {
		t.Errorf("after Preload: a %v, b %v, want true, false", c.MayHit("a"), c.MayHit("b"))
	}
	save(t, c, root, "b", "k2")
	if !c.MayHit("b") {
		t.Error("b saved an entry: want MayHit true")
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if !c.MayHit("c") {
		t.Error("after Flush (preload forgotten): want true")
	}
}
