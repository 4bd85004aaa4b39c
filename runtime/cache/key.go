// Package cache owns task results: the keys that fingerprint a task (an
// unambiguous, canonical encoding of everything that decides its result,
// hashed with xxh3-128), the file-state index that lets unchanged inputs
// skip re-hashing, content-addressed blobs for logs and outputs, entries
// with LRU/TTL eviction, invalidation that follows dependents, and hit/miss
// statistics. It never stores a result that did not succeed.
package cache

import (
	"encoding/binary"
	"encoding/hex"
	"runtime"
	"sort"

	"github.com/zeebo/xxh3"
)

// KeySchema versions the key encoding: changing what goes into a key, or
// how, changes it, so old entries simply stop matching.
const KeySchema = "jsrt-cache-key-1"

// Digest is a content hash, as 32 lowercase hex digits of xxh3-128.
type Digest string

func digestOf(b []byte) Digest {
	sum := xxh3.Hash128(b).Bytes()
	return Digest(hex.EncodeToString(sum[:]))
}

// Spec is everything that decides a task's result, gathered by the caller.
type Spec struct {
	Task    string
	Command []string // the shell string as one element after "sh", or argv after "argv"
	Cwd     string
	Env     map[string]*string // declared names; nil value = unset (not the same as "")
	Inputs  []FileState        // every input file, any order
	Outputs []string           // the declared output patterns
	Deps    map[string]Digest  // dependency name -> its key
	Extra   string             // the strategy's own cacheKey, if any
}

// Manifest is a key's fields in a comparable form, kept with each entry so
// explain can say which field changed. Env values are kept as digests, never
// in clear text.
type Manifest struct {
	Command  []string          `json:"command"`
	Cwd      string            `json:"cwd"`
	Env      map[string]string `json:"env"` // name -> digest of value, or "unset"
	Inputs   map[string]string `json:"inputs"`
	Outputs  []string          `json:"outputs"`
	Deps     map[string]Digest `json:"deps"`
	Extra    string            `json:"extra,omitempty"`
	Platform string            `json:"platform"`
}

// encoder writes length-prefixed fields: no two different field lists give
// the same bytes.
type encoder struct{ b []byte }

func (e *encoder) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) count(n int) { e.b = binary.AppendUvarint(e.b, uint64(n)) }

// Key computes the task's key and its manifest.
func Key(s Spec) (Digest, Manifest) {
	m := Manifest{Command: s.Command, Cwd: s.Cwd, Env: make(map[string]string, len(s.Env)), Inputs: make(map[string]string, len(s.Inputs)),
		Outputs: s.Outputs, Deps: s.Deps, Extra: s.Extra, Platform: runtime.GOOS + "/" + runtime.GOARCH}
	e := encoder{b: make([]byte, 0, 256)}
	e.str(KeySchema)
	e.str(s.Task)
	e.count(len(s.Command))
	for _, c := range s.Command {
		e.str(c)
	}
	e.str(s.Cwd)
	names := sortedKeys(s.Env)
	e.count(len(names))
	for _, n := range names {
		e.str(n)
		if v := s.Env[n]; v == nil {
			e.str("unset")
			m.Env[n] = "unset"
		} else {
			e.str("set")
			e.str(*v)
			m.Env[n] = string(digestOf([]byte(*v)))
		}
	}
	inputs := append([]FileState(nil), s.Inputs...)
	sort.Slice(inputs, func(i, j int) bool { return inputs[i].Path < inputs[j].Path })
	e.count(len(inputs))
	for _, f := range inputs {
		fp := f.Fingerprint()
		e.str(f.Path)
		e.str(fp)
		m.Inputs[f.Path] = fp
	}
	e.count(len(s.Outputs))
	for _, o := range s.Outputs {
		e.str(o)
	}
	deps := sortedKeys(s.Deps)
	e.count(len(deps))
	for _, d := range deps {
		e.str(d)
		e.str(string(s.Deps[d]))
	}
	e.str(m.Platform)
	e.str(s.Extra)
	return digestOf(e.b), m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
