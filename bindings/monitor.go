package bindings

import (
	"strings"

	"github.com/dop251/goja"
)

// monitorEvents are the events monitor.on accepts.
var monitorEvents = []string{"taskStart", "taskEnd", "sample", "anomaly"}

// monitorObject is the JS `monitor`: metrics() (of the run going on, or
// the last one) and on(event, fn), whose listeners are called on this loop
// as the run goes (taskStart, taskEnd, sample, anomaly).
func (e *Engine) monitorObject() *goja.Object {
	m := e.vm.NewObject()
	m.Set("metrics", func(goja.FunctionCall) goja.Value {
		if e.cfg.Metrics == nil {
			return goja.Null()
		}
		v := e.cfg.Metrics()
		if v == nil {
			return goja.Null()
		}
		return e.plain(v)
	})
	m.Set("on", func(call goja.FunctionCall) goja.Value {
		name, _ := call.Argument(0).Export().(string)
		fn, ok := goja.AssertFunction(call.Argument(1))
		known := false
		for _, ev := range monitorEvents {
			known = known || ev == name
		}
		switch {
		case !known:
			e.throw("monitor.on: unknown event %q%s (events: %s)", name, suggestFor(name, monitorEvents), strings.Join(monitorEvents, ", "))
		case !ok:
			e.throw("monitor.on(%q, fn): fn must be a function", name)
		}
		e.listeners[name] = append(e.listeners[name], fn)
		return goja.Undefined()
	})
	return m
}

// events returns the function a run calls for each event, or nil when the
// strategy listens to none. It is called from the run's goroutines; the
// listeners run later on the loop, in order. A listener that throws fails
// the script, as an unhandled rejection would.
func (e *Engine) events() func(kind string, payload any) {
	if len(e.listeners) == 0 {
		return nil
	}
	listeners := map[string][]goja.Callable{}
	for k, v := range e.listeners {
		listeners[k] = append([]goja.Callable(nil), v...)
	}
	return func(kind string, payload any) {
		fns := listeners[kind]
		if len(fns) == 0 {
			return
		}
		e.enqueue(func() {
			arg := e.plain(payload)
			for _, fn := range fns {
				if _, err := fn(goja.Undefined(), arg); err != nil {
					e.rejected = append(e.rejected, &unhandled{err: e.jsError(err)})
				}
			}
		})
	}
}
