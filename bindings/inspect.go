package bindings

import (
	"sort"
	"strings"

	"github.com/dop251/goja"
)

// inspector renders a value the way a REPL shows it: strings quoted,
// objects and arrays as literals (on one line when they fit in 72 columns,
// else one entry per line), nested objects past depth 2 as [Object],
// cycles as [Circular], functions as [Function: name], errors with their
// stack. It is JavaScript so it sees values as scripts do (getters are
// shown, not called); errorText and promiseInfo come from Go.
const inspector = `(function (errorText, promiseInfo) {
  "use strict";
  var WIDTH = 72, DEPTH = 2, ITEMS = 100;
  var ident = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  function quote(s) {
    return "'" + s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n")
      .replace(/\r/g, "\\r").replace(/\t/g, "\\t") + "'";
  }
  function key(k) {
    if (typeof k === "symbol") return "[" + k.toString() + "]";
    return ident.test(k) ? k : quote(k);
  }
  function fnText(f) {
    var src = "";
    try { src = Function.prototype.toString.call(f); } catch (e) {}
    if (/^class[\s{]/.test(src)) return "[class " + (f.name || "(anonymous)") + "]";
    return "[Function: " + (f.name || "(anonymous)") + "]";
  }
  function wrap(open, items, close, indent) {
    if (items.length === 0) return open + close;
    var one = open + " " + items.join(", ") + " " + close;
    if (one.length + indent <= WIDTH && one.indexOf("\n") < 0) return one;
    var pad = new Array(indent + 3).join(" ");
    return open + "\n" + pad + items.join(",\n" + pad) + "\n" + new Array(indent + 1).join(" ") + close;
  }
  function props(v, depth, seen, indent, skip) {
    var out = [];
    var keys = Object.keys(v).concat(Object.getOwnPropertySymbols(v).filter(function (s) {
      return Object.getOwnPropertyDescriptor(v, s).enumerable;
    }));
    for (var i = 0; i < keys.length; i++) {
      var k = keys[i];
      if (skip && skip(k)) continue;
      var d = Object.getOwnPropertyDescriptor(v, k);
      var shown;
      if (d.get && d.set) shown = "[Getter/Setter]";
      else if (d.get) shown = "[Getter]";
      else if (d.set) shown = "[Setter]";
      else shown = fmt(d.value, depth + 1, seen, indent + 2);
      out.push(key(k) + ": " + shown);
    }
    return out;
  }
  function fmt(v, depth, seen, indent) {
    switch (typeof v) {
      case "undefined": return "undefined";
      case "string": return quote(v);
      case "number": return Object.is(v, -0) ? "-0" : String(v);
      case "bigint": return String(v) + "n";
      case "boolean": return String(v);
      case "symbol": return v.toString();
      case "function": return fnText(v);
    }
    if (v === null) return "null";
    if (seen.indexOf(v) >= 0) return "[Circular]";
    if (v instanceof Error) return errorText(v);
    if (v instanceof Date) return isNaN(v.getTime()) ? "Invalid Date" : v.toISOString();
    if (v instanceof RegExp) return String(v);
    if (v instanceof Promise) {
      var p = promiseInfo(v);
      if (p.state === "pending") return "Promise { <pending> }";
      var inner = fmt(p.value, depth + 1, seen.concat([v]), indent + 2);
      return "Promise { " + (p.state === "rejected" ? "<rejected> " : "") + inner + " }";
    }
    var isArr = Array.isArray(v);
    var proto = Object.getPrototypeOf(v);
    var ctor = proto && proto.constructor && proto.constructor.name;
    var label = "";
    if (proto === null) label = "[Object: null prototype] ";
    else if (!isArr && ctor && ctor !== "Object" && !(v instanceof Map) && !(v instanceof Set)) label = ctor + " ";
    if (depth > DEPTH) return isArr ? "[Array]" : "[" + (ctor || "Object") + "]";
    seen = seen.concat([v]);
    var items = [];
    if (v instanceof Map) {
      v.forEach(function (val, k) {
        items.push(fmt(k, depth + 1, seen, indent + 2) + " => " + fmt(val, depth + 1, seen, indent + 2));
      });
      return wrap("Map(" + v.size + ") {", items, "}", indent);
    }
    if (v instanceof Set) {
      v.forEach(function (val) { items.push(fmt(val, depth + 1, seen, indent + 2)); });
      return wrap("Set(" + v.size + ") {", items, "}", indent);
    }
    if (isArr) {
      var n = Math.min(v.length, ITEMS);
      for (var i = 0; i < n; i++) items.push(i in v ? fmt(v[i], depth + 1, seen, indent + 2) : "<empty>");
      if (v.length > ITEMS) items.push("... " + (v.length - ITEMS) + " more items");
      items = items.concat(props(v, depth, seen, indent, function (k) { return /^\d+$/.test(k); }));
      return wrap("[", items, "]", indent);
    }
    return label + wrap("{", props(v, depth, seen, indent), "}", indent);
  }
  return function (v) { return fmt(v, 0, [], 0); };
})`

// inspect renders v with the inspector, compiling it on first use.
func (in *Interactive) inspect(v goja.Value) (string, error) {
	if in.insp == nil {
		vm := in.e.vm
		factory, err := vm.RunString(inspector)
		if err != nil {
			return "", err
		}
		make_, _ := goja.AssertFunction(factory)
		errText := vm.ToValue(func(c goja.FunctionCall) goja.Value { return vm.ToValue(in.errorText(c.Argument(0))) })
		promise := vm.ToValue(func(c goja.FunctionCall) goja.Value {
			p, _ := c.Argument(0).Export().(*goja.Promise)
			o := vm.NewObject()
			if p == nil {
				return o
			}
			state := map[goja.PromiseState]string{goja.PromiseStatePending: "pending",
				goja.PromiseStateFulfilled: "fulfilled", goja.PromiseStateRejected: "rejected"}[p.State()]
			o.Set("state", state)
			if p.State() != goja.PromiseStatePending {
				o.Set("value", p.Result())
			}
			return o
		})
		fn, err := make_(goja.Undefined(), errText, promise)
		if err != nil {
			return "", err
		}
		in.insp, _ = goja.AssertFunction(fn)
	}
	if v == nil {
		v = goja.Undefined()
	}
	out, err := in.insp(goja.Undefined(), v)
	if err != nil {
		return "", in.e.jsError(err)
	}
	return out.String(), nil
}

// errorText is an Error as a REPL shows it: "Name: message" and its stack,
// with positions of REPL inputs as they were typed.
func (in *Interactive) errorText(v goja.Value) string {
	err := in.mapError(in.e.rejection(v))
	se, ok := err.(*ScriptError)
	if !ok {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString(se.Msg)
	for _, f := range se.Stack {
		b.WriteString("\n    at " + f.String())
	}
	return b.String()
}

// snapshot records the names completion offers: globals (and top-level
// let/const/class of inputs), the properties of the objects they hold, to
// three levels, and the tasks. It runs between inputs, on the REPL's
// goroutine, and never calls getters.
func (in *Interactive) snapshot() {
	vm := in.e.vm
	names := Names{Props: map[string][]string{}}
	if in.e.ws != nil {
		names.Tasks = in.e.ws.Graph.Names()
	}
	list, err := vm.RunString(snapshotJS)
	fn, ok := goja.AssertFunction(list)
	if err != nil || !ok {
		in.setNames(names)
		return
	}
	lex := make([]string, 0, len(in.lex))
	for n := range in.lex {
		lex = append(lex, n)
	}
	sort.Strings(lex)
	lexVals := vm.NewObject()
	for _, n := range lex {
		if v, err := vm.RunString(n); err == nil {
			lexVals.Set(n, v)
		}
	}
	res, err := fn(goja.Undefined(), lexVals)
	if err != nil {
		in.setNames(names)
		return
	}
	var raw map[string][]string
	if err := vm.ExportTo(res, &raw); err == nil {
		names.Globals = raw[""]
		delete(raw, "")
		names.Props = raw
	}
	in.setNames(names)
}

// snapshotJS walks globalThis (and the values of lexical globals) and
// returns {"": globals, "path": names, ...}.
const snapshotJS = `(function (lex) {
  "use strict";
  var out = {}, count = 0, LIMIT = 20000;
  function names(v) {
    var seen = {}, list = [];
    for (var o = Object(v); o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
      var own = Object.getOwnPropertyNames(o);
      for (var i = 0; i < own.length; i++) {
        var n = own[i];
        if (seen[n] || /^\d+$/.test(n) || n === "constructor" && o !== v) continue;
        seen[n] = true;
        list.push(n);
      }
    }
    return list.sort();
  }
  function walk(path, v, depth) {
    if (count > LIMIT || (typeof v !== "object" && typeof v !== "function") || v === null) return;
    var list = names(v);
    count += list.length;
    out[path] = list;
    if (depth >= 3 || typeof v === "function") return;
    for (var i = 0; i < list.length; i++) {
      var d;
      for (var o = v; o !== null && !d; o = Object.getPrototypeOf(o)) d = Object.getOwnPropertyDescriptor(o, list[i]);
      if (d && "value" in d && d.value !== v && typeof d.value === "object") walk(path + "." + list[i], d.value, depth + 1);
    }
  }
  var g = names(globalThis).concat(Object.keys(lex));
  out[""] = g.filter(function (n, i) { return g.indexOf(n) === i; }).sort();
  for (var i = 0; i < out[""].length; i++) {
    var n = out[""][i], d = Object.getOwnPropertyDescriptor(globalThis, n);
    var v = Object.prototype.hasOwnProperty.call(lex, n) ? lex[n] : d && d.value;
    if (n !== "globalThis") walk(n, v, 1);
  }
  return out;
})`

func (in *Interactive) setNames(n Names) {
	in.mu.Lock()
	in.names = n
	in.mu.Unlock()
}

// Names is the completion snapshot taken after the last Eval or Load; safe
// from any goroutine.
func (in *Interactive) Names() Names {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.names
}
