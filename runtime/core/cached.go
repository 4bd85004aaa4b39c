package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/files"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// Caching is the result cache as one run uses it.
type Caching struct {
	Cache   *cache.Cache
	Index   *cache.Index
	NoCache bool // --no-cache: no lookup, no store ({changed} still works)
}

// Notices is what a display may implement to show jsrt-script's own remarks
// about a task (a cache hit being replayed, an input glob matching nothing).
type Notices interface {
	Notice(t *graph.Task, msg string)
}

// cachedRunner computes each task's key when it starts, replays a hit, and
// otherwise runs the task and stores a successful result.
type cachedRunner struct {
	ws    *Workspace
	opt   RunOptions
	local *localRunner
	state string // the state directory, relative to the root ("" if outside): never an input

	mu     sync.Mutex
	keys   map[string]cache.Digest // keys of this run's finished tasks
	probes map[int]probeState      // probes that did not settle their task
	stored atomic.Int64            // entries saved by this run
}

// prepared is a task's identity at one moment.
type prepared struct {
	key      cache.Digest
	manifest cache.Manifest
}

func (r *cachedRunner) notice(t *graph.Task, msg string) {
	if n, ok := r.opt.Display.(Notices); ok {
		n.Notice(t, msg)
	}
}

func (r *cachedRunner) Run(ctx context.Context, t *graph.Task, attempt int) sched.Result {
	start := time.Now()
	var warn func(string) // an input pattern matching nothing is said at the first attempt
	var missed cache.Digest
	if attempt == 1 {
		warn = func(msg string) { r.notice(t, msg) }
		if pr, ok := r.takeProbe(t); ok {
			for _, msg := range pr.notes {
				r.notice(t, msg)
			}
			warn, missed = nil, pr.missed
		}
	}
	// The key is computed again after a probe: the inputs may have changed
	// while the task waited for a slot.
	before, err := r.prepare(t, warn)
	if err != nil {
		return sched.Result{Start: start, ExitCode: -1, Err: err}
	}
	cacheable := r.cacheable(t)
	if !cacheable && sched.IsSpeculative(ctx) {
		return sched.Result{Start: start, ExitCode: -1, Interrupted: true} // only worth running into the cache
	}
	if cacheable && attempt == 1 && before.key != missed { // a key the probe missed is not looked up again
		if res, v := r.tryHit(t, before, start, nil); v == hit {
			return res
		}
	}
	run := *t
	if err := r.expand(&run, before); err != nil {
		return sched.Result{Start: start, ExitCode: -1, Err: err}
	}
	id := identity{inputs: before.manifest.Inputs} // for a remote attempt
	if cacheable {
		id.key = before.key
	}
	res, offset := r.local.run(ctx, &run, attempt, id)
	res.Key = string(before.key)
	if !res.OK() {
		return res
	}
	if err := r.afterSuccess(t, before, res, offset, sched.IsSpeculative(ctx)); err != nil {
		res.Err, res.ExitCode = err, -1
	}
	return res
}

// cacheable: tasks that declare inputs are cached unless told not to; a task
// with no inputs would be identified by its command alone, which would
// trust far too much, so it always runs.
func (r *cachedRunner) cacheable(t *graph.Task) bool {
	return r.opt.Caching.Cache != nil && !r.opt.Caching.NoCache && !t.NoCache && len(t.Inputs) > 0
}

// Probes implements sched.Prober: only a cacheable task with an entry can
// be a hit; the others (a cold build's) go straight to their slot.
func (r *cachedRunner) Probes(t *graph.Task) bool {
	return r.cacheable(t) && r.opt.Caching.Cache.MayHit(t.Name)
}

// Probe implements sched.Prober: the key of the task's first attempt and,
// on a hit, its outputs restored and its log replayed into memory, shown
// by show once the scheduler has said the task started. Otherwise what it
// had to say waits for Run, with the key it missed.
func (r *cachedRunner) Probe(ctx context.Context, t *graph.Task) (sched.Result, func(), bool) {
	start := time.Now()
	var d deferred
	p, err := r.prepare(t, d.note)
	if err == nil {
		res, v := r.tryHit(t, p, start, &d)
		if v == hit {
			return res, func() { d.show(r, t) }, true
		}
		if v == miss {
			d.missed = p.key
		}
	}
	r.mu.Lock()
	r.probes[t.ID] = d.probeState
	r.mu.Unlock()
	return sched.Result{}, nil, false
}

// probeState is what a probe that did not settle a task leaves its first
// attempt: what it had to say, and the key it looked up in vain.
type probeState struct {
	notes  []string
	missed cache.Digest
}

func (r *cachedRunner) takeProbe(t *graph.Task) (probeState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pr, ok := r.probes[t.ID]
	if ok {
		delete(r.probes, t.ID)
	}
	return pr, ok
}

// deferred keeps what a probe's hit prints until the task has started.
type deferred struct {
	probeState
	replay bytes.Buffer
}

func (d *deferred) note(msg string) { d.notes = append(d.notes, msg) }

func (d *deferred) show(r *cachedRunner, t *graph.Task) {
	for _, msg := range d.notes {
		r.notice(t, msg)
	}
	if d.replay.Len() > 0 {
		out := r.opt.Display.Output(t, 1)
		out.Write(d.replay.Bytes())
		out.Close()
	}
}

// maxDeferredReplay is the largest log a probe replays into memory; a hit
// with more to say is left to the task's first attempt, which replays it
// straight to the display.
const maxDeferredReplay = 256 << 10

type verdict int

const (
	miss  verdict = iota // no usable entry
	hit                  // replayed and restored
	later                // an entry a probe leaves to the attempt
)

// tryHit looks the key up and, on a hit, replays the log and restores the
// outputs. What it says goes to the display, or with d (a probe) into d.
func (r *cachedRunner) tryHit(t *graph.Task, p prepared, start time.Time, d *deferred) (sched.Result, verdict) {
	c := r.opt.Caching.Cache
	e, err := c.Find(t.Name, p.key)
	if err != nil {
		return sched.Result{}, miss
	}
	if d != nil && e != nil && e.LogSize > maxDeferredReplay {
		return sched.Result{}, later // looked up (and counted) again by the attempt
	}
	if err := c.Count(t.Name, e != nil); err != nil || e == nil {
		return sched.Result{}, miss
	}
	note := func(msg string) { r.notice(t, msg) }
	if d != nil {
		note = d.note
	}
	log := &lazyLog{path: LogPath(r.opt.LogDir, t.Name), attempt: 1, logs: r.local.logs}
	defer log.close()
	var replay io.Writer = log
	switch {
	case e.LogSize == 0: // most hits have nothing to replay: no display output for them
	case d != nil:
		replay = io.MultiWriter(log, &d.replay)
	default:
		out := r.opt.Display.Output(t, 1)
		defer out.Close()
		replay = io.MultiWriter(log, out)
	}
	note("cache hit: replaying the output of a " + e.Duration.Round(time.Millisecond).String() +
		" run and restoring " + strconv.Itoa(len(e.Outputs)) + " output(s)") // no fmt: once per hit
	if err := c.Restore(r.ws.Root, e, replay); err != nil {
		note(fmt.Sprintf("cache entry unusable (%v): running the task", err))
		d.clearReplay()
		return sched.Result{}, miss
	}
	removed, err := cache.Prune(r.ws.Root, t.Outputs, e, func(p string) bool { return r.otherOutput(t, p) })
	if err != nil {
		note(fmt.Sprintf("cannot remove outputs the cached run did not leave (%v): running the task", err))
		d.clearReplay()
		return sched.Result{}, miss
	}
	if len(removed) > 0 {
		note(fmt.Sprintf("removed %d file(s) matching its outputs that the cached run did not leave: %s",
			len(removed), strings.Join(quoteAll(removed, 5), ", ")))
	}
	r.remember(t, p)
	return sched.Result{Start: start, Duration: time.Since(start), Cached: true, Saved: e.Duration, AheadHit: e.Ahead, Key: string(p.key)}, hit
}

// clearReplay drops a replay that turned out not to be a hit (nil-safe).
func (d *deferred) clearReplay() {
	if d != nil {
		d.replay.Reset()
	}
}

// maxReasons is how many changed inputs a notice lists before "and N more".
const maxReasons = 10

// otherOutput says whether p (slash-separated, relative to the root) is a
// declared output of a task other than t: pruning t's outputs leaves it.
func (r *cachedRunner) otherOutput(t *graph.Task, p string) bool {
	for _, o := range r.ws.Graph.Tasks() {
		if o == t {
			continue
		}
		for _, pat := range o.Outputs {
			pat = path.Clean(filepath.ToSlash(pat))
			if ok, _ := doublestar.Match(pat, p); ok || strings.HasPrefix(p, pat+"/") {
				return true
			}
		}
	}
	return false
}

// quoteAll quotes the first n of names, then says how many more there are.
func quoteAll(names []string, n int) []string {
	out := make([]string, 0, min(n, len(names))+1)
	for i, s := range names {
		if i == n {
			out = append(out, fmt.Sprintf("and %d more", len(names)-n))
			break
		}
		out = append(out, strconv.Quote(s))
	}
	return out
}

// afterSuccess re-checks the inputs (a file changed while the task ran
// makes the result unfit to store), then stores the result and remembers
// the run for {changed} and explain.
func (r *cachedRunner) afterSuccess(t *graph.Task, before prepared, res sched.Result, offset int64, ahead bool) error {
	after, err := r.prepare(t, nil)
	if err != nil {
		return err
	}
	if after.key != before.key {
		r.notice(t, "inputs changed while the task ran: the result is not cached")
		diff := cache.Diff(before.manifest, after.manifest)
		for i, why := range diff {
			if i == maxReasons && len(diff) > maxReasons+1 {
				r.notice(t, fmt.Sprintf("  and %d more", len(diff)-maxReasons))
				break
			}
			r.notice(t, "  "+why)
		}
		return nil
	}
	if r.cacheable(t) && offset == lostLog {
		r.notice(t, "its log could not be kept (removed or not writable while it ran): the result is not cached")
	} else if r.cacheable(t) {
		var log io.Reader = strings.NewReader("") // printed nothing: no log file
		if f, err := os.Open(LogPath(r.opt.LogDir, t.Name)); err == nil {
			defer f.Close()
			if _, err := f.Seek(offset, io.SeekStart); err != nil {
				return err
			}
			log = f
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		err = r.opt.Caching.Cache.Save(cache.SaveRequest{Task: t.Name, Key: before.key, Root: r.ws.Root, Log: log,
			Outputs: t.Outputs, Deps: t.Deps, Manifest: before.manifest, Duration: res.Duration, TTL: t.CacheTTL, Ahead: ahead})
		if err != nil {
			return fmt.Errorf("task %q: %w", t.Name, err)
		}
		r.stored.Add(1)
	}
	r.remember(t, before)
	return nil
}

func (r *cachedRunner) remember(t *graph.Task, p prepared) {
	r.mu.Lock()
	r.keys[t.Name] = p.key
	r.mu.Unlock()
	if len(t.Inputs) == 0 {
		return // nothing for {changed} or explain to compare
	}
	if err := r.opt.Caching.Cache.RecordSuccess(t.Name, p.key, p.manifest); err != nil {
		r.notice(t, "could not record the run for {changed}: "+err.Error())
	}
}

// prepare hashes the task's inputs and computes its key.
// warn, when set, hears about input patterns that match nothing.
func (r *cachedRunner) prepare(t *graph.Task, warn func(string)) (prepared, error) {
	paths, err := r.inputs(t, warn)
	if err != nil {
		return prepared{}, err
	}
	spec := cache.Spec{Task: t.Name, Command: commandFields(t), Cwd: t.Cwd, Env: map[string]*string{},
		Outputs: t.Outputs, Deps: map[string]cache.Digest{}, Extra: t.CacheKey}
	for _, name := range t.Env {
		if v, ok := lookupEnv(r.opt.Env, name); ok {
			spec.Env[name] = &v
		} else {
			spec.Env[name] = nil
		}
	}
	spec.Inputs = make([]cache.FileState, 0, len(paths))
	for _, p := range paths {
		st, err := r.opt.Caching.Index.StateOf(r.ws.Root, p.Path, p.Info)
		if err != nil {
			return prepared{}, fmt.Errorf("task %q: input %q: %w", t.Name, p.Path, err)
		}
		spec.Inputs = append(spec.Inputs, st)
	}
	r.mu.Lock()
	for _, d := range t.Deps {
		spec.Deps[d] = r.keys[d]
	}
	r.mu.Unlock()
	key, m := cache.Key(spec)
	return prepared{key: key, manifest: m}, nil
}

// inputs expands the task's input patterns, saying when one matches nothing.
// jsrt-script's own state directory is never an input.
func (r *cachedRunner) inputs(t *graph.Task, warn func(string)) ([]files.Match, error) {
	var seen map[string]bool // made when a file could be matched twice
	var out []files.Match
	state := r.state
	for _, pat := range t.Inputs {
		m, err := files.GlobStat(r.ws.Root, pat)
		if err != nil {
			return nil, fmt.Errorf("task %q: %w", t.Name, err)
		}
		if len(m) == 0 && warn != nil {
			warn(fmt.Sprintf("input pattern %q matches no files", pat))
		}
		for _, p := range m {
			if state != "" && (p.Path == state || strings.HasPrefix(p.Path, state+"/")) {
				continue
			}
			if len(t.Inputs) == 1 && len(m) == 1 {
				out = append(out, p) // the only match of the only pattern
				continue
			}
			if seen == nil {
				seen = map[string]bool{}
			}
			if !seen[p.Path] {
				seen[p.Path] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// expand fills {changed} and {inputs} in the command.
func (r *cachedRunner) expand(t *graph.Task, p prepared) error {
	if !strings.Contains(t.Shell, "{") && !argvHas(t.Argv, "{") {
		return nil
	}
	var before *cache.Manifest
	if last, ok, err := r.opt.Caching.Cache.LastSuccess(t.Name); err != nil {
		return err
	} else if ok {
		before = &last.Manifest
	}
	lists := map[string][]string{"{changed}": cache.Changed(before, p.manifest), "{inputs}": cache.Changed(nil, p.manifest)}
	for word, list := range lists {
		quoted := make([]string, len(list))
		for i, f := range list {
			quoted[i] = graph.ShellQuote(f)
		}
		t.Shell = strings.ReplaceAll(t.Shell, word, strings.Join(quoted, " "))
		var argv []string
		for _, a := range t.Argv {
			switch {
			case a == word:
				argv = append(argv, list...)
			default:
				argv = append(argv, strings.ReplaceAll(a, word, strings.Join(list, " ")))
			}
		}
		t.Argv = argv
	}
	return nil
}

func argvHas(argv []string, s string) bool {
	for _, a := range argv {
		if strings.Contains(a, s) {
			return true
		}
	}
	return false
}

func commandFields(t *graph.Task) []string {
	if t.Shell != "" {
		return []string{"sh", t.Shell}
	}
	return append([]string{"argv"}, t.Argv...)
}

func lookupEnv(env []string, name string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

// stateRel is the state directory relative to the workspace root ("" when
// it is outside), from the log directory that lives in it.
func stateRel(root, logDir string) string {
	if logDir == "" {
		return ""
	}
	rel, err := filepath.Rel(root, filepath.Dir(logDir))
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return ""
	}
	return filepath.ToSlash(rel)
}
