package optimize

import (
	"fmt"
	"time"
)

// Kinds of Event.
const (
	KindParallelism = "parallelism" // the effective job limit changed: From -> To
	KindMemory      = "memory"      // memory-heavy tasks start waiting, or may start again (From == To)
)

// Event is one decision of the controller, with its reason.
type Event struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	From   int       `json:"from"`
	To     int       `json:"to"`
	Reason string    `json:"reason"`
}

func (e Event) String() string {
	if e.Kind == KindParallelism {
		return fmt.Sprintf("parallelism %d -> %d: %s", e.From, e.To, e.Reason)
	}
	return e.Reason
}

// Controller moves the effective parallelism between a lower and an upper
// bound and admits tasks by their predicted memory. Jobs starts at the upper
// bound.
//
// Contract: not safe for concurrent use. The run loop owns it: it calls
// Finished when an attempt ends, Update when a new sample arrives (from
// Latest.C), and Admit before starting a task; the Policy runs inside
// Update, on that goroutine.
type Controller struct {
	Rule   Rule
	Policy Policy // nil: Rule.Decide

	min, max int
	jobs     int
	outcomes outcomes
	started  bool      // a sample was seen
	last     time.Time // of the last change of jobs, or of the first sample
	memHigh  bool      // memory above Rule.MemHigh at the latest sample
	sample   Sample    // the latest
	reserved int64     // predicted RSS admitted since the latest sample, less what finished
	gen      uint64    // counts samples: reservations older than the latest are in it
}

// NewController returns a controller for bounds [minJobs, maxJobs]; minJobs
// is raised to 1 and capped at maxJobs.
func NewController(rule Rule, minJobs, maxJobs int) *Controller {
	maxJobs = max(1, maxJobs)
	minJobs = min(max(1, minJobs), maxJobs)
	return &Controller{Rule: rule, min: minJobs, max: maxJobs, jobs: maxJobs,
		outcomes: outcomes{ring: make([]bool, max(1, rule.Window))}}
}

// Jobs is the effective parallelism: how many tasks may run at once now.
func (c *Controller) Jobs() int { return c.jobs }

// Bounds returns the lower and upper bounds.
func (c *Controller) Bounds() (minJobs, maxJobs int) { return c.min, c.max }

// Finished records a finished attempt (ok or not) in the ring of recent
// outcomes. Cache hits and interrupted attempts are not outcomes: do not
// record them.
func (c *Controller) Finished(ok bool) { c.outcomes.add(ok) }

// Load is what the run loop knows when a sample arrives.
type Load struct {
	Running     int  // attempts running
	Waiting     int  // ready tasks a free slot would start
	Speculation bool // speculative execution is on
}

// State is what the policy will be given for load at time now.
func (c *Controller) State(now time.Time, load Load) State {
	finished, failed := c.outcomes.counts()
	since := time.Duration(0)
	if c.started {
		since = now.Sub(c.last)
	}
	return State{Jobs: c.jobs, MinJobs: c.min, MaxJobs: c.max, Running: load.Running, Waiting: load.Waiting,
		Finished: finished, Failed: failed, Speculation: load.Speculation, SinceChange: since}
}

// Update takes a new sample: it asks the policy for the parallelism, clamps
// the answer to the bounds, and returns the new Jobs with the events of this
// update (a parallelism change, memory-heavy tasks held or released), in
// order. Times come from the sample, so a scripted series is deterministic.
func (c *Controller) Update(s Sample, load Load) (int, []Event) {
	if !c.started {
		c.started, c.last = true, s.Time
	}
	c.sample, c.reserved = s, 0
	c.gen++
	var events []Event
	if high := s.MemUsedPercent > c.Rule.MemHigh; high != c.memHigh {
		c.memHigh = high
		reason := fmt.Sprintf("memory %s%% > %s%%: memory-heavy tasks wait", pct(s.MemUsedPercent), num(c.Rule.MemHigh))
		if !high {
			reason = fmt.Sprintf("memory %s%% <= %s%%: memory-heavy tasks may start", pct(s.MemUsedPercent), num(c.Rule.MemHigh))
		}
		events = append(events, Event{Time: s.Time, Kind: KindMemory, From: c.jobs, To: c.jobs, Reason: reason})
	}
	policy := c.Policy
	if policy == nil {
		policy = c.Rule.Decide
	}
	v := policy(s, c.State(s.Time, load))
	to := min(max(v.Jobs, c.min), c.max)
	if to != c.jobs {
		reason := v.Reason
		if reason == "" {
			reason = "policy gave no reason"
		}
		if to != v.Jobs {
			reason += fmt.Sprintf(" (%d kept within %d..%d)", v.Jobs, c.min, c.max)
		}
		events = append(events, Event{Time: s.Time, Kind: KindParallelism, From: c.jobs, To: to, Reason: reason})
		c.jobs, c.last = to, s.Time
	}
	return c.jobs, events
}

// Admit decides whether a task whose predicted peak RSS is predictedRSS
// bytes (0: unknown) may start now, with running attempts under way, and
// says why not. It holds a task when
//
//   - memory is above Rule.MemHigh and the task is memory-heavy
//     (predictedRSS >= Rule.HeavyRSS), or
//   - the task would not fit in the available memory of the latest sample,
//     less what tasks admitted since that sample are predicted to take;
//
// and never when nothing is running (a task that fits nowhere still runs
// alone) or before the first sample. An admitted task's predicted RSS is
// reserved until the next Update or until Release, so tasks started between
// two samples are not all admitted against the same memory. Call it only
// right before starting the task; gen is the reservation's generation, to
// give to Release when the task ends.
func (c *Controller) Admit(predictedRSS int64, running int) (ok bool, reason string) {
	if !c.started || predictedRSS <= 0 {
		return true, ""
	}
	if running == 0 {
		c.reserved += predictedRSS
		return true, ""
	}
	if c.memHigh && predictedRSS >= c.Rule.HeavyRSS {
		return false, fmt.Sprintf("memory %s%% > %s%% and it is memory-heavy (predicted peak %s)",
			pct(c.sample.MemUsedPercent), num(c.Rule.MemHigh), Bytes(predictedRSS))
	}
	avail := c.sample.MemAvailable - c.reserved
	if !Admit(predictedRSS, avail, running) {
		return false, fmt.Sprintf("predicted peak %s does not fit in %s available", Bytes(predictedRSS), Bytes(max(0, avail)))
	}
	c.reserved += predictedRSS
	return true, ""
}

// Generation identifies the latest sample; a reservation made by Admit
// belongs to it.
func (c *Controller) Generation() uint64 { return c.gen }

// Release gives back what Admit reserved for a task that has ended, when no
// sample was taken since (a later sample already shows the memory it used).
func (c *Controller) Release(predictedRSS int64, gen uint64) {
	if gen == c.gen && predictedRSS > 0 {
		c.reserved = max(0, c.reserved-predictedRSS)
	}
}

// Admit is memory-aware admission: a task whose predicted peak RSS (bytes,
// learned from history; 0 when unknown) would not fit in available bytes
// waits, even if a slot is free — unless nothing else is running.
func Admit(predictedRSS, available int64, running int) bool {
	return running == 0 || predictedRSS <= 0 || predictedRSS <= available
}

// outcomes is the ring of the last finished attempts: true for ok.
type outcomes struct {
	ring []bool
	next int
	n    int
}

func (o *outcomes) add(ok bool) {
	o.ring[o.next] = ok
	o.next = (o.next + 1) % len(o.ring)
	o.n = min(o.n+1, len(o.ring))
}

func (o *outcomes) counts() (finished, failed int) {
	for i := range o.n {
		if !o.ring[i] {
			failed++
		}
	}
	return o.n, failed
}

// Bytes prints a size for people: 512 B, 3.0 KiB, 1.5 GiB.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
