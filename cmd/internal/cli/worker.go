package cli

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/jsrt-script/jsrt-script/runtime/remote"
)

// workerCmd serves the tasks that `run --nats` sends, until interrupted:
// the tasks it runs then go back to the queue for another worker.
func workerCmd(env *Env, args []string) int {
	fs := newFlags(env, "worker", "--nats URL [--pools a,b] [--slots N] [--dir DIR]")
	url := fs.String("nats", env.getenv("NATS_URL"), "the NATS JetStream server (or cluster) at `URL` (default $NATS_URL)")
	pools := fs.String("pools", remote.DefaultPool, "serve the tasks of these pools (`a,b`); tasks that name no pool are in \"default\"")
	slots := fs.Int("slots", runtime.NumCPU(), "run at most `N` tasks at once")
	dir := fs.String("dir", "", "scratch directories and the local blob cache in `DIR` (default: a jsrt-script/worker directory under the user cache)")
	id := fs.String("id", "", "the worker's name in the fleet (default HOST-PID)")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	switch {
	case len(pos) > 0:
		errorf(env, "worker: unexpected argument %q; usage: jsrt-script worker --nats URL", pos[0])
		return ExitUsage
	case *url == "":
		errorf(env, "worker: which server? usage: jsrt-script worker --nats URL (or set NATS_URL)")
		return ExitUsage
	case *slots < 1:
		errorf(env, "worker: --slots must be at least 1, got %d", *slots)
		return ExitUsage
	}
	if *dir == "" {
		*dir = defaultWorkerDir(env)
	} else if !filepath.IsAbs(*dir) {
		*dir = filepath.Join(env.Cwd, *dir)
	}
	var names []string
	for _, p := range strings.Split(*pools, ",") {
		if p = strings.TrimSpace(p); p != "" {
			names = append(names, p)
		}
	}
	ctx, kill, stop := interrupts(env)
	defer stop()
	nc, err := remote.Connect(*url, "jsrt-script worker")
	if err != nil {
		errorf(env, "worker: %v", err)
		return ExitUsage
	}
	defer nc.Close()
	var mu sync.Mutex
	w, err := remote.NewWorker(nc, remote.WorkerOptions{ID: *id, Pools: names, Slots: *slots, Dir: *dir, Env: env.Environ,
		Kill: kill, Logf: func(format string, a ...any) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(env.Stdout, "[worker] "+format+"\n", a...)
		}})
	if err != nil {
		errorf(env, "worker: %v", err)
		return ExitUsage
	}
	fmt.Fprintf(env.Stdout, "[worker] %s: serving pool(s) %s with %d slot(s) from %s; scratch in %s\n",
		w.ID(), strings.Join(names, ","), *slots, *url, *dir)
	if err := w.Run(ctx); err != nil {
		errorf(env, "worker: %v", err)
		return ExitFailed
	}
	fmt.Fprintf(env.Stdout, "[worker] %s: stopped\n", w.ID())
	return ExitOK
}

// defaultWorkerDir is jsrt-script/worker under the user's cache directory.
func defaultWorkerDir(env *Env) string {
	base := env.getenv("XDG_CACHE_HOME")
	if base == "" {
		base = filepath.Join(env.getenv("HOME"), ".cache")
	}
	return filepath.Join(base, "jsrt-script", "worker")
}
