package exec

import (
	"context"
	osexec "os/exec"
	"testing"
)

// BenchmarkRunShellTrue is one attempt of `sh -c true` through Run, for
// comparison with BenchmarkOSExecShellTrue, the same command through
// os/exec alone: the difference is what process groups, pipes and
// accounting cost per task.
func BenchmarkRunShellTrue(b *testing.B) {
	for b.Loop() {
		if res := Run(context.Background(), Spec{Shell: "true", Output: discard{}}); !res.OK() {
			b.Fatal(res)
		}
	}
}

func BenchmarkOSExecShellTrue(b *testing.B) {
	for b.Loop() {
		if err := osexec.Command("/bin/sh", "-c", "true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
