package exec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// StartError means the process could not be started. Err is the cause:
// exec.ErrNotFound or fs.ErrNotExist for a missing command, an *fs.PathError
// with Op "chdir" for a bad working directory, context.Canceled when ctx was
// done before the start, or the error from fork/exec.
type StartError struct {
	Cmd string // argv[0] of the command ("/bin/sh" for a shell command)
	Err error
}

func (e *StartError) Error() string {
	var pe *fs.PathError
	if errors.As(e.Err, &pe) && pe.Op == "chdir" {
		if errors.Is(pe.Err, fs.ErrNotExist) {
			return fmt.Sprintf("working directory %q does not exist", pe.Path)
		}
		return fmt.Sprintf("working directory %q: %v", pe.Path, pe.Err)
	}
	if errors.Is(e.Err, osexec.ErrNotFound) || errors.Is(e.Err, fs.ErrNotExist) {
		return fmt.Sprintf("command %q not found", e.Cmd)
	}
	cause := e.Err
	if errors.As(cause, &pe) {
		cause = pe.Err // the errno says it all; the path is e.Cmd
	}
	return fmt.Sprintf("cannot start %q: %v", e.Cmd, cause)
}

func (e *StartError) Unwrap() error { return e.Err }

// WaitError means the process was started but its exit status could not be
// collected (for example when something else reaped it).
type WaitError struct {
	Cmd string
	Err error
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("cannot wait for %q: %v", e.Cmd, e.Err)
}

func (e *WaitError) Unwrap() error { return e.Err }

// errNoCommand is the cause for a Spec with neither Shell nor Argv.
func errNoCommand() error { return errors.New("no command") }

// checkDir returns an *fs.PathError with Op "chdir" unless dir is "" or an
// existing directory.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &fs.PathError{Op: "chdir", Path: dir, Err: err}
	}
	if !fi.IsDir() {
		return &fs.PathError{Op: "chdir", Path: dir, Err: syscall.ENOTDIR}
	}
	return nil
}

// lookPath finds name in the PATH of env (not of this process). A name with a
// slash is used as it is (relative to the working directory). Relative PATH
// entries are skipped. An existing file that is not executable gives
// fs.ErrPermission; nothing at all gives exec.ErrNotFound.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	key := getenv(env, "PATH") + "\x00" + name
	if p, ok := found.Load(key); ok {
		return p.(string), nil
	}
	p, err := searchPath(name, env)
	if err == nil {
		found.Store(key, p)
	}
	return p, err
}

// found remembers successful PATH searches (PATH and name -> path) for the
// life of the process: a run starts thousands of processes from a handful
// of programs, and each search costs a stat per PATH entry.
var found sync.Map

func searchPath(name string, env []string) (string, error) {
	var denied error
	for _, dir := range filepath.SplitList(getenv(env, "PATH")) {
		if !filepath.IsAbs(dir) {
			continue
		}
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		switch {
		case err != nil || fi.IsDir():
		case fi.Mode()&0o111 != 0:
			return path, nil
		case denied == nil:
			denied = &fs.PathError{Op: "exec", Path: path, Err: fs.ErrPermission}
		}
	}
	if denied != nil {
		return "", denied
	}
	return "", &osexec.Error{Name: name, Err: osexec.ErrNotFound}
}

// getenv returns the value of the last key=... entry in env, as the process
// will see it.
func getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}
