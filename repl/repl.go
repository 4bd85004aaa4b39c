// Package repl is jsrt-script's interactive prompt: it reads statements
// (continuing over several lines while brackets, strings or template
// literals are open), hands them to an Evaluator, prints their values and
// errors, runs dot-commands, completes names on Tab, and turns Ctrl-C into
// the cancellation of what is running.
//
// It knows neither goja nor the terminal: input comes through a LineReader
// (liner on a terminal, plain lines from a pipe, a script in tests) and
// evaluation through an Evaluator, so the whole loop runs in tests without
// a TTY.
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
)

// ErrInterrupted is what a LineReader returns when the user pressed Ctrl-C
// at the prompt; the line typed so far is dropped.
var ErrInterrupted = errors.New("interrupted")

// LineReader is where lines come from. ReadLine and AddHistory are called
// from one goroutine (the REPL's reader), one call at a time; ReadLine
// blocks until a line is complete. Close is called once, by the REPL's
// goroutine, possibly while a ReadLine is blocked (the process is then
// about to exit).
type LineReader interface {
	// ReadLine shows prompt and returns the line typed, without its end of
	// line; io.EOF at the end of input (Ctrl-D), ErrInterrupted on Ctrl-C.
	ReadLine(prompt string) (string, error)
	// AddHistory records a line the user entered.
	AddHistory(line string)
	// Close saves the history and gives the terminal back.
	Close() error
}

// Evaluator runs statements. Eval and the Run of dot-commands are called
// from the REPL's goroutine, one at a time. Names is called from the
// reader's goroutine while the user presses Tab; it returns a snapshot and
// must not touch the JavaScript runtime.
type Evaluator interface {
	// Eval evaluates src (a whole statement, possibly of several lines)
	// and returns its value as it should be shown. A Promise is awaited.
	// Cancelling ctx interrupts JavaScript and stops running tasks (SIGTERM,
	// then SIGKILL after a grace period); the REPL closes kill on a second
	// interrupt to kill them at once (Eval never closes it).
	Eval(ctx context.Context, kill chan struct{}, src string) (string, error)
	// Names is the completion snapshot taken after the last statement.
	Names() Names
	// Worst is the worst exit status of the runs started so far.
	Worst() int
}

// Command is a dot-command (.tasks, .graph, ...) provided by the caller.
type Command struct {
	Name, Args, Help string
	// Run does the command; arg is the rest of the line, trimmed.
	Run func(ctx context.Context, kill chan struct{}, arg string) error
	// Complete, if set, proposes arguments (filtered by prefix afterwards).
	Complete func(prefix string, names Names) []string
}

// Config is what a REPL needs.
type Config struct {
	Reader   LineReader
	Eval     Evaluator
	Commands []Command
	Stdout   io.Writer // values, command output
	Stderr   io.Writer // errors, notices
	// Signals delivers SIGINT, SIGTERM and SIGHUP. On a terminal, Ctrl-C
	// at the prompt comes through the Reader instead.
	Signals <-chan os.Signal
	// Interactive: a person types at a terminal. Otherwise statements come
	// from a pipe: no prompt, undefined results are not printed, any
	// signal ends the session, and the exit status says whether
	// everything went well.
	Interactive bool
}

// Prompts.
const (
	Prompt         = "jsrt> "
	ContinuePrompt = "...   "
)

// Exit statuses, as the CLI's.
const (
	exitOK          = 0
	exitUsage       = 2
	exitInterrupted = 130
)

// REPL is one interactive session.
type REPL struct {
	cfg    Config
	status int // the worst status so far (scripted sessions)

	// before is the statement typed so far, for the completer; written by
	// the REPL goroutine before it asks for a line, read by the reader
	// goroutine while it reads that line.
	before string
}

// New returns a REPL; Run starts it.
func New(cfg Config) *REPL {
	return &REPL{cfg: cfg}
}

// Complete is the Tab completer for the LineReader: it is called on the
// reader's goroutine with the line and the cursor position.
func (r *REPL) Complete(line string, pos int) (string, []string, string) {
	if pos > len(line) {
		pos = len(line)
	}
	return r.complete(r.before, line, pos, r.cfg.Eval.Names())
}

func (r *REPL) commands() []Command {
	builtin := []Command{
		{Name: "help", Help: "show this help", Run: r.help},
		{Name: "exit", Help: "leave (also Ctrl-D)"},
	}
	all := append(builtin, r.cfg.Commands...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return all
}

type readResult struct {
	line string
	err  error
}

// Run reads and evaluates statements until the end of input, .exit or a
// terminating signal, and returns the exit status: 0 for an interactive
// session left with Ctrl-D or .exit; for a piped one, the worst of the runs'
// statuses and 2 if a statement failed; 130 after a terminating signal.
func (r *REPL) Run() int {
	defer func() {
		if err := r.cfg.Reader.Close(); err != nil {
			fmt.Fprintf(r.cfg.Stderr, "closing the prompt: %v\n", err)
		}
	}()
	prompts := make(chan string)
	lines := make(chan readResult)
	go func() {
		for p := range prompts {
			l, err := r.cfg.Reader.ReadLine(p)
			lines <- readResult{l, err}
		}
	}()
	defer close(prompts)
	var pending []string
	for {
		prompt := Prompt
		if len(pending) > 0 {
			prompt = ContinuePrompt
		}
		if !r.cfg.Interactive {
			prompt = ""
		}
		r.before = ""
		if len(pending) > 0 {
			r.before = strings.Join(pending, "\n") + "\n"
		}
		prompts <- prompt
		res, quit := r.wait(lines)
		if quit {
			return exitInterrupted
		}
		switch {
		case errors.Is(res.err, ErrInterrupted):
			if len(pending) == 0 {
				fmt.Fprintln(r.cfg.Stderr, "(to exit, press Ctrl-D or type .exit)")
			}
			pending = nil
			continue
		case errors.Is(res.err, io.EOF):
			if len(pending) > 0 && !r.cfg.Interactive {
				if code, done := r.statement(strings.Join(pending, "\n")); done {
					return code
				}
			}
			if r.cfg.Interactive {
				fmt.Fprintln(r.cfg.Stdout)
				return exitOK
			}
			return max(r.status, r.cfg.Eval.Worst())
		case res.err != nil:
			fmt.Fprintf(r.cfg.Stderr, "reading input: %v\n", res.err)
			return exitUsage
		}
		line := res.line
		if r.cfg.Interactive && strings.TrimSpace(line) != "" {
			r.cfg.Reader.AddHistory(line)
		}
		if len(pending) == 0 && isCommand(line) {
			if code, done := r.command(strings.TrimSpace(line)); done {
				return code
			}
			continue
		}
		pending = append(pending, line)
		src := strings.Join(pending, "\n")
		if incomplete(src) {
			continue
		}
		pending = nil
		if strings.TrimSpace(src) == "" {
			continue
		}
		if code, done := r.statement(src); done {
			return code
		}
	}
}

// wait waits for a line; a signal meanwhile ends a piped session, and a
// terminating one (not SIGINT) any session.
func (r *REPL) wait(lines <-chan readResult) (readResult, bool) {
	for {
		select {
		case res := <-lines:
			return res, false
		case sig := <-r.cfg.Signals:
			if r.cfg.Interactive && sig == os.Interrupt {
				fmt.Fprintln(r.cfg.Stderr, "(to exit, press Ctrl-D or type .exit)")
				continue
			}
			return readResult{}, true
		}
	}
}

func isCommand(line string) bool {
	t := strings.TrimSpace(line)
	return len(t) > 1 && t[0] == '.' && (t[1] >= 'a' && t[1] <= 'z' || t[1] >= 'A' && t[1] <= 'Z')
}

// statement evaluates one statement and prints its value or error. done
// is true when the session must end (a terminating signal).
func (r *REPL) statement(src string) (int, bool) {
	var out string
	quit, err := r.interruptible(func(ctx context.Context, kill chan struct{}) error {
		var err error
		out, err = r.cfg.Eval.Eval(ctx, kill, src)
		return err
	})
	if err == nil && (r.cfg.Interactive || out != "undefined") {
		fmt.Fprintln(r.cfg.Stdout, out)
	}
	r.printError(err)
	if quit {
		return exitInterrupted, true
	}
	return 0, false
}

// command runs a dot-command.
func (r *REPL) command(line string) (int, bool) {
	name, arg, _ := strings.Cut(line[1:], " ")
	arg = strings.TrimSpace(arg)
	if name == "exit" {
		if r.cfg.Interactive {
			return exitOK, true
		}
		return max(r.status, r.cfg.Eval.Worst()), true
	}
	var names []string
	for _, c := range r.commands() {
		if c.Name != name {
			names = append(names, "."+c.Name)
			continue
		}
		quit, err := r.interruptible(func(ctx context.Context, kill chan struct{}) error {
			return c.Run(ctx, kill, arg)
		})
		r.printError(err)
		if quit {
			return exitInterrupted, true
		}
		return 0, false
	}
	msg := fmt.Sprintf("unknown command .%s", name)
	if s := closest("."+name, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	r.printError(errors.New(msg + "; .help lists the commands"))
	return 0, false
}

// interruptible runs fn with a context that the first signal cancels (and
// a kill channel that the second closes). quit is true when the session
// must end afterwards: any signal in a piped session, SIGTERM or SIGHUP in
// an interactive one.
func (r *REPL) interruptible(fn func(ctx context.Context, kill chan struct{}) error) (quit bool, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kill := make(chan struct{})
	done := make(chan struct{})
	var mu sync.Mutex
	go func() {
		n := 0
		for {
			select {
			case sig := <-r.cfg.Signals:
				n++
				mu.Lock()
				quit = quit || !r.cfg.Interactive || sig != os.Interrupt
				mu.Unlock()
				if n == 1 {
					fmt.Fprintln(r.cfg.Stderr, "interrupted: stopping (interrupt again to kill running tasks at once)")
					cancel()
				} else if n == 2 {
					close(kill)
				}
			case <-done:
				return
			}
		}
	}()
	err = fn(ctx, kill)
	close(done)
	mu.Lock()
	defer mu.Unlock()
	return quit, err
}

// printError prints what went wrong with a statement or command, and
// remembers it for the exit status of a piped session.
func (r *REPL) printError(err error) {
	if err == nil {
		return
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(r.cfg.Stderr, "interrupted")
		r.status = max(r.status, exitInterrupted)
		return
	}
	r.status = max(r.status, exitUsage)
	var d interface{ Detail() string }
	if errors.As(err, &d) {
		fmt.Fprintln(r.cfg.Stderr, d.Detail())
		return
	}
	fmt.Fprintln(r.cfg.Stderr, err.Error())
}

// help prints the dot-commands and keys.
func (r *REPL) help(context.Context, chan struct{}, string) error {
	w := r.cfg.Stdout
	for _, c := range r.commands() {
		fmt.Fprintf(w, "  %-18s %s\n", strings.TrimSpace("."+c.Name+" "+c.Args), c.Help)
	}
	fmt.Fprint(w, `
Type JavaScript: the jsrt API (task, run, ...) is global, and await works at
the top level (await run("test")). Input goes on over several lines while
brackets, strings or template literals are open.
Keys: Tab completes names, properties and task names; Up/Down and Ctrl-R
search the history; Ctrl-C stops what is running (or clears the line);
Ctrl-D leaves.
`)
	return nil
}

// closest is the candidate at the smallest edit distance (at most 2).
func closest(name string, cands []string) string {
	best, bestD := "", 3
	for _, c := range cands {
		if d := distance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
