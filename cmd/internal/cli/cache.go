package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/store"
)

func cacheCmd(env *Env, args []string) int {
	fs := newFlags(env, "cache", "stats|gc|clear [TASK...] [--json] [--max SIZE] [--state-dir DIR]")
	asJSON := fs.Bool("json", false, "stats: print JSON")
	max := fs.String("max", "2GiB", "gc: keep at most `SIZE` of entries, evicting the least recently used")
	stateDir := fs.String("state-dir", "", "use state in `DIR` (default: the nearest .jsrt in this directory or above)")
	pos, code, ok := parse(env, fs, args)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		errorf(env, "cache: what? usage: jsrt-script cache stats|gc|clear [TASK...]")
		return ExitUsage
	}
	sub := pos[0]
	if sub != "stats" && sub != "gc" && sub != "clear" {
		errorf(env, "cache: unknown subcommand %q (use stats, gc or clear)", sub)
		return ExitUsage
	}
	maxBytes, err := cache.ParseSize(*max)
	if err != nil {
		errorf(env, "cache gc: --max: %v", err)
		return ExitUsage
	}
	dir := stateDirFor(env, *stateDir)
	db, err := store.Open(context.Background(), dir, store.Options{ReadOnly: sub == "stats", Log: env.Stderr,
		OnWait: func(pid int) { errorf(env, "waiting for another run (pid %d) holding %s", pid, dir) }})
	if errors.Is(err, store.ErrNoState) {
		errorf(env, "no cache in %s yet: run something first", dir)
		return ExitUsage
	}
	if err != nil {
		return report(env, err)
	}
	defer db.Close()
	c := cache.New(db, filepath.Join(dir, "cache"), env.Now)
	switch sub {
	case "stats":
		return cacheStats(env, c, *asJSON)
	case "gc":
		res, err := c.GC(maxBytes)
		if err != nil {
			return report(env, err)
		}
		fmt.Fprintf(env.Stdout, "cache gc: %d expired, %d evicted, %d blobs deleted (%s freed), %s kept\n",
			res.Expired, res.Evicted, res.Blobs, bytesHuman(res.FreedBytes), bytesHuman(res.KeptBytes))
	case "clear":
		return cacheClear(env, c, pos[1:])
	}
	return ExitOK
}

func stateDirFor(env *Env, flag string) string {
	switch {
	case flag == "":
		return findState(env.Cwd)
	case filepath.IsAbs(flag):
		return flag
	}
	return filepath.Join(env.Cwd, flag)
}

func cacheStats(env *Env, c *cache.Cache, asJSON bool) int {
	st, err := c.Stats()
	if err != nil {
		return report(env, err)
	}
	if asJSON {
		return printJSON(env, st)
	}
	fmt.Fprintf(env.Stdout, "%d entries, %s; %d hits, %d misses, hit rate %.0f%%\n",
		st.Entries, bytesHuman(st.Bytes), st.Hits, st.Misses, 100*st.HitRate)
	names := make([]string, 0, len(st.Tasks))
	for n := range st.Tasks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := st.Tasks[n]
		fmt.Fprintf(env.Stdout, "  %-24s %3d entries %9s  %4d hits %4d misses  %3.0f%%\n", n, t.Entries, bytesHuman(t.Bytes), t.Hits, t.Misses, 100*t.HitRate)
	}
	return ExitOK
}

// cacheClear drops every entry (no task named) or the named tasks' entries
// and those of tasks whose entries depend on them.
func cacheClear(env *Env, c *cache.Cache, tasks []string) int {
	st, err := c.Stats()
	if err != nil {
		return report(env, err)
	}
	known := make([]string, 0, len(st.Tasks))
	for n := range st.Tasks {
		known = append(known, n)
	}
	sort.Strings(known)
	for _, t := range tasks {
		if st.Tasks[t] == nil {
			msg := fmt.Sprintf("cache clear: the cache knows no task %q", t)
			if s := graph.Suggest(t, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			errorf(env, "%s", msg)
			return ExitUsage
		}
	}
	if len(tasks) == 0 {
		tasks = known
	}
	gone, err := c.Invalidate(tasks...)
	if err != nil {
		return report(env, err)
	}
	res, err := c.GC(0)
	if err != nil {
		return report(env, err)
	}
	fmt.Fprintf(env.Stdout, "cache clear: entries of %d task(s) dropped, %s freed\n", len(gone), bytesHuman(res.FreedBytes))
	return ExitOK
}
