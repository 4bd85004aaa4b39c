package bindings

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// installConsole provides console.log/info/debug (stdout) and
// console.warn/error (stderr).
func (e *Engine) installConsole() {
	c := e.vm.NewObject()
	out := func(w io.Writer) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			parts := make([]string, len(call.Arguments))
			for i, a := range call.Arguments {
				parts[i] = e.inspect(a)
			}
			fmt.Fprintln(w, strings.Join(parts, " "))
			return goja.Undefined()
		}
	}
	for _, name := range []string{"log", "info", "debug"} {
		c.Set(name, out(e.cfg.Stdout))
	}
	for _, name := range []string{"warn", "error"} {
		c.Set(name, out(e.cfg.Stderr))
	}
	e.vm.Set("console", c)
}

// inspect renders a value for people: strings as they are, errors with
// their stack, objects and arrays as JSON.
func (e *Engine) inspect(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if goja.IsNull(v) {
		return "null"
	}
	if s, ok := v.Export().(string); ok {
		return s
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		return v.String()
	}
	if _, isFn := goja.AssertFunction(v); isFn {
		return "[Function]"
	}
	if st := obj.Get("stack"); st != nil && !goja.IsUndefined(st) {
		return st.String()
	}
	b, err := json.MarshalIndent(obj.Export(), "", "  ")
	if err != nil {
		return obj.String()
	}
	return string(b)
}

// installTimers provides setTimeout/clearTimeout on the engine's loop.
func (e *Engine) installTimers() {
	e.vm.Set("setTimeout", func(call goja.FunctionCall) goja.Value {
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			panic(e.vm.NewTypeError("setTimeout needs a function"))
		}
		ms := call.Argument(1).ToFloat()
		args := append([]goja.Value(nil), call.Arguments[min(2, len(call.Arguments)):]...)
		e.pending++
		var t *time.Timer
		t = time.AfterFunc(time.Duration(ms*float64(time.Millisecond)), func() {
			e.enqueue(func() {
				if !e.timers[t] {
					return // cleared meanwhile
				}
				delete(e.timers, t)
				e.pending--
				if _, err := fn(goja.Undefined(), args...); err != nil {
					e.rejected = append(e.rejected, &unhandled{err: e.jsError(err)})
				}
			})
		})
		e.timers[t] = true
		return e.vm.ToValue(t)
	})
	e.vm.Set("clearTimeout", func(call goja.FunctionCall) goja.Value {
		if t, ok := call.Argument(0).Export().(*time.Timer); ok && e.timers[t] {
			t.Stop()
			delete(e.timers, t)
			e.pending--
		}
		return goja.Undefined()
	})
}

// stopTimers drops every timer (after an interrupt).
func (e *Engine) stopTimers() {
	for t := range e.timers {
		t.Stop()
		delete(e.timers, t)
		e.pending--
	}
}
