package cache

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/zeebo/xxh3"
)

// ErrCorrupt means a stored blob is missing or does not match its digest.
var ErrCorrupt = errors.New("cache blob missing or corrupt")

// Blobs is a content-addressed file store: dir/ab/abcdef... Writes go to a
// temporary file in dir and are renamed into place, so a blob is either
// whole or absent.
//
// Contract: safe for concurrent use by goroutines and processes.
type Blobs struct{ dir string }

// NewBlobs returns a blob store keeping its files under dir.
func NewBlobs(dir string) *Blobs { return &Blobs{dir: dir} }

// Hasher computes the Digest of what is written to it, the same way blobs
// and file states are named.
type Hasher struct{ h *xxh3.Hasher }

// NewHasher returns an empty Hasher.
func NewHasher() *Hasher { return &Hasher{h: xxh3.New()} }

// Write adds p; it never fails.
func (h *Hasher) Write(p []byte) (int, error) { return h.h.Write(p) }

// Digest is the digest of everything written so far.
func (h *Hasher) Digest() Digest {
	sum := h.h.Sum128().Bytes()
	return Digest(hex.EncodeToString(sum[:]))
}

func (b *Blobs) path(d Digest) string {
	return filepath.Join(b.dir, string(d[:2]), string(d))
}

// smallBlob is the size up to which Put reads content into memory, so
// content that is already stored (an empty log, an output that did not
// change) costs no temporary file.
const smallBlob = 64 << 10

// Put stores what r yields and returns its digest and size.
func (b *Blobs) Put(r io.Reader) (Digest, int64, error) {
	buf := make([]byte, smallBlob+1)
	n, err := io.ReadFull(r, buf)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return b.putSmall(buf[:n])
	case err != nil:
		return "", 0, err
	}
	return b.putStream(io.MultiReader(bytes.NewReader(buf[:n]), r))
}

// putSmall stores content held in memory, unless it is there already.
func (b *Blobs) putSmall(content []byte) (Digest, int64, error) {
	sum := xxh3.Hash128(content).Bytes()
	d := Digest(hex.EncodeToString(sum[:]))
	final := b.path(d)
	if _, err := os.Stat(final); err == nil {
		return d, int64(len(content)), nil // content-addressed: already stored
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", 0, err
	}
	tmp, err := os.CreateTemp(b.dir, ".put-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(content)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	return d, int64(len(content)), os.Rename(tmp.Name(), final)
}

// putStream stores content too large to hold, through a temporary file.
func (b *Blobs) putStream(r io.Reader) (Digest, int64, error) {
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return "", 0, err
	}
	tmp, err := os.CreateTemp(b.dir, ".put-*")
	if err != nil {
		return "", 0, err
	}
	defer os.Remove(tmp.Name())
	h := xxh3.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, err
	}
	sum := h.Sum128().Bytes()
	d := Digest(hex.EncodeToString(sum[:]))
	final := b.path(d)
	if _, err := os.Stat(final); err == nil {
		return d, n, nil // already there: content-addressed
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", 0, err
	}
	return d, n, os.Rename(tmp.Name(), final)
}

// CopyTo writes blob d to w, verifying its digest as it goes. A missing or
// mismatching blob is ErrCorrupt (what was written to w is then garbage the
// caller must discard).
func (b *Blobs) CopyTo(w io.Writer, d Digest) (int64, error) {
	f, err := os.Open(b.path(d))
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%w: %s not found", ErrCorrupt, d)
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() <= verifyFirst {
		// Small (most logs): checked before a byte reaches w.
		content, err := io.ReadAll(f)
		if err != nil {
			return 0, err
		}
		if digestOf(content) != d {
			return 0, b.corrupt(d)
		}
		n, err := w.Write(content)
		return int64(n), err
	}
	h := xxh3.New()
	n, err := io.Copy(io.MultiWriter(w, h), f)
	if err != nil {
		return n, err
	}
	sum := h.Sum128().Bytes()
	if Digest(hex.EncodeToString(sum[:])) != d {
		return n, b.corrupt(d)
	}
	return n, nil
}

// verifyFirst is the size up to which CopyTo checks a blob before copying.
const verifyFirst = 1 << 20

// corrupt removes blob d, whose content does not match it, so that the
// next Put of that content writes it again, and returns the error.
func (b *Blobs) corrupt(d Digest) error {
	err := fmt.Errorf("%w: %s does not match its content", ErrCorrupt, d)
	if rerr := b.Remove(d); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// Has reports whether blob d exists.
func (b *Blobs) Has(d Digest) bool {
	_, err := os.Stat(b.path(d))
	return err == nil
}

// Remove deletes blob d (absent is fine).
func (b *Blobs) Remove(d Digest) error {
	err := os.Remove(b.path(d))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Each calls fn for every stored blob's digest and size.
func (b *Blobs) Each(fn func(Digest, int64) error) error {
	dirs, err := os.ReadDir(b.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, sub := range dirs {
		if !sub.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(b.dir, sub.Name()))
		if err != nil {
			return err
		}
		for _, f := range files {
			info, err := f.Info()
			if err != nil {
				continue
			}
			if err := fn(Digest(f.Name()), info.Size()); err != nil {
				return err
			}
		}
	}
	return nil
}
