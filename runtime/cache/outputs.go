package cache

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Output is one stored output file or symbolic link.
type Output struct {
	Path   string      `json:"path"` // slash-separated, relative to the root
	Link   string      `json:"link,omitempty"`
	Mode   fs.FileMode `json:"mode,omitempty"` // permission bits only
	Digest Digest      `json:"digest,omitempty"`
	Size   int64       `json:"size,omitempty"`
}

// CheckPattern rejects an output or input pattern that could reach outside
// the workspace: absolute, or climbing with "..".
func CheckPattern(p string) error {
	clean := path.Clean(filepath.ToSlash(p))
	if p == "" || path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("path %q is outside the workspace", p)
	}
	if !doublestar.ValidatePattern(clean) {
		return fmt.Errorf("invalid glob pattern %q", p)
	}
	return nil
}

// CollectOutputs lists the files and symlinks that patterns name under
// root: a literal path names a file, a link or a whole directory; a glob its
// matches. A literal path that does not exist, or a glob matching nothing,
// is an error naming it.
func CollectOutputs(root string, patterns []string) ([]string, error) {
	seen := map[string]bool{}
	missing, err := matchOutputs(root, patterns, seen)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("declared outputs missing after a successful run: %s", strings.Join(missing, ", "))
	}
	return sortedKeys(seen), nil
}

// matchOutputs adds to seen the files and links that patterns name now
// (a directory stands for what is under it) and returns the patterns,
// quoted, that name nothing.
func matchOutputs(root string, patterns []string, seen map[string]bool) (missing []string, err error) {
	for _, p := range patterns {
		p = path.Clean(filepath.ToSlash(p))
		var matches []string
		if hasMeta(p) {
			m, err := doublestar.Glob(os.DirFS(root), p, doublestar.WithNoFollow())
			if err != nil {
				return nil, err
			}
			matches = m
		} else if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			matches = []string{p}
		}
		if len(matches) == 0 {
			missing = append(missing, fmt.Sprintf("%q", p))
			continue
		}
		for _, m := range matches {
			if err := walkOutput(root, m, seen); err != nil {
				return nil, err
			}
		}
	}
	return missing, nil
}

// Prune removes what the output patterns of e's task match now but the
// run e records did not leave (out/b.txt of another run, when out/** held
// only out/a.txt then), so that a cache hit leaves the outputs as that run
// did. Files that keep says belong to another task stay. A literal output
// that e holds as a file needs no look, so most hits cost nothing here.
// It returns the paths removed.
func Prune(root string, patterns []string, e *Entry, keep func(path string) bool) ([]string, error) {
	have := make(map[string]bool, len(e.Outputs))
	for _, o := range e.Outputs {
		have[o.Path] = true
	}
	var look []string
	for _, p := range patterns {
		if p = path.Clean(filepath.ToSlash(p)); hasMeta(p) || !have[p] {
			look = append(look, p)
		}
	}
	if len(look) == 0 {
		return nil, nil
	}
	now := map[string]bool{}
	if _, err := matchOutputs(root, look, now); err != nil {
		return nil, err
	}
	var removed []string
	for _, p := range sortedKeys(now) {
		if have[p] || (keep != nil && keep(p)) {
			continue
		}
		if err := os.Remove(filepath.Join(root, filepath.FromSlash(p))); err != nil && !os.IsNotExist(err) {
			return removed, err
		}
		removed = append(removed, p)
	}
	return removed, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[{\\") }

// walkOutput adds a file or link, or every file and link under a directory.
func walkOutput(root, rel string, seen map[string]bool) error {
	return filepath.WalkDir(filepath.Join(root, filepath.FromSlash(rel)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
			r, _ := filepath.Rel(root, p)
			seen[filepath.ToSlash(r)] = true
		}
		return nil
	})
}

// safeTarget resolves where rel would be written under root, refusing a
// path whose parent directories lead outside root through a link.
func safeTarget(root, rel string) (string, error) {
	clean := path.Clean(rel)
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("output %q is outside the workspace", rel)
	}
	dst := filepath.Join(root, filepath.FromSlash(clean))
	if plainDirs(root, path.Dir(clean)) {
		return dst, nil // no link on the way: inside root, wherever root is
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	if realDir != realRoot && !strings.HasPrefix(realDir, realRoot+string(filepath.Separator)) {
		return "", fmt.Errorf("output %q would be written outside the workspace through a link", rel)
	}
	return dst, nil
}

// plainDirs: every directory from root down to root/rel (slash-separated,
// clean, relative) exists and is a directory, not a link to one. A few
// Lstat calls instead of resolving root and the whole path.
func plainDirs(root, rel string) bool {
	if rel == "." {
		return true
	}
	p := root
	for _, part := range strings.Split(rel, "/") {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// WriteOutput writes one output under root the way a cache hit restores it:
// the path must stay inside root (also through links); a temporary file (or
// link) in the same directory is renamed over the destination, so a rename
// replaces an existing link itself and nothing is ever written through one;
// a destination that already has o's mode and content is left alone.
// content writes o's bytes to w and must verify them against o.Digest.
// Remote execution (runtime/remote) restores a worker's outputs with it.
func WriteOutput(root string, o Output, content func(w io.Writer) error) error {
	return writeOutput(root, o, nil, content)
}

// writeOutput is WriteOutput that, given an index, asks it whether the
// destination is unchanged and records there what it writes.
func writeOutput(root string, o Output, ix *Index, content func(w io.Writer) error) error {
	if o.Link == "" && ix != nil && inPlace(root, o, ix) {
		return nil // nothing to write, so no path to check
	}
	dst, err := safeTarget(root, o.Path)
	if err != nil {
		return err
	}
	if o.Link != "" {
		tmp := dst + ".jsrt-tmp"
		os.Remove(tmp)
		if err := os.Symlink(o.Link, tmp); err != nil {
			return err
		}
		return os.Rename(tmp, dst)
	}
	if unchanged(dst, o, ix) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".jsrt-restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = content(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), o.Mode.Perm()) // never setuid, setgid or sticky
	}
	if err != nil {
		return err
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return err
	}
	if ix != nil {
		if fi, err := os.Lstat(dst); err == nil && fi.Mode().IsRegular() {
			ix.record(dst, fi, o.Digest)
		}
	}
	return nil
}

// inPlace: the output is already at its path, unchanged since ix recorded
// writing or storing it there, by the index's rules (the same size, mtime,
// ctime and inode, not modified within Racy of the record, the same
// digest). That identifies the very file the cache left, so it is the one
// test a hit needs for an output in place, without resolving the parent
// directories: a file reached through a link that now leads elsewhere has
// another inode. The path must still stay inside root lexically.
func inPlace(root string, o Output, ix *Index) bool {
	clean := path.Clean(o.Path)
	if path.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return false
	}
	dst := filepath.Join(root, filepath.FromSlash(clean))
	fi, err := os.Lstat(dst)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != o.Size || fi.Mode().Perm() != o.Mode.Perm() {
		return false
	}
	d, ok := ix.known(dst, fi)
	return ok && d == o.Digest
}

// unchanged: the destination is already a regular file with the same mode
// and content, so restoring it would change nothing. The content is known
// from ix when the file's stat has not changed since it was recorded there
// (nil ix: always hashed).
func unchanged(dst string, o Output, ix *Index) bool {
	fi, err := os.Lstat(dst)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != o.Size || fi.Mode().Perm() != o.Mode.Perm() {
		return false
	}
	d, err := ix.digest(dst, fi)
	return err == nil && d == o.Digest
}

// saveOutputs stores each listed output as a blob (and records it in the
// index, if any, with the stat taken before it was read).
func (c *Cache) saveOutputs(root string, paths []string) ([]Output, int64, error) {
	c.mu.Lock()
	ix := c.index
	c.mu.Unlock()
	var outs []Output
	var total int64
	for _, rel := range paths {
		abs := filepath.Join(root, filepath.FromSlash(rel))
		fi, err := os.Lstat(abs)
		if err != nil {
			return nil, 0, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(abs)
			if err != nil {
				return nil, 0, err
			}
			outs = append(outs, Output{Path: rel, Link: target})
			continue
		}
		f, err := os.Open(abs)
		if err != nil {
			return nil, 0, err
		}
		d, n, err := c.blobs.Put(f)
		f.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("storing output %q: %w", rel, err)
		}
		if ix != nil && n == fi.Size() {
			ix.record(abs, fi, d)
		}
		outs = append(outs, Output{Path: rel, Mode: fi.Mode().Perm(), Digest: d, Size: n})
		total += n
	}
	return outs, total, nil
}
