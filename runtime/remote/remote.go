// Package remote runs tasks on many machines through NATS JetStream. It
// owns both sides: the Executor, the coordinator's core.Remote, which sends
// attempts to workers and brings their output, results and outputs back;
// and the Worker, which pulls tasks, runs them as a local run would
// (runtime/exec: process group, timeout, output capture) in a scratch
// directory of its own, and publishes what happened.
//
// JetStream carries everything; nothing here is a protocol of its own:
//
//	JSRT_TASKS    stream, work queue    jsrt.tasks.POOL: one message per attempt, by FIFO;
//	                                    a durable pull consumer per pool, explicit acks
//	JSRT_EVENTS   stream, limits        jsrt.events.SESSION: started, progress, log, result
//	JSRT_CACHE    key-value bucket      the shared action cache: cache key -> result
//	JSRT_BLOBS    object store          inputs, outputs and logs, named by content digest
//	JSRT_WORKERS  key-value bucket      worker id -> heartbeat (slots, pools), with a TTL
//	jsrt.cancel.SESSION                 core NATS: stop a running attempt
//
// Delivery is at least once: a worker sends in-progress acks while a task
// runs and acks only after the result is durable (cache entry written,
// result event stored). A worker that dies mid-task leaves its message
// unacked; after AckWait JetStream delivers it to another worker, and the
// coordinator follows the newest delivery and ignores events of older
// ones. When MaxDeliver is exhausted the coordinator reports the attempt as
// "worker lost" and the retry policy decides. A non-zero exit, a timeout or
// a missing command is a result, never a redelivery.
package remote

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"time"

	"github.com/nats-io/nats.go"
)

// Names of the JetStream resources and subjects.
const (
	TasksStream   = "JSRT_TASKS"
	EventsStream  = "JSRT_EVENTS"
	CacheBucket   = "JSRT_CACHE"
	BlobBucket    = "JSRT_BLOBS"
	WorkersBucket = "JSRT_WORKERS"

	tasksPrefix  = "jsrt.tasks."
	eventsPrefix = "jsrt.events."
	cancelPrefix = "jsrt.cancel."
)

// DefaultPool is the pool of tasks that name none, and of workers started
// without --pools.
const DefaultPool = "default"

// Config is what coordinator and workers must agree on. Zero fields take
// the defaults.
type Config struct {
	// AckWait is how long a delivered task may go without an ack or an
	// in-progress ack before JetStream delivers it again (default 30s);
	// workers send in-progress acks every third of it.
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of one attempt (default 5); the
	// redelivery delay doubles from AckWait on (the consumer's BackOff).
	MaxDeliver int
	// Heartbeat is how often a worker says it is alive (default 2s); it
	// counts as gone after three missed beats.
	Heartbeat time.Duration
}

func (c Config) withDefaults() Config {
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 5
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 2 * time.Second
	}
	return c
}

// ttl is how long a worker counts as alive after its last heartbeat.
func (c Config) ttl() time.Duration { return 3 * c.Heartbeat }

// backoff is the redelivery schedule: AckWait, then doubling, one entry
// per delivery.
func (c Config) backoff() []time.Duration {
	out := make([]time.Duration, c.MaxDeliver)
	d := c.AckWait
	for i := range out {
		out[i] = d
		if i > 0 {
			d *= 2
		}
	}
	return out
}

// Platform is the GOOS/GOARCH a cache key is computed for; workers of
// another platform are not sent tasks.
var Platform = runtime.GOOS + "/" + runtime.GOARCH

var poolName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// CheckPool says whether name can be a pool's subject token.
func CheckPool(name string) error {
	if !poolName.MatchString(name) {
		return fmt.Errorf("pool name %q can only use letters, digits, '-' and '_' with --nats", name)
	}
	return nil
}

// Connect opens a connection that reconnects for ever (a server restart
// or a cluster fail-over is waited out, not an error).
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(false), nats.PingInterval(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("cannot connect to NATS at %s: %w", url, err)
	}
	return nc, nil
}

// defaultWorkerID names a worker by host and process.
func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "worker"
	}
	return fmt.Sprintf("%s-%d", sanitize(host), os.Getpid())
}

// sanitize keeps what a KV key or subject token may hold.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
