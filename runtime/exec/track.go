package exec

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Tracker keeps a journal of the process groups a coordinator starts, so
// that groups left behind by a coordinator that was killed outright (kill
// -9 gives it no chance to clean up) are found and killed by the next one.
//
// Each coordinator appends to a journal of its own in the directory (one
// write per started group: "+PGID STARTTIME" then "-PGID" when it ends) and
// removes it when it closes cleanly. A journal whose coordinator is gone
// lists the groups still to check. The start time (field 22 of
// /proc/PID/stat) tells our group's leader from a later process that
// happens to get the same pid; while a group has members its id cannot be
// given to a new process, so a group whose leader is gone but which still
// has members is ours.
//
// Contract: Add and Remove are safe from any goroutine; Sweep and Close
// must only be called by the process holding the state directory's lock.
type Tracker struct {
	dir  string
	mu   sync.Mutex
	file *os.File
	err  error
}

// NewTracker keeps its journals in dir.
func NewTracker(dir string) *Tracker { return &Tracker{dir: dir} }

func (t *Tracker) journal() (*os.File, error) {
	if t.file != nil || t.err != nil {
		return t.file, t.err
	}
	if t.err = os.MkdirAll(t.dir, 0o755); t.err != nil {
		return nil, t.err
	}
	name := filepath.Join(t.dir, fmt.Sprintf("%d-%s", os.Getpid(), startTime(os.Getpid())))
	t.file, t.err = os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o644)
	return t.file, t.err
}

func (t *Tracker) note(line string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, err := t.journal()
	if err != nil {
		return err
	}
	_, err = f.WriteString(line)
	return err
}

// Add records a running group.
func (t *Tracker) Add(pgid int) error {
	return t.note(fmt.Sprintf("+%d %s\n", pgid, startTime(pgid)))
}

// Remove records that a group has ended.
func (t *Tracker) Remove(pgid int) { t.note(fmt.Sprintf("-%d\n", pgid)) }

// Close removes this coordinator's journal: every group it started has
// ended.
func (t *Tracker) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.file == nil {
		return nil
	}
	t.file.Close()
	err := os.Remove(t.file.Name())
	t.file = nil
	return err
}

// Sweep kills every group that a coordinator no longer running left behind,
// and forgets their journals. It returns how many groups it killed.
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
		pid, started, ok := strings.Cut(e.Name(), "-")
		n, err := strconv.Atoi(pid)
		if !ok || err != nil || (n == os.Getpid() && started == startTime(n)) {
			continue
		}
		if startTime(n) == started && started != "" {
			continue // that coordinator is still running (it holds no lock? it will clean up)
		}
		path := filepath.Join(t.dir, e.Name())
		for pgid, st := range openGroups(path) {
			if ours(pgid, st) && syscall.Kill(-pgid, syscall.SIGKILL) == nil {
				killed++
			}
		}
		os.Remove(path)
	}
	return killed, nil
}

// openGroups reads a journal: the groups started and not recorded as ended.
func openGroups(path string) map[int]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	open := map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 2 {
			continue
		}
		id, st, _ := strings.Cut(line[1:], " ")
		pgid, err := strconv.Atoi(id)
		if err != nil || pgid <= 1 {
			continue
		}
		if line[0] == '+' {
			open[pgid] = st
		} else {
			delete(open, pgid)
		}
	}
	return open
}

func ours(pgid int, recorded string) bool {
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
