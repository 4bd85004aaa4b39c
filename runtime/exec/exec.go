// Package exec runs one task's process.
//
// It owns everything between "start this command" and "here is what happened":
// the process group (every signal goes to the whole group, and whatever the
// task left behind is killed once its leader exits), stdin from /dev/null,
// the combined stdout+stderr captured as raw bytes through a pipe of its own,
// timeouts and cancellation (SIGTERM, a grace period, then SIGKILL), the exit
// status, and the resource usage of the leader. It also provides LineWriter,
// which splits captured output into bounded lines for display.
//
// Processes that leave the group themselves (setsid, setpgid) are outside its
// reach; if one keeps the output pipe open, Run stops reading after the grace
// period instead of waiting for it.
package exec

import (
	"context"
	"errors"
	"io"
	"os"
	osexec "os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultGrace is the time between SIGTERM and SIGKILL when Spec.Grace is 0.
const DefaultGrace = 3 * time.Second

// bufSize is the size of the fixed buffer output is copied through.
const bufSize = 32 << 10

// Spec describes one process to run.
type Spec struct {
	Shell   string          // when non-empty: run /bin/sh -c Shell
	Argv    []string        // otherwise: exec Argv[0] (looked up in PATH of Env) with Argv[1:], no shell
	Dir     string          // working directory (must exist); "" means the current one
	Env     []string        // the complete environment ("K=V"); nil means an empty environment
	Timeout time.Duration   // 0 = none. On expiry: SIGTERM to the group, wait Grace, then SIGKILL
	Grace   time.Duration   // 0 means DefaultGrace
	Output  io.Writer       // receives the combined stdout+stderr bytes, unchanged, in order, from a single goroutine; may be nil (discard)
	Kill    <-chan struct{} // optional: when closed, SIGKILL the group at once (a second Ctrl-C)
	// Started, when set, is called with the process group id right after
	// the leader starts (from the goroutine calling Run).
	Started func(pgid int)
}

// Result is what happened.
type Result struct {
	Start       time.Time     // wall clock at start
	Duration    time.Duration // measured with the monotonic clock, start to exit of the leader
	ExitCode    int           // exit status; -1 when killed by a signal or not started
	Signal      string        // "SIGKILL", "SIGTERM", ... when the leader died by a signal, else ""
	TimedOut    bool          // the Timeout fired
	Interrupted bool          // ctx was cancelled (or Kill closed) before the process ended on its own
	PeakRSS     int64         // bytes, from the rusage of the leader and its waited-for children; 0 when unknown (see fill)
	CPUTime     time.Duration // user+system from that rusage
	Err         error         // non-nil when the process could not be started (*StartError) or waited for (*WaitError)
	OutputErr   error         // first error from Output.Write; the output after it was read and discarded
}

// OK reports whether the process ran to completion and exited with status 0.
func (r Result) OK() bool {
	return r.ExitCode == 0 && r.Err == nil && !r.TimedOut && !r.Interrupted
}

// Run starts the process and blocks until it and its whole process group are
// gone and all output has been delivered to spec.Output.
// Cancelling ctx sends SIGTERM to the group, then SIGKILL after Grace (or at
// once if Kill is closed). Run never returns with a member of the group alive.
func Run(ctx context.Context, spec Spec) Result {
	res := Result{ExitCode: -1}
	p, out, err := start(ctx, spec)
	if err != nil {
		res.Err = err
		res.Interrupted = ctx.Err() != nil && errors.Is(err, ctx.Err())
		return res
	}
	defer out.Close()
	res.Start = p.start
	copied := make(chan error, 1)
	go func() { copied <- copyOutput(spec.Output, out) }()
	go p.wait()
	res.TimedOut, res.Interrupted = p.supervise(ctx, spec)
	<-p.exited
	p.signal(syscall.SIGKILL) // whatever the leader left behind
	res.OutputErr = drain(out, copied, grace(spec))
	p.fill(&res)
	return res
}

// start starts the leader in a new process group, stdin from /dev/null and
// stdout+stderr into a pipe of our own, whose read end it returns. It does
// not start anything when ctx is already done. Errors are *StartError.
func start(ctx context.Context, spec Spec) (*proc, *os.File, error) {
	cmd, err := command(spec)
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, &StartError{Cmd: cmd.Args[0], Err: err}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, &StartError{Cmd: cmd.Args[0], Err: err}
	}
	cmd.Stdout, cmd.Stderr = w, w // an *os.File: the child gets the fd, Wait copies nothing
	p := &proc{cmd: cmd, start: time.Now(), exited: make(chan struct{})}
	err = cmd.Start()
	w.Close() // the children have their copies; EOF comes when the last one exits
	if err != nil {
		r.Close()
		// The directory is checked only now, off the path of every start
		// that succeeds: a child that cannot chdir fails like one that
		// cannot exec, and this says which it was.
		if derr := checkDir(spec.Dir); derr != nil {
			err = derr
		}
		return nil, nil, &StartError{Cmd: cmd.Args[0], Err: err}
	}
	p.pgid = cmd.Process.Pid
	if spec.Started != nil {
		spec.Started(p.pgid)
	}
	return p, r, nil
}

// command builds the exec.Cmd for spec, or returns a *StartError.
func command(spec Spec) (*osexec.Cmd, error) {
	argv := spec.Argv
	if spec.Shell != "" {
		argv = shellArgv(spec.Shell)
		if argv[0] != "/bin/sh" {
			if _, err := lookPath(argv[0], spec.Env); err != nil {
				argv = []string{"/bin/sh", "-c", spec.Shell} // maybe a shell builtin
			}
		}
		// (lookPath below finds the program again, from its memory.)
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, &StartError{Err: errNoCommand()}
	}
	path, err := lookPath(argv[0], spec.Env)
	if err != nil {
		if derr := checkDir(spec.Dir); derr != nil {
			return nil, &StartError{Cmd: argv[0], Err: derr}
		}
		return nil, &StartError{Cmd: argv[0], Err: err}
	}
	null, err := devNull()
	if err != nil {
		return nil, &StartError{Cmd: argv[0], Err: err}
	}
	env := spec.Env
	if env == nil {
		env = []string{} // os/exec would inherit ours for nil
	}
	return &osexec.Cmd{
		Path:  path,
		Args:  argv,
		Dir:   spec.Dir,
		Env:   env,
		Stdin: null, // an *os.File: the child gets the fd, os/exec opens nothing
		// Pdeathsig: if jsrt-script itself is killed (kill -9), the kernel
		// kills the leader too; what the leader left in its group is found
		// by the next run through a Tracker.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}, nil
}

// devNull is the stdin of every task: one read-only descriptor for the
// life of the process, shared by all children, instead of an open and a
// close per start.
var devNull = sync.OnceValues(func() (*os.File, error) { return os.Open(os.DevNull) })

// grace returns the grace period of spec.
func grace(spec Spec) time.Duration {
	if spec.Grace > 0 {
		return spec.Grace
	}
	return DefaultGrace
}

// proc is one started process group. exited is closed once the leader has
// been waited for; cmd.ProcessState, waitErr and ran are valid after that.
type proc struct {
	cmd     *osexec.Cmd
	pgid    int // the leader's pid
	start   time.Time
	exited  chan struct{}
	waitErr error
	ran     time.Duration
}

// wait reaps the leader and records when it exited.
func (p *proc) wait() {
	p.waitErr = p.cmd.Wait()
	p.ran = time.Since(p.start) // monotonic
	close(p.exited)
}

// signal sends sig to the whole group. ESRCH (nobody left) is expected.
// After the leader is reaped its pid stays reserved while any member of the
// group lives, so -pgid cannot name a stranger's group then; once the group is
// empty the signal goes nowhere unless the pid was reused in between by
// another group leader, which needs a full wrap of the pid space.
func (p *proc) signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.pgid, sig)
}

// supervise waits for the leader to exit, stopping the group when the
// timeout fires, ctx is cancelled or Kill is closed.
func (p *proc) supervise(ctx context.Context, spec Spec) (timedOut, interrupted bool) {
	var timeout <-chan time.Time
	if spec.Timeout > 0 {
		t := time.NewTimer(spec.Timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-p.exited:
		return false, false
	case <-spec.Kill:
		p.signal(syscall.SIGKILL)
		return false, true
	case <-timeout:
		timedOut = true
	case <-ctx.Done():
		interrupted = true
	}
	p.stop(grace(spec), spec.Kill)
	return timedOut, interrupted
}

// stop sends SIGTERM to the group and SIGKILL after grace, or at once when
// kill is closed, unless the leader exits first.
func (p *proc) stop(grace time.Duration, kill <-chan struct{}) {
	p.signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		p.signal(syscall.SIGKILL)
	case <-kill:
		p.signal(syscall.SIGKILL)
	}
}

// fill records the exit status and resource usage of the leader in res.
func (p *proc) fill(res *Result) {
	res.Duration = p.ran
	state := p.cmd.ProcessState
	if state == nil {
		res.Err = &WaitError{Cmd: p.cmd.Args[0], Err: p.waitErr}
		return
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = unix.SignalName(ws.Signal())
	}
	res.ExitCode = state.ExitCode()
	if ru, ok := state.SysUsage().(*syscall.Rusage); ok {
		// Go starts processes with vfork, and Linux carries the parent's
		// high-water RSS into the child at exec, so a task smaller than
		// this process reports this process's peak. Only a figure above
		// our own peak is the task's; below it the task's size is unknown.
		if own := selfMaxRSS(); ru.Maxrss > own {
			res.PeakRSS = ru.Maxrss * 1024 // KiB on Linux
		}
		res.CPUTime = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
}

// selfMaxRSS is this process's peak resident set in KiB.
func selfMaxRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Maxrss
}

// copyOutput copies r to out through a fixed buffer until EOF or a read
// error (a passed deadline). After out fails, the rest is read and dropped
// so the process never blocks on a full pipe; the first write error is
// returned.
func copyOutput(out io.Writer, r io.Reader) error {
	buf := make([]byte, bufSize)
	var werr error
	for {
		n, err := r.Read(buf)
		if n > 0 && out != nil && werr == nil {
			_, werr = out.Write(buf[:n])
		}
		if err != nil {
			return werr
		}
	}
}

// drain waits for the output copy to reach EOF. The group is dead by now, so
// EOF is immediate unless a process that left the group holds the pipe; after
// limit the read is cut off.
func drain(r *os.File, copied <-chan error, limit time.Duration) error {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case err := <-copied:
		return err
	case <-t.C:
		_ = r.SetReadDeadline(time.Now())
		return <-copied
	}
}

// shellArgv is how a shell command string runs: a plain command — words of
// ordinary characters, no quoting, expansion, redirection or operators, not
// starting with a builtin or an assignment — is executed directly, as make
// does, saving a shell per task; anything else goes to /bin/sh -c.
func shellArgv(cmd string) []string {
	words := strings.Fields(cmd)
	if len(words) == 0 || shellOnly[words[0]] || strings.Contains(words[0], "=") {
		return []string{"/bin/sh", "-c", cmd}
	}
	for _, r := range cmd {
		plain := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" -_./:,+@%=", r)
		if !plain {
			return []string{"/bin/sh", "-c", cmd}
		}
	}
	return words
}

// shellOnly are words that mean something only to the shell (special
// builtins and keywords), or differ from the program of the same name.
var shellOnly = map[string]bool{
	"cd": true, "exit": true, "export": true, "set": true, "unset": true, "exec": true, "eval": true,
	"source": true, ".": true, "alias": true, "if": true, "for": true, "while": true, "until": true,
	"case": true, "function": true, "return": true, "shift": true, "trap": true, "wait": true,
	"read": true, "ulimit": true, "umask": true, "readonly": true, "local": true, "command": true,
	"type": true, "hash": true, "times": true, "break": true, "continue": true, "jobs": true,
	"fg": true, "bg": true, "getopts": true, "{": true, "!": true,
}
