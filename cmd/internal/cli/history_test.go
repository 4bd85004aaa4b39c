package cli

import (
	"fmt"
	"testing"
)

func TestTargetList(t *testing.T) {
	t.Parallel()
	many := make([]string, 3000)
	for i := range many {
		many[i] = fmt.Sprintf("t%d", i)
	}
	for _, c := range []struct {
		targets []string
		want    string
	}{
		{nil, ""},
		{[]string{"build", "test"}, "build test"},
		{many[:9], "t0 t1 t2 t3 t4 t5 t6 t7 t8"},
		{many[:10], "t0 t1 t2 t3 t4 t5 t6 t7 (and 2 more)"},
		{many, "t0 t1 t2 t3 t4 t5 t6 t7 (and 2992 more)"},
	} {
		if got := targetList(c.targets); got != c.want {
			t.Errorf("targetList(%d targets) = %q, want %q", len(c.targets), got, c.want)
		}
	}
}
