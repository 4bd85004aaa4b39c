// Package kv defines the byte-level key-value store through which the core
// persists history and cache metadata. The store/ package implements it on
// Badger; Mem is the in-memory fake used by tests of the packages above it.
//
// Keys and values are opaque bytes: meaning (encodings, schema versions)
// belongs to the packages that own the records.
package kv

import "errors"

// ErrNotFound is returned by Get when the key is absent.
var ErrNotFound = errors.New("key not found")

// Store is a transactional, ordered key-value store.
//
// Contract: every method is safe to call from any goroutine, concurrently.
// Get and Scan see a consistent snapshot. Write applies all of fn's
// changes atomically or none of them (when fn or the commit fails).
// Methods block only on local disk I/O.
type Store interface {
	// Get returns a copy of the value stored under key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Write runs fn in one read-write transaction and commits it.
	Write(fn func(Txn) error) error
	// Scan calls fn for each key with the given prefix in key order
	// (descending when reverse). fn returns false to stop early. The key
	// and value slices are valid only during the call.
	Scan(prefix []byte, reverse bool, fn func(key, val []byte) (more bool, err error)) error
}

// Txn is the write side of one transaction.
type Txn interface {
	Get(key []byte) ([]byte, error)
	Set(key, val []byte) error
	Delete(key []byte) error
}
