// Package store keeps jsrt-script's state directory (.jsrt/): it implements
// kv.Store on an embedded Badger database and owns the lock that lets only
// one run at a time write the state.
//
// Layout of the state directory DIR:
//
//	DIR/lock          our lock file: flock, and the writer's pid as text
//	DIR/db/           Badger's files
//	DIR/db.old-<unix> a database put aside because of an unknown schema version
//
// Writers (a run) take an exclusive flock on DIR/lock and keep it until
// Close. A second writer fails at once with *LockedError (Options.NoWait)
// or calls Options.OnWait once and polls until the lock is free. A flock
// dies with its process, so a run killed with SIGKILL never blocks the next.
//
// Readers (Options.ReadOnly: graph, history, dry runs) never create or
// change anything in the normal case. They take a shared flock on DIR/lock,
// so they run alongside each other but wait (the same way as writers)
// while a run holds the state: Badger cannot open a database read-only
// while a writer has it open. If the database was not closed cleanly
// (its writer was killed) Badger cannot open it read-only either, since
// the write-ahead log needs replaying; the reader then takes the exclusive
// lock, opens the database read-write once so that Badger recovers it,
// closes it, and opens it read-only again (other readers wait meanwhile).
// That recovery is the only write a reader ever makes.
//
// The key "meta/schema" holds SchemaVersion. A database with another
// version (or with data but no version) is moved aside to DIR/db.old-<unix>
// with a message on Options.Log, and the run starts over with an empty
// database; a reader reports it as no state (errors.Is(err, ErrNoState)).
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"golang.org/x/sys/unix"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// SchemaVersion is the version of the state layout this build knows.
const SchemaVersion = "1"

var schemaKey = []byte("meta/schema")

// ErrNoState is matched (errors.Is) by the error of a read-only Open when
// there is no usable state yet.
var ErrNoState = errors.New("no state yet")

// ErrReadOnly is returned by Write on a database opened read-only.
var ErrReadOnly = errors.New("state is open read-only")

// SchemaError is returned by a read-only Open of a state directory written
// by a jsrt-script with another schema version. It matches ErrNoState.
type SchemaError struct {
	Dir   string
	Found string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("state in %s has schema version %q, this jsrt-script knows %q (the next run starts over)",
		e.Dir, e.Found, SchemaVersion)
}

// Is makes errors.Is(err, ErrNoState) true.
func (e *SchemaError) Is(target error) bool { return target == ErrNoState }

// Options says how Open behaves; the zero value opens for writing and waits.
type Options struct {
	ReadOnly bool          // never write anything (see the package doc for the one exception)
	NoWait   bool          // fail at once with *LockedError when another run holds the state
	OnWait   func(pid int) // called once when we start waiting; pid is 0 when unknown
	Log      io.Writer     // "starting over" and Badger's errors and warnings; nil discards them
	// Keep: a writer that finds a schema version it does not know fails
	// with *SchemaError and leaves the database as it is, instead of
	// moving it aside and starting over.
	Keep bool
}

// DB is an open state directory. It implements kv.Store; its methods are
// safe for concurrent use until Close.
type DB struct {
	dir      string
	readOnly bool
	log      io.Writer
	lock     *lockFile
	bdb      *badger.DB
	dbID     fileID     // the database directory as opened, to notice its removal
	writeMu  sync.Mutex // one Write at a time: fn runs once and never conflicts
}

// fileID names a directory by device and inode.
type fileID struct{ dev, ino uint64 }

// idOf returns the fileID of path; ok is false when it cannot be stat'ed.
func idOf(path string) (id fileID, ok bool) {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

// RemovedError is returned by Close when the database directory was
// removed or replaced while it was open: Badger's close would retry
// writing into the vanished directory forever, so the database is
// abandoned and what was not yet flushed is lost.
type RemovedError struct{ Dir string }

func (e *RemovedError) Error() string {
	return fmt.Sprintf("state directory %s was removed while it was in use: this run's records since then are lost (the next run starts over)", e.Dir)
}

var _ kv.Store = (*DB)(nil)

// Open opens the state directory dir (e.g. "/proj/.jsrt"), creating it
// unless opts.ReadOnly. A read-only Open of a directory without a database
// returns an error matching ErrNoState and creates nothing.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	db := &DB{dir: dir, readOnly: opts.ReadOnly, log: io.Discard}
	if opts.Log != nil {
		db.log = &syncWriter{w: opts.Log} // Badger logs from its own goroutines
	}
	var err error
	if opts.ReadOnly {
		err = db.openReader(ctx, opts)
	} else {
		err = db.openWriter(ctx, opts)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) dbPath() string { return filepath.Join(db.dir, "db") }

func (db *DB) openWriter(ctx context.Context, opts Options) error {
	if err := os.MkdirAll(db.dir, 0o755); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	lock, err := openLockFile(filepath.Join(db.dir, "lock"), false)
	if err != nil {
		return fmt.Errorf("opening state lock: %w", err)
	}
	db.lock = lock
	err = waitFor(ctx, db.dir, opts, func() error {
		if err := lock.try(unix.LOCK_EX); err != nil {
			return err
		}
		if err := lock.writePID(); err != nil {
			lock.unlock()
			return fmt.Errorf("writing %s: %w", lock.f.Name(), err)
		}
		err := db.openBadger(false)
		if damaged(err) && !opts.Keep {
			err = db.startAfresh(err)
		}
		if err != nil {
			lock.unlock()
		}
		return err
	})
	if err != nil {
		return err
	}
	return db.checkSchemaWriter(opts.Keep)
}

func (db *DB) openReader(ctx context.Context, opts Options) error {
	if _, err := os.Stat(filepath.Join(db.dbPath(), "MANIFEST")); errors.Is(err, fs.ErrNotExist) {
		return db.noState()
	} else if err != nil {
		return fmt.Errorf("reading state: %w", err)
	}
	lock, err := openLockFile(filepath.Join(db.dir, "lock"), true)
	if err != nil {
		return fmt.Errorf("opening state lock: %w", err)
	}
	db.lock = lock
	recovered := false
	err = waitFor(ctx, db.dir, opts, func() error {
		err := db.tryRead(&recovered)
		if err != nil {
			lock.unlock()
		}
		return err
	})
	if err != nil {
		return err
	}
	return db.checkSchemaReader()
}

// tryRead takes the shared lock and opens Badger read-only, recovering the
// database first (once) if it was not closed cleanly.
func (db *DB) tryRead(recovered *bool) error {
	if err := db.lock.try(unix.LOCK_SH); err != nil {
		return err
	}
	err := db.openBadger(true)
	var busy *busyError
	if err == nil || errors.As(err, &busy) || *recovered {
		return err
	}
	// Most likely its writer was killed and the log needs replaying, which
	// only a read-write open does: do that under the exclusive lock.
	if err := db.lock.try(unix.LOCK_EX); err != nil {
		return err
	}
	if err := db.openBadger(false); err != nil {
		if damaged(err) {
			return fmt.Errorf("%w (the state looks damaged: the next run keeps it aside and starts over)", err)
		}
		return fmt.Errorf("recovering state after an unclean shutdown: %w", err)
	}
	err = db.bdb.Close()
	db.bdb = nil
	if err != nil {
		return fmt.Errorf("recovering state after an unclean shutdown: %w", err)
	}
	*recovered = true
	if err := db.lock.try(unix.LOCK_SH); err != nil {
		return err
	}
	return db.openBadger(true)
}

// openBadger opens db.bdb; Badger's own directory lock being held counts
// as busy, like ours.
func (db *DB) openBadger(readOnly bool) error {
	if err := db.checkDamage(); err != nil {
		return err
	}
	mark := filepath.Join(db.dir, openingMark)
	if !readOnly {
		// Badger panics on some damaged tables in goroutines of its own,
		// which ends the process: the mark left behind tells the next run.
		if err := os.WriteFile(mark, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("opening %s: %w", db.dbPath(), err)
		}
	}
	bdb, err := openRecovering(badgerOptions(db.dbPath(), readOnly, db.log))
	if !readOnly {
		if rerr := os.Remove(mark); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return &busyError{pid: readPID(filepath.Join(db.dbPath(), "LOCK"))}
		}
		return fmt.Errorf("opening %s: %w", db.dbPath(), err)
	}
	db.bdb = bdb
	db.dbID, _ = idOf(db.dbPath())
	return nil
}

// openRecovering is badger.Open, with a panic of Badger's (it panics on
// some damaged tables) returned as an error.
func openRecovering(opts badger.Options) (bdb *badger.DB, err error) {
	defer func() {
		if v := recover(); v != nil {
			bdb, err = nil, fmt.Errorf("badger crashed reading it: %v", v)
		}
	}()
	return badger.Open(opts)
}

// damageMark is the file, beside the database, that a DB leaves when
// Badger crashed reading it: the next writer keeps that database aside.
// openingMark is there while a writer opens the database; found by the
// next one (under the lock), it means that open crashed the process.
const (
	damageMark  = "damaged"
	openingMark = "opening"
)

// checkDamage returns an error (which damaged takes for damage) when an
// earlier run found the database damaged or crashed opening it, or when
// its manifest is gone but its tables are not: Badger would open it empty
// and delete the tables.
func (db *DB) checkDamage() error {
	if b, err := os.ReadFile(filepath.Join(db.dir, damageMark)); err == nil {
		return fmt.Errorf("an earlier run found it damaged (%s)", strings.TrimSpace(string(b)))
	}
	if b, err := os.ReadFile(filepath.Join(db.dir, openingMark)); err == nil {
		return fmt.Errorf("an earlier run (pid %s) crashed opening it", strings.TrimSpace(string(b)))
	}
	if exists(filepath.Join(db.dbPath(), "MANIFEST")) {
		return nil
	}
	for _, pat := range []string{"*.sst", "*.vlog"} {
		if m, _ := filepath.Glob(filepath.Join(db.dbPath(), pat)); len(m) > 0 {
			return fmt.Errorf("its MANIFEST is missing but %d table or log file(s) are there", len(m))
		}
	}
	return nil
}

// DamagedError is returned by Get, Scan and Write when Badger crashed on
// the database: the next run that opens it for writing keeps it aside and
// starts over.
type DamagedError struct {
	Dir   string
	Cause any
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the state in %s is damaged (badger crashed reading it: %v): the next run keeps it aside and starts over", e.Dir, e.Cause)
}

// fnPanic carries a panic of a caller's function through recoverDamage,
// which must not take it for damage.
type fnPanic struct{ v any }

// recoverDamage turns a panic of Badger's into a *DamagedError in *err and
// leaves the damage mark; a panic of the caller's own function goes on.
func (db *DB) recoverDamage(err *error) {
	v := recover()
	if v == nil {
		return
	}
	if p, ok := v.(fnPanic); ok {
		panic(p.v)
	}
	_ = os.WriteFile(filepath.Join(db.dir, damageMark), []byte(fmt.Sprintf("%v\n", v)), 0o644)
	*err = &DamagedError{Dir: db.dir, Cause: v}
}

// own runs f, a call of the caller's function, so that a panic of f passes
// recoverDamage unchanged.
func own(f func()) {
	done := false
	defer func() {
		if !done {
			panic(fnPanic{recover()})
		}
	}()
	f()
	done = true
}

// badgerOptions keeps Badger small and quiet: state databases hold
// thousands of small records, and every command opens one. Writes are not
// synced (a killed process loses nothing, a power cut may lose the last
// writes); Close flushes. With these settings a writer opens in about 5 ms
// and a reader in under 1 ms, adding about 3 MB of RSS (a 12 MB process).
// There is no compression, hence no block cache; tables are mmapped.
// Values up to 1 MB (Badger's default threshold) live in the LSM tree,
// where compaction reclaims overwritten ones; larger values would go to
// the value log, which we never garbage-collect, so keep them out.
func badgerOptions(path string, readOnly bool, log io.Writer) badger.Options {
	return badger.DefaultOptions(path).
		WithReadOnly(readOnly).
		WithLogger(badgerLogger{log}).
		WithMetricsEnabled(false).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithNumCompactors(2).
		WithBaseTableSize(1 << 20).
		WithValueLogFileSize(16 << 20).
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithIndexCacheSize(0).
		WithDetectConflicts(false) // writes are serialized by DB.writeMu
}

// badgerLogger passes Badger's errors and warnings to Options.Log.
type badgerLogger struct{ w io.Writer }

func (l badgerLogger) Errorf(f string, a ...any)   { l.printf(f, a...) }
func (l badgerLogger) Warningf(f string, a ...any) { l.printf(f, a...) }
func (badgerLogger) Infof(string, ...any)          {}
func (badgerLogger) Debugf(string, ...any)         {}

func (l badgerLogger) printf(f string, a ...any) {
	if strings.HasPrefix(f, "Received err: ") {
		return // a failed open: Open returns that error, and we say it once
	}
	fmt.Fprintf(l.w, "badger: %s\n", strings.TrimRight(fmt.Sprintf(f, a...), "\n"))
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (db *DB) noState() error {
	return fmt.Errorf("%w in %s (run something first)", ErrNoState, db.dir)
}

// schema returns the stored schema version, whether there was one, and
// whether the database holds anything at all.
func (db *DB) schema() (version string, found, empty bool, err error) {
	v, err := db.Get(schemaKey)
	if err == nil {
		return string(v), true, false, nil
	}
	if !errors.Is(err, kv.ErrNotFound) {
		return "", false, false, err
	}
	empty = true
	err = db.Scan(nil, false, func(_, _ []byte) (bool, error) { empty = false; return false, nil })
	return "", false, empty, err
}

func (db *DB) checkSchemaReader() error {
	version, found, empty, err := db.schema()
	switch {
	case err != nil:
		return err
	case found && version == SchemaVersion:
		return nil
	case !found && empty:
		return db.noState()
	}
	return &SchemaError{Dir: db.dir, Found: version}
}

func (db *DB) checkSchemaWriter(keep bool) error {
	version, found, empty, err := db.schema()
	switch {
	case err != nil:
		return err
	case found && version == SchemaVersion:
		return nil
	case !found && empty:
		return db.setSchema()
	case keep:
		return &SchemaError{Dir: db.dir, Found: version}
	}
	if err := db.startOver(version); err != nil {
		return err
	}
	return db.setSchema()
}

func (db *DB) setSchema() error {
	return db.Write(func(t kv.Txn) error { return t.Set(schemaKey, []byte(SchemaVersion)) })
}

// startOver moves the database aside and opens an empty one. We hold the
// exclusive lock, so nobody else has the database open.
func (db *DB) startOver(found string) error {
	err := db.bdb.Close()
	db.bdb = nil
	if err != nil {
		return fmt.Errorf("closing %s: %w", db.dbPath(), err)
	}
	old, err := db.setAside("old")
	if err != nil {
		return err
	}
	fmt.Fprintf(db.log, "state in %s has schema version %q, this jsrt-script knows %q: keeping it as %s and starting over\n",
		db.dir, found, SchemaVersion, old)
	return db.openBadger(false)
}

// damaged says whether err, from opening Badger, means the database itself
// is unreadable (a missing or corrupt table, a truncated manifest), as
// opposed to busy or an error of the system (permissions, a full disk,
// too many open files), after which the database may well be fine.
func damaged(err error) bool {
	var busy *busyError
	var errno unix.Errno
	return err != nil && !errors.As(err, &busy) && !errors.As(err, &errno) && !errors.Is(err, fs.ErrPermission)
}

// startAfresh moves a database that cannot be opened (cause) aside and
// opens an empty one, under the exclusive lock. Nothing is deleted: the
// cache and history it held are kept where the message says.
func (db *DB) startAfresh(cause error) error {
	old, err := db.setAside("damaged")
	if err != nil {
		return fmt.Errorf("%w (and could not move it aside: %v)", cause, err)
	}
	fmt.Fprintf(db.log, "state in %s could not be opened (%v): keeping it as %s and starting over\n", db.dir, cause, old)
	for _, mark := range []string{damageMark, openingMark} {
		if err := os.Remove(filepath.Join(db.dir, mark)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return db.openBadger(false)
}

// setAside renames the database directory to db.KIND-<unix time>[-n] and
// returns that path.
func (db *DB) setAside(kind string) (string, error) {
	old := fmt.Sprintf("%s.%s-%d", db.dbPath(), kind, time.Now().Unix())
	for n := 2; exists(old); n++ {
		old = fmt.Sprintf("%s.%s-%d-%d", db.dbPath(), kind, time.Now().Unix(), n)
	}
	if err := os.Rename(db.dbPath(), old); err != nil {
		return "", fmt.Errorf("moving old state aside: %w", err)
	}
	return old, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// level0Limit is how many level-0 tables a writer lets pile up before its
// Close compacts them. Every run leaves its writes in one small level-0
// table: Badger's compactors start on a timer and a run's process is
// usually gone before they do. Each open maps every table and each close
// syncs it, so without compaction a state directory got slower with every
// run (230 runs: 236 tables, a one-task run 35 -> 69 ms).
const level0Limit = 6

// Close flushes and closes the database and releases the lock. A writer
// that found too many level-0 tables compacts them first. A writer whose
// database directory was removed meanwhile is abandoned (*RemovedError).
func (db *DB) Close() error {
	var err error
	if id, ok := idOf(db.dbPath()); db.bdb != nil && !db.readOnly && (!ok || id != db.dbID) {
		db.bdb = nil // its goroutines stay parked: closing would never return
		err = &RemovedError{Dir: db.dir}
	}
	if db.bdb != nil {
		compact := !db.readOnly && level0Tables(db.bdb) >= level0Limit
		err = db.bdb.Close()
		db.bdb = nil
		if err == nil && compact {
			err = db.compactLevel0()
		}
	}
	if cerr := db.lock.close(); err == nil {
		err = cerr
	}
	db.lock = nil
	return err
}

func level0Tables(bdb *badger.DB) int {
	n := 0
	for _, t := range bdb.Tables() {
		if t.Level == 0 {
			n++
		}
	}
	return n
}

// compactLevel0 merges the level-0 tables into the next level: Badger does
// that on Close when asked at Open, so open once more (still under our
// lock) and close.
func (db *DB) compactLevel0() error {
	bdb, err := badger.Open(badgerOptions(db.dbPath(), false, db.log).WithCompactL0OnClose(true))
	if err != nil {
		return fmt.Errorf("compacting %s: %w", db.dbPath(), err)
	}
	if err := bdb.Close(); err != nil {
		return fmt.Errorf("compacting %s: %w", db.dbPath(), err)
	}
	return nil
}

// Get implements kv.Store.
func (db *DB) Get(key []byte) (_ []byte, err error) {
	defer db.recoverDamage(&err)
	var val []byte
	err = db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, kv.ErrNotFound
	}
	return val, err
}

// Write implements kv.Store. Writes are serialized; a transaction larger
// than Badger allows fails with badger.ErrTxnTooBig and applies nothing.
func (db *DB) Write(fn func(kv.Txn) error) (err error) {
	if db.readOnly {
		return ErrReadOnly
	}
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	defer db.recoverDamage(&err)
	return db.bdb.Update(func(txn *badger.Txn) (ferr error) {
		own(func() { ferr = fn(badgerTxn{txn}) })
		return ferr
	})
}

// Scan implements kv.Store. Values are loaned from Badger for the
// duration of each fn call, as the kv.Store contract allows.
func (db *DB) Scan(prefix []byte, reverse bool, fn func(key, val []byte) (bool, error)) (err error) {
	defer db.recoverDamage(&err)
	return db.bdb.View(func(txn *badger.Txn) error {
		it := newIterator(txn, prefix, reverse)
		defer it.Close()
		for ; it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			more := false
			err := item.Value(func(val []byte) (ferr error) {
				own(func() { more, ferr = fn(item.Key(), val) })
				return ferr
			})
			if err != nil || !more {
				return err
			}
		}
		return nil
	})
}

// newIterator returns an iterator positioned on the first key with prefix
// in scan order. Badger's reverse Seek finds the last key <= its argument,
// so a reverse scan seeks to the first key after the prefix range and steps
// over it. (Seeking to prefix+0xFF, the usual trick, misses keys that
// continue with 0xFF bytes.) Badger's Prefix option is only safe forward.
func newIterator(txn *badger.Txn, prefix []byte, reverse bool) *badger.Iterator {
	opt := badger.IteratorOptions{Reverse: reverse}
	if !reverse {
		opt.Prefix = prefix
		it := txn.NewIterator(opt)
		it.Seek(prefix)
		return it
	}
	it := txn.NewIterator(opt)
	end := prefixEnd(prefix)
	if end == nil {
		it.Rewind()
		return it
	}
	it.Seek(end)
	if it.Valid() && bytes.Equal(it.Item().Key(), end) {
		it.Next()
	}
	return it
}

// prefixEnd returns the smallest key greater than every key with prefix,
// or nil when there is none (prefix empty or all 0xFF).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// badgerTxn adapts a Badger read-write transaction to kv.Txn. Badger keeps
// the slices given to Set until commit, so they are copied.
type badgerTxn struct{ txn *badger.Txn }

func (t badgerTxn) Get(key []byte) ([]byte, error) {
	item, err := t.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, kv.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func (t badgerTxn) Set(key, val []byte) error {
	return t.txn.Set(bytes.Clone(key), bytes.Clone(val))
}

func (t badgerTxn) Delete(key []byte) error { return t.txn.Delete(bytes.Clone(key)) }
