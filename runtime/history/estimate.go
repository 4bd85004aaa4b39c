package history

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// The scheduler needs a few numbers per task before a run starts, for every
// task at once; reading each task's records would cost a scan per task. So
// each successful real execution also updates h1/e/<task>: the EWMA of its
// durations (alpha as in Predict) in 8 bytes of float64 nanoseconds, the
// sample count in 4 bytes, and a slowly decaying peak RSS in 8 bytes (the
// larger of the new peak and 0.9 × the old). Estimates reads them all in
// one scan.

// Estimate is what the scheduler knows of a task before it starts.
type Estimate struct {
	Duration time.Duration
	Samples  int
	PeakRSS  int64
}

func updateEstimate(t kv.Txn, r TaskRecord) error {
	ewma, n, rss := 0.0, uint32(0), int64(0)
	old, err := t.Get(estKey(r.Task))
	switch {
	case err == nil && len(old) >= 12:
		e := decodeEstimate(old)
		ewma, n, rss = float64(e.Duration), uint32(e.Samples), e.PeakRSS
	case err != nil && !errors.Is(err, kv.ErrNotFound):
		return err
	}
	rss = max(r.PeakRSS, rss*9/10)
	d := float64(r.Duration)
	if n == 0 {
		ewma = d
	} else {
		ewma = ewmaAlpha*d + (1-ewmaAlpha)*ewma
	}
	val := binary.BigEndian.AppendUint64(nil, math.Float64bits(ewma))
	val = binary.BigEndian.AppendUint32(val, n+1)
	return t.Set(estKey(r.Task), binary.BigEndian.AppendUint64(val, uint64(rss)))
}

func decodeEstimate(val []byte) Estimate {
	e := Estimate{Duration: time.Duration(math.Float64frombits(binary.BigEndian.Uint64(val))),
		Samples: int(binary.BigEndian.Uint32(val[8:]))}
	if len(val) >= 20 {
		e.PeakRSS = int64(binary.BigEndian.Uint64(val[12:]))
	}
	return e
}

// Estimates returns what is known of every task with at least one
// successful real execution.
func (h *History) Estimates() (map[string]Estimate, error) {
	out := map[string]Estimate{}
	err := h.s.Scan([]byte(keyEst), false, func(key, val []byte) (bool, error) {
		if len(val) >= 12 {
			out[string(key[len(keyEst):])] = decodeEstimate(val)
		}
		return true, nil
	})
	return out, err
}
