package cli

import (
	"fmt"
	"path/filepath"

	"github.com/jsrt-script/jsrt-script/runtime/remote"
)

// natsServerCmd runs an embedded NATS server with JetStream until
// interrupted: enough for a team to try workers on one machine (production
// uses its own cluster).
func natsServerCmd(env *Env, args []string) int {
	fs := newFlags(env, "nats-server", "[--port N] [--store DIR]")
	port := fs.Int("port", 4222, "listen on `N`")
	host := fs.String("host", "127.0.0.1", "listen on this `ADDRESS` (the default: this machine only)")
	store := fs.String("store", ".jsrt-nats", "keep JetStream's data (queues, shared cache) in `DIR`")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		errorf(env, "nats-server: unexpected argument %q; usage: jsrt-script nats-server [--port N] [--store DIR]", pos[0])
		return ExitUsage
	}
	if *port < 1 || *port > 65535 {
		errorf(env, "nats-server: --port must be between 1 and 65535, got %d", *port)
		return ExitUsage
	}
	dir := *store
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(env.Cwd, dir)
	}
	s, err := remote.StartServer(remote.ServerOptions{Host: *host, Port: *port, StoreDir: dir})
	if err != nil {
		errorf(env, "nats-server: %v", err)
		return ExitUsage // a port in use or a bad store: the command's input
	}
	fmt.Fprintf(env.Stdout, "nats-server: JetStream listening on %s, data in %s; stop with Ctrl-C\n", s.URL(), dir)
	fmt.Fprintf(env.Stdout, "nats-server: start workers with: jsrt-script worker --nats %s\n", s.URL())
	ctx, _, stop := interrupts(env)
	defer stop()
	<-ctx.Done()
	s.Shutdown()
	fmt.Fprintln(env.Stdout, "nats-server: stopped")
	return ExitOK
}
