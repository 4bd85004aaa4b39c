// Package cli is jsrt-script's command line: one file per subcommand, flag
// parsing, exit codes and the printing of errors. It picks the
// implementations (Badger store, local processes, displays) and hands them
// to the core; everything it touches of the process comes in through Env.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jsrt-script/jsrt-script/bindings"
	"github.com/jsrt-script/jsrt-script/runtime/graph"
)

// Version is set at build time with -ldflags "-X ...cli.Version=...".
var Version = "0.1.0-dev"

// Exit statuses.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitInterrupted = 130
)

// Env is the process as the CLI sees it; main builds it, tests fake it.
type Env struct {
	Args    []string // without the program name
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Environ []string
	Cwd     string
	Now     func() time.Time
	// Signals delivers interrupts (SIGINT, SIGTERM, SIGHUP); nil in tests
	// that do not send any.
	Signals <-chan os.Signal
	// IsTerminal reports whether stdout is a terminal.
	IsTerminal bool
}

func (e *Env) getenv(name string) string {
	for _, kv := range e.Environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

type command struct {
	name, summary string
	run           func(env *Env, args []string) int
}

func commands() []command {
	return []command{
		{"run", "run tasks of a strategy in parallel", runCmd},
		{"graph", "print the task graph (dot, mermaid or json)", graphCmd},
		{"history", "show recorded runs and task predictions", historyCmd},
		{"report", "analyse a run: efficiency, critical path, recommendations, next run", reportCmd},
		{"cache", "cache stats, gc (evict to a size) or clear [TASK...]", cacheCmd},
		{"explain", "say why tasks would hit or miss the cache", explainCmd},
		{"repl", "interactive JavaScript with the jsrt API and a strategy's tasks", replCmd},
		{"types", "write jsrt.d.ts, the TypeScript declarations of the jsrt API", typesCmd},
		{"init", "write a starter strategy for the project in this directory", initCmd},
		{"worker", "serve tasks sent by run --nats (NATS JetStream)", workerCmd},
		{"nats-server", "start an embedded NATS JetStream server to try workers on one machine", natsServerCmd},
	}
}

// Main runs the command line and returns the exit status.
func Main(env *Env) int {
	args := env.Args
	if len(args) == 0 {
		usage(env.Stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(env.Stdout)
		return ExitOK
	case "--version", "version":
		fmt.Fprintf(env.Stdout, "jsrt-script %s\n", Version)
		return ExitOK
	}
	var names []string
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(env, args[1:])
		}
		names = append(names, c.name)
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	if s := graph.Suggest(args[0], names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	if strings.HasSuffix(args[0], ".js") || strings.HasSuffix(args[0], ".ts") {
		msg += fmt.Sprintf(" (to run a strategy: jsrt-script run %s)", args[0])
	}
	errorf(env, "%s; see jsrt-script --help", msg)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "jsrt-script %s — a parallel task coordinator whose policies are JavaScript\n\n", Version)
	fmt.Fprintln(w, "usage: jsrt-script COMMAND [ARGS] [FLAGS]")
	fmt.Fprintln(w)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEach command takes --help. Exit status: 0 ok, 1 a task failed, 2 usage or strategy error, 130 interrupted.")
}

// errorf prints one message with the program's prefix.
func errorf(env *Env, format string, a ...any) {
	fmt.Fprintf(env.Stderr, "jsrt-script: "+format+"\n", a...)
}

// report prints err as the user should see it and returns its exit status.
func report(env *Env, err error) int {
	var intr *bindings.InterruptedError
	if errors.As(err, &intr) || errors.Is(err, context.Canceled) {
		errorf(env, "interrupted")
		return ExitInterrupted
	}
	var se *bindings.ScriptError
	if errors.As(err, &se) {
		errorf(env, "%s", se.Detail())
		return ExitUsage
	}
	errorf(env, "%v", err)
	return ExitUsage
}

// newFlags makes a flag set that prints its usage to the right stream.
func newFlags(env *Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(env.Stdout, "usage: jsrt-script %s %s\n\nflags:\n", name, synopsis)
		fs.SetOutput(env.Stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// splitJobs lets -j take its number attached, as make and ninja do:
// -j8 is -j 8 (the flag package would look for a flag named "j8").
func splitJobs(fs *flag.FlagSet, args []string) []string {
	if fs.Lookup("j") == nil {
		return args
	}
	var out []string
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if n, ok := strings.CutPrefix(a, "-j"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			out = append(out, "-j", n)
			continue
		}
		out = append(out, a)
	}
	return out
}

// parse parses flags that may come before, between or after positional
// arguments (`run s.js test -j 2`); "--" ends the flags. It returns the
// positional arguments, or an exit status when parsing ended the command.
func parse(env *Env, fs *flag.FlagSet, args []string) ([]string, int, bool) {
	// The flag package prints the usage on any error; only -h should.
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	args = splitJobs(fs, args)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return nil, ExitOK, false
			}
			errorf(env, "%s: %v (see jsrt-script %s --help)", fs.Name(), err, fs.Name())
			return nil, ExitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, true
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
