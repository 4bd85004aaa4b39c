package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/monitor"
)

type runFlags struct {
	jobs      int
	keepGoing bool
	dryRun    bool
	json      bool
	output    string
	stateDir  string
	noWait    bool
	noCache   bool
	since     string
	explain   bool
	cacheMax  string
	maxSet    bool // --cache-max was given: it wins over the strategy's cache.maxSize
	live      bool // stdout is a terminal and --output was not given: the live view
	failFast  bool
	order     string
	policyTO  time.Duration
	noAhead   bool

	minJobs     int
	sampleEvery time.Duration
	fixedJobs   bool
	profile     string
	report      string

	nats       string // --nats URL: workers run the tasks (remote.go)
	remoteOnly bool
	jobsSet    bool // -j was given
}

func runCmd(env *Env, args []string) int {
	var f runFlags
	fs := newFlags(env, "run", "STRATEGY.js [TARGET...] [flags]")
	fs.IntVar(&f.jobs, "j", runtime.NumCPU(), "run at most `N` tasks at once")
	fs.BoolVar(&f.keepGoing, "continue", false, "after a failure, keep running everything that does not depend on it")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan in start order; run nothing, write nothing")
	fs.BoolVar(&f.json, "json", false, "print a machine-readable summary on stdout (task output goes to stderr)")
	fs.StringVar(&f.output, "output", "stream", "how to show task output: stream (prefixed lines), grouped (one block per task) or quiet")
	fs.StringVar(&f.stateDir, "state-dir", "", "keep state (history, logs) in `DIR` instead of .jsrt at the workspace root")
	fs.BoolVar(&f.noWait, "no-wait", false, "fail at once instead of waiting when another run uses the state")
	fs.BoolVar(&f.noCache, "no-cache", false, "neither look up nor store results in the cache")
	fs.StringVar(&f.since, "since", "", "run only the targets affected by changes since git `REF` (committed, staged, unstaged, untracked)")
	fs.BoolVar(&f.explain, "explain", false, "say why each task hit or missed the cache")
	fs.BoolVar(&f.failFast, "fail-fast", false, "start first the ready tasks most likely to fail (from history)")
	fs.StringVar(&f.order, "order", "critical", "order of ready tasks: critical (priority policy, critical path) or fifo")
	fs.IntVar(&f.minJobs, "min-j", 1, "the optimizer never goes below `N` tasks at once")
	fs.DurationVar(&f.sampleEvery, "sample-every", 500*time.Millisecond, "how often the optimizer samples CPU, memory, load and disk")
	fs.BoolVar(&f.fixedJobs, "fixed-j", false, "keep -j fixed: no resource-aware changes of parallelism")
	fs.StringVar(&f.profile, "profile", "", "write a Chrome trace-event `FILE` of the run (opens in Perfetto or chrome://tracing)")
	fs.StringVar(&f.report, "report", "", "write a self-contained HTML report of the run to `FILE`")
	fs.BoolVar(&f.noAhead, "no-speculate", false, "do not run ahead the tasks history says are usually asked for next")
	fs.DurationVar(&f.policyTO, "policy-timeout", 100*time.Millisecond, "how long one call of a JS policy hook may run")
	fs.StringVar(&f.cacheMax, "cache-max", "2GiB", "after the run, evict least recently used cache entries above this `SIZE`")
	fs.StringVar(&f.nats, "nats", "", "send tasks to workers through the NATS JetStream server at `URL` (see jsrt-script worker)")
	fs.BoolVar(&f.remoteOnly, "remote-only", false, "with --nats: never run a task here; wait for a worker")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	outputSet := false
	fs.Visit(func(fl *flag.Flag) {
		f.maxSet = f.maxSet || fl.Name == "cache-max"
		outputSet = outputSet || fl.Name == "output"
		f.jobsSet = f.jobsSet || fl.Name == "j"
	})
	f.live = env.IsTerminal && !outputSet && !f.json && env.getenv("TERM") != "dumb"
	if len(pos) == 0 {
		errorf(env, "run: which strategy? usage: jsrt-script run STRATEGY.js [TARGET...]")
		return ExitUsage
	}
	if f.remoteOnly && f.nats == "" {
		errorf(env, "run: --remote-only needs --nats URL")
		return ExitUsage
	}
	if f.jobs < 1 {
		errorf(env, "run: -j must be at least 1, got %d", f.jobs)
		return ExitUsage
	}
	mode, err := monitor.ParseMode(f.output)
	if err != nil {
		errorf(env, "run: %v", err)
		return ExitUsage
	}
	if f.order != "critical" && f.order != "fifo" {
		errorf(env, "run: --order must be critical or fifo, got %q", f.order)
		return ExitUsage
	}
	if f.minJobs < 1 || f.minJobs > f.jobs {
		errorf(env, "run: --min-j must be between 1 and -j (%d), got %d", f.jobs, f.minJobs)
		return ExitUsage
	}
	if f.sampleEvery < 50*time.Millisecond {
		errorf(env, "run: --sample-every must be at least 50ms, got %s", f.sampleEvery)
		return ExitUsage
	}
	for flagName, path := range map[string]string{"--profile": f.profile, "--report": f.report} {
		if path == "" {
			continue
		}
		dir := filepath.Dir(path)
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(env.Cwd, dir)
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			errorf(env, "run: %s %s: directory %s does not exist", flagName, path, filepath.Dir(path))
			return ExitUsage
		}
	}
	if f.policyTO <= 0 {
		errorf(env, "run: --policy-timeout must be positive, got %s", f.policyTO)
		return ExitUsage
	}
	maxBytes, err := cache.ParseSize(f.cacheMax)
	if err != nil {
		errorf(env, "run: --cache-max: %v", err)
		return ExitUsage
	}
	ctx, kill, stop := interrupts(env)
	defer stop()
	s := &session{env: env, flags: f, mode: mode, kill: kill, cacheMax: maxBytes}
	exit := s.main(ctx, pos[0], pos[1:])
	if !s.close() && exit == ExitOK {
		exit = ExitFailed // the tasks went well, but what the run learnt is lost
	}
	return exit
}

// interrupts turns the first SIGINT/SIGTERM/SIGHUP into a cancelled context
// (tasks get SIGTERM, then SIGKILL after a grace period) and the second into
// a closed kill channel (SIGKILL at once).
func interrupts(env *Env) (context.Context, chan struct{}, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	kill := make(chan struct{})
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-env.Signals:
				n++
				if n == 1 {
					fmt.Fprintln(env.Stderr, "jsrt-script: interrupted: stopping running tasks (interrupt again to kill them at once)")
					cancel()
				} else if n == 2 {
					close(kill)
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, kill, func() { close(done); cancel() }
}
