package bindings

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dop251/goja"
)

// SyntaxError is a strategy that does not parse.
type SyntaxError struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: syntax error: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: syntax error: %s", e.File, e.Line, e.Column, e.Msg)
}

// LoadError is a strategy file that cannot be read.
type LoadError struct {
	File string
	Err  error
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("cannot read strategy %q: %v", e.File, unwrapPath(e.Err))
}
func (e *LoadError) Unwrap() error { return e.Err }

func unwrapPath(err error) error {
	var pe interface{ Unwrap() error }
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap()
	}
	return err
}

// Frame is one line of a JS stack.
type Frame struct {
	Func         string
	File         string
	Line, Column int
}

func (f Frame) String() string {
	pos := fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
	if f.Func == "" || f.Func == "<anonymous>" {
		return pos
	}
	return fmt.Sprintf("%s (%s)", f.Func, pos)
}

// ScriptError is an exception thrown (or a promise rejected) by JavaScript,
// with the position it was thrown at and its stack.
type ScriptError struct {
	Msg   string // "TypeError: ..."
	Stack []Frame
	Err   error // the Go error behind it, if any
}

func (e *ScriptError) Error() string {
	if len(e.Stack) > 0 {
		f := e.Stack[0]
		return fmt.Sprintf("%s:%d:%d: %s", f.File, f.Line, f.Column, e.Msg)
	}
	return e.Msg
}

func (e *ScriptError) Unwrap() error { return e.Err }

// Detail is the message with the whole JS stack, for printing.
func (e *ScriptError) Detail() string {
	var b strings.Builder
	b.WriteString(e.Error())
	if len(e.Stack) < 2 {
		return b.String() // the one position is already in front
	}
	for _, f := range e.Stack {
		b.WriteString("\n    at " + f.String())
	}
	return b.String()
}

// InterruptedError is JavaScript stopped by a cancelled context.
type InterruptedError struct{ Cause error }

func (e *InterruptedError) Error() string { return "interrupted" }
func (e *InterruptedError) Unwrap() error { return e.Cause }

// jsError turns what goja returned into one of the typed errors above.
func (e *Engine) jsError(err error) error {
	var intr *goja.InterruptedError
	if errors.As(err, &intr) {
		cause, _ := intr.Value().(error)
		return &InterruptedError{Cause: cause}
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		se := e.rejection(ex.Value()).(*ScriptError)
		if len(se.Stack) == 0 {
			se.Stack = e.frames(ex.Stack())
		}
		return se
	}
	return err
}

// rejection turns a thrown or rejected JS value into a *ScriptError.
func (e *Engine) rejection(v goja.Value) error {
	se := &ScriptError{Msg: "uncaught " + fmt.Sprint(v)}
	obj, ok := v.(*goja.Object)
	if !ok {
		if v != nil {
			se.Msg = "uncaught " + v.String()
		}
		return se
	}
	if se, ok := goValue(obj).(*ScriptError); ok {
		return se // already a JS error with its own position
	}
	if goErr, ok := goValue(obj).(error); ok {
		// An error from Go (a graph error from run(), say) keeps its own
		// message; the stack says which call it came from.
		se.Err, se.Msg = goErr, goErr.Error()
		if st := obj.Get("stack"); st != nil && !goja.IsUndefined(st) {
			se.Stack = e.parseStack(st.String())
		}
		return se
	}
	if msg := obj.Get("message"); msg != nil && !goja.IsUndefined(msg) {
		name := "Error"
		if n := obj.Get("name"); n != nil && !goja.IsUndefined(n) {
			name = n.String()
		}
		se.Msg = name + ": " + msg.String()
	} else {
		se.Msg = "uncaught " + obj.String()
	}
	if st := obj.Get("stack"); st != nil && !goja.IsUndefined(st) {
		se.Stack = e.parseStack(st.String())
	}
	return se
}

// frames converts goja frames, fixing columns on the strategy's first line
// (where the module wrapper sits).
func (e *Engine) frames(fs []goja.StackFrame) []Frame {
	var out []Frame
	for _, f := range fs {
		p := f.Position()
		if p.Filename == "" {
			continue
		}
		out = append(out, e.fix(Frame{Func: f.FuncName(), File: p.Filename, Line: p.Line, Column: p.Column}))
	}
	return out
}

// Module wrappers other code puts on line 1 of the files it loads.
const (
	requireWrapper = "(function(exports,require,module,__filename,__dirname){" // goja_nodejs require()
	policyWrapper  = "(function(exports, require, module) {"                   // embedded policies
)

func (e *Engine) fix(f Frame) Frame {
	if IsTypeScript(f.File) {
		return fixTS(f) // positions from the source map: typescript.go
	}
	if f.Line != 1 {
		return f
	}
	switch {
	case f.File == e.file:
		f.Column -= e.wrapLen
	case strings.HasPrefix(f.File, "jsrt/policies/"):
		f.Column -= len(policyWrapper)
	case strings.HasSuffix(f.File, ".js") || strings.HasSuffix(f.File, ".cjs") || strings.HasSuffix(f.File, ".json"):
		f.Column -= len(requireWrapper) // a module loaded by require()
	}
	f.Column = max(1, f.Column)
	return f
}

// parseStack reads goja's "\tat fn (file:line:col(pc))" stack text.
func (e *Engine) parseStack(s string) []Frame {
	var out []Frame
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "at ") {
			continue
		}
		line = strings.TrimPrefix(line, "at ")
		fn, loc := "", line
		if i := strings.Index(line, " ("); i >= 0 && strings.HasSuffix(line, ")") {
			fn, loc = line[:i], line[i+2:len(line)-1]
		}
		if i := strings.LastIndex(loc, "("); i > 0 {
			loc = loc[:i] // the pc
		}
		var f Frame
		parts := strings.Split(loc, ":")
		if len(parts) < 3 {
			continue
		}
		f.File = strings.Join(parts[:len(parts)-2], ":")
		if _, err := fmt.Sscanf(parts[len(parts)-2]+" "+parts[len(parts)-1], "%d %d", &f.Line, &f.Column); err != nil {
			continue
		}
		if f.File == "native" || strings.HasPrefix(f.File, "<") {
			continue
		}
		f.Func = fn
		out = append(out, e.fix(f))
	}
	return out
}

// goValue is the Go value behind a GoError object, if any.
func goValue(obj *goja.Object) any {
	if v := obj.Get("value"); v != nil && !goja.IsUndefined(v) {
		return v.Export()
	}
	return nil
}
