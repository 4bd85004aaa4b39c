// Command gen writes the same task graph for jsrt-script (strategy.js) and
// GNU make (Makefile), so both tools can be timed on identical work.
//
//	go run ./bench/gen -family flat -n 1000 -out DIR
//	go run ./bench/gen -family layered -n 10000 -seed 1 -out DIR
//
// flat: n independent tasks. layered: tasks 0..99 have no deps, every later
// task depends on up to three random earlier ones. Every task runs `true`.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func main() {
	family := flag.String("family", "flat", "graph family: flat or layered")
	inputs := flag.Bool("inputs", false, "give each task an input file of its own (src/tN.txt), so results can be cached")
	n := flag.Int("n", 1000, "number of tasks")
	seed := flag.Uint64("seed", 1, "random seed (layered)")
	out := flag.String("out", ".", "output directory")
	flag.Parse()
	deps, err := build(*family, *n, *seed)
	if err == nil {
		err = write(*out, deps, *inputs)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(2)
	}
}

// build returns, for each task, the indexes of the tasks it depends on.
func build(family string, n int, seed uint64) ([][]int, error) {
	deps := make([][]int, n)
	switch family {
	case "flat":
	case "layered":
		r := rand.New(rand.NewPCG(seed, seed))
		for i := 100; i < n; i++ {
			for k := 0; k < 3; k++ {
				d := r.IntN(i)
				if !slices.Contains(deps[i], d) {
					deps[i] = append(deps[i], d)
				}
			}
			slices.Sort(deps[i])
		}
	default:
		return nil, fmt.Errorf("unknown family %q (flat or layered)", family)
	}
	return deps, nil
}

func write(dir string, deps [][]int, inputs bool) error {
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		return err
	}
	if inputs {
		for i := range deps {
			if err := os.WriteFile(filepath.Join(dir, "src", fmt.Sprintf("t%d.txt", i)), []byte(fmt.Sprint(i)), 0o644); err != nil {
				return err
			}
		}
	}
	return errorsJoin(
		writeFile(filepath.Join(dir, "strategy.js"), func(w *bufio.Writer) {
			for i, ds := range deps {
				names := make([]string, len(ds))
				for k, d := range ds {
					names[k] = fmt.Sprintf("%q", fmt.Sprintf("t%d", d))
				}
				in := ""
				if inputs {
					in = fmt.Sprintf(", inputs: [\"src/t%d.txt\"]", i)
				}
				fmt.Fprintf(w, "task(\"t%d\", { cmd: \"true\", deps: [%s]%s });\n", i, strings.Join(names, ", "), in)
			}
		}),
		writeFile(filepath.Join(dir, "Makefile"), func(w *bufio.Writer) {
			var all []string
			for i := range deps {
				all = append(all, fmt.Sprintf("t%d", i))
			}
			fmt.Fprintf(w, "all: %s\n.PHONY: all %s\n", strings.Join(all, " "), strings.Join(all, " "))
			for i, ds := range deps {
				names := make([]string, len(ds))
				for k, d := range ds {
					names[k] = fmt.Sprintf("t%d", d)
				}
				fmt.Fprintf(w, "t%d: %s\n\t@true\n", i, strings.Join(names, " "))
			}
		}),
	)
}

func writeFile(path string, fill func(*bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fill(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
