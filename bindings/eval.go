package bindings

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"

	"github.com/jsrt-script/jsrt-script/runtime/core"
)

// Interactive evaluates input typed at a REPL on an engine: one statement
// (possibly of several lines) at a time, with top-level await, declarations
// that outlive the input, and the value of the last expression returned for
// display.
//
// Threading: Eval, Load and Names' snapshot are called from one goroutine
// (the REPL's), never concurrently; each call owns the Runtime until it
// returns, like Load does. Names may be read from any goroutine: it is an
// immutable snapshot taken at the end of every Eval and Load.
type Interactive struct {
	e     *Engine
	n     int                // inputs evaluated, for their names (repl1, repl2, ...)
	maps  map[string]*posMap // positions of rewritten inputs, by name
	lex   map[string]bool    // global let/const/class names declared by inputs
	insp  goja.Callable      // the inspector (inspect.go)
	mu    sync.Mutex
	names Names
}

// Names is what tab completion offers: global names, the properties of
// objects reachable from them (by dotted path, "scheduler", "r.tasks"), and
// the task names.
type Names struct {
	Globals []string
	Props   map[string][]string
	Tasks   []string
}

// NewInteractive readies e for a REPL. Without a loaded strategy, the
// workspace is rooted at dir (tasks may be defined at the prompt).
func NewInteractive(e *Engine, dir string) *Interactive {
	if e.ws == nil {
		e.ws = core.NewWorkspace(dir)
		// A strategy-less session behaves like a strategy in dir: root()
		// resolves relative to it. No stack frame ever has this name.
		e.file = filepath.Join(dir, "<repl>")
	}
	in := &Interactive{e: e, maps: map[string]*posMap{}, lex: map[string]bool{}}
	in.snapshot()
	return in
}

// Load runs a strategy file in the session (.load, or the file given on the
// command line): its tasks replace those defined so far.
func (in *Interactive) Load(ctx context.Context, file string) error {
	in.e.vm.ClearInterrupt()
	ws, was := in.e.ws, in.e.file
	err := in.settle(ctx, in.e.Load(ctx, file))
	if err != nil { // all or nothing: the tasks defined before stay
		in.e.ws, in.e.file = ws, was
	}
	in.snapshot()
	return err
}

// Eval evaluates src and returns its value inspected for display. A Promise
// it evaluates to is awaited. Cancelling ctx interrupts JavaScript and stops
// the runs it started; the session stays usable.
func (in *Interactive) Eval(ctx context.Context, src string) (string, error) {
	in.n++
	name := fmt.Sprintf("repl%d", in.n)
	e := in.e
	e.vm.ClearInterrupt() // an interrupt that arrived after the previous input finished
	var result goja.Value
	run, err := in.prepare(name, src)
	if err == nil {
		err = e.serve(ctx, func() (goja.Value, error) {
			v, err := run()
			if err != nil {
				return nil, err
			}
			result = v
			if p, ok := v.Export().(*goja.Promise); ok {
				in.capture(p, &result)
			}
			return v, nil
		})
	}
	err = in.settle(ctx, err)
	if err == nil {
		var text string
		text, err = in.inspect(result)
		in.snapshot()
		return text, err
	}
	in.snapshot()
	return "", in.mapError(err)
}

// capture stores p's value in *dst once p is fulfilled; serve itself
// reports a rejection.
func (in *Interactive) capture(p *goja.Promise, dst *goja.Value) {
	vm := in.e.vm
	then, _ := goja.AssertFunction(vm.ToValue(p).ToObject(vm).Get("then"))
	onOK := vm.ToValue(func(c goja.FunctionCall) goja.Value { *dst = c.Argument(0); return goja.Undefined() })
	onErr := vm.ToValue(func(goja.FunctionCall) goja.Value { return goja.Undefined() })
	_, _ = then(vm.ToValue(p), onOK, onErr)
}

// settle finishes an input: runs it started and did not wait for finish
// before the prompt comes back (their callbacks run), and a rejection that
// nobody handled is its error. After an interrupted or failed input, runs
// are still waited for (they stop, since they share its context) but
// JavaScript continuations of it are dropped, so the loop starts clean.
func (in *Interactive) settle(ctx context.Context, err error) error {
	e := in.e
	failed := err != nil || ctx.Err() != nil
	for e.inflight > 0 {
		if failed {
			e.vm.Interrupt(ctx.Err())
		}
		job := <-e.jobs
		job()
	}
	if !failed {
		return e.takeRejection()
	}
	e.vm.ClearInterrupt()
	e.stopTimers()
	e.pending = 0
	e.rejected = nil
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// prepare compiles src. Input that parses as a script runs as one, so its
// declarations are global and its completion value is the result. Input
// that needs top-level await is rewritten into an async function whose
// top-level declarations become assignments to globals and whose last
// expression is returned.
func (in *Interactive) prepare(name, src string) (func() (goja.Value, error), error) {
	if prg, err := parser.ParseFile(nil, name, src, 0, parser.WithDisableSourceMaps); err == nil {
		for _, n := range lexicalNames(prg.Body) {
			in.lex[n] = true
		}
		code, err := goja.CompileAST(prg, false)
		if err != nil {
			return nil, in.syntaxError(name, err, nil)
		}
		return func() (goja.Value, error) { return in.e.vm.RunProgram(code) }, nil
	}
	rw, err := rewriteAsync(name, src)
	if err != nil {
		return nil, in.syntaxError(name, err, rw)
	}
	in.maps[name] = rw.pos
	code, err := goja.Compile(name, rw.code, false)
	if err != nil {
		return nil, in.syntaxError(name, err, rw)
	}
	return func() (goja.Value, error) {
		for _, n := range rw.globals {
			if in.lex[n] {
				continue // already a global let/const/class: assigned as it is
			}
			if _, err := in.e.vm.RunString("var " + n); err != nil {
				in.lex[n] = true
			}
		}
		fn, err := in.e.vm.RunProgram(code)
		if err != nil {
			return nil, err
		}
		call, _ := goja.AssertFunction(fn)
		return call(goja.Undefined())
	}, nil
}

// syntaxError reports a parse error at the input's own line and column.
func (in *Interactive) syntaxError(name string, err error, rw *rewritten) error {
	var list parser.ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		var ex *goja.CompilerSyntaxError
		if errors.As(err, &ex) {
			return &SyntaxError{File: name, Msg: ex.Message}
		}
		return &SyntaxError{File: name, Msg: err.Error()}
	}
	p := list[0].Position
	line, col, msg := p.Line, p.Column, list[0].Message
	if rw != nil {
		lines := strings.Split(rw.src, "\n")
		if line-rw.pos.lineShift > len(lines) {
			// The error is in the wrapper's closing line: the input ended early.
			line, col, msg = len(lines), len(lines[len(lines)-1])+1, "Unexpected end of input"
		} else {
			line, col = rw.pos.original(line, col)
		}
	}
	return &SyntaxError{File: name, Line: line, Column: col, Msg: msg}
}

// mapError moves the positions of a script error from the rewritten text of
// inputs back to what was typed.
func (in *Interactive) mapError(err error) error {
	var se *ScriptError
	if !errors.As(err, &se) {
		return err
	}
	for i, f := range se.Stack {
		if m := in.maps[f.File]; m != nil {
			se.Stack[i].Line, se.Stack[i].Column = m.original(f.Line, f.Column)
		}
	}
	return err
}

// lexicalNames lists the names that top-level let, const and class
// declarations of a script bind.
func lexicalNames(body []ast.Statement) []string {
	var out []string
	for _, st := range body {
		switch s := st.(type) {
		case *ast.LexicalDeclaration:
			for _, b := range s.List {
				out = append(out, bindingNames(b.Target)...)
			}
		case *ast.ClassDeclaration:
			if s.Class.Name != nil {
				out = append(out, string(s.Class.Name.Name))
			}
		}
	}
	return out
}

// bindingNames lists the identifiers a binding target (a name or a
// destructuring pattern) declares.
func bindingNames(t ast.Expression) []string {
	switch x := t.(type) {
	case *ast.Identifier:
		return []string{string(x.Name)}
	case *ast.AssignExpression: // a default value: target = default
		return bindingNames(x.Left)
	case *ast.ObjectPattern:
		var out []string
		for _, p := range x.Properties {
			switch q := p.(type) {
			case *ast.PropertyShort:
				out = append(out, string(q.Name.Name))
			case *ast.PropertyKeyed:
				out = append(out, bindingNames(q.Value)...)
			}
		}
		if x.Rest != nil {
			out = append(out, bindingNames(x.Rest)...)
		}
		return out
	case *ast.ArrayPattern:
		var out []string
		for _, el := range x.Elements {
			if el != nil {
				out = append(out, bindingNames(el)...)
			}
		}
		if x.Rest != nil {
			out = append(out, bindingNames(x.Rest)...)
		}
		return out
	}
	return nil
}

// rewritten is an input made into an async function.
type rewritten struct {
	src     string // as typed
	code    string
	globals []string // names its top-level declarations bind
	pos     *posMap
}

// The async wrapper sits on a line of its own, so lines move by one and
// columns only where the rewrite inserted text.
const (
	asyncHead = "(async function() {"
	asyncTail = "\n})"
)

// rewriteAsync turns input that uses top-level await into
//
//	(async function() { globalThis.f = f;   <- function declarations
//	<input, with top-level `const x = ...` as `      x = ...`,
//	 `class C {}` as `C = class C {}`, and `return ` before the last
//	 expression statement>
//	})
//
// The names declared are returned so the caller declares them as globals
// first. Only top-level statements are touched.
func rewriteAsync(name, src string) (*rewritten, error) {
	prefix := asyncHead + "\n"
	prg, err := parser.ParseFile(nil, name, prefix+src+asyncTail, 0, parser.WithDisableSourceMaps)
	rw := &rewritten{src: src, pos: &posMap{lineShift: 1}}
	if err != nil {
		return rw, err
	}
	fn := prg.Body[0].(*ast.ExpressionStatement).Expression.(*ast.FunctionLiteral)
	at := func(i file.Idx) int { return int(i) - 1 - len(prefix) } // file.Idx counts from 1
	ed := &editor{src: src}
	var head []string
	body := fn.Body.List
	for i, st := range body {
		switch s := st.(type) {
		case *ast.VariableStatement:
			rw.globals = append(rw.globals, declare(ed, at, s.Var, "var", s.List)...)
		case *ast.LexicalDeclaration:
			rw.globals = append(rw.globals, declare(ed, at, s.Idx, s.Token.String(), s.List)...)
		case *ast.FunctionDeclaration:
			if s.Function.Name != nil {
				n := string(s.Function.Name.Name)
				rw.globals = append(rw.globals, n)
				head = append(head, fmt.Sprintf("globalThis[%q] = %s;", n, n))
			}
		case *ast.ClassDeclaration:
			if s.Class.Name != nil {
				n := string(s.Class.Name.Name)
				rw.globals = append(rw.globals, n)
				ed.insert(at(s.Class.Class), n+" = ")
			}
		case *ast.ExpressionStatement:
			if i == len(body)-1 {
				ed.insert(statementStart(src, at(s.Idx0())), "return ")
			}
		}
	}
	code, origin := ed.apply()
	rw.code = asyncHead + " " + strings.Join(head, " ") + "\n" + code + asyncTail
	rw.pos.build(code, origin, src)
	return rw, nil
}

// declare rewrites one top-level declaration into assignments and returns
// the names it binds: `const a = 1, {b} = o` becomes
// `      a = 1, ({b} = o)`, and `let x` becomes `    x = void 0`.
func declare(ed *editor, at func(file.Idx) int, kw file.Idx, keyword string, list []*ast.Binding) []string {
	ed.replace(at(kw), len(keyword), strings.Repeat(" ", len(keyword)))
	var names []string
	for _, b := range list {
		names = append(names, bindingNames(b.Target)...)
		switch {
		case b.Initializer == nil:
			ed.insert(at(b.Target.Idx1()), " = void 0")
		case isPattern(b.Target):
			ed.insert(at(b.Target.Idx0()), "(")
			ed.insert(at(b.Initializer.Idx1()), ")")
		}
	}
	return names
}

func isPattern(t ast.BindingTarget) bool {
	switch t.(type) {
	case *ast.ObjectPattern, *ast.ArrayPattern:
		return true
	}
	return false
}

// statementStart moves back from an expression's start over the opening
// parentheses (and spaces) that belong to its statement.
func statementStart(src string, at int) int {
	i := at
	for i > 0 {
		c := src[i-1]
		if c != '(' && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			break
		}
		i--
	}
	for i < at && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
		i++
	}
	return i
}

// editor collects replacements and insertions at offsets of src.
type editor struct {
	src   string
	edits []edit
}

type edit struct {
	at, del int
	text    string
	seq     int
}

func (ed *editor) insert(at int, text string) { ed.replace(at, 0, text) }

func (ed *editor) replace(at, del int, text string) {
	ed.edits = append(ed.edits, edit{at: at, del: del, text: text, seq: len(ed.edits)})
}

// apply returns the edited text and, for each of its bytes, the offset in
// src it comes from (inserted text takes the offset it was inserted at).
func (ed *editor) apply() (string, []int) {
	sort.SliceStable(ed.edits, func(i, j int) bool {
		if ed.edits[i].at != ed.edits[j].at {
			return ed.edits[i].at < ed.edits[j].at
		}
		return ed.edits[i].seq < ed.edits[j].seq
	})
	var b strings.Builder
	var origin []int
	pos := 0
	for _, e := range ed.edits {
		if e.at < pos || e.at > len(ed.src) {
			continue // overlapping: cannot happen with the edits rewriteAsync makes
		}
		for ; pos < e.at; pos++ {
			b.WriteByte(ed.src[pos])
			origin = append(origin, pos)
		}
		for k := 0; k < len(e.text); k++ {
			b.WriteByte(e.text[k])
			if e.del > 0 {
				origin = append(origin, e.at+min(k, e.del-1))
			} else {
				origin = append(origin, e.at)
			}
		}
		pos = e.at + e.del
	}
	for ; pos < len(ed.src); pos++ {
		b.WriteByte(ed.src[pos])
		origin = append(origin, pos)
	}
	return b.String(), origin
}

// posMap maps a line:column of rewritten code (after the wrapper's line)
// back to the input as typed.
type posMap struct {
	lineShift int
	genLines  []int // offsets where the lines of the rewritten body start
	origin    []int // for each byte of the body, the input offset
	srcLines  []int // offsets where the lines of the input start
}

func (m *posMap) build(code string, origin []int, src string) {
	m.genLines, m.origin, m.srcLines = lineStarts(code), origin, lineStarts(src)
}

func lineStarts(s string) []int {
	out := []int{0}
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, i+1)
		}
	}
	return out
}

func (m *posMap) original(line, col int) (int, int) {
	line -= m.lineShift
	if line < 1 || m.genLines == nil {
		return max(line, 1), max(col, 1)
	}
	if line > len(m.genLines) {
		return line, col
	}
	at := m.genLines[line-1] + col - 1
	if at < 0 || at >= len(m.origin) {
		return line, col
	}
	o := m.origin[at]
	l := sort.Search(len(m.srcLines), func(i int) bool { return m.srcLines[i] > o })
	return l, o - m.srcLines[l-1] + 1
}
