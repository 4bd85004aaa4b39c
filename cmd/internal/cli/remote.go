package cli

import (
	"context"
	"fmt"

	"github.com/jsrt-script/jsrt-script/bindings"
	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/remote"
)

// dialRemote connects the session to the workers on its first real run
// with --nats, and says what it found.
func (s *session) dialRemote(ctx context.Context, ws *core.Workspace, dry bool) error {
	if s.flags.nats == "" || dry {
		return nil
	}
	for _, t := range ws.Graph.Tasks() {
		for _, p := range append([]string{t.Pool}, t.Pools...) {
			if p == "" {
				continue
			}
			if err := remote.CheckPool(p); err != nil {
				return fmt.Errorf("task %q: %w", t.Name, err)
			}
		}
	}
	if s.remote != nil {
		return nil
	}
	ex, err := remote.Dial(ctx, s.flags.nats, remote.Options{RemoteOnly: s.flags.remoteOnly})
	if err != nil {
		return err
	}
	s.remote = ex
	switch n, slots := ex.Workers(); {
	case n > 0:
		errorf(s.env, "sending tasks to %d worker(s) with %d slot(s) through %s", n, slots, s.flags.nats)
	case s.flags.remoteOnly:
		errorf(s.env, "no worker is alive on %s: tasks wait for one (--remote-only)", s.flags.nats)
	default:
		errorf(s.env, "no worker is alive on %s: running tasks locally", s.flags.nats)
	}
	return nil
}

// useRemote sends the run's attempts to the workers: as many at once as
// they have slots (unless -j or the strategy says otherwise), and without
// the optimizer, since this machine's load says nothing about theirs.
func (s *session) useRemote(opt *core.RunOptions, req bindings.RunRequest) {
	if s.remote == nil {
		return
	}
	opt.Remote = s.remote
	opt.Optimize = nil
	if _, slots := s.remote.Workers(); slots > 0 && !s.flags.jobsSet && req.Jobs == 0 {
		opt.Jobs = slots
	}
}

func (s *session) closeRemote() {
	if s.remote != nil {
		if err := s.remote.Close(); err != nil {
			errorf(s.env, "closing the NATS connection: %v", err)
		}
	}
}
