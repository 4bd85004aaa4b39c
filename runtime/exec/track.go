package exec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Tracker keeps a file per running process group in a directory, so that
// groups left behind by a coordinator that was killed outright (kill -9
// gives it no chance to clean up) are found and killed by the next one.
//
// Each file is named by the group id and holds the leader's start time
// (field 22 of /proc/PID/stat), which tells our group from a later process
// that happens to get the same pid. While a group has members its id cannot
// be given to a new process, so a group whose leader is gone but which
// still has members is ours.
//
// Contract: Add and Remove are safe from any goroutine; Sweep must only be
// called by the process holding the state directory's lock.
type Tracker struct{ dir string }

// NewTracker keeps its files in dir.
func NewTracker(dir string) *Tracker { return &Tracker{dir: dir} }

// Add records a running group.
func (t *Tracker) Add(pgid int) error {
	if err := os.MkdirAll(t.dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(t.dir, strconv.Itoa(pgid)), []byte(startTime(pgid)), 0o644)
}

// Remove forgets a group that has ended.
func (t *Tracker) Remove(pgid int) {
	os.Remove(filepath.Join(t.dir, strconv.Itoa(pgid)))
}

// Sweep kills every recorded group that is still ours and forgets them
// all. It returns how many groups it killed.
func (t *Tracker) Sweep() (int, error) {
	entries, err := os.ReadDir(t.dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	killed := 0
	for _, e := range entries {
		pgid, err := strconv.Atoi(e.Name())
		if err != nil || pgid <= 1 {
			continue
		}
		recorded, _ := os.ReadFile(filepath.Join(t.dir, e.Name()))
		if t.ours(pgid, string(recorded)) {
			if err := syscall.Kill(-pgid, syscall.SIGKILL); err == nil {
				killed++
			}
		}
		t.Remove(pgid)
	}
	return killed, nil
}

func (t *Tracker) ours(pgid int, recorded string) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false // no such group any more
	}
	now := startTime(pgid)
	return now == "" || now == recorded // leader gone but members left, or the same leader
}

// startTime reads field 22 of /proc/PID/stat, or "" when there is no such
// process.
func startTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return ""
	}
	return fields[19] // field 22 overall
}
