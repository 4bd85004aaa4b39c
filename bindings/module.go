package bindings

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/dop251/goja"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/files"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// module fills require("jsrt"); the same functions are also globals.
func (e *Engine) module(vm *goja.Runtime, module *goja.Object) {
	exports := module.Get("exports").(*goja.Object)
	for name, fn := range e.api() {
		exports.Set(name, fn)
	}
	args := make([]any, len(e.cfg.Args))
	for i, a := range e.cfg.Args {
		args[i] = a
	}
	exports.Set("args", vm.NewArray(args...))
	for name, obj := range e.objects {
		exports.Set(name, obj)
	}
}

// cacheObject is the JS `cache`: invalidate(...names).
func (e *Engine) cacheObject() *goja.Object {
	c := e.vm.NewObject()
	c.Set("invalidate", func(call goja.FunctionCall) goja.Value {
		e.needWorkspace("cache.invalidate")
		var names []string
		for _, a := range call.Arguments {
			s, ok := a.Export().(string)
			if !ok || e.ws.Graph.Task(s) == nil {
				e.throw("cache.invalidate: unknown task %q%s", a.String(), suggestFor(s, e.ws.Graph.Names()))
			}
			names = append(names, s)
		}
		if e.cfg.Invalidate == nil {
			e.throw("cache.invalidate is not available here")
		}
		gone, err := e.cfg.Invalidate(e.ws, names)
		if err != nil {
			panic(e.vm.NewGoError(err))
		}
		out := make([]any, len(gone))
		for i, g := range gone {
			out[i] = g
		}
		return e.vm.NewArray(out...)
	})
	c.Set("maxSize", func(call goja.FunctionCall) goja.Value {
		e.needWorkspace("cache.maxSize")
		var n int64
		var err error
		switch v := call.Argument(0).Export().(type) {
		case string:
			n, err = cache.ParseSize(v)
		case int64:
			n = v
		case float64:
			n = int64(v)
		default:
			err = fmt.Errorf("cache.maxSize(size): size must be bytes or a string like \"1GiB\", got %s", typeName(call.Argument(0)))
		}
		if err == nil && n <= 0 {
			err = fmt.Errorf("cache.maxSize: the size must be positive")
		}
		if err != nil {
			e.throw("%v", err)
		}
		e.ws.CacheMax = n
		return goja.Undefined()
	})
	return c
}

// historyObject is the JS `history`: predict(name).
func (e *Engine) historyObject() *goja.Object {
	h := e.vm.NewObject()
	h.Set("predict", func(call goja.FunctionCall) goja.Value {
		e.needWorkspace("history.predict")
		name, ok := call.Argument(0).Export().(string)
		if !ok || name == "" {
			e.throw("history.predict(name): name must be a task name")
		}
		if e.cfg.Predict == nil {
			e.throw("history.predict is not available here")
		}
		p, err := e.cfg.Predict(e.ws, name)
		if err != nil {
			panic(e.vm.NewGoError(err))
		}
		return e.plain(p)
	})
	return h
}

func suggestFor(name string, names []string) string {
	if s := graph.Suggest(name, names); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

func (e *Engine) api() map[string]func(goja.FunctionCall) goja.Value {
	return map[string]func(goja.FunctionCall) goja.Value{
		"task": e.jsTask,
		"pool": e.jsPool,
		"root": e.jsRoot,
		"run":  e.jsRun,
		"glob": e.jsGlob,
	}
}

// installGlobals makes the jsrt functions and objects globals too.
func (e *Engine) installGlobals() {
	e.objects = map[string]*goja.Object{"cache": e.cacheObject(), "scheduler": e.schedulerObject(),
		"history": e.historyObject(), "optimizer": e.optimizerObject(), "monitor": e.monitorObject()}
	for name, fn := range e.api() {
		e.vm.Set(name, fn)
	}
	for name, obj := range e.objects {
		e.vm.Set(name, obj)
	}
	args := make([]any, len(e.cfg.Args))
	for i, a := range e.cfg.Args {
		args[i] = a
	}
	e.vm.Set("args", e.vm.NewArray(args...))
}

// throw raises an error in JS; its stack gives the caller's position, and it
// prints as the plain message (no "TypeError:" in front).
func (e *Engine) throw(format string, a ...any) {
	panic(e.vm.NewGoError(fmt.Errorf(format, a...)))
}

// where is the position of the JS code calling the Go function running now,
// as file:line:column. It is taken for every task(), so it converts only
// the frame it returns and reuses the engine's frame buffer.
func (e *Engine) where() string {
	e.stack = e.vm.CaptureCallStack(2, e.stack[:0])
	for _, f := range e.stack {
		p := f.Position()
		if p.Filename == "" {
			continue
		}
		fr := e.fix(Frame{File: p.Filename, Line: p.Line, Column: p.Column})
		return fr.File + ":" + strconv.Itoa(fr.Line) + ":" + strconv.Itoa(fr.Column)
	}
	return ""
}

// task(name, {cmd, deps, inputs, outputs, env, cwd, timeout, retries, pool,
// tags, priority, critical, cache, description}) defines a task and returns
// its name.
func (e *Engine) jsTask(call goja.FunctionCall) goja.Value {
	e.needWorkspace("task")
	name, ok := call.Argument(0).Export().(string)
	if !ok || name == "" {
		e.throw("task(name, options): name must be a non-empty string")
	}
	if strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		e.throw("task(%q, ...): a task name cannot contain control characters (newlines, tabs...)", name)
	}
	opts := call.Argument(1)
	if goja.IsUndefined(opts) || goja.IsNull(opts) {
		e.throw("task %q: options with at least cmd are required, as in task(%q, { cmd: \"make\" })", name, name)
	}
	o := opts.ToObject(e.vm)
	t, err := parseTask(e.vm, name, o)
	if err != nil {
		e.throw("%v", err)
	}
	e.cacheKeyOption(t, o)
	t.Pos = e.where()
	if err := e.ws.Graph.Add(t); err != nil {
		panic(e.vm.NewGoError(err)) // keeps the typed error (errors.As finds it)
	}
	return e.vm.ToValue(name)
}

// pool(name, {slots}) defines an executor pool.
func (e *Engine) jsPool(call goja.FunctionCall) goja.Value {
	e.needWorkspace("pool")
	name, ok := call.Argument(0).Export().(string)
	if !ok || name == "" {
		e.throw("pool(name, {slots}): name must be a non-empty string")
	}
	if _, dup := e.ws.Pools[name]; dup {
		e.throw("pool %q is defined twice", name)
	}
	obj := call.Argument(1)
	if goja.IsUndefined(obj) || goja.IsNull(obj) {
		e.throw("pool %q: options {slots: N} are required", name)
	}
	o := obj.ToObject(e.vm)
	if err := checkKeys(o, "pool", name, []string{"slots"}); err != nil {
		e.throw("%v", err)
	}
	if _, ok := has(o, "slots"); !ok {
		e.throw("pool %q: slots is required, as in pool(%q, {slots: 2})", name, name)
	}
	slots, err := intOpt(o, "slots", "pool", name)
	if err == nil && slots < 1 {
		err = fmt.Errorf("pool %q: slots must be at least 1, got %d", name, slots)
	}
	if err != nil {
		e.throw("%v", err)
	}
	e.ws.Pools[name] = slots
	return e.vm.ToValue(name)
}

// root(dir) sets the workspace root, relative to the strategy's directory.
func (e *Engine) jsRoot(call goja.FunctionCall) goja.Value {
	e.needWorkspace("root")
	if len(call.Arguments) == 0 {
		return e.vm.ToValue(e.ws.Root)
	}
	dir, ok := call.Argument(0).Export().(string)
	if !ok || dir == "" {
		e.throw("root(dir): dir must be a non-empty string")
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(e.absFile()), dir)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		e.throw("root(%q): %s is not a directory", call.Argument(0).String(), dir)
	}
	e.ws.Root = filepath.Clean(dir)
	return e.vm.ToValue(e.ws.Root)
}

func (e *Engine) absFile() string {
	if filepath.IsAbs(e.file) {
		return e.file
	}
	return filepath.Join(e.cfg.Cwd, e.file)
}

// run(targets, {jobs, continue, dryRun}) runs targets and resolves to the
// run's summary: {ok, exitCode, wallMs, counts, tasks: {name: {status,
// exitCode, durationMs, attempts}}, ...}.
func (e *Engine) jsRun(call goja.FunctionCall) goja.Value {
	e.needWorkspace("run")
	req := RunRequest{}
	switch v := call.Argument(0).Export().(type) {
	case string:
		req.Targets = []string{v}
	case []any:
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				e.throw("run(targets): targets must be task names (strings)")
			}
			req.Targets = append(req.Targets, s)
		}
	case nil:
		req.Targets = e.ws.Graph.Names()
	default:
		e.throw("run(targets): targets must be a task name or an array of names")
	}
	if o := call.Argument(1); !goja.IsUndefined(o) && !goja.IsNull(o) {
		if err := parseRunOptions(o.ToObject(e.vm), &req); err != nil {
			e.throw("%v", err)
		}
	}
	e.runs++
	return e.startRun(req, func(o *Outcome) goja.Value { return e.plain(o.Result()) })
}

// cacheKeyOption reads cacheKey: a string is part of the key as it is; a
// function is called (on this loop) at the start of every run and its
// string result used.
func (e *Engine) cacheKeyOption(t *graph.Task, o *goja.Object) {
	v, ok := has(o, "cacheKey")
	if !ok {
		return
	}
	if fn, isFn := goja.AssertFunction(v); isFn {
		e.keyFns[t.Name] = fn
		t.KeyFunc = true
		return
	}
	s, isStr := v.Export().(string)
	if !isStr {
		e.throw("task %q: cacheKey must be a string or a function returning one, got %s", t.Name, typeName(v))
	}
	t.CacheKey = s
}

// evalCacheKeys calls the cacheKey functions before a run.
func (e *Engine) evalCacheKeys() error {
	for name, fn := range e.keyFns {
		v, err := fn(goja.Undefined(), e.vm.ToValue(name))
		if err != nil {
			return e.jsError(err)
		}
		s, ok := v.Export().(string)
		if !ok {
			return fmt.Errorf("task %q: cacheKey() must return a string, got %s", name, typeName(v))
		}
		e.ws.Graph.Task(name).CacheKey = s
	}
	return nil
}

// glob(pattern) lists the files under the workspace root that match a
// pattern (`**` allowed), as sorted paths relative to the root.
func (e *Engine) jsGlob(call goja.FunctionCall) goja.Value {
	e.needWorkspace("glob")
	pattern, ok := call.Argument(0).Export().(string)
	if !ok || pattern == "" {
		e.throw("glob(pattern): pattern must be a non-empty string")
	}
	matches, err := files.Glob(e.ws.Root, pattern)
	if err != nil {
		e.throw("%v", err)
	}
	out := make([]any, len(matches))
	for i, m := range matches {
		out[i] = m
	}
	return e.vm.NewArray(out...)
}

func (e *Engine) needWorkspace(fn string) {
	if e.ws == nil {
		e.throw("%s() can only be used from a strategy", fn)
	}
}

// startRun starts a run on another goroutine and returns a promise that
// settles, on the loop, when the run is over. onDone is called there with
// the outcome and returns what the promise resolves to: a caller whose
// promise no script sees need not convert the run's summary to JS.
func (e *Engine) startRun(req RunRequest, onDone func(*Outcome) goja.Value) goja.Value {
	p, resolve, reject := e.vm.NewPromise()
	if err := e.evalCacheKeys(); err != nil {
		reject(e.errorAt(err, e.vm.CaptureCallStack(0, nil)))
		return e.vm.ToValue(p)
	}
	req.Hooks = e.schedHooks()
	req.Parallelism = e.parallelismHook()
	req.Events = e.events()
	e.inflight++
	ws, ctx := e.ws, e.ctx
	at := e.vm.CaptureCallStack(0, nil) // where run() was called, for errors
	go func() {
		out, err := e.cfg.Run(ctx, ws, req)
		e.enqueue(func() {
			e.inflight--
			if out != nil {
				e.worst = max(e.worst, out.ExitCode)
			}
			if ctx.Err() != nil {
				return // interrupted: no more JavaScript runs
			}
			if err != nil {
				reject(e.errorAt(err, at))
				return
			}
			resolve(onDone(out))
		})
	}()
	return e.vm.ToValue(p)
}

// errorAt makes a JS error for a Go error, with the stack captured where
// the operation was started (a rejection delivered later has none).
func (e *Engine) errorAt(err error, stack []goja.StackFrame) goja.Value {
	obj := e.vm.NewGoError(err)
	var b strings.Builder
	b.WriteString("Error: " + err.Error())
	for _, f := range stack {
		if p := f.Position(); p.Filename != "" {
			fmt.Fprintf(&b, "\n\tat %s (%s:%d:%d)", f.FuncName(), p.Filename, p.Line, p.Column)
		}
	}
	obj.Set("stack", b.String())
	return obj
}

// plain converts a JSON-encodable Go value into plain JS objects, through
// JSON.parse, so scripts get ordinary objects and arrays.
func (e *Engine) plain(v any) goja.Value {
	b, err := json.Marshal(v)
	if err != nil {
		return e.vm.ToValue(v)
	}
	parse, _ := goja.AssertFunction(e.vm.Get("JSON").ToObject(e.vm).Get("parse"))
	out, err := parse(goja.Undefined(), e.vm.ToValue(string(b)))
	if err != nil {
		return e.vm.ToValue(v)
	}
	return out
}

// checkKeys reports the first unknown key of o, in sorted order, with the
// closest allowed one as a suggestion. The allowed lists are short, so a
// scan of each beats building a set per call; keys are sorted only once an
// unknown one is found.
func checkKeys(o *goja.Object, kind, name string, allowed []string) error {
	keys := o.Keys()
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return unknownKey(keys, kind, name, allowed)
		}
	}
	return nil
}

func unknownKey(keys []string, kind, name string, allowed []string) error {
	sort.Strings(keys)
	for _, k := range keys {
		if slices.Contains(allowed, k) {
			continue
		}
		msg := fmt.Sprintf("unknown option %q in %s %q", k, kind, name)
		if s := graph.Suggest(k, allowed); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return fmt.Errorf("%s", msg)
	}
	return nil
}
