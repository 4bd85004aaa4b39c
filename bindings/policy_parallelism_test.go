package bindings

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/jsrt-script/jsrt-script/runtime/optimize"
)

// The default parallelism policy exists twice: optimize.Rule.Decide in Go
// and scripts/policies/parallelism.js, the readable version a strategy can
// copy. These tests hold them to the same answers, reasons included: the
// shared table of runtime/optimize/testdata/parallelism.json, then random
// inputs around every threshold.

const policyFile = "../scripts/policies/parallelism.js"

// loadPolicy runs the CommonJS module in a fresh runtime and returns its
// exports (the function, with .thresholds).
func loadPolicy(t *testing.T) (*goja.Runtime, *goja.Object) {
	t.Helper()
	src, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	vm := goja.New()
	prg, err := goja.Compile(policyFile, "(function (exports, require, module) {"+string(src)+"\n})", true)
	if err != nil {
		t.Fatal(err)
	}
	wrapper, err := vm.RunProgram(prg)
	if err != nil {
		t.Fatal(err)
	}
	call, _ := goja.AssertFunction(wrapper)
	module := vm.NewObject()
	exports := vm.NewObject()
	module.Set("exports", exports)
	if _, err := call(goja.Undefined(), exports, goja.Undefined(), module); err != nil {
		t.Fatal(err)
	}
	return vm, module.Get("exports").ToObject(vm)
}

// decideJS calls the JS policy the way a hook is called: with the plain
// objects Sample.JS and State.JS.
func decideJS(t *testing.T, vm *goja.Runtime, fn goja.Callable, m optimize.Sample, st optimize.State) optimize.Verdict {
	t.Helper()
	res, err := fn(goja.Undefined(), vm.ToValue(m.JS()), vm.ToValue(st.JS()))
	if err != nil {
		t.Fatalf("parallelism(%v, %v): %v", m.JS(), st.JS(), err)
	}
	obj := res.ToObject(vm)
	if keys := obj.Keys(); !reflect.DeepEqual(keys, []string{"jobs", "reason"}) {
		t.Fatalf("the policy returned keys %v, want [jobs reason]", keys)
	}
	jobs := obj.Get("jobs").Export()
	n, ok := jobs.(int64)
	if !ok {
		t.Fatalf("jobs is %T %v, want a whole number", jobs, jobs)
	}
	return optimize.Verdict{Jobs: int(n), Reason: obj.Get("reason").String()}
}

type policyCase struct {
	Name    string           `json:"name"`
	Metrics optimize.Sample  `json:"metrics"`
	State   optimize.State   `json:"state"`
	Want    optimize.Verdict `json:"want"`
}

func TestParallelismPolicyJSSharedCases(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../runtime/optimize/testdata/parallelism.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Cases []policyCase }
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	vm, exports := loadPolicy(t)
	fn, ok := goja.AssertFunction(exports)
	if !ok {
		t.Fatal("module.exports is not a function")
	}
	rule := optimize.DefaultRule()
	for _, c := range file.Cases {
		if got := decideJS(t, vm, fn, c.Metrics, c.State); got != c.Want {
			t.Errorf("%s: JS = %+v, want %+v", c.Name, got, c.Want)
		}
		if got := rule.Decide(c.Metrics, c.State); got != c.Want {
			t.Errorf("%s: Go = %+v, want %+v", c.Name, got, c.Want)
		}
	}
}

func TestParallelismPolicyJSThresholds(t *testing.T) {
	t.Parallel()
	_, exports := loadPolicy(t)
	got := map[string]float64{}
	for k, v := range exports.Get("thresholds").Export().(map[string]any) {
		switch n := v.(type) {
		case int64:
			got[k] = float64(n)
		case float64:
			got[k] = n
		default:
			t.Errorf("threshold %s is %T", k, v)
		}
	}
	if want := optimize.DefaultRule().Thresholds(); !reflect.DeepEqual(got, want) {
		t.Errorf("JS thresholds %v\n Go thresholds %v", got, want)
	}
}

// Random samples and states, drawn near the thresholds, get the same
// answer from both.
func TestParallelismPolicyJSMatchesGo(t *testing.T) {
	t.Parallel()
	vm, exports := loadPolicy(t)
	fn, _ := goja.AssertFunction(exports)
	rule := optimize.DefaultRule()
	rng := rand.New(rand.NewPCG(7, 11))
	near := func(points ...float64) float64 {
		p := points[rng.IntN(len(points))]
		switch rng.IntN(4) {
		case 0:
			return p
		case 1:
			return p + rng.Float64()*4 - 2
		}
		return rng.Float64() * 100
	}
	changes, byCPU := 0, 0
	for i := range 5000 {
		minJobs := 1 + rng.IntN(3)
		maxJobs := minJobs + rng.IntN(12)
		jobs := minJobs + rng.IntN(maxJobs-minJobs+1)
		finished := rng.IntN(21)
		running := jobs - rng.IntN(2)
		cpus := []int{0, 1, 2, 4, 8}[rng.IntN(5)]
		// Runnable threads: unknown (0) now and then, else ours (the
		// running tasks, the coordinator's) plus a few others, around
		// what makes jobs exceed the CPUs left for us.
		self, runnable := rng.IntN(4), 0
		if rng.IntN(5) > 0 {
			runnable = max(1, max(1, self)+running+rng.IntN(cpus+3)-1)
		}
		m := optimize.Sample{CPUPercent: near(60, 90), MemUsedPercent: near(70, 85), DiskBusyPercent: near(50),
			Load1: rng.Float64() * 8, CPUs: cpus, MemAvailable: rng.Int64N(1 << 34),
			Runnable: runnable, SelfRunnable: self}
		st := optimize.State{Jobs: jobs, MinJobs: minJobs, MaxJobs: maxJobs, Running: running,
			Waiting: rng.IntN(3), Finished: finished, Failed: rng.IntN(finished + 1), Speculation: rng.IntN(4) == 0,
			SinceChange: time.Duration(rng.IntN(4000)) * time.Millisecond}
		goV, jsV := rule.Decide(m, st), decideJS(t, vm, fn, m, st)
		if goV != jsV {
			t.Fatalf("case %d: metrics %v state %v\n Go %+v\n JS %+v", i, m.JS(), st.JS(), goV, jsV)
		}
		if goV.Jobs != jobs {
			changes++
			if strings.Contains(goV.Reason, "other runnable") {
				byCPU++
			}
		}
	}
	if changes < 500 || byCPU < 50 {
		t.Errorf("only %d of 5000 random cases change the parallelism, %d for other runnable threads: the inputs miss the rules",
			changes, byCPU)
	}
}
