package bindings

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"

	"github.com/jsrt-script/jsrt-script/runtime/optimize"
	"github.com/jsrt-script/jsrt-script/runtime/sched"
	"github.com/jsrt-script/jsrt-script/scripts"
)

// DefaultPolicyTimeout is how long one call of a policy hook may run.
const DefaultPolicyTimeout = 100 * time.Millisecond

// hookNames are the hooks scheduler.on accepts.
var hookNames = []string{"priority", "select", "retry", "batch"}

// PolicyError is a hook that threw, rejected, returned something unusable
// or ran past its budget.
type PolicyError struct {
	Hook string
	Err  error
}

func (e *PolicyError) Error() string {
	owner := "scheduler"
	if e.Hook == "parallelism" {
		owner = "optimizer"
	}
	var se *ScriptError
	if errors.As(e.Err, &se) {
		return fmt.Sprintf("%s hook %q failed: %s", owner, e.Hook, se.Detail())
	}
	return fmt.Sprintf("%s hook %q failed: %v", owner, e.Hook, e.Err)
}

func (e *PolicyError) Unwrap() error { return e.Err }

// schedulerObject is the JS `scheduler`: on(hook, fn).
func (e *Engine) schedulerObject() *goja.Object {
	s := e.vm.NewObject()
	s.Set("on", func(call goja.FunctionCall) goja.Value {
		name, _ := call.Argument(0).Export().(string)
		fn, ok := goja.AssertFunction(call.Argument(1))
		known := false
		for _, h := range hookNames {
			known = known || h == name
		}
		switch {
		case !known:
			e.throw("scheduler.on: unknown hook %q%s (hooks: %s)", name, suggestFor(name, hookNames), strings.Join(hookNames, ", "))
		case !ok:
			e.throw("scheduler.on(%q, fn): fn must be a function", name)
		}
		e.hooks[name] = fn
		return goja.Undefined()
	})
	return s
}

// optimizerObject is the JS `optimizer`: on("parallelism", fn), where fn
// gets (metrics, state) and returns {jobs, reason} (see
// require("jsrt/policies/parallelism") for the default).
func (e *Engine) optimizerObject() *goja.Object {
	o := e.vm.NewObject()
	o.Set("on", func(call goja.FunctionCall) goja.Value {
		name, _ := call.Argument(0).Export().(string)
		fn, ok := goja.AssertFunction(call.Argument(1))
		switch {
		case name != "parallelism":
			e.throw("optimizer.on: unknown hook %q%s (hooks: parallelism)", name, suggestFor(name, []string{"parallelism"}))
		case !ok:
			e.throw("optimizer.on(%q, fn): fn must be a function", name)
		}
		e.hooks["parallelism"] = fn
		return goja.Undefined()
	})
	return o
}

// parallelismHook wraps the JS parallelism hook for the optimizer.
func (e *Engine) parallelismHook() func(optimize.Sample, optimize.State) (optimize.Verdict, error) {
	fn := e.hooks["parallelism"]
	if fn == nil {
		return nil
	}
	return func(s optimize.Sample, st optimize.State) (optimize.Verdict, error) {
		var v optimize.Verdict
		err := e.onLoop("parallelism", func() error {
			out, err := e.guarded("parallelism", fn, e.vm.ToValue(s.JS()), e.vm.ToValue(st.JS()))
			if err != nil {
				return err
			}
			obj, ok := out.(*goja.Object)
			var jobs float64
			isNum := false
			if ok {
				jobs, isNum = number(obj.Get("jobs"))
			}
			if !ok || !isNum {
				return fmt.Errorf("must return {jobs: a number, reason: a string}, got %s", describeValue(out))
			}
			v.Jobs = int(jobs)
			if r := obj.Get("reason"); r != nil && !goja.IsUndefined(r) {
				v.Reason = r.String()
			}
			return nil
		})
		return v, err
	}
}

// registerPolicies makes require("jsrt/policies/NAME") load the embedded
// default policies.
func registerPolicies(reg *require.Registry) {
	entries, _ := fs.ReadDir(scripts.Policies, "policies")
	for _, ent := range entries {
		name := strings.TrimSuffix(ent.Name(), ".js")
		src, _ := fs.ReadFile(scripts.Policies, path.Join("policies", ent.Name()))
		file := "jsrt/policies/" + ent.Name()
		reg.RegisterNativeModule("jsrt/policies/"+name, func(vm *goja.Runtime, module *goja.Object) {
			prg, err := goja.Compile(file, policyWrapper+string(src)+"\n})", false)
			if err != nil {
				panic(vm.NewGoError(err))
			}
			fn, err := vm.RunProgram(prg)
			if err != nil {
				panic(err)
			}
			call, _ := goja.AssertFunction(fn)
			exports := module.Get("exports")
			if _, err := call(exports, exports, vm.Get("require"), module); err != nil {
				panic(err)
			}
		})
	}
}

// schedHooks turns the registered JS hooks into the scheduler's, each call
// made on the loop goroutine within the policy budget.
func (e *Engine) schedHooks() sched.Hooks {
	var h sched.Hooks
	if fn := e.hooks["priority"]; fn != nil {
		h.Priority = func(info sched.TaskInfo) (float64, error) {
			return e.priorityHook(fn, info)
		}
	}
	if fn := e.hooks["select"]; fn != nil {
		h.Select = func(info sched.TaskInfo, cands []sched.Candidate) (string, error) {
			v, err := e.callHook("select", fn, e.infoObject(info), e.plain(cands))
			if err != nil {
				return "", err
			}
			name, ok := v.Export().(string)
			if !ok {
				return "", &PolicyError{Hook: "select", Err: fmt.Errorf("must return a pool name, got %s", typeName(v))}
			}
			return name, nil
		}
	}
	if fn := e.hooks["batch"]; fn != nil {
		h.Batch = func(ready []sched.TaskInfo) ([][]string, error) {
			objs := make([]any, len(ready))
			for i, info := range ready {
				objs[i] = e.infoObject(info)
			}
			v, err := e.callHook("batch", fn, e.vm.NewArray(objs...))
			if err != nil {
				return nil, err
			}
			var groups [][]string
			if err := e.vm.ExportTo(v, &groups); err != nil {
				return nil, &PolicyError{Hook: "batch", Err: fmt.Errorf("must return an array of arrays of task names, got %s", typeName(v))}
			}
			return groups, nil
		}
	}
	if fn := e.hooks["retry"]; fn != nil {
		h.Retry = func(info sched.TaskInfo, r sched.Result) (bool, time.Duration, error) {
			return e.retryHook(fn, info, r)
		}
	}
	return h
}

// priorityHook: the hook may return a number, or change task.priority on
// the object it gets and return nothing (then the default rule runs with
// that priority).
func (e *Engine) priorityHook(fn goja.Callable, info sched.TaskInfo) (float64, error) {
	var result float64
	err := e.onLoop("priority", func() error {
		task := e.infoObject(info)
		v, err := e.guarded("priority", fn, task, e.plain(map[string]any{"failFast": e.failFast}))
		if err != nil {
			return err
		}
		if n, ok := number(v); ok {
			result = n
			return nil
		}
		if !goja.IsUndefined(v) {
			return fmt.Errorf("must return a number or nothing, got %s", typeName(v))
		}
		p, ok := number(task.Get("priority"))
		if !ok {
			return fmt.Errorf("task.priority must stay a number")
		}
		info.Priority = int(p)
		result = sched.DefaultPriority(info, e.failFast)
		return nil
	})
	return result, err
}

func (e *Engine) retryHook(fn goja.Callable, info sched.TaskInfo, r sched.Result) (bool, time.Duration, error) {
	res := map[string]any{"exitCode": r.ExitCode, "signal": r.Signal, "timedOut": r.TimedOut,
		"durationMs": float64(r.Duration) / float64(time.Millisecond), "error": errString(r.Err)}
	v, err := e.callHook("retry", fn, e.infoObject(info), e.vm.ToValue(info.Attempt), e.plain(res))
	if err != nil {
		return false, 0, err
	}
	switch x := v.Export().(type) {
	case bool:
		return x, 0, nil
	case int64, float64:
		ms, _ := number(v)
		return true, time.Duration(ms * float64(time.Millisecond)), nil
	case map[string]any:
		retry, _ := x["retry"].(bool)
		ms, _ := number(v.ToObject(e.vm).Get("delayMs"))
		return retry, time.Duration(ms * float64(time.Millisecond)), nil
	}
	return false, 0, &PolicyError{Hook: "retry", Err: fmt.Errorf("must return true, false, a delay in ms or {retry, delayMs}, got %s", typeName(v))}
}

// infoObject builds the plain JS object a hook gets for a task, field by
// field (a JSON round trip would cost several times more per call).
func (e *Engine) infoObject(info sched.TaskInfo) *goja.Object {
	o := e.vm.NewObject()
	tags := make([]any, len(info.Tags))
	for i, t := range info.Tags {
		tags[i] = t
	}
	o.Set("name", info.Name)
	o.Set("tags", e.vm.NewArray(tags...))
	o.Set("priority", info.Priority)
	o.Set("critical", info.Critical)
	o.Set("blocking", info.Blocking)
	o.Set("waitMs", info.WaitMs)
	o.Set("weight", info.Weight)
	o.Set("predictedMs", info.PredictedMs)
	o.Set("confidence", info.Confidence)
	o.Set("failureRate", info.FailureRate)
	o.Set("attempt", info.Attempt)
	o.Set("retries", info.Retries)
	o.Set("pool", info.Pool)
	return o
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func number(v goja.Value) (float64, bool) {
	if v == nil {
		return 0, false
	}
	switch x := v.Export().(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// callHook calls fn on the loop within the budget and returns its value.
func (e *Engine) callHook(name string, fn goja.Callable, args ...goja.Value) (goja.Value, error) {
	var out goja.Value
	err := e.onLoop(name, func() error {
		v, err := e.guarded(name, fn, args...)
		out = v
		return err
	})
	return out, err
}

// onLoop runs fn on the loop goroutine and waits for it. Called from any
// other goroutine (the scheduler's).
func (e *Engine) onLoop(name string, fn func() error) error {
	done := make(chan error, 1)
	e.enqueue(func() { done <- fn() })
	if err := <-done; err != nil {
		var pe *PolicyError
		if errors.As(err, &pe) {
			return err
		}
		return &PolicyError{Hook: name, Err: err}
	}
	return nil
}

// guarded calls a hook on the loop goroutine, interrupting it when it runs
// past the budget. A returned promise is waited for (the loop keeps
// running); a rejected one is an error.
func (e *Engine) guarded(name string, fn goja.Callable, args ...goja.Value) (goja.Value, error) {
	var mu sync.Mutex
	active := true
	budget := e.budget()
	timer := time.AfterFunc(budget, func() {
		mu.Lock()
		defer mu.Unlock()
		if active {
			e.vm.Interrupt(fmt.Errorf("ran longer than its %s budget (--policy-timeout) and was interrupted", budget))
		}
	})
	v, err := fn(goja.Undefined(), args...)
	mu.Lock()
	active = false
	mu.Unlock()
	timer.Stop()
	e.vm.ClearInterrupt()
	if err != nil {
		var intr *goja.InterruptedError
		if errors.As(err, &intr) {
			if cause, ok := intr.Value().(error); ok {
				return nil, &PolicyError{Hook: name, Err: cause}
			}
		}
		return nil, &PolicyError{Hook: name, Err: e.jsError(err)}
	}
	if p, ok := v.Export().(*goja.Promise); ok {
		return e.settled(name, p)
	}
	return v, nil
}

// settled returns a promise's value once it settles; microtasks have run
// by now, so a promise still pending waits for later loop jobs (timers).
func (e *Engine) settled(name string, p *goja.Promise) (goja.Value, error) {
	deadline := time.Now().Add(e.budget())
	for p.State() == goja.PromiseStatePending {
		if time.Now().After(deadline) {
			return nil, &PolicyError{Hook: name, Err: fmt.Errorf("its promise did not settle within the %s budget", e.budget())}
		}
		select {
		case job := <-e.jobs:
			job()
		case <-e.nextTimer():
			e.runDueTimers()
		case <-time.After(time.Until(deadline)):
		}
	}
	if p.State() == goja.PromiseStateRejected {
		e.markHandled(p)
		return nil, &PolicyError{Hook: name, Err: e.rejection(p.Result())}
	}
	return p.Result(), nil
}

func (e *Engine) markHandled(p *goja.Promise) {
	for i, r := range e.rejected {
		if u, ok := r.(*unhandled); ok && u.p == p {
			e.rejected = append(e.rejected[:i], e.rejected[i+1:]...)
			return
		}
	}
}

func (e *Engine) budget() time.Duration {
	if e.cfg.PolicyTimeout > 0 {
		return e.cfg.PolicyTimeout
	}
	return DefaultPolicyTimeout
}

// describeValue names a hook's result for messages, showing small objects.
func describeValue(v goja.Value) string {
	if obj, ok := v.(*goja.Object); ok {
		if b, err := obj.MarshalJSON(); err == nil && len(b) < 200 {
			return string(b)
		}
	}
	return typeName(v)
}
