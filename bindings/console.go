package bindings

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

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
