package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"

	"github.com/jsrt-script/jsrt-script/store"
)

// prefetch is the state directory a run will most likely use, opened on a
// goroutine of its own while the strategy loads: opening it replays its
// log, which takes about as long as loading a strategy of a thousand
// tasks. openState takes it if the run does use that directory.
type prefetch struct {
	dir  string
	done chan struct{} // closed once db and err are set
	db   *store.DB
	err  error
}

// startPrefetch opens, for a strategy file, the state of --state-dir or
// the .jsrt next to it (unless the strategy may set another root), only
// when a database is there already (a strategy
// that fails to load creates nothing) and never for a dry run. It never
// waits for another run, nor moves aside a database of another schema
// version (the run may not use that directory at all): openState then
// opens as usual, with its messages.
func (s *session) startPrefetch(ctx context.Context, file string) {
	if s.flags.dryRun || s.silent {
		return
	}
	file = abs(s.env.Cwd, file)
	dir := s.flags.stateDir
	if dir != "" {
		dir = abs(s.env.Cwd, dir)
	} else {
		dir = filepath.Join(filepath.Dir(file), ".jsrt")
	}
	if st, err := os.Stat(filepath.Join(dir, "db")); err != nil || !st.IsDir() {
		return
	}
	if s.flags.stateDir == "" && mayMoveRoot(file) {
		return // its root, and so its state, may be elsewhere: lock nothing it may not use
	}
	p := &prefetch{dir: dir, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.db, p.err = store.Open(ctx, dir, store.Options{NoWait: true, Keep: true, Log: s.env.Stderr})
	}()
	s.pre = p
}

// mayMoveRoot says whether a strategy may set another workspace root: its
// source calls root(, or cannot be read. A strategy that sets it from a
// module it requires is not seen; its prefetched state is then closed
// unused, as for any other root.
func mayMoveRoot(file string) bool {
	src, err := os.ReadFile(file)
	return err != nil || bytes.Contains(src, []byte("root("))
}

func abs(cwd, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(cwd, p)
}

// takePrefetch returns the prefetched state if it is dir's, opened, and
// wanted for writing; any other is closed. It returns nil when there is
// none to take.
func (s *session) takePrefetch(dir string, dry bool) *store.DB {
	p := s.pre
	if p == nil {
		return nil
	}
	s.pre = nil
	<-p.done
	if p.err == nil && p.dir == dir && !dry {
		return p.db
	}
	if p.db != nil {
		if err := p.db.Close(); err != nil {
			errorf(s.env, "closing state: %v", err)
		}
	}
	return nil
}
