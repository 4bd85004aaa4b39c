// Package files finds the files a task declares: glob patterns with `**`
// relative to the workspace root, matched by doublestar (a maintained glob
// library with `**` and brace support) over the real directory tree.
package files

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Glob returns the regular files under root that match pattern, as
// slash-separated paths relative to root, sorted. Symbolic links are not
// followed into directories. A malformed pattern is an error naming it.
func Glob(root, pattern string) ([]string, error) {
	if !doublestar.ValidatePattern(pattern) {
		return nil, fmt.Errorf("invalid glob pattern %q", pattern)
	}
	matches, err := doublestar.Glob(os.DirFS(root), pattern, doublestar.WithFilesOnly(), doublestar.WithNoFollow())
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", pattern, err)
	}
	sort.Strings(matches)
	return matches, nil
}

// Match is a file a pattern matched, with the stat taken to find it
// (following links) when the match took one, else nil.
type Match struct {
	Path string
	Info fs.FileInfo
}

// GlobStat is Glob that, for a pattern without wildcards, stats the one
// file it names and returns that stat with it: a caller that needs the
// stat of its inputs, as the cache does, takes one instead of two.
func GlobStat(root, pattern string) ([]Match, error) {
	if strings.ContainsAny(pattern, "*?[{\\") || !fs.ValidPath(pattern) || pattern == "." {
		paths, err := Glob(root, pattern)
		if err != nil {
			return nil, err
		}
		out := make([]Match, len(paths))
		for i, p := range paths {
			out[i] = Match{Path: p}
		}
		return out, nil
	}
	// As Glob: a path that cannot be stat'ed, or a directory, matches nothing.
	fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(pattern)))
	if err != nil || fi.IsDir() {
		return nil, nil
	}
	return []Match{{Path: pattern, Info: fi}}, nil
}
