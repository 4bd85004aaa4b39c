// Package bindings is the only code that imports goja: it loads strategies
// (CommonJS, with top-level await), provides the "jsrt" module (task, pool,
// root, run, ...), runs the JavaScript event loop, and turns JS errors into
// Go errors that keep file:line:column and the JS stack.
//
// Threading: one goroutine — the one inside Load or RunTargets — owns the
// goja Runtime. Other goroutines hand it work through enqueue, exactly once
// per operation, and every asynchronous operation is counted in pending so
// the loop knows when the script is done.
package bindings

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
	"github.com/dop251/goja_nodejs/require"

	"github.com/jsrt-script/jsrt-script/runtime/core"
	"github.com/jsrt-script/jsrt-script/runtime/optimize"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
)

// RunFunc starts one run of the workspace; the CLI provides it (it knows the
// flags, the store and the display). It is called on a goroutine of its own.
type RunFunc func(ctx context.Context, ws *core.Workspace, req RunRequest) (*Outcome, error)

// RunRequest is what a run() call from JS (or the CLI's own targets) asks for.
type RunRequest struct {
	Targets   []string
	Jobs      int  // 0: the CLI's -j
	KeepGoing bool // also set by the CLI's --continue
	DryRun    bool
	Hooks     sched.Hooks // the strategy's policy hooks (set by the engine)
	// Events, when set, is called (from the run's goroutines) for each
	// event a strategy listens to with monitor.on: taskStart, taskEnd,
	// sample, anomaly.
	Events func(kind string, payload any)
	// Parallelism is the strategy's optimizer.on("parallelism") hook, if any.
	Parallelism func(optimize.Sample, optimize.State) (optimize.Verdict, error)
}

// Outcome is a finished run, as JS sees it (any JSON-encodable value, or a
// Lazy that makes one) and with the exit status it maps to.
type Outcome struct {
	Value    any
	ExitCode int
}

// Lazy is an Outcome value made only when it is used: a run's summary
// walks every task, and the CLI's own run never shows it to a script.
type Lazy func() any

// Result is the outcome's value, made now if it is a Lazy.
func (o *Outcome) Result() any {
	if f, ok := o.Value.(Lazy); ok {
		return f()
	}
	return o.Value
}

// Config is what the engine needs from its caller.
type Config struct {
	Cwd    string    // to resolve relative paths
	Stdout io.Writer // console.log, console.info
	Stderr io.Writer // console.warn, console.error
	Args   []string  // the CLI's targets, visible to scripts as jsrt.args
	Run    RunFunc
	// Invalidate drops the cache entries of the named tasks and of every
	// task that depends on them, returning the tasks affected; nil makes
	// cache.invalidate() an error.
	Invalidate func(ws *core.Workspace, names []string) ([]string, error)
	// Predict is history.predict(name): what history says of a task (any
	// JSON-encodable value); nil makes it an error.
	Predict func(ws *core.Workspace, name string) (any, error)
	// PolicyTimeout bounds each policy hook call (0: DefaultPolicyTimeout).
	PolicyTimeout time.Duration
	// FailFast is passed to the priority policy (ctx.failFast).
	FailFast bool
	// Metrics is monitor.metrics(): the metrics of the run going on, or of
	// the last one (any JSON-encodable value, nil before any run).
	Metrics func() any
}

// Engine is one JavaScript runtime with the jsrt module.
type Engine struct {
	cfg       Config
	vm        *goja.Runtime
	ws        *core.Workspace
	file      string // the strategy as given
	jobs      chan func()
	pending   int // promises and timers the loop waits for (owned by the loop)
	inflight  int // runs going on in other goroutines (owned by the loop)
	timerQ    timerHeap
	timerIDs  map[int64]*timer
	timerSeq  int64
	wake      *time.Timer
	wrapLen   int                        // the module wrapper's length on the strategy's line 1
	keyFns    map[string]goja.Callable   // cacheKey functions by task
	hooks     map[string]goja.Callable   // scheduler.on hooks by name
	objects   map[string]*goja.Object    // cache, scheduler, history
	listeners map[string][]goja.Callable // monitor.on listeners by event
	failFast  bool
	runs      int // run() calls made by the script
	worst     int // the worst exit status of those runs
	ctx       context.Context
	rejected  []error           // unhandled promise rejections
	stack     []goja.StackFrame // where's buffer
}

// New returns an engine with the jsrt module registered.
func New(cfg Config) *Engine {
	e := &Engine{cfg: cfg, vm: goja.New(), jobs: make(chan func(), 64), timerIDs: map[int64]*timer{}, keyFns: map[string]goja.Callable{},
		hooks: map[string]goja.Callable{}, failFast: cfg.FailFast, listeners: map[string][]goja.Callable{}}
	e.vm.SetFieldNameMapper(goja.TagFieldNameMapper("js", true))
	reg := require.NewRegistry(require.WithLoader(e.loadSource))
	reg.RegisterNativeModule("jsrt", e.module)
	registerPolicies(reg)
	reg.Enable(e.vm)
	e.wrapRequire()
	e.installConsole()
	e.installTimers()
	e.installGlobals()
	e.vm.SetPromiseRejectionTracker(e.trackRejection)
	return e
}

// Workspace is what the strategy defined (nil before Load).
func (e *Engine) Workspace() *core.Workspace { return e.ws }

// Runs is how many run() calls the script made, and the worst exit status
// among them.
func (e *Engine) Runs() (n, worstExit int) { return e.runs, e.worst }

func (e *Engine) loadSource(path string) ([]byte, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(e.cfg.Cwd, path)
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, require.ModuleFileDoesNotExistError
	}
	return b, err
}

// wrapper makes a CommonJS module an async function, so a strategy may use
// await at top level. It stays on the first line: line numbers are exact,
// and columns on line 1 are corrected by its length.
const wrapper = "(async function(exports, require, module, __filename, __dirname) {"

// Load compiles and runs the strategy file, then serves its event loop until
// the script and everything it started are done. The workspace root is the
// file's directory unless the script calls root().
func (e *Engine) Load(ctx context.Context, file string) error {
	abs := file
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(e.cfg.Cwd, file)
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		return &LoadError{File: file, Err: err}
	}
	e.file = file
	e.ws = core.NewWorkspace(filepath.Dir(abs))
	code := string(src)
	if IsTypeScript(file) { // compiled to JavaScript with a source map: typescript.go
		if code, err = transpile(file, abs); err != nil {
			return err
		}
	}
	prg, wrapLen, err := compile(file, code)
	if err != nil {
		return err
	}
	e.wrapLen = wrapLen
	return e.serve(ctx, func() (goja.Value, error) {
		fn, err := e.vm.RunProgram(prg)
		if err != nil {
			return nil, err
		}
		call, _ := goja.AssertFunction(fn)
		module := e.vm.NewObject()
		exports := e.vm.NewObject()
		module.Set("exports", exports)
		return call(exports, exports, e.vm.Get("require"), module, e.vm.ToValue(abs), e.vm.ToValue(filepath.Dir(abs)))
	})
}

// syncWrapper is used when the strategy has no top-level await: exceptions
// then keep their positions even when what is thrown is not an Error.
const syncWrapper = "(function(exports, require, module, __filename, __dirname) {"

// compile parses src under its real name, as a plain CommonJS function when
// it parses as one and as an async function (top-level await) otherwise,
// and reports syntax errors with file:line:column. It returns the length of
// the wrapper on line 1.
func compile(file, src string) (*goja.Program, int, error) {
	// Only a file that never says "await" takes the plain wrapper: in one,
	// "await (x)(y)" would parse there as a call of a function named await.
	if !strings.Contains(src, "await") {
		if ast, err := parser.ParseFile(nil, file, syncWrapper+src+"\n})", 0); err == nil {
			prg, err := goja.CompileAST(ast, false)
			return prg, len(syncWrapper), err
		}
	}
	ast, err := parser.ParseFile(nil, file, wrapper+src+"\n})", 0)
	if err != nil {
		return nil, 0, syntaxError(file, src, err)
	}
	prg, err := goja.CompileAST(ast, false)
	return prg, len(wrapper), err
}

func syntaxError(file, src string, err error) error {
	list, ok := err.(parser.ErrorList)
	if !ok || len(list) == 0 {
		return &SyntaxError{File: file, Msg: err.Error()}
	}
	p := list[0].Position
	col, msg := p.Column, list[0].Message
	if p.Line == 1 {
		col -= len(wrapper)
	}
	if lines := strings.Split(src, "\n"); p.Line > len(lines) {
		// On the wrapper's closing line: the file ended inside a bracket,
		// brace, string or comment. Report the end of the file.
		p.Line, col, msg = len(lines), len(lines[len(lines)-1])+1, "Unexpected end of input"
	}
	return &SyntaxError{File: file, Line: p.Line, Column: max(col, 1), Msg: msg}
}

// RunTargets runs targets the way a script's `await run(targets)` would, on
// the engine's loop, and returns the exit status. No script sees the run's
// promise, so it resolves to undefined rather than to the summary.
func (e *Engine) RunTargets(ctx context.Context, req RunRequest) (int, error) {
	code := 0
	err := e.serve(ctx, func() (goja.Value, error) {
		return e.startRun(req, func(o *Outcome) goja.Value {
			code = o.ExitCode
			return goja.Undefined()
		}), nil
	})
	return code, err
}

// serve runs first on the loop, waits for the promise it returns (if any)
// to settle, and keeps the loop going until nothing is pending. ctx
// cancellation interrupts running JavaScript.
func (e *Engine) serve(ctx context.Context, first func() (goja.Value, error)) error {
	e.ctx = ctx
	// Cancellation interrupts running JavaScript; the interrupt is cleared
	// only once the goroutine that may set it is done, so a reused engine
	// (the REPL after Ctrl-C) starts clean.
	finished, watcherDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watcherDone)
		select {
		case <-ctx.Done():
			e.vm.Interrupt(ctx.Err())
		case <-finished:
		}
	}()
	defer func() {
		close(finished)
		<-watcherDone
		e.vm.ClearInterrupt()
	}()
	var failure error
	v, err := first()
	if err != nil {
		return e.jsError(err)
	}
	if p, ok := v.Export().(*goja.Promise); ok {
		e.pending++
		e.whenSettled(p, func(err error) { failure = err })
	}
	cancelled := ctx.Done()
	for e.pending > 0 {
		if ctx.Err() != nil {
			e.stopTimers()
			if e.inflight == 0 {
				return ctx.Err()
			}
			cancelled = nil // wait for the runs in flight to report back
		}
		select {
		case job := <-e.jobs:
			job()
		case <-e.nextTimer():
			e.runDueTimers()
		case <-cancelled:
		}
		if err := e.takeRejection(); err != nil && failure == nil {
			failure = err
		}
	}
	if ctx.Err() != nil {
		return &InterruptedError{Cause: ctx.Err()}
	}
	if failure != nil {
		return failure
	}
	return e.takeRejection()
}

// whenSettled calls done (on the loop) once p settles; pending is
// decremented then.
func (e *Engine) whenSettled(p *goja.Promise, done func(error)) {
	then, _ := goja.AssertFunction(e.vm.ToValue(p).ToObject(e.vm).Get("then"))
	onOK := e.vm.ToValue(func(goja.FunctionCall) goja.Value { e.pending--; done(nil); return goja.Undefined() })
	onErr := e.vm.ToValue(func(c goja.FunctionCall) goja.Value {
		e.pending--
		done(e.rejection(c.Argument(0)))
		return goja.Undefined()
	})
	if _, err := then(e.vm.ToValue(p), onOK, onErr); err != nil {
		e.pending--
		done(e.jsError(err))
	}
}

// enqueue hands fn to the loop goroutine. Safe from any goroutine.
func (e *Engine) enqueue(fn func()) { e.jobs <- fn }

// trackRejection is called by goja on the loop goroutine.
func (e *Engine) trackRejection(p *goja.Promise, op goja.PromiseRejectionOperation) {
	if op == goja.PromiseRejectionReject {
		e.rejected = append(e.rejected, &unhandled{p: p, err: e.rejection(p.Result())})
		return
	}
	for i, r := range e.rejected {
		if u, ok := r.(*unhandled); ok && u.p == p {
			e.rejected = append(e.rejected[:i], e.rejected[i+1:]...)
			return
		}
	}
}

// takeRejection returns the first rejection nobody handled, once the
// microtasks that could have handled it have run.
func (e *Engine) takeRejection() error {
	if len(e.rejected) == 0 {
		return nil
	}
	u := e.rejected[0].(*unhandled)
	e.rejected = nil
	if u.p == nil {
		return u.err // thrown by a timer callback: its position says where
	}
	return fmt.Errorf("unhandled promise rejection: %w", u.err)
}

type unhandled struct {
	p   *goja.Promise
	err error
}

func (u *unhandled) Error() string { return u.err.Error() }

// wrapRequire makes require() of a module that does not exist say which
// (goja_nodejs says only "Invalid module").
func (e *Engine) wrapRequire() {
	orig, _ := goja.AssertFunction(e.vm.Get("require"))
	e.vm.Set("require", func(call goja.FunctionCall) goja.Value {
		v, err := orig(goja.Undefined(), call.Arguments...)
		if err != nil {
			if strings.Contains(err.Error(), "Invalid module") {
				e.throwf("cannot find module %q (relative paths start at the requiring file's directory)", call.Argument(0).String())
			}
			panic(err)
		}
		return v
	})
}

func (e *Engine) throwf(format string, a ...any) { e.throw(format, a...) }
