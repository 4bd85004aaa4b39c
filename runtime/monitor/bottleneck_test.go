package monitor

import (
	"reflect"
	"testing"
)

func TestCritical(t *testing.T) {
	t.Parallel()
	noDeps := retryRun()
	for i := range noDeps.Tasks {
		noDeps.Tasks[i].Deps = nil
	}
	cyclic := retryRun()
	cyclic.Tasks[0].Deps = []string{"d"} // a -> b -> d -> a: deps are dropped
	tests := []struct {
		name string
		tl   Timeline
		want CriticalPath
	}{
		// a 2 -> b 3 -> d 4 is 9 s; c 3+3 -> d 4 is 10 s. e never ran.
		{"retries count", retryRun(), CriticalPath{Tasks: []string{"c", "d"}, Duration: 10 * sec, Share: 1}},
		{"x alone outweighs the chain", blockedRun(), CriticalPath{Tasks: []string{"x"}, Duration: 7 * sec, Share: 7.0 / 9}},
		{"without deps: the longest task", noDeps, CriticalPath{Tasks: []string{"c"}, Duration: 6 * sec, Share: 0.6}},
		{"deps that make a cycle are ignored", cyclic, CriticalPath{Tasks: []string{"c"}, Duration: 6 * sec, Share: 0.6}},
		{"nothing ran", Timeline{Wall: sec, Tasks: []TaskInfo{{Name: "a", Status: "skipped"}}}, CriticalPath{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Critical(tt.tl); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Critical = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBottlenecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tl   Timeline
		want []Bottleneck
	}{
		{"critical path only", retryRun(), []Bottleneck{
			// d waited for c (the last of its deps to finish); e never ran.
			{Task: "c", Duration: 6 * sec, PathShare: 0.6, OnCriticalPath: true, Blocked: 1},
			{Task: "d", Duration: 4 * sec, PathShare: 0.4, OnCriticalPath: true},
		}},
		{"tasks that blocked more than two", blockedRun(), []Bottleneck{
			{Task: "x", Duration: 7 * sec, PathShare: 1, OnCriticalPath: true},
			// gen -> lib -> t1, t2, t3; pkg waited for t3, which ended last.
			{Task: "gen", Duration: sec, Blocked: 5},
			{Task: "lib", Duration: sec, Blocked: 4, Waited: 3 * sec},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Bottlenecks(tt.tl); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Bottlenecks =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}
