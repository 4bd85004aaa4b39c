package kv

import (
	"os/exec"
	"strings"
	"testing"
)

// The core never imports the JS engine, the line editor or Badger (see
// STYLE.md): those stay behind bindings/, repl/ and store/.
func TestRuntimeImportsNoEngine(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "github.com/jsrt-script/jsrt-script/runtime/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/dop251/goja", "github.com/peterh/liner", "github.com/dgraph-io/badger"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("runtime/... depends on %s", dep)
			}
		}
	}
}
