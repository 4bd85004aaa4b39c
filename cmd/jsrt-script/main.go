// Command jsrt-script is a parallel task coordinator whose policies are
// JavaScript. main builds the process environment and hands it to the CLI;
// it is the only place that touches os.Exit and the real stdio.
package main

import (
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/jsrt-script/jsrt-script/cmd/internal/cli"
)

// gcPercent is the garbage collector's target unless GOGC says otherwise.
// A run's heap is mostly the strategy (its compiled program, its objects,
// the graph), all live until the end, so the default of 100 collects it
// again and again while it grows; 200 halves that work for a sixth more
// peak memory (10 000 tasks: about 135 -> 155 MB).
const gcPercent = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	cwd, err := os.Getwd()
	if err != nil {
		os.Stderr.WriteString("jsrt-script: cannot read the working directory: " + err.Error() + "\n")
		os.Exit(cli.ExitUsage)
	}
	// JSRT_CPUPROFILE=FILE writes a Go CPU profile of this process, for
	// finding where the coordinator's own time goes (go tool pprof FILE).
	if path := os.Getenv("JSRT_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer f.Close()
				defer pprof.StopCPUProfile()
			}
		}
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	code := cli.Main(&cli.Env{
		Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Environ: os.Environ(), Cwd: cwd, Now: time.Now, Signals: sigs,
		IsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
	})
	pprof.StopCPUProfile()
	os.Exit(code)
}
