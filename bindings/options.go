package bindings

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

var taskKeys = []string{"cmd", "deps", "inputs", "outputs", "env", "cwd", "timeout", "retries",
	"pool", "tags", "priority", "critical", "cache", "cacheKey", "ttl", "batch", "description"}

// parseTask checks a task's options object key by key and type by type.
func parseTask(vm *goja.Runtime, name string, o *goja.Object) (*graph.Task, error) {
	if err := checkKeys(o, "task", name, taskKeys); err != nil {
		return nil, err
	}
	t := &graph.Task{Name: name}
	var err error
	set := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	set(func() error { return parseCmd(o, t) })
	set(func() (e error) { t.Deps, e = strings_(o, "deps", name); return })
	set(func() (e error) { t.Inputs, e = patterns(o, "inputs", name); return })
	set(func() (e error) { t.Outputs, e = patterns(o, "outputs", name); return })
	set(func() (e error) { t.CacheTTL, e = duration(o, "ttl", name); return })
	set(func() (e error) { t.Env, e = strings_(o, "env", name); return })
	set(func() (e error) { t.Tags, e = strings_(o, "tags", name); return })
	set(func() (e error) { t.Cwd, e = relPath(o, "cwd", name); return })
	set(func() (e error) { t.Pool, t.Pools, e = poolOpt(o, name); return })
	set(func() (e error) { t.Timeout, e = duration(o, "timeout", name); return })
	set(func() (e error) { t.Retries, e = intOpt(o, "retries", "task", name); return })
	set(func() (e error) { t.Priority, e = intOpt(o, "priority", "task", name); return })
	set(func() (e error) { t.Critical, e = boolOpt(o, "critical", name, false); return })
	set(func() error {
		c, e := boolOpt(o, "cache", name, true)
		t.NoCache = !c
		return e
	})
	set(func() error { _, e := str(o, "description", name); return e })
	set(func() (e error) { t.Batch, e = str(o, "batch", name); return })
	if err == nil && t.Retries < 0 {
		err = fmt.Errorf("task %q: retries must not be negative, got %d", name, t.Retries)
	}
	return t, err
}

func has(o *goja.Object, key string) (goja.Value, bool) {
	v := o.Get(key)
	return v, v != nil && !goja.IsUndefined(v)
}

func parseCmd(o *goja.Object, t *graph.Task) error {
	v, ok := has(o, "cmd")
	if !ok {
		return fmt.Errorf("task %q: cmd is required (a shell string, or an array of arguments)", t.Name)
	}
	switch c := v.Export().(type) {
	case string:
		if strings.TrimSpace(c) == "" {
			return fmt.Errorf("task %q: cmd must not be empty", t.Name)
		}
		t.Shell = c
	case []any:
		argv, err := stringList(c, "cmd", t.Name)
		if err == nil && len(argv) == 0 {
			err = fmt.Errorf("task %q: cmd must not be an empty array", t.Name)
		}
		t.Argv = argv
		return err
	default:
		return fmt.Errorf("task %q: cmd must be a string or an array of strings, got %s", t.Name, typeName(v))
	}
	return nil
}

// patterns reads input or output globs, which must stay inside the workspace.
func patterns(o *goja.Object, key, name string) ([]string, error) {
	list, err := strings_(o, key, name)
	for _, p := range list {
		if err == nil {
			if perr := cache.CheckPattern(p); perr != nil {
				err = fmt.Errorf("task %q: %s: %v", name, key, perr)
			}
		}
	}
	return list, err
}

func strings_(o *goja.Object, key, name string) ([]string, error) {
	v, ok := has(o, key)
	if !ok {
		return nil, nil
	}
	list, isList := exportList(v)
	if !isList {
		return nil, fmt.Errorf("task %q: %s must be an array of strings, got %s", name, key, typeName(v))
	}
	return stringList(list, key, name)
}

var anySlice = reflect.TypeOf([]any(nil))

// exportList is v.Export().([]any): a JS value that exports as a list, and
// its elements exported. An Array is read element by element, because
// Export sets up a cache for cyclic objects on every call, and this runs
// for each list option of every task; anything else (a Set, a Go value)
// goes through Export itself.
func exportList(v goja.Value) ([]any, bool) {
	o, isObj := v.(*goja.Object)
	if !isObj || o.ClassName() != "Array" || o.ExportType() != anySlice {
		list, ok := v.Export().([]any)
		return list, ok
	}
	list := make([]any, o.Get("length").ToInteger())
	for i := range list {
		if x := o.Get(strconv.Itoa(i)); x != nil {
			list[i] = x.Export()
		}
	}
	return list, true
}

func stringList(list []any, key, name string) ([]string, error) {
	out := make([]string, len(list))
	for i, x := range list {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("task %q: %s[%d] must be a string, got %s", name, key, i, describe(x))
		}
		out[i] = s
	}
	return out, nil
}

func str(o *goja.Object, key, name string) (string, error) {
	v, ok := has(o, key)
	if !ok {
		return "", nil
	}
	s, isStr := v.Export().(string)
	if !isStr {
		return "", fmt.Errorf("task %q: %s must be a string, got %s", name, key, typeName(v))
	}
	return s, nil
}

// relPath reads a path that must stay inside the workspace.
func relPath(o *goja.Object, key, name string) (string, error) {
	s, err := str(o, key, name)
	if err != nil || s == "" {
		return s, err
	}
	clean := filepath.Clean(s)
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("task %q: %s %q must be a path inside the workspace", name, key, s)
	}
	return clean, nil
}

func duration(o *goja.Object, key, name string) (time.Duration, error) {
	v, ok := has(o, key)
	if !ok {
		return 0, nil
	}
	switch x := v.Export().(type) {
	case int64:
		if x <= 0 {
			break
		}
		return time.Duration(x) * time.Millisecond, nil
	case float64:
		if x <= 0 || math.IsInf(x, 0) || math.IsNaN(x) {
			break
		}
		return time.Duration(x * float64(time.Millisecond)), nil
	case string:
		d, err := time.ParseDuration(x)
		if err == nil && d > 0 {
			return d, nil
		}
	}
	return 0, fmt.Errorf("task %q: %s must be a positive number of milliseconds or a duration like \"90s\" or \"5m\", got %s", name, key, typeName(v))
}

func intOpt(o *goja.Object, key, kind, name string) (int, error) {
	v, ok := has(o, key)
	if !ok {
		return 0, nil
	}
	switch x := v.Export().(type) {
	case int64:
		return int(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e9 {
			return int(x), nil
		}
	}
	return 0, fmt.Errorf("%s %q: %s must be a whole number, got %s", kind, name, key, typeName(v))
}

func boolOpt(o *goja.Object, key, name string, def bool) (bool, error) {
	v, ok := has(o, key)
	if !ok {
		return def, nil
	}
	b, isBool := v.Export().(bool)
	if !isBool {
		return def, fmt.Errorf("task %q: %s must be true or false, got %s", name, key, typeName(v))
	}
	return b, nil
}

func typeName(v goja.Value) string {
	if _, ok := goja.AssertFunction(v); ok {
		return "a function"
	}
	return describe(v.Export())
}

// describe names an exported JS value for messages: the string "x", the
// number 1, a boolean, an array, null, an object.
func describe(x any) string {
	switch x := x.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case int64, float64:
		return fmt.Sprintf("the number %v", x)
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case nil:
		return "null"
	}
	return "an object"
}

func parseRunOptions(o *goja.Object, req *RunRequest) error {
	if err := checkKeys(o, "run", "options", []string{"jobs", "continue", "dryRun"}); err != nil {
		return err
	}
	jobs, err := intOpt(o, "jobs", "run", "options")
	if err != nil {
		return err
	}
	if jobs < 0 {
		return fmt.Errorf("run options: jobs must be at least 1, got %d", jobs)
	}
	req.Jobs = jobs
	if req.KeepGoing, err = boolOpt(o, "continue", "run options", false); err != nil {
		return err
	}
	req.DryRun, err = boolOpt(o, "dryRun", "run options", false)
	return err
}

// poolOpt reads pool: one name, or a list of alternatives for the select
// policy to choose from.
func poolOpt(o *goja.Object, name string) (string, []string, error) {
	v, ok := has(o, "pool")
	if !ok {
		return "", nil, nil
	}
	if s, isStr := v.Export().(string); isStr {
		return s, nil, nil
	}
	list, isList := exportList(v)
	if !isList || len(list) == 0 {
		return "", nil, fmt.Errorf("task %q: pool must be a pool name or a non-empty array of names, got %s", name, typeName(v))
	}
	names, err := stringList(list, "pool", name)
	return "", names, err
}
