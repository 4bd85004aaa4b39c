package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// holdEnv makes the test binary a helper process that opens the state
// directory named by it, writes k=v, says "holding" and waits to be killed.
const holdEnv = "JSRT_STORE_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdEnv); dir != "" {
		hold(dir)
	}
	os.Exit(m.Run())
}

func hold(dir string) {
	db, err := Open(context.Background(), dir, Options{NoWait: true})
	if err == nil {
		err = db.Write(func(t kv.Txn) error { return t.Set([]byte("k"), []byte("v")) })
	}
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("holding")
	time.Sleep(10 * time.Minute)
	os.Exit(0)
}

// startHolder starts a helper process holding dir and returns once it has
// the lock.
func startHolder(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "holding\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	return cmd
}

func open(t *testing.T, dir string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func set(t *testing.T, s kv.Store, kvs ...string) {
	t.Helper()
	err := s.Write(func(tx kv.Txn) error {
		for i := 0; i < len(kvs); i += 2 {
			if err := tx.Set([]byte(kvs[i]), []byte(kvs[i+1])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, s kv.Store, key string) string {
	t.Helper()
	v, err := s.Get([]byte(key))
	if errors.Is(err, kv.ErrNotFound) {
		return "<none>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func scan(t *testing.T, s kv.Store, prefix string, reverse bool, limit int) []string {
	t.Helper()
	var got []string
	err := s.Scan([]byte(prefix), reverse, func(k, v []byte) (bool, error) {
		got = append(got, string(k)+"="+string(v))
		return len(got) != limit, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestGetSetDeleteScan(t *testing.T) {
	t.Parallel()
	db := open(t, t.TempDir(), Options{})
	set(t, db, "a/2", "two", "a/1", "one", "a/3", "three", "a/\xff", "ff", "a/\xff\xff", "ffff",
		"a", "bare", "b/1", "b", "\xff", "x", "\xff\xff", "y", "empty", "")
	if err := db.Write(func(tx kv.Txn) error { return tx.Delete([]byte("a/3")) }); err != nil {
		t.Fatal(err)
	}
	if got := get(t, db, "a/1"); got != "one" {
		t.Errorf("a/1 = %q", got)
	}
	if got := get(t, db, "a/3"); got != "<none>" {
		t.Errorf("deleted a/3 = %q", got)
	}
	if got := get(t, db, "empty"); got != "" {
		t.Errorf("empty = %q", got)
	}
	for _, tc := range []struct {
		prefix  string
		reverse bool
		limit   int
		want    []string
	}{
		{"a/", false, 0, []string{"a/1=one", "a/2=two", "a/\xff=ff", "a/\xff\xff=ffff"}},
		{"a/", true, 0, []string{"a/\xff\xff=ffff", "a/\xff=ff", "a/2=two", "a/1=one"}},
		{"a/", false, 2, []string{"a/1=one", "a/2=two"}},
		{"a/", true, 2, []string{"a/\xff\xff=ffff", "a/\xff=ff"}},
		{"b/", true, 0, []string{"b/1=b"}},
		{"c/", true, 0, nil},
		{"\xff", true, 0, []string{"\xff\xff=y", "\xff=x"}},
		{"", true, 2, []string{"\xff\xff=y", "\xff=x"}},
		{"", false, 2, []string{"a=bare", "a/1=one"}},
	} {
		if got := scan(t, db, tc.prefix, tc.reverse, tc.limit); !slices.Equal(got, tc.want) {
			t.Errorf("Scan(%q, reverse=%v, limit %d) = %q, want %q", tc.prefix, tc.reverse, tc.limit, got, tc.want)
		}
	}
	stop := errors.New("stop")
	err := db.Scan([]byte("a/"), false, func(k, v []byte) (bool, error) { return true, stop })
	if err != stop {
		t.Errorf("Scan error = %v, want fn's error", err)
	}
}

func TestWriteAtomic(t *testing.T) {
	t.Parallel()
	db := open(t, t.TempDir(), Options{})
	set(t, db, "keep", "1")
	boom := errors.New("boom")
	err := db.Write(func(tx kv.Txn) error {
		_ = tx.Set([]byte("new"), []byte("x"))
		_ = tx.Delete([]byte("keep"))
		if v, err := tx.Get([]byte("new")); err != nil || string(v) != "x" {
			t.Errorf("txn does not see its own write: %q %v", v, err)
		}
		return boom
	})
	if err != boom {
		t.Errorf("Write = %v, want fn's error", err)
	}
	if get(t, db, "new") != "<none>" || get(t, db, "keep") != "1" {
		t.Error("a failed Write applied changes")
	}

	big := bytes.Repeat([]byte("x"), 1024)
	err = db.Write(func(tx kv.Txn) error {
		for i := range 4000 {
			if err := tx.Set(fmt.Appendf(nil, "big/%d", i), big); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, badger.ErrTxnTooBig) {
		t.Errorf("huge Write = %v, want ErrTxnTooBig", err)
	}
	if got := scan(t, db, "big/", false, 1); got != nil {
		t.Errorf("a too big Write applied %q", got)
	}
}

func TestReopenPersists(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	set(t, db, "k", "v")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, dir, Options{})
	if got := get(t, db, "k"); got != "v" {
		t.Errorf("k = %q after reopen", got)
	}
	if got := get(t, db, "meta/schema"); got != SchemaVersion {
		t.Errorf("schema = %q", got)
	}
}

// Each writer leaves one level-0 table; Close keeps their number bounded,
// so opening does not slow down run after run.
func TestLevel0TablesStayFew(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := range 3 * level0Limit {
		db, err := Open(context.Background(), dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		set(t, db, fmt.Sprintf("run/%02d", i), "x", "counter", fmt.Sprint(i))
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	bdb, err := badger.Open(badgerOptions(filepath.Join(dir, "db"), true, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if n := level0Tables(bdb); n > level0Limit {
		t.Errorf("%d level-0 tables after %d writers, want at most %d", n, 3*level0Limit, level0Limit)
	}
	db := open(t, dir, Options{ReadOnly: true})
	if got := get(t, db, "counter"); got != fmt.Sprint(3*level0Limit-1) {
		t.Errorf("counter = %q after compaction", got)
	}
	if got := len(scan(t, db, "run/", false, 0)); got != 3*level0Limit {
		t.Errorf("%d run/ keys after compaction, want %d", got, 3*level0Limit)
	}
}

func TestSchemaMismatchStartsOver(t *testing.T) {
	t.Parallel()
	for _, found := range []string{"99", "\x00garbage\xff", ""} {
		t.Run(fmt.Sprintf("%q", found), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, err := Open(context.Background(), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			set(t, db, "data", "old")
			err = db.Write(func(tx kv.Txn) error {
				if found == "" { // data without a version
					return tx.Delete(schemaKey)
				}
				return tx.Set(schemaKey, []byte(found))
			})
			if err != nil || db.Close() != nil {
				t.Fatal(err)
			}

			_, err = Open(context.Background(), dir, Options{ReadOnly: true})
			want := fmt.Sprintf("state in %s has schema version %q, this jsrt-script knows \"1\" (the next run starts over)", dir, found)
			if !errors.Is(err, ErrNoState) || err.Error() != want {
				t.Errorf("read-only open: %v", err)
			}

			var schemaErr *SchemaError
			if _, err := Open(context.Background(), dir, Options{Keep: true}); !errors.As(err, &schemaErr) || schemaErr.Found != found {
				t.Errorf("open with Keep: %v, want a SchemaError", err)
			}
			if old, _ := filepath.Glob(filepath.Join(dir, "db.old-*")); len(old) != 0 {
				t.Errorf("open with Keep moved the database aside: %v", old)
			}

			var log bytes.Buffer
			db = open(t, dir, Options{Log: &log})
			old, _ := filepath.Glob(filepath.Join(dir, "db.old-*"))
			if len(old) != 1 {
				t.Fatalf("old databases: %v", old)
			}
			want = fmt.Sprintf("state in %s has schema version %q, this jsrt-script knows \"1\": keeping it as %s and starting over\n",
				dir, found, old[0])
			if log.String() != want {
				t.Errorf("log:\n got %q\nwant %q", log.String(), want)
			}
			if !regexp.MustCompile(`/db\.old-\d{10}$`).MatchString(old[0]) {
				t.Errorf("old database at %s", old[0])
			}
			if get(t, db, "data") != "<none>" || get(t, db, "meta/schema") != SchemaVersion {
				t.Error("did not start over")
			}
			if _, err := os.Stat(filepath.Join(old[0], "MANIFEST")); err != nil {
				t.Errorf("old database not kept: %v", err)
			}
		})
	}
}

func TestNoWaitWhileAnotherProcessHolds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	holder := startHolder(t, dir)
	_, err := Open(context.Background(), dir, Options{NoWait: true})
	want := fmt.Sprintf("another run (pid %d) is using %s", holder.Process.Pid, dir)
	var locked *LockedError
	if !errors.As(err, &locked) || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	// A reader cannot open while a writer has the database, either.
	_, err = Open(context.Background(), dir, Options{NoWait: true, ReadOnly: true})
	if err == nil || err.Error() != want {
		t.Errorf("read-only: got %v, want %s", err, want)
	}
}

func TestWaitsUntilReleased(t *testing.T) {
	t.Parallel()
	for _, readOnly := range []bool{false, true} {
		t.Run(fmt.Sprint("readOnly=", readOnly), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			holder := open(t, dir, Options{})
			set(t, holder, "k", "v")
			waiting := make(chan int, 2)
			opened := make(chan error, 1)
			go func() {
				db, err := Open(context.Background(), dir, Options{ReadOnly: readOnly, OnWait: func(pid int) { waiting <- pid }})
				if err == nil {
					if v := get(t, db, "k"); v != "v" {
						err = fmt.Errorf("k = %q", v)
					}
					_ = db.Close()
				}
				opened <- err
			}()
			if pid := <-waiting; pid != os.Getpid() {
				t.Errorf("OnWait(%d), want our pid %d", pid, os.Getpid())
			}
			time.Sleep(3 * pollInterval)
			select {
			case err := <-opened:
				t.Fatalf("opened while held: %v", err)
			default:
			}
			if err := holder.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-opened; err != nil {
				t.Fatal(err)
			}
			if len(waiting) != 0 {
				t.Error("OnWait called more than once")
			}
		})
	}
}

func TestWaitCancelled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open(t, dir, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	_, err := Open(ctx, dir, Options{})
	want := fmt.Sprintf("waiting for another run to finish with %s: context deadline exceeded", dir)
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != want {
		t.Errorf("got %v", err)
	}
}

func TestBadgerLockCountsAsHeld(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open(t, dir, Options{}).Close()
	// Someone opened the database without our lock.
	bdb, err := badger.Open(badgerOptions(filepath.Join(dir, "db"), false, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	_, err = Open(context.Background(), dir, Options{NoWait: true})
	want := fmt.Sprintf("another run (pid %d) is using %s", os.Getpid(), dir)
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestKilledHolderDoesNotBlock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	holder := startHolder(t, dir)
	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()

	// The database was not closed: Badger alone cannot open it read-only,
	// so a reader has to recover it first.
	bdb, err := badger.Open(badgerOptions(filepath.Join(dir, "db"), true, nil))
	if err == nil {
		_ = bdb.Close()
		t.Fatal("Badger opened a killed writer's database read-only; the recovery path is not tested")
	}
	t.Logf("plain read-only open: %v", err)
	var log bytes.Buffer
	ro, err := Open(context.Background(), dir, Options{ReadOnly: true, NoWait: true, Log: &log})
	if err != nil {
		t.Fatalf("read-only open after kill: %v\n%s", err, log.String())
	}
	if got := get(t, ro, "k"); got != "v" {
		t.Errorf("k = %q after the writer was killed", got)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	db := open(t, dir, Options{NoWait: true})
	if got := get(t, db, "k"); got != "v" {
		t.Errorf("k = %q", got)
	}
}

func TestReadOnlyWithoutState(t *testing.T) {
	t.Parallel()
	for _, create := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), ".jsrt")
		if create {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		_, err := Open(context.Background(), dir, Options{ReadOnly: true})
		want := fmt.Sprintf("no state yet in %s (run something first)", dir)
		if !errors.Is(err, ErrNoState) || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
		if !create {
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("read-only open created %s", dir)
			}
		} else if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("read-only open created %v", entries)
		}
	}
}

func TestReadOnlyReadsWithoutWriting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	set(t, db, "k", "v", "p/1", "a", "p/2", "b")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)

	// Two readers at once share the state.
	r1 := open(t, dir, Options{ReadOnly: true, NoWait: true})
	r2 := open(t, dir, Options{ReadOnly: true, NoWait: true})
	if get(t, r1, "k") != "v" || !slices.Equal(scan(t, r2, "p/", true, 0), []string{"p/2=b", "p/1=a"}) {
		t.Error("reader does not see the data")
	}
	if err := r1.Write(func(kv.Txn) error { return nil }); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Write on a reader: %v", err)
	}
	// A writer cannot start while they read.
	if _, err := Open(context.Background(), dir, Options{NoWait: true}); err == nil ||
		err.Error() != "another run is using "+dir {
		t.Errorf("writer while reading: %v", err)
	}
	if r1.Close() != nil || r2.Close() != nil {
		t.Fatal("close")
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("reading changed the state directory:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot describes every file under dir: name, size, modification time.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %d\n", path, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestReadersRecoverTogether(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	holder := startHolder(t, dir)
	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			db, err := Open(ctx, dir, Options{ReadOnly: true})
			if err == nil {
				if v, gerr := db.Get([]byte("k")); gerr != nil || string(v) != "v" {
					err = fmt.Errorf("k = %q, %v", v, gerr)
				}
				_ = db.Close()
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A state directory removed while a writer has it open: Close returns at
// once with a RemovedError instead of retrying its flush forever.
func TestCloseAfterStateRemoved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	set(t, db, "k", "v")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- db.Close() }()
	select {
	case err := <-done:
		var removed *RemovedError
		if !errors.As(err, &removed) || removed.Dir != dir {
			t.Fatalf("Close = %v, want a RemovedError for %s", err, dir)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return after the state directory was removed")
	}
}

// A database that cannot be opened (here its tables are gone) is kept
// aside by the next writer, which starts over and says so; a reader says
// what is wrong and what the next run does.
func TestDamagedStateKeptAside(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	set(t, db, "k", "v")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "db", "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no table written")
	}
	for _, f := range tables {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, opts := range []Options{{ReadOnly: true}, {Keep: true}} {
		db, err := Open(context.Background(), dir, opts)
		if err == nil {
			db.Close()
			t.Fatalf("open %+v of a damaged state succeeded", opts)
		}
		if opts.ReadOnly && !strings.Contains(err.Error(), "the state looks damaged: the next run keeps it aside and starts over") {
			t.Errorf("read-only open of a damaged state: %v", err)
		}
	}
	var log bytes.Buffer
	db = open(t, dir, Options{Log: &log})
	old, _ := filepath.Glob(filepath.Join(dir, "db.damaged-*"))
	if len(old) != 1 {
		t.Fatalf("damaged databases kept: %v", old)
	}
	want := fmt.Sprintf("\nstate in %s could not be opened (opening %s: file does not exist for table ", dir, filepath.Join(dir, "db"))
	if !strings.Contains("\n"+log.String(), want) || !strings.HasSuffix(log.String(), "keeping it as "+old[0]+" and starting over\n") {
		t.Errorf("log = %q", log.String())
	}
	if get(t, db, "k") != "<none>" || get(t, db, "meta/schema") != SchemaVersion {
		t.Error("did not start over")
	}
	if _, err := os.Stat(filepath.Join(old[0], "MANIFEST")); err != nil {
		t.Errorf("damaged database not kept: %v", err)
	}
}

// A database whose last open crashed the process (Badger panics on some
// damaged tables in goroutines of its own: the opening mark stays), or
// whose manifest is gone while its tables are there, is kept aside too.
func TestCrashingDamageKeptAside(t *testing.T) {
	t.Parallel()
	for _, damage := range []string{"an open that crashed", "remove the manifest"} {
		t.Run(damage, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db, err := Open(context.Background(), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			set(t, db, "k", "v")
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			tables, _ := filepath.Glob(filepath.Join(dir, "db", "*.sst"))
			if len(tables) == 0 {
				t.Fatal("no table written")
			}
			if damage == "an open that crashed" {
				err = os.WriteFile(filepath.Join(dir, openingMark), []byte("12345\n"), 0o644)
			} else {
				err = os.Remove(filepath.Join(dir, "db", "MANIFEST"))
			}
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			db = open(t, dir, Options{Log: &log})
			if old, _ := filepath.Glob(filepath.Join(dir, "db.damaged-*")); len(old) != 1 {
				t.Fatalf("damaged databases kept: %v; log %q", old, log.String())
			}
			if !strings.Contains(log.String(), "keeping it as") || get(t, db, "k") != "<none>" {
				t.Errorf("did not start over; log %q", log.String())
			}
			if exists(filepath.Join(dir, openingMark)) || exists(filepath.Join(dir, damageMark)) {
				t.Error("a mark is left after starting over")
			}
		})
	}
}

// A panic of the caller's own function inside Scan is the caller's, not
// damage.
func TestPanicInScanCallbackIsNotDamage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := open(t, dir, Options{})
	set(t, db, "k", "v")
	func() {
		defer func() {
			if v := recover(); v != "ours" {
				t.Errorf("recovered %v, want the callback's own panic", v)
			}
		}()
		_ = db.Scan([]byte("k"), false, func(_, _ []byte) (bool, error) { panic("ours") })
	}()
	if exists(filepath.Join(dir, damageMark)) {
		t.Error("a panic of the callback left the damage mark")
	}
	if got := get(t, db, "k"); got != "v" {
		t.Errorf("k = %q after the panic", got)
	}
}
