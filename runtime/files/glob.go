// Package files finds the files a task declares: glob patterns with `**`
// relative to the workspace root, matched by doublestar (a maintained glob
// library with `**` and brace support) over the real directory tree.
package files

import (
	"fmt"
	"os"
	"sort"

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
