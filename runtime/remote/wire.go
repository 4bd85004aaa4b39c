package remote

import (
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/cache"
)

// wireVersion is the message format; a worker refuses (with a result
// saying so) a task of a version it does not know.
const wireVersion = 1

// taskMsg is one attempt on the work queue. Files travel by digest; a file
// list too long for a message goes to the object store (FileList).
type taskMsg struct {
	Version  int               `json:"v"`
	ID       string            `json:"id"`      // the dispatch: SESSION.N, one per attempt
	Session  string            `json:"session"` // events go to jsrt.events.SESSION
	Task     string            `json:"task"`
	Attempt  int               `json:"attempt"`
	Shell    string            `json:"shell,omitempty"`
	Argv     []string          `json:"argv,omitempty"`
	Cwd      string            `json:"cwd,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
	Timeout  time.Duration     `json:"timeout,omitempty"`
	Key      string            `json:"key,omitempty"` // shared cache key; "" when not cacheable
	Outputs  []string          `json:"outputs,omitempty"`
	Files    []fileRef         `json:"files,omitempty"`
	FileList cache.Digest      `json:"fileList,omitempty"`
	Platform string            `json:"platform"`
}

type fileRef struct {
	Path   string       `json:"p"`
	Digest cache.Digest `json:"d"`
	Exec   bool         `json:"x,omitempty"`
}

// Event types.
const (
	evStarted  = "started"
	evProgress = "progress"
	evLog      = "log"
	evResult   = "result"
)

// event is what a worker says about one delivery of a dispatch.
type event struct {
	Type     string     `json:"type"`
	ID       string     `json:"id"`
	Delivery int        `json:"delivery"`
	Worker   string     `json:"worker"`
	Offset   int64      `json:"offset,omitempty"` // log: where Data starts in the delivery's output
	Data     []byte     `json:"data,omitempty"`
	Result   *resultMsg `json:"result,omitempty"`
}

// resultMsg is how an attempt ended on a worker.
type resultMsg struct {
	Start       time.Time      `json:"start"`
	Duration    time.Duration  `json:"duration"`
	ExitCode    int            `json:"exit"`
	Signal      string         `json:"signal,omitempty"`
	TimedOut    bool           `json:"timedOut,omitempty"`
	Interrupted bool           `json:"interrupted,omitempty"`
	PeakRSS     int64          `json:"peakRSS,omitempty"`
	CPU         time.Duration  `json:"cpu,omitempty"`
	Err         string         `json:"err,omitempty"`
	Cached      bool           `json:"cached,omitempty"` // found in the shared cache, not run
	Saved       time.Duration  `json:"saved,omitempty"`
	Output      logRef         `json:"output"`
	Outputs     []cache.Output `json:"outputs,omitempty"`
}

func (r *resultMsg) ok() bool {
	return r.Err == "" && r.ExitCode == 0 && !r.TimedOut && !r.Interrupted
}

// logRef is a task's whole output: inline when small, else by digest.
type logRef struct {
	Size   int64        `json:"size"`
	Inline []byte       `json:"inline,omitempty"`
	Blob   cache.Digest `json:"blob,omitempty"`
}

// inlineLog is the largest output carried in a message.
const inlineLog = 16 << 10

// entry is one shared action cache value (key: the task's cache key).
type entry struct {
	Task     string         `json:"task"`
	Duration time.Duration  `json:"duration"`
	Output   logRef         `json:"output"`
	Outputs  []cache.Output `json:"outputs,omitempty"`
	Worker   string         `json:"worker"`
	Created  time.Time      `json:"created"`
}

// cancelMsg stops a dispatch on whichever worker runs it.
type cancelMsg struct {
	ID   string `json:"id"`
	Kill bool   `json:"kill,omitempty"` // SIGKILL at once instead of SIGTERM and a grace period
}

// heartbeat is a worker's entry in the workers bucket.
type heartbeat struct {
	ID       string    `json:"id"`
	Host     string    `json:"host"`
	Pools    []string  `json:"pools"`
	Slots    int       `json:"slots"`
	Busy     int       `json:"busy"`
	Platform string    `json:"platform"`
	Started  time.Time `json:"started"`
}
