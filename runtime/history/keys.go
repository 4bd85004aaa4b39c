package history

import (
	"encoding/binary"
	"time"
)

// Key prefixes; the layout is described in the package doc.
const (
	keyTask    = "h1/t/"
	keyRun     = "h1/r/"
	keyRunTask = "h1/rt/"
	keyCount   = "h1/tc/"
	keyEst     = "h1/e/"
	keyHitRun  = "h1/rh/"
	keyHits    = "h1/rc/"
)

func taskPrefix(task string) []byte   { return []byte(keyTask + task + "\x00") }
func runKey(id string) []byte         { return []byte(keyRun + id) }
func runTasksPrefix(id string) []byte { return []byte(keyRunTask + id + "\x00") }
func countKey(task string) []byte     { return []byte(keyCount + task) }
func estKey(task string) []byte       { return []byte(keyEst + task) }
func hitRunKey(id string) []byte      { return []byte(keyHitRun + id) }
func hitsPrefix(id string) []byte     { return []byte(keyHits + id + "\x00") }

// hitsKey is h1/rc/<run id>\x00<chunk>, chunk 4 big-endian bytes.
func hitsKey(id string, chunk int) []byte {
	return binary.BigEndian.AppendUint32(hitsPrefix(id), uint32(chunk))
}

// taskKey is h1/t/<task>\x00<start><run id>\x00<attempt>.
func taskKey(r TaskRecord) []byte {
	k := binary.BigEndian.AppendUint64(taskPrefix(r.Task), startNanos(r.Start))
	k = append(append(k, r.RunID...), 0)
	return binary.BigEndian.AppendUint32(k, uint32(r.Attempt))
}

// runTaskKey is h1/rt/<run id>\x00<start><task>\x00<attempt>.
func runTaskKey(r TaskRecord) []byte {
	k := binary.BigEndian.AppendUint64(runTasksPrefix(r.RunID), startNanos(r.Start))
	k = append(append(k, r.Task...), 0)
	return binary.BigEndian.AppendUint32(k, uint32(r.Attempt))
}

// startNanos orders keys by start time; times before 1970 (including the
// zero time) sort first.
func startNanos(t time.Time) uint64 {
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	return uint64(t.UnixNano())
}
