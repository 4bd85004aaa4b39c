package cache

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"time"
)

// entryV1 starts an entry in the binary encoding: length-prefixed strings
// and varints, about ten times cheaper to decode than JSON, which a run of
// hits does once per task. Entries stored before it are JSON (starting with
// '{') and are still read.
const entryV1 = 1

var errBadEntry = errors.New("cache entry: bad encoding")

func encodeEntry(e *Entry) []byte {
	enc := encoder{b: make([]byte, 0, 512)}
	enc.b = append(enc.b, entryV1)
	enc.str(e.Task)
	enc.str(string(e.Key))
	enc.time(e.Created)
	enc.time(e.LastUsed)
	enc.time(e.Expires)
	enc.int(int64(e.Duration))
	enc.str(string(e.Log))
	enc.int(e.LogSize)
	enc.count(len(e.Outputs))
	for _, o := range e.Outputs {
		enc.str(o.Path)
		enc.str(o.Link)
		enc.int(int64(o.Mode))
		enc.str(string(o.Digest))
		enc.int(o.Size)
	}
	enc.int(e.Size)
	enc.strs(e.Deps)
	m := &e.Manifest
	enc.strs(m.Command)
	enc.str(m.Cwd)
	enc.strMap(m.Env)
	enc.strMap(m.Inputs)
	enc.strs(m.Outputs)
	enc.count(len(m.Deps))
	for _, k := range sortedKeys(m.Deps) {
		enc.str(k)
		enc.str(string(m.Deps[k]))
	}
	enc.str(m.Extra)
	enc.str(m.Platform)
	if e.Ahead {
		enc.b = append(enc.b, 1)
	} else {
		enc.b = append(enc.b, 0)
	}
	return enc.b
}

// decodeEntry reads an entry in either encoding.
func decodeEntry(b []byte) (*Entry, error) { return decodeEntryOf(b, true) }

// decodeEntryOf is decodeEntry that, unless manifest, steps over the
// binary encoding's manifest without building it (the manifest is left
// empty): a cache hit does not need it, and it is most of the entry.
func decodeEntryOf(b []byte, manifest bool) (*Entry, error) {
	var e Entry
	if len(b) == 0 || b[0] != entryV1 {
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, err
		}
		return &e, nil
	}
	d := decoder{b: b[1:]}
	e.Task = d.str()
	e.Key = Digest(d.str())
	e.Created = d.time()
	e.LastUsed = d.time()
	e.Expires = d.time()
	e.Duration = time.Duration(d.int())
	e.Log = Digest(d.str())
	e.LogSize = d.int()
	if n := d.count(); n > 0 {
		e.Outputs = make([]Output, n)
		for i := range e.Outputs {
			o := &e.Outputs[i]
			o.Path = d.str()
			o.Link = d.str()
			o.Mode = fs.FileMode(d.int())
			o.Digest = Digest(d.str())
			o.Size = d.int()
		}
	}
	e.Size = d.int()
	e.Deps = d.strs()
	if manifest {
		d.manifest(&e.Manifest)
	} else {
		d.skipManifest()
	}
	if len(d.b) != 1 || d.bad {
		return nil, errBadEntry
	}
	e.Ahead = d.b[0] == 1
	return &e, nil
}

func (d *decoder) manifest(m *Manifest) {
	m.Command = d.strs()
	m.Cwd = d.str()
	m.Env = d.strMap()
	m.Inputs = d.strMap()
	m.Outputs = d.strs()
	if n := d.count(); n > 0 {
		m.Deps = make(map[string]Digest, n)
		for range n {
			k := d.str()
			m.Deps[k] = Digest(d.str())
		}
	}
	m.Extra = d.str()
	m.Platform = d.str()
}

// skipManifest steps over what manifest reads, allocating nothing.
func (d *decoder) skipManifest() {
	d.skipStrs(1) // command
	d.skip()      // cwd
	d.skipStrs(2) // env
	d.skipStrs(2) // inputs
	d.skipStrs(1) // outputs
	d.skipStrs(2) // deps
	d.skip()      // extra
	d.skip()      // platform
}

// skip steps over one string.
func (d *decoder) skip() {
	n := d.count()
	d.b = d.b[n:]
}

// skipStrs steps over a count and count × per strings.
func (d *decoder) skipStrs(per int) {
	for n := d.count(); n > 0 && !d.bad; n-- {
		for range per {
			d.skip()
		}
	}
}

func (e *encoder) int(n int64) { e.b = binary.AppendVarint(e.b, n) }

// time writes zero for the zero time, else 1 and the Unix nanoseconds.
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.count(0)
		return
	}
	e.count(1)
	e.int(t.UnixNano())
}

func (e *encoder) strs(list []string) {
	e.count(len(list))
	for _, s := range list {
		e.str(s)
	}
}

func (e *encoder) strMap(m map[string]string) {
	e.count(len(m))
	for _, k := range sortedKeys(m) {
		e.str(k)
		e.str(m[k])
	}
}

// decoder reads what encoder wrote; once bad, it reads only zeros.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length, refusing one longer than what is left (each
// counted item takes at least a byte).
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad, d.b = true, nil
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count()
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) time() time.Time {
	if d.uvarint() == 0 {
		return time.Time{}
	}
	return time.Unix(0, d.int())
}

func (d *decoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	list := make([]string, n)
	for i := range list {
		list[i] = d.str()
	}
	return list
}

func (d *decoder) strMap() map[string]string {
	n := d.count()
	m := make(map[string]string, n)
	for range n {
		k := d.str()
		m[k] = d.str()
	}
	return m
}
