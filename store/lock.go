package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// pollInterval is how often a waiting Open tries the lock again.
const pollInterval = 100 * time.Millisecond

// LockedError reports that another process holds the state directory
// (returned by Open when Options.NoWait is set).
type LockedError struct {
	Dir string
	PID int // 0 when unknown
}

func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("another run is using %s", e.Dir)
	}
	return fmt.Sprintf("another run (pid %d) is using %s", e.PID, e.Dir)
}

// busyError is what one attempt to take the state reports when someone
// else has it; waitFor turns it into waiting or a LockedError.
type busyError struct{ pid int }

func (e *busyError) Error() string { return "state directory is busy" }

// waitFor calls try until it succeeds or fails for a reason other than
// busy. On busy it fails at once with NoWait, otherwise it calls OnWait
// once and polls until ctx is cancelled.
func waitFor(ctx context.Context, dir string, opts Options, try func() error) error {
	waited := false
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("opening %s: %w", dir, err)
		}
		err := try()
		var busy *busyError
		if !errors.As(err, &busy) {
			return err
		}
		if opts.NoWait {
			return &LockedError{Dir: dir, PID: busy.pid}
		}
		if !waited && opts.OnWait != nil {
			opts.OnWait(busy.pid)
		}
		waited = true
		t := time.NewTimer(pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for another run to finish with %s: %w", dir, ctx.Err())
		case <-t.C:
		}
	}
}

// lockFile is our flock on DIR/lock. A nil *lockFile (a read-only open of
// a state directory that has no lock file) locks nothing.
type lockFile struct {
	f         *os.File
	exclusive bool // we hold LOCK_EX (and wrote our pid)
}

func openLockFile(path string, readOnly bool) (*lockFile, error) {
	if readOnly {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &lockFile{f: f}, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &lockFile{f: f}, nil
}

// try takes the lock without blocking: how is unix.LOCK_EX or LOCK_SH.
// Asking for the other kind while holding one converts it (not atomically).
func (l *lockFile) try(how int) error {
	if l == nil {
		return nil
	}
	err := flock(l.f, how|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return &busyError{pid: readPID(l.f.Name())}
	}
	if err != nil {
		return fmt.Errorf("locking %s: %w", l.f.Name(), err)
	}
	l.exclusive = how == unix.LOCK_EX
	return nil
}

// unlock releases the lock; a holder of the exclusive lock clears its pid
// first so that nobody reports a stale one.
func (l *lockFile) unlock() {
	if l == nil {
		return
	}
	if l.exclusive {
		_ = l.f.Truncate(0)
		l.exclusive = false
	}
	_ = flock(l.f, unix.LOCK_UN)
}

// writePID records the holder's pid so that waiting runs can name it.
func (l *lockFile) writePID() error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// close releases the lock and closes the file.
func (l *lockFile) close() error {
	if l == nil {
		return nil
	}
	l.unlock()
	return l.f.Close()
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// readPID reads a pid file and returns the pid if that process is alive,
// or 0 when unknown.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
		return 0
	}
	return pid
}

// HolderPID is the pid written in dir's lock file by the process that last
// held it for writing, when that process is still alive; 0 otherwise. It
// is a hint for messages (the lock itself is the flock).
func HolderPID(dir string) int { return readPID(filepath.Join(dir, "lock")) }
