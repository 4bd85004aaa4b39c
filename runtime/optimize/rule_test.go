package optimize

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"
)

// policyCase is one row of testdata/parallelism.json, the table shared with
// the JS policy's test in bindings/.
type policyCase struct {
	Name    string  `json:"name"`
	Metrics Sample  `json:"metrics"`
	State   State   `json:"state"`
	Want    Verdict `json:"want"`
}

func loadPolicyCases(t *testing.T) []policyCase {
	t.Helper()
	b, err := os.ReadFile("testdata/parallelism.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Cases []policyCase }
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 20 {
		t.Fatalf("only %d cases in testdata/parallelism.json", len(file.Cases))
	}
	return file.Cases
}

func TestDecideSharedCases(t *testing.T) {
	t.Parallel()
	rule := DefaultRule()
	for _, c := range loadPolicyCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			if got := rule.Decide(c.Metrics, c.State); got != c.Want {
				t.Errorf("Decide = %+v, want %+v", got, c.Want)
			}
		})
	}
}

func TestSampleAndStateJSONMatchJS(t *testing.T) {
	t.Parallel()
	s := Sample{Time: time.UnixMilli(1700000000123), CPUPercent: 12.5, MemUsedPercent: 40, MemAvailable: 1 << 30,
		Load1: 0.75, DiskBusyPercent: 3, CPUs: 4, Runnable: 7, SelfRunnable: 2}
	st := State{Jobs: 3, MinJobs: 1, MaxJobs: 8, Running: 3, Waiting: 2, Finished: 10, Failed: 1,
		Speculation: true, SinceChange: 1500 * time.Millisecond}
	tests := []struct {
		name string
		v    any
		js   map[string]any
		back any
	}{
		{"sample", s, s.JS(), &Sample{}},
		{"state", st, st.JS(), &State{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			var fromJSON map[string]any
			if err := json.Unmarshal(b, &fromJSON); err != nil {
				t.Fatal(err)
			}
			jsJSON, _ := json.Marshal(tt.js)
			var fromJS map[string]any
			json.Unmarshal(jsJSON, &fromJS)
			if !reflect.DeepEqual(fromJSON, fromJS) {
				t.Errorf("JSON %v\n  JS %v", fromJSON, fromJS)
			}
			if err := json.Unmarshal(b, tt.back); err != nil {
				t.Fatal(err)
			}
			if got := reflect.ValueOf(tt.back).Elem().Interface(); !reflect.DeepEqual(got, tt.v) {
				t.Errorf("round trip = %+v, want %+v", got, tt.v)
			}
		})
	}
}

func TestThresholdsNames(t *testing.T) {
	t.Parallel()
	want := map[string]float64{"cpuHigh": 90, "memHigh": 85, "cpuLow": 60, "memLow": 70, "diskLow": 50, "loadLow": 1,
		"failureRate": 0.2, "failureMin": 5, "cooldownMs": 2000}
	if got := DefaultRule().Thresholds(); !reflect.DeepEqual(got, want) {
		t.Errorf("Thresholds = %v, want %v", got, want)
	}
}
