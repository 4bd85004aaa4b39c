package cache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// countingStore records the keys written (set or deleted) through it.
type countingStore struct {
	kv.Store
	mu      sync.Mutex
	written []string
}

func (s *countingStore) Write(fn func(kv.Txn) error) error {
	return s.Store.Write(func(t kv.Txn) error { return fn(countingTxn{t, s}) })
}

// take returns the keys written since the last take, sorted.
func (s *countingStore) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.written
	s.written = nil
	sort.Strings(w)
	return w
}

type countingTxn struct {
	kv.Txn
	s *countingStore
}

func (t countingTxn) note(key []byte) {
	t.s.mu.Lock()
	t.s.written = append(t.s.written, string(key))
	t.s.mu.Unlock()
}

func (t countingTxn) Set(key, val []byte) error { t.note(key); return t.Txn.Set(key, val) }
func (t countingTxn) Delete(key []byte) error   { t.note(key); return t.Txn.Delete(key) }

// clock is a settable now for a cache and its index.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// noopRun is what a run of hits does with the cache: preload, look up,
// restore and record each task, flush.
func noopRun(t *testing.T, c *Cache, ix *Index, root string, tasks []string) {
	t.Helper()
	if err := ix.Preload(root); err != nil {
		t.Fatal(err)
	}
	if err := c.Preload(); err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		e, err := c.Lookup(task, "k-"+Digest(task))
		if err != nil || e == nil {
			t.Fatalf("%s: not a hit: %v", task, err)
		}
		if err := c.Restore(root, e, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		c.RecordSuccess(task, e.Key, Manifest{Inputs: map[string]string{task + ".src": "-:1"}})
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := ix.Flush(); err != nil {
		t.Fatal(err)
	}
}

// A run of hits writes one counter value and nothing per task: last uses
// less than usedGrain old, last successes with the same key and outputs
// whose stat is unchanged are not rewritten.
func TestSecondFlushOfHitsWritesNoPerTaskKeys(t *testing.T) {
	t.Parallel()
	store := &countingStore{Store: kv.NewMem()}
	clk := &clock{t: time.Now()}
	c := New(store, t.TempDir(), clk.now)
	ix := NewIndex(store, clk.now)
	c.UseIndex(ix)
	root := t.TempDir()
	var tasks []string
	for i := range 30 {
		task := fmt.Sprintf("t%d", i)
		tasks = append(tasks, task)
		write(t, root, task+".out", "output of "+task, 0o644)
		err := c.Save(SaveRequest{Task: task, Key: "k-" + Digest(task), Root: root, Log: strings.NewReader(""), Outputs: []string{task + ".out"}})
		if err != nil {
			t.Fatal(err)
		}
		c.RecordSuccess(task, "k-"+Digest(task), Manifest{Inputs: map[string]string{task + ".src": "-:1"}})
	}
	c.Flush()
	ix.Flush()
	store.take()
	clk.add(Racy + time.Second) // the outputs are no longer racy

	noopRun(t, c, ix, root, tasks)
	if w := store.take(); !reflect.DeepEqual(w, []string{"c1/stats"}) {
		t.Fatalf("a run of hits wrote %d keys: %q", len(w), w)
	}
	if ix.Hashed != 0 || ix.Reused != len(tasks) {
		t.Fatalf("outputs in place were read: hashed=%d reused=%d", ix.Hashed, ix.Reused)
	}
	noopRun(t, c, ix, root, tasks)
	if w := store.take(); !reflect.DeepEqual(w, []string{"c1/stats"}) {
		t.Fatalf("the second run of hits wrote %d keys: %q", len(w), w)
	}

	// An hour on, each hit refreshes its entry's last use, once.
	clk.add(usedGrain)
	noopRun(t, c, ix, root, tasks)
	w := store.take()
	if len(w) != len(tasks)+1 || w[0] != "c1/stats" || !strings.HasPrefix(w[1], "c1/u/") {
		t.Fatalf("stale last uses not rewritten: %q", w)
	}
	noopRun(t, c, ix, root, tasks)
	if w := store.take(); len(w) != 1 {
		t.Fatalf("fresh last uses rewritten: %q", w)
	}

	// A new key for a task is a new last success.
	c.Preload()
	c.RecordSuccess("t3", "other", Manifest{})
	c.Flush()
	if w := store.take(); !reflect.DeepEqual(w, []string{"c1/last/t3", "c1/lk/t3"}) {
		t.Fatalf("a changed last success: wrote %q", w)
	}
	if l, ok, _ := c.LastSuccess("t3"); !ok || l.Key != "other" {
		t.Fatalf("last success: %+v %v", l, ok)
	}
	st, err := c.Stats()
	if err != nil || st.Hits != 4*int64(len(tasks)) || st.Tasks["t0"].Hits != 4 || st.Entries != len(tasks) {
		t.Fatalf("stats: %+v %v", st, err)
	}
}

// A store written before statsKey: its per-task counters are read by
// Stats as they are, and merged into statsKey (then deleted) by the first
// Flush, across several transactions, counting nothing twice.
func TestLegacyCountersMigrate(t *testing.T) {
	t.Parallel()
	store := kv.NewMem()
	const legacy = 2*flushBatch + 10
	store.Write(func(t kv.Txn) error {
		for i := range legacy {
			b, _ := json.Marshal(counts{Hits: int64(i), Misses: 1})
			t.Set([]byte(fmt.Sprintf("c1/s/t%d", i)), b)
		}
		return nil
	})
	c := New(store, t.TempDir(), nil)
	before, err := c.Stats()
	if err != nil || len(before.Tasks) != legacy || before.Tasks["t7"].Hits != 7 || before.Misses != legacy {
		t.Fatalf("legacy stats: %v %v", before.Tasks["t7"], err)
	}
	c.Lookup("t7", "k")  // a miss
	c.Lookup("new", "k") // a miss of a task with no counters yet
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	left := 0
	store.Scan([]byte("c1/s/"), false, func(k, v []byte) (bool, error) { left++; return true, nil })
	if left != 0 {
		t.Fatalf("%d legacy counters left", left)
	}
	after, err := c.Stats()
	if err != nil || len(after.Tasks) != legacy+1 || after.Hits != before.Hits || after.Misses != before.Misses+2 ||
		after.Tasks["t7"].Misses != 2 || after.Tasks["t7"].Hits != 7 || after.Tasks["new"].Misses != 1 {
		t.Fatalf("after migration: %+v %+v %v", after.TaskStats, after.Tasks["t7"], err)
	}

	// A legacy counter left by an interrupted migration is already counted:
	// ignored, and deleted by the next Flush.
	store.Write(func(t kv.Txn) error { return t.Set([]byte("c1/s/t7"), []byte(`{"hits":7,"misses":1}`)) })
	if again, _ := c.Stats(); again.Tasks["t7"].Hits != 7 {
		t.Fatalf("a leftover counter counted twice: %+v", again.Tasks["t7"])
	}
	c.Lookup("t7", "k")
	c.Flush()
	if _, err := store.Get([]byte("c1/s/t7")); err == nil {
		t.Fatal("leftover legacy counter not deleted")
	}
	if again, _ := c.Stats(); again.Tasks["t7"].Hits != 7 || again.Tasks["t7"].Misses != 3 {
		t.Fatalf("after a leftover: %+v", again.Tasks["t7"])
	}
}

// Invalidate forgets the last success with its key, so the next success
// of the same key is written again.
func TestInvalidateDropsLastSuccessKey(t *testing.T) {
	t.Parallel()
	store := &countingStore{Store: kv.NewMem()}
	c := New(store, t.TempDir(), nil)
	c.RecordSuccess("a", "k", Manifest{})
	c.Flush()
	if _, err := c.Invalidate("a"); err != nil {
		t.Fatal(err)
	}
	store.take()
	c.Preload()
	c.RecordSuccess("a", "k", Manifest{})
	c.Flush()
	if w := store.take(); !reflect.DeepEqual(w, []string{"c1/last/a", "c1/lk/a"}) {
		t.Fatalf("wrote %q", w)
	}
}

// Outputs known to the index are trusted by stat; any change the stat
// shows (content, size, mode, a replaced file or a link in its place)
// still restores the stored output.
func TestRestoreWithIndexRestoresChangedOutputs(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now().Add(time.Hour)} // every file is older than Racy
	store := kv.NewMem()
	c := New(store, t.TempDir(), clk.now)
	ix := NewIndex(store, clk.now)
	c.UseIndex(ix)
	root := t.TempDir()
	const content = "the stored output"
	write(t, root, "out/a", content, 0o755)
	if err := c.Save(SaveRequest{Task: "a", Key: "k", Root: root, Log: strings.NewReader(""), Outputs: []string{"out/a"}}); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(root, "out", "a")
	old := time.Now().Add(-time.Minute)
	os.Chtimes(dst, old, old)
	e, _ := c.Lookup("a", "k")
	restore := func() {
		t.Helper()
		if err := c.Restore(root, e, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	}
	inode := func() uint64 {
		fi, err := os.Lstat(dst)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	restore() // Chtimes changed the ctime: hashed once, recorded
	hashed, ino := ix.Hashed, inode()
	restore()
	if ix.Hashed != hashed || inode() != ino {
		t.Fatalf("an unchanged output was read or rewritten: hashed %d -> %d", hashed, ix.Hashed)
	}
	check := func(what string) {
		t.Helper()
		restore()
		b, err := os.ReadFile(dst)
		fi, _ := os.Lstat(dst)
		if err != nil || string(b) != content || fi.Mode() != 0o755 {
			t.Fatalf("%s: not restored: %q %v %v", what, b, fi.Mode(), err)
		}
	}
	changes := map[string]func(){
		"modified, same size and mtime": func() {
			os.WriteFile(dst, []byte(strings.ToUpper(content)), 0o755)
			os.Chtimes(dst, old, old)
		},
		"truncated": func() { os.Truncate(dst, 3) },
		"chmod-ed":  func() { os.Chmod(dst, 0o644) },
		"replaced": func() {
			tmp := dst + ".new"
			write(t, root, "out/a.new", strings.Repeat("x", len(content)), 0o755)
			os.Chtimes(tmp, old, old)
			os.Rename(tmp, dst)
		},
		"replaced by a link": func() {
			write(t, root, "elsewhere", content, 0o755)
			os.Remove(dst)
			os.Symlink(filepath.Join(root, "elsewhere"), dst)
		},
		"deleted": func() { os.Remove(dst) },
	}
	for what, change := range changes {
		change()
		check(what)
		restore() // recorded by the restore: now trusted again
		if h := ix.Hashed; func() bool { restore(); return ix.Hashed != h }() {
			t.Fatalf("%s: the restored output is not known by stat", what)
		}
	}
}

func TestEntryEncoding(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 123)
	e := &Entry{Task: "t", Key: "k", Created: now, LastUsed: now.Add(time.Hour), Expires: now.Add(2 * time.Hour),
		Duration: 3 * time.Second, Log: "l", LogSize: 4, Size: 40, Deps: []string{"a", "b"}, Ahead: true,
		Outputs: []Output{{Path: "o", Mode: 0o755, Digest: "d", Size: 36}, {Path: "ln", Link: "../o"}},
		Manifest: Manifest{Command: []string{"sh", "make"}, Cwd: "sub", Env: map[string]string{"CC": "unset"},
			Inputs: map[string]string{"a.c": "-:1"}, Outputs: []string{"o"}, Deps: map[string]Digest{"a": "ka"},
			Extra: "x", Platform: "linux/amd64"}}
	b := encodeEntry(e)
	got, err := decodeEntry(b)
	if err != nil || !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip:\n%+v\n%+v %v", got, e, err)
	}
	e.Expires, e.Ahead = time.Time{}, false
	if got, err := decodeEntry(encodeEntry(e)); err != nil || !got.Expires.IsZero() || got.Ahead {
		t.Fatalf("no expiry: %+v %v", got, err)
	}
	for n := range len(b) {
		if _, err := decodeEntry(b[:n]); err == nil {
			t.Fatalf("a truncated entry (%d of %d bytes) decoded", n, len(b))
		}
	}
	if _, err := decodeEntry(append(bytes.Clone(b), 0)); err == nil {
		t.Fatal("an entry with trailing bytes decoded")
	}
	// Without its manifest (a hit's lookup): everything else, and the same
	// damage refused.
	bare := *e
	bare.Manifest = Manifest{}
	if got, err := decodeEntryOf(encodeEntry(e), false); err != nil || !reflect.DeepEqual(got, &bare) {
		t.Fatalf("without the manifest:\n%+v\n%+v %v", got, &bare, err)
	}
	for n := range len(b) {
		if _, err := decodeEntryOf(b[:n], false); err == nil {
			t.Fatalf("a truncated entry (%d of %d bytes) decoded without its manifest", n, len(b))
		}
	}
	if _, err := decodeEntryOf(append(bytes.Clone(b), 0), false); err == nil {
		t.Fatal("an entry with trailing bytes decoded without its manifest")
	}

	// Entries stored as JSON before the binary encoding are still hits.
	store := kv.NewMem()
	c := New(store, t.TempDir(), func() time.Time { return now })
	old, _ := json.Marshal(e)
	store.Write(func(t kv.Txn) error { return t.Set(entryKey("t", "k"), old) })
	for _, preload := range []bool{false, true} {
		if preload {
			c.Preload()
		}
		if got, err := c.Lookup("t", "k"); err != nil || got == nil || got.Log != "l" || len(got.Outputs) != 2 {
			t.Fatalf("preload %v: a JSON entry: %+v %v", preload, got, err)
		}
	}
}

func BenchmarkDecodeEntry(b *testing.B) {
	now := time.Now()
	e := &Entry{Task: "t1234", Key: "0123456789abcdef0123456789abcdef", Created: now, LastUsed: now, Duration: time.Millisecond,
		Log: "0123456789abcdef0123456789abcdef", Outputs: []Output{{Path: "t/t1234/out", Mode: 0o644, Digest: "0123456789abcdef0123456789abcdef"}},
		Manifest: Manifest{Command: []string{"sh", "touch t/t1234/out"}, Env: map[string]string{},
			Inputs: map[string]string{"t/t1234/src": "-:0123456789abcdef0123456789abcdef"}, Outputs: []string{"t/t1234/out"},
			Deps: map[string]Digest{"t12": "0123456789abcdef0123456789abcdef"}, Platform: "linux/amd64"}}
	js, _ := json.Marshal(e)
	for name, b0 := range map[string][]byte{"json": js, "v1": encodeEntry(e)} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := decodeEntry(b0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("v1-hit", func(b *testing.B) {
		b0 := encodeEntry(e)
		for b.Loop() {
			if _, err := decodeEntryOf(b0, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestFileStateEncoding(t *testing.T) {
	t.Parallel()
	f := FileState{Exec: true, Digest: "d", Size: 12, MtimeNs: 1_700_000_000_000_000_001, CtimeNs: 1_700_000_000_000_000_002, Ino: 1 << 40}
	b := encodeState(f)
	if got, err := decodeState(b); err != nil || got != f {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for n := range len(b) {
		if _, err := decodeState(b[:n]); err == nil {
			t.Fatalf("a truncated state (%d of %d bytes) decoded", n, len(b))
		}
	}
	// States stored as JSON before the binary encoding are still read.
	store := kv.NewMem()
	old, _ := json.Marshal(f)
	store.Write(func(t kv.Txn) error { return t.Set(indexKey("/ws/a"), old) })
	ix := NewIndex(store, nil)
	if got, ok := ix.lookup("/ws/a"); !ok || got != f {
		t.Fatalf("a JSON state: %+v %v", got, ok)
	}
	ix.Preload("/ws")
	if got, ok := ix.lookup("/ws/a"); !ok || got != f {
		t.Fatalf("a preloaded JSON state: %+v %v", got, ok)
	}
}

// An output the index knows to be in place is left alone without its
// parent directories being resolved; anything else under a directory that
// became a link leading outside is still refused, and nothing is written
// there.
func TestRestoreInPlaceAndThroughMovedDirectory(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now().Add(time.Hour)} // every file is older than Racy
	store := kv.NewMem()
	c := New(store, t.TempDir(), clk.now)
	ix := NewIndex(store, clk.now)
	c.UseIndex(ix)
	root, outside := t.TempDir(), t.TempDir()
	write(t, root, "out/a", "stored", 0o644)
	if err := c.Save(SaveRequest{Task: "a", Key: "k", Root: root, Log: strings.NewReader(""), Outputs: []string{"out/a"}}); err != nil {
		t.Fatal(err)
	}
	e, _ := c.Lookup("a", "k")
	if err := c.Restore(root, e, &bytes.Buffer{}); err != nil {
		t.Fatalf("output in place: %v", err)
	}
	// The directory moves outside and a link takes its place: the very
	// file the cache recorded is reached, so there is nothing to write.
	if err := os.Rename(filepath.Join(root, "out"), filepath.Join(outside, "out")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(filepath.Join(outside, "out"), filepath.Join(root, "out"))
	if err := c.Restore(root, e, &bytes.Buffer{}); err != nil {
		t.Fatalf("recorded file through a link: %v", err)
	}
	// Another file there, even with the same content, is not the recorded
	// one: restoring would write outside, and is refused.
	write(t, outside, "out/a.new", "stored", 0o644)
	os.Rename(filepath.Join(outside, "out/a.new"), filepath.Join(outside, "out/a"))
	err := c.Restore(root, e, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "outside the workspace through a link") {
		t.Fatalf("restore through a linked directory: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(outside, "out")); len(ents) != 1 {
		t.Fatalf("written outside: %v", ents)
	}
}
