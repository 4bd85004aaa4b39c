package kv

import (
	"bytes"
	"sort"
	"sync"
)

// Mem is an in-memory Store for tests. The zero value is not usable; call NewMem.
type Mem struct {
	mu   sync.RWMutex
	data map[string][]byte
}

// NewMem returns an empty in-memory store.
func NewMem() *Mem { return &Mem{data: map[string][]byte{}} }

// Get implements Store.
func (m *Mem) Get(key []byte) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.data[string(key)]
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

type memTxn struct {
	m      *Mem
	writes map[string][]byte // nil value = delete
}

func (t *memTxn) Get(key []byte) ([]byte, error) {
	if v, ok := t.writes[string(key)]; ok {
		if v == nil {
			return nil, ErrNotFound
		}
		return bytes.Clone(v), nil
	}
	v, ok := t.m.data[string(key)]
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (t *memTxn) Set(key, val []byte) error {
	if val == nil {
		val = []byte{}
	}
	t.writes[string(key)] = bytes.Clone(val)
	return nil
}

func (t *memTxn) Delete(key []byte) error { t.writes[string(key)] = nil; return nil }

// Write implements Store.
func (m *Mem) Write(fn func(Txn) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := &memTxn{m: m, writes: map[string][]byte{}}
	if err := fn(t); err != nil {
		return err
	}
	for k, v := range t.writes {
		if v == nil {
			delete(m.data, k)
		} else {
			m.data[k] = v
		}
	}
	return nil
}

// Scan implements Store.
func (m *Mem) Scan(prefix []byte, reverse bool, fn func(key, val []byte) (bool, error)) error {
	m.mu.RLock()
	keys := make([]string, 0, len(m.data))
	for k := range m.data {
		if bytes.HasPrefix([]byte(k), prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if reverse {
		for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
			keys[i], keys[j] = keys[j], keys[i]
		}
	}
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = m.data[k]
	}
	m.mu.RUnlock()
	for i, k := range keys {
		more, err := fn([]byte(k), vals[i])
		if err != nil || !more {
			return err
		}
	}
	return nil
}
