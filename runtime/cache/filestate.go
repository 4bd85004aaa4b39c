package cache

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// FileState is an input file as the key sees it (path, executable bit,
// content digest) plus the stat fields that let the index trust a digest.
type FileState struct {
	Path    string `json:"-"` // slash-separated, relative to the workspace root
	Exec    bool   `json:"x,omitempty"`
	Digest  Digest `json:"d"`
	Size    int64  `json:"s"`
	MtimeNs int64  `json:"m"`
	CtimeNs int64  `json:"c"`
	Ino     uint64 `json:"i"`
}

// Fingerprint is what of the file enters a key: mode bit and content.
func (f FileState) Fingerprint() string {
	if f.Exec {
		return "x:" + string(f.Digest)
	}
	return "-:" + string(f.Digest)
}

func (f FileState) sameStat(g FileState) bool {
	return f.Size == g.Size && f.MtimeNs == g.MtimeNs && f.CtimeNs == g.CtimeNs && f.Ino == g.Ino && f.Exec == g.Exec
}

// Racy is how recent a modification must be for a file's stat to prove
// nothing: a file written within this window of the last look may change
// again without its size or mtime second changing, so it is re-hashed.
const Racy = 2 * time.Second

// Index remembers, per absolute path, the stat and digest of the last hash,
// so unchanged files are not read again: inputs, and the outputs a Cache
// given the index (UseIndex) saved or restored.
//
// Contract: safe for concurrent use; State may block on file and store I/O.
type Index struct {
	kv  kv.Store
	now func() time.Time

	mu      sync.Mutex
	pending map[string]FileState // to write on Flush
	loaded  map[string]FileState // read by Preload
	Hashed  int                  // files read and hashed (for tests and stats)
	Reused  int                  // digests taken from the index
}

// NewIndex returns an index over s; now may be nil (time.Now).
func NewIndex(s kv.Store, now func() time.Time) *Index {
	if now == nil {
		now = time.Now
	}
	return &Index{kv: s, now: now, pending: map[string]FileState{}}
}

func indexKey(abs string) []byte { return []byte("c1/f/" + abs) }

// State returns the state of root/rel, following symbolic links.
func (ix *Index) State(root, rel string) (FileState, error) {
	return ix.StateOf(root, rel, nil)
}

// StateOf is State given fi, a stat of root/rel (following links) just
// taken by the caller; nil: State stats the file itself.
func (ix *Index) StateOf(root, rel string, fi fs.FileInfo) (FileState, error) {
	abs := filepath.Join(root, filepath.FromSlash(rel))
	var cur FileState
	var err error
	if fi == nil {
		cur, err = statOf(abs)
	} else {
		cur, err = regularState(abs, fi)
	}
	if err != nil {
		return FileState{}, err
	}
	cur.Path = rel
	if prev, ok := ix.lookup(abs); ok && prev.sameStat(cur) && ix.now().Sub(time.Unix(0, cur.MtimeNs)) > Racy {
		cur.Digest = prev.Digest
		ix.mu.Lock()
		ix.Reused++
		ix.mu.Unlock()
		return cur, nil
	}
	d, err := hashFile(abs)
	if err != nil {
		return FileState{}, err
	}
	cur.Digest = d
	ix.mu.Lock()
	ix.Hashed++
	ix.pending[abs] = cur
	ix.mu.Unlock()
	return cur, nil
}

func (ix *Index) lookup(abs string) (FileState, bool) {
	ix.mu.Lock()
	p, ok := ix.pending[abs]
	if !ok && ix.loaded != nil {
		p, ok = ix.loaded[abs]
		ix.mu.Unlock()
		return p, ok // everything under the root was read
	}
	ix.mu.Unlock()
	if ok {
		return p, true
	}
	b, err := ix.kv.Get(indexKey(abs))
	if err != nil {
		return FileState{}, false
	}
	f, err := decodeState(b)
	return f, err == nil
}

// Preload reads, in one scan, what the index knows of every file under
// root, so that a run's lookups do not each cost a read of the store.
func (ix *Index) Preload(root string) error {
	loaded := map[string]FileState{}
	prefix := indexKey(filepath.Clean(root) + string(filepath.Separator))
	err := ix.kv.Scan(prefix, false, func(key, val []byte) (bool, error) {
		if f, err := decodeState(val); err == nil {
			loaded[string(key[len("c1/f/"):])] = f
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	ix.mu.Lock()
	ix.loaded = loaded
	ix.mu.Unlock()
	return nil
}

// Flush writes what was hashed since the last flush.
func (ix *Index) Flush() error {
	ix.mu.Lock()
	pending := ix.pending
	ix.pending = map[string]FileState{}
	ix.mu.Unlock()
	batch := make(map[string][]byte, 256)
	write := func() error {
		err := ix.kv.Write(func(t kv.Txn) error {
			for k, v := range batch {
				if err := t.Set([]byte(k), v); err != nil {
					return err
				}
			}
			return nil
		})
		clear(batch)
		return err
	}
	for abs, f := range pending {
		batch[string(indexKey(abs))] = encodeState(f)
		if len(batch) == 256 {
			if err := write(); err != nil {
				return err
			}
		}
	}
	return write()
}

// known returns the digest recorded for the regular file abs when fi, its
// stat, is the recorded one and not racy: the file is the one recorded,
// unchanged. It reads nothing and records nothing.
func (ix *Index) known(abs string, fi fs.FileInfo) (Digest, bool) {
	cur := stateOf(fi)
	prev, ok := ix.lookup(abs)
	if !ok || !prev.sameStat(cur) || ix.now().Sub(time.Unix(0, cur.MtimeNs)) <= Racy {
		return "", false
	}
	ix.mu.Lock()
	ix.Reused++
	ix.mu.Unlock()
	return prev.Digest, true
}

// digest returns the content digest of the regular file abs, which fi
// describes: the recorded one when the stat has not changed since (and is
// not racy), else read and hashed, and recorded. A nil index always hashes.
func (ix *Index) digest(abs string, fi fs.FileInfo) (Digest, error) {
	if ix == nil {
		return hashFile(abs)
	}
	if d, ok := ix.known(abs, fi); ok {
		return d, nil
	}
	d, err := hashFile(abs)
	if err != nil {
		return "", err
	}
	cur := stateOf(fi)
	cur.Digest = d
	ix.mu.Lock()
	ix.Hashed++
	ix.pending[abs] = cur
	ix.mu.Unlock()
	return d, nil
}

// record remembers that the regular file abs, as fi describes it, holds d:
// an output just stored or written. Nothing is written when the index
// already knows exactly that.
func (ix *Index) record(abs string, fi fs.FileInfo, d Digest) {
	cur := stateOf(fi)
	cur.Digest = d
	if prev, ok := ix.lookup(abs); ok && prev.sameStat(cur) && prev.Digest == d {
		return
	}
	ix.mu.Lock()
	ix.pending[abs] = cur
	ix.mu.Unlock()
}

// stateV1 starts a file state in the binary encoding (Preload decodes one
// per file of the workspace); states stored before it are JSON.
const stateV1 = 1

func encodeState(f FileState) []byte {
	enc := encoder{b: make([]byte, 0, 64)}
	enc.b = append(enc.b, stateV1)
	enc.str(string(f.Digest))
	enc.int(f.Size)
	enc.int(f.MtimeNs)
	enc.int(f.CtimeNs)
	enc.b = binary.AppendUvarint(enc.b, f.Ino)
	if f.Exec {
		enc.b = append(enc.b, 1)
	} else {
		enc.b = append(enc.b, 0)
	}
	return enc.b
}

func decodeState(b []byte) (FileState, error) {
	var f FileState
	if len(b) == 0 || b[0] != stateV1 {
		err := json.Unmarshal(b, &f)
		return f, err
	}
	d := decoder{b: b[1:]}
	f.Digest = Digest(d.str())
	f.Size = d.int()
	f.MtimeNs = d.int()
	f.CtimeNs = d.int()
	f.Ino = d.uvarint()
	if len(d.b) != 1 || d.bad {
		return FileState{}, errBadState
	}
	f.Exec = d.b[0] == 1
	return f, nil
}

var errBadState = errors.New("file index: bad encoding")

func statOf(abs string) (FileState, error) {
	fi, err := os.Stat(abs)
	if err != nil {
		return FileState{}, err
	}
	return regularState(abs, fi)
}

func regularState(abs string, fi fs.FileInfo) (FileState, error) {
	if !fi.Mode().IsRegular() {
		return FileState{}, fmt.Errorf("%s is not a regular file", abs)
	}
	return stateOf(fi), nil
}

// stateOf is the stat part of a regular file's state.
func stateOf(fi fs.FileInfo) FileState {
	f := FileState{Size: fi.Size(), MtimeNs: fi.ModTime().UnixNano(), Exec: fi.Mode()&0o111 != 0}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		f.Ino = st.Ino
		f.CtimeNs = st.Ctim.Sec*1e9 + st.Ctim.Nsec
	}
	return f
}

func hashFile(abs string) (Digest, error) {
	f, err := os.Open(abs)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := xxh3.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", abs, err)
	}
	sum := h.Sum128().Bytes()
	return Digest(hex.EncodeToString(sum[:])), nil
}
