package remote

import (
	"fmt"
	"io"
)

// follower turns the events of one dispatch into output and a result. It
// follows the newest delivery (JetStream hands a task to another worker
// when one is lost): each delivery's output is written once and in order,
// and whatever an older delivery still says is ignored.
//
// Contract: used by one goroutine, the attempt's.
type follower struct {
	out      io.Writer
	notice   func(string)
	delivery int    // the delivery followed; 0 before any event
	worker   string // who runs it
	got      int64  // bytes of its output written to out
}

// apply takes one event and returns the result once the followed delivery
// has one.
func (f *follower) apply(ev event) *resultMsg {
	if ev.Delivery < f.delivery {
		return nil // an older delivery: its worker was given up on
	}
	if ev.Delivery > f.delivery {
		if f.delivery > 0 && f.notice != nil {
			f.notice(fmt.Sprintf("worker %s did not finish the task: delivered again (delivery %d) to worker %s", f.worker, ev.Delivery, ev.Worker))
		}
		f.delivery, f.worker, f.got = ev.Delivery, ev.Worker, 0
	}
	switch ev.Type {
	case evLog:
		f.write(ev.Offset, ev.Data)
	case evResult:
		if ev.Result != nil {
			return ev.Result
		}
	}
	return nil
}

// write writes the part of data (which starts at offset in the delivery's
// output) not written yet. A chunk after a gap (a lost log message) is
// dropped; the gap is filled from the whole output when the result comes.
func (f *follower) write(offset int64, data []byte) {
	if offset > f.got {
		return
	}
	skip := f.got - offset
	if skip >= int64(len(data)) {
		return
	}
	n, _ := f.out.Write(data[skip:])
	f.got += int64(n)
}

// rest writes what the output has beyond what was written: fetch writes
// the whole output to the writer it is given.
func (f *follower) rest(ref logRef, fetch func(io.Writer) error) error {
	if ref.Size <= f.got {
		return nil
	}
	if ref.Inline != nil {
		f.write(0, ref.Inline)
		return nil
	}
	return fetch(&skipWriter{w: f.out, skip: f.got})
}

// skipWriter drops the first skip bytes.
type skipWriter struct {
	w    io.Writer
	skip int64
}

func (s *skipWriter) Write(p []byte) (int, error) {
	n := len(p)
	if s.skip >= int64(n) {
		s.skip -= int64(n)
		return n, nil
	}
	p = p[s.skip:]
	s.skip = 0
	if _, err := s.w.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}
