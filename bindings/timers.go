package bindings

import (
	"container/heap"
	"time"

	"github.com/dop251/goja"
)

// Timers live on the loop: a heap ordered by due time (then by creation),
// so callbacks fire in the order their delays say, however late the loop
// gets to them. Every timer counts in pending until it fires or is cleared.

type timer struct {
	id   int64
	due  time.Time
	fn   goja.Callable
	args []goja.Value
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].id < h[j].id
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)   { *h = append(*h, x.(*timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// installTimers provides setTimeout/clearTimeout.
func (e *Engine) installTimers() {
	e.vm.Set("setTimeout", func(call goja.FunctionCall) goja.Value {
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			e.throw("setTimeout needs a function")
		}
		ms := call.Argument(1).ToFloat()
		e.timerSeq++
		t := &timer{id: e.timerSeq, due: time.Now().Add(time.Duration(ms * float64(time.Millisecond))), fn: fn,
			args: append([]goja.Value(nil), call.Arguments[min(2, len(call.Arguments)):]...)}
		heap.Push(&e.timerQ, t)
		e.timerIDs[t.id] = t
		e.pending++
		return e.vm.ToValue(t.id)
	})
	e.vm.Set("clearTimeout", func(call goja.FunctionCall) goja.Value {
		id := call.Argument(0).ToInteger()
		if t, ok := e.timerIDs[id]; ok {
			delete(e.timerIDs, id)
			t.fn = nil // skipped when it comes due
			e.pending--
		}
		return goja.Undefined()
	})
}

// nextTimer returns a channel that fires when the earliest timer is due,
// or nil when there is none.
func (e *Engine) nextTimer() <-chan time.Time {
	for e.timerQ.Len() > 0 && e.timerQ[0].fn == nil {
		heap.Pop(&e.timerQ) // cleared
	}
	if e.timerQ.Len() == 0 {
		return nil
	}
	if e.wake == nil {
		e.wake = time.NewTimer(time.Until(e.timerQ[0].due))
	} else {
		e.wake.Reset(time.Until(e.timerQ[0].due))
	}
	return e.wake.C
}

// runDueTimers calls, in order, every timer that is due.
func (e *Engine) runDueTimers() {
	now := time.Now()
	for e.timerQ.Len() > 0 && !e.timerQ[0].due.After(now) {
		t := heap.Pop(&e.timerQ).(*timer)
		if t.fn == nil {
			continue
		}
		delete(e.timerIDs, t.id)
		e.pending--
		if _, err := t.fn(goja.Undefined(), t.args...); err != nil {
			e.rejected = append(e.rejected, &unhandled{err: e.jsError(err)}) // p nil: a timer
		}
	}
}

// stopTimers drops every timer (after an interrupt).
func (e *Engine) stopTimers() {
	for _, t := range e.timerIDs {
		t.fn = nil
		e.pending--
	}
	clear(e.timerIDs)
	e.timerQ = e.timerQ[:0]
}
