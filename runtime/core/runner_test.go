package core

import (
	"os"
	"path/filepath"
	"testing"
)

// A first attempt that prints nothing removes the task's log: one there
// when the run started, and one an earlier attempt of this run created
// (a cache hit that replayed part of its output and then failed).
func TestSilentAttemptRemovesLogsKnownOrCreated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := LogPath(dir, "old")
	if err := os.WriteFile(old, []byte("last run\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := readLogFiles(dir)
	if logs.mayExist(LogPath(dir, "new")) {
		t.Fatal("a log absent at the start is said to exist")
	}
	(&lazyLog{path: old, attempt: 1, logs: logs}).close()
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatalf("previous run's log kept: %v", err)
	}
	replay := &lazyLog{path: LogPath(dir, "new"), attempt: 1, logs: logs}
	if _, err := replay.Write([]byte("partial\n")); err != nil {
		t.Fatal(err)
	}
	replay.close()
	(&lazyLog{path: LogPath(dir, "new"), attempt: 1, logs: logs}).close()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("logs left: %v", ents)
	}
	if readLogFiles(filepath.Join(dir, "missing")) != nil {
		t.Fatal("an unreadable log directory must mean: try every removal")
	}
}

// A task whose name LogPath escapes writes its log where LogPath says.
func TestLogOfEscapedNameIsAtLogPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"pkg/build", "100%", "plain"} {
		l := &lazyLog{path: LogPath(dir, name), attempt: 1}
		if _, err := l.Write([]byte("out\n")); err != nil {
			t.Fatal(err)
		}
		l.close()
		if b, err := os.ReadFile(LogPath(dir, name)); err != nil || string(b) != "out\n" {
			t.Errorf("%s: log at LogPath: %q, %v", name, b, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Fatalf("logs %v, want one per task", ents)
	}
}
