package files

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// ChangedSince lists the files that differ from git revision ref — committed
// since, staged, unstaged and untracked (not ignored) — as slash paths
// relative to root, sorted. root must be inside a git work tree.
func ChangedSince(root, ref string) ([]string, error) {
	top, err := git(root, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	top = strings.TrimSpace(top)
	if _, err := git(root, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err != nil {
		return nil, fmt.Errorf("--since: %q is not a commit in %s", ref, top)
	}
	diff, err := git(root, "diff", "--name-only", "-z", ref, "--")
	if err != nil {
		return nil, err
	}
	untracked, err := git(root, "ls-files", "--others", "--exclude-standard", "-z")
	if err != nil {
		return nil, err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, list := range []string{diff, untracked} {
		for _, p := range strings.Split(list, "\x00") {
			if p == "" {
				continue
			}
			rel, err := filepath.Rel(realRoot, filepath.Join(top, p))
			if err != nil || strings.HasPrefix(rel, "..") {
				continue // outside the workspace
			}
			seen[filepath.ToSlash(rel)] = true
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// ls-files --others is relative to the directory git runs in; run every
// command at the top so all paths are.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	if args[0] == "ls-files" {
		top, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel").Output()
		if err == nil {
			cmd = exec.Command("git", append([]string{"-C", strings.TrimSpace(string(top))}, args...)...)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", args[0], msg)
	}
	return string(out), nil
}

// Matches reports whether a slash path matches any of the patterns.
func Matches(patterns []string, path string) bool {
	for _, p := range patterns {
		if ok, _ := doublestar.Match(p, path); ok {
			return true
		}
	}
	return false
}
