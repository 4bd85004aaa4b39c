package core

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/files"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/kv"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// Remote runs attempts on other machines (runtime/remote sends them to
// workers through NATS JetStream). Everything around an attempt stays the
// core's: its log file, history, the cache and the display see a remote
// attempt exactly as a local one.
//
// Contract: Takes and Run are called from the attempt's own goroutine, for
// different tasks concurrently. Takes says whether the task goes to a
// worker at all (false: it runs here, as a local process); it must not
// block for long. Run blocks until the attempt is over. It writes the
// task's output to out as it arrives, from the calling goroutine only, and
// returns the attempt's result (Cached set when a shared cache entry
// replaced the run). On success the task's declared outputs exist under
// a.Root, written as a cache hit restores them. Once ctx is cancelled it
// stops the remote process group (SIGTERM, then SIGKILL after a grace
// period; at once when a.Kill is closed) and returns promptly with
// Interrupted set.
type Remote interface {
	Takes(t *graph.Task) bool
	Run(ctx context.Context, a RemoteAttempt, out io.Writer) sched.Result
}

// RemoteAttempt is one attempt as a worker needs it: the command and the
// files, by digest.
type RemoteAttempt struct {
	Task    *graph.Task // {changed} and {inputs} already expanded
	Attempt int
	Root    string            // the workspace root, absolute
	Env     map[string]string // values of the variables the task's env option names (unset ones absent)
	// Key is the task's cache key when its result may be cached (and so
	// shared between machines); "" otherwise.
	Key cache.Digest
	// Files are what the worker lays out before the run: the task's input
	// files and the outputs of everything it depends on, sorted by path.
	Files []RemoteFile
	Kill  <-chan struct{} // closed on a second interrupt
	// Notice shows one of jsrt-script's own remarks about the attempt
	// (never part of the task's output); call it from Run's goroutine.
	Notice func(msg string)
}

// RemoteFile is one file of the workspace, by content.
type RemoteFile struct {
	Path   string // slash-separated, relative to the root
	Digest cache.Digest
	Exec   bool
}

// identity is what the cache knows of an attempt when it starts: the key
// (set only when the result may be cached) and each input's fingerprint
// (path -> "x:DIGEST" or "-:DIGEST").
type identity struct {
	key    cache.Digest
	inputs map[string]string
}

// runRemote hands the attempt to opt.Remote.
func (r *localRunner) runRemote(ctx context.Context, t *graph.Task, attempt int, id identity, w io.Writer) sched.Result {
	files, err := r.remoteFiles(t, id)
	if err != nil {
		return sched.Result{ExitCode: -1, Err: err}
	}
	env := map[string]string{}
	for _, name := range t.Env {
		if v, ok := lookupEnv(r.opt.Env, name); ok {
			env[name] = v
		}
	}
	notice := func(msg string) {
		if n, ok := r.opt.Display.(Notices); ok {
			n.Notice(t, msg)
		}
	}
	return r.opt.Remote.Run(ctx, RemoteAttempt{Task: t, Attempt: attempt, Root: r.ws.Root, Env: env, Key: id.key,
		Files: files, Kill: r.opt.Kill, Notice: notice}, w)
}

// remoteFiles lists the task's inputs (as the cache hashed them, or hashed
// now) and the outputs of every task it depends on, directly or not.
func (r *localRunner) remoteFiles(t *graph.Task, id identity) ([]RemoteFile, error) {
	index := r.index()
	byPath := map[string]RemoteFile{}
	if id.inputs != nil {
		for p, fp := range id.inputs {
			mode, d, _ := strings.Cut(fp, ":")
			byPath[p] = RemoteFile{Path: p, Digest: cache.Digest(d), Exec: mode == "x"}
		}
	} else {
		for _, pat := range t.Inputs {
			m, err := files.Glob(r.ws.Root, pat)
			if err != nil {
				return nil, fmt.Errorf("task %q: %w", t.Name, err)
			}
			for _, p := range m {
				if err := addState(byPath, index, r.ws.Root, p, fmt.Sprintf("task %q: input", t.Name)); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, dep := range r.depClosure(t) {
		if len(dep.Outputs) == 0 {
			continue
		}
		paths, err := cache.CollectOutputs(r.ws.Root, dep.Outputs)
		if err != nil {
			return nil, fmt.Errorf("task %q: outputs of dependency %q: %w", t.Name, dep.Name, err)
		}
		for _, p := range paths {
			if _, ok := byPath[p]; ok {
				continue
			}
			if err := addState(byPath, index, r.ws.Root, p, fmt.Sprintf("task %q: output of dependency %q", t.Name, dep.Name)); err != nil {
				return nil, err
			}
		}
	}
	out := make([]RemoteFile, 0, len(byPath))
	for _, f := range byPath {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func addState(byPath map[string]RemoteFile, index *cache.Index, root, p, what string) error {
	st, err := index.State(root, p)
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, p, err)
	}
	byPath[p] = RemoteFile{Path: p, Digest: st.Digest, Exec: st.Exec}
	return nil
}

// index is the run's file-state index, or a throwaway one without a cache.
func (r *localRunner) index() *cache.Index {
	if r.opt.Caching != nil && r.opt.Caching.Index != nil {
		return r.opt.Caching.Index
	}
	return cache.NewIndex(kv.NewMem(), nil)
}

// depClosure is every task t depends on, directly or not.
func (r *localRunner) depClosure(t *graph.Task) []*graph.Task {
	seen := map[string]bool{}
	var out []*graph.Task
	var walk func(names []string)
	walk = func(names []string) {
		for _, n := range names {
			d := r.ws.Graph.Task(n)
			if d == nil || seen[n] {
				continue
			}
			seen[n] = true
			out = append(out, d)
			walk(d.Deps)
		}
	}
	walk(t.Deps)
	return out
}
