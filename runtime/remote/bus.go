package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
)

// bus is the JetStream side both ends share: the streams, buckets and the
// object store, created when absent (an operator may create them first
// with settings of their own, such as replicas in a cluster).
type bus struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	cfg     Config
	cache   jetstream.KeyValue
	workers jetstream.KeyValue
	blobs   jetstream.ObjectStore
}

// keepFor is how long shared cache entries and blobs live.
const keepFor = 7 * 24 * time.Hour

func openBus(ctx context.Context, nc *nats.Conn, cfg Config) (*bus, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return nil, err
	}
	b := &bus{nc: nc, js: js, cfg: cfg}
	err = ensureStream(ctx, js, jetstream.StreamConfig{Name: TasksStream, Subjects: []string{tasksPrefix + ">"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
	if err == nil {
		err = ensureStream(ctx, js, jetstream.StreamConfig{Name: EventsStream, Subjects: []string{eventsPrefix + ">"},
			Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, MaxAge: time.Hour,
			MaxBytes: 1 << 30, Discard: jetstream.DiscardOld, Duplicates: 2 * time.Minute})
	}
	if err == nil {
		b.cache, err = ensureKV(ctx, js, jetstream.KeyValueConfig{Bucket: CacheBucket, TTL: keepFor, Storage: jetstream.FileStorage})
	}
	if err == nil {
		b.workers, err = ensureKV(ctx, js, jetstream.KeyValueConfig{Bucket: WorkersBucket, TTL: cfg.ttl(), Storage: jetstream.FileStorage})
	}
	if err == nil {
		b.blobs, err = ensureObjects(ctx, js, jetstream.ObjectStoreConfig{Bucket: BlobBucket, TTL: keepFor, Storage: jetstream.FileStorage})
	}
	if err != nil {
		return nil, fmt.Errorf("cannot set up JetStream (is it enabled on the server?): %w", err)
	}
	return b, nil
}

func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	_, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil // created by someone else meanwhile
		}
	}
	return err
}

func ensureKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			kv, err = js.KeyValue(ctx, cfg.Bucket)
		}
	}
	return kv, err
}

func ensureObjects(ctx context.Context, js jetstream.JetStream, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	obs, err := js.ObjectStore(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
		obs, err = js.CreateObjectStore(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			obs, err = js.ObjectStore(ctx, cfg.Bucket)
		}
	}
	return obs, err
}

// errMissingBlob means a digest is not in the object store: a fact, not a
// hiccup, so it is never retried.
var errMissingBlob = errors.New("missing from the shared store")

// digestError means content did not match its digest.
type digestError struct{ want, got cache.Digest }

func (e *digestError) Error() string {
	return fmt.Sprintf("content does not match its digest (%s, got %s)", e.want, e.got)
}

// putFile stores the file at path as blob d unless the store has it. The
// content is hashed as it is sent: a file that changed since it was hashed
// is an error and its blob is removed again.
func (b *bus) putFile(ctx context.Context, path string, d cache.Digest) error {
	return b.put(ctx, d, func() (io.ReadCloser, error) { return os.Open(path) })
}

// put stores blob d from what open yields, unless it is there already.
func (b *bus) put(ctx context.Context, d cache.Digest, open func() (io.ReadCloser, error)) error {
	return retry(ctx, func() error {
		if _, err := b.blobs.GetInfo(ctx, string(d)); err == nil {
			return nil
		} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
			return err
		}
		r, err := open()
		if err != nil {
			return permanent(err)
		}
		defer r.Close()
		h := cache.NewHasher()
		if _, err := b.blobs.Put(ctx, jetstream.ObjectMeta{Name: string(d)}, io.TeeReader(r, h)); err != nil {
			return err
		}
		if got := h.Digest(); got != d {
			b.blobs.Delete(ctx, string(d))
			return permanent(&digestError{want: d, got: got})
		}
		return nil
	})
}

// putBytes stores data and returns its digest.
func (b *bus) putBytes(ctx context.Context, data []byte) (cache.Digest, error) {
	h := cache.NewHasher()
	h.Write(data)
	d := h.Digest()
	return d, b.put(ctx, d, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
}

// fetch writes blob d to w, verifying it. w must accept a restart: on a
// transient error fetch is retried from the start only while nothing was
// written.
func (b *bus) fetch(ctx context.Context, d cache.Digest, w io.Writer) error {
	return retry(ctx, func() error {
		res, err := b.blobs.Get(ctx, string(d))
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return permanent(fmt.Errorf("blob %s: %w", d, errMissingBlob))
		}
		if err != nil {
			return err
		}
		defer res.Close()
		h := cache.NewHasher()
		cw := &countWriter{w: w}
		if _, err := io.Copy(io.MultiWriter(cw, h), res); err != nil {
			if cw.n > 0 {
				return permanent(err)
			}
			return err
		}
		if got := h.Digest(); got != d {
			return permanent(&digestError{want: d, got: got})
		}
		return nil
	})
}

// fetchBytes reads a small blob.
func (b *bus) fetchBytes(ctx context.Context, d cache.Digest) ([]byte, error) {
	var buf bytes.Buffer
	err := b.fetch(ctx, d, &buf)
	return buf.Bytes(), err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// permanentError marks an error retry must not retry.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

func permanent(err error) error { return &permanentError{err} }

// retryFor bounds how long a JetStream operation is retried through a
// server restart or fail-over.
const retryFor = 2 * time.Minute

// retry calls fn until it succeeds, fails permanently, ctx is done or
// retryFor has passed, with a growing pause (100ms to 2s). It returns the
// last error, unwrapped from its permanent mark.
func retry(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(retryFor)
	pause := 100 * time.Millisecond
	for {
		err := fn()
		var p *permanentError
		if errors.As(err, &p) {
			return p.err
		}
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}
