package history

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/jsrt-script/jsrt-script/runtime/kv"
)

// The scheduler needs one number per task before a run starts, for every
// task at once; reading each task's records would cost a scan per task. So
// each successful real execution also updates h1/e/<task>: the EWMA of its
// durations (alpha as in Predict) in 8 bytes of float64 nanoseconds, then
// the sample count in 4 bytes. Estimates reads them all in one scan.

func updateEstimate(t kv.Txn, r TaskRecord) error {
	ewma, n := 0.0, uint32(0)
	old, err := t.Get(estKey(r.Task))
	switch {
	case err == nil && len(old) == 12:
		ewma = math.Float64frombits(binary.BigEndian.Uint64(old))
		n = binary.BigEndian.Uint32(old[8:])
	case err != nil && !errors.Is(err, kv.ErrNotFound):
		return err
	}
	d := float64(r.Duration)
	if n == 0 {
		ewma = d
	} else {
		ewma = ewmaAlpha*d + (1-ewmaAlpha)*ewma
	}
	val := binary.BigEndian.AppendUint64(nil, math.Float64bits(ewma))
	return t.Set(estKey(r.Task), binary.BigEndian.AppendUint32(val, n+1))
}

// Estimates returns the EWMA duration of every task with at least one
// successful real execution.
func (h *History) Estimates() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	err := h.s.Scan([]byte(keyEst), false, func(key, val []byte) (bool, error) {
		if len(val) == 12 {
			out[string(key[len(keyEst):])] = time.Duration(math.Float64frombits(binary.BigEndian.Uint64(val)))
		}
		return true, nil
	})
	return out, err
}
