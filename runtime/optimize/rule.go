package optimize

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Rule holds the thresholds of the default parallelism policy and of
// memory-aware admission. DefaultRule has the values of the issue;
// scripts/policies/parallelism.js exports the same numbers as `thresholds`.
type Rule struct {
	CPUHigh     float64       // CPU % above which parallelism goes down
	MemHigh     float64       // memory % above which memory-heavy tasks wait
	CPULow      float64       // CPU % below which it counts as low
	MemLow      float64       // memory % below which it counts as low
	DiskLow     float64       // disk busy % below which it counts as low
	LoadLow     float64       // load average per CPU below which it counts as low
	FailureRate float64       // failed share of recent finished tasks above which parallelism goes down
	FailureMin  int           // recent finished tasks needed before the failure share counts
	Window      int           // how many recent finished tasks are remembered
	Cooldown    time.Duration // no change sooner than this after the previous one
	HeavyRSS    int64         // predicted peak RSS from which a task is memory-heavy
}

// DefaultRule returns the thresholds of the issue: down above 90 % CPU,
// memory-heavy tasks held above 85 % memory, up when CPU < 60 %, memory
// < 70 %, disk < 50 % and load < 1 per CPU, down when more than 20 % of
// the last 20 finished tasks (at least 5) failed; one change per 2 s;
// memory-heavy means a predicted peak of 256 MiB or more.
func DefaultRule() Rule {
	return Rule{CPUHigh: 90, MemHigh: 85, CPULow: 60, MemLow: 70, DiskLow: 50, LoadLow: 1,
		FailureRate: 0.2, FailureMin: 5, Window: 20, Cooldown: 2 * time.Second, HeavyRSS: 256 << 20}
}

// Thresholds returns the numbers Decide uses, with the names the JS policy
// exports (cpuHigh, ..., cooldownMs), for comparing the two.
func (r Rule) Thresholds() map[string]float64 {
	return map[string]float64{"cpuHigh": r.CPUHigh, "memHigh": r.MemHigh, "cpuLow": r.CPULow, "memLow": r.MemLow,
		"diskLow": r.DiskLow, "loadLow": r.LoadLow, "failureRate": r.FailureRate,
		"failureMin": float64(r.FailureMin), "cooldownMs": ms(r.Cooldown)}
}

// State is what a parallelism policy knows about the run besides the sample.
type State struct {
	Jobs        int           // the effective parallelism now
	MinJobs     int           // --min-j, at least 1
	MaxJobs     int           // -j
	Running     int           // attempts running now
	Waiting     int           // ready tasks that a free slot would start now
	Finished    int           // recent finished tasks (at most Rule.Window)
	Failed      int           // how many of those failed
	Speculation bool          // speculative execution is on
	SinceChange time.Duration // since the last change of Jobs, or since the first sample
}

type stateJSON struct {
	Jobs          int     `json:"jobs"`
	MinJobs       int     `json:"minJobs"`
	MaxJobs       int     `json:"maxJobs"`
	Running       int     `json:"running"`
	Waiting       int     `json:"waiting"`
	Finished      int     `json:"finished"`
	Failed        int     `json:"failed"`
	Speculation   bool    `json:"speculation"`
	SinceChangeMs float64 `json:"sinceChangeMs"`
}

func (s State) toJSON() stateJSON {
	return stateJSON{s.Jobs, s.MinJobs, s.MaxJobs, s.Running, s.Waiting, s.Finished, s.Failed, s.Speculation, ms(s.SinceChange)}
}

// JS returns the state as the object a parallelism hook receives:
// {jobs, minJobs, maxJobs, running, waiting, finished, failed, speculation,
// sinceChangeMs}.
func (s State) JS() map[string]any {
	j := s.toJSON()
	return map[string]any{"jobs": j.Jobs, "minJobs": j.MinJobs, "maxJobs": j.MaxJobs, "running": j.Running,
		"waiting": j.Waiting, "finished": j.Finished, "failed": j.Failed, "speculation": j.Speculation,
		"sinceChangeMs": j.SinceChangeMs}
}

// MarshalJSON encodes the state with the names JS sees.
func (s State) MarshalJSON() ([]byte, error) { return json.Marshal(s.toJSON()) }

// UnmarshalJSON decodes what MarshalJSON encodes.
func (s *State) UnmarshalJSON(b []byte) error {
	var j stateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = State{j.Jobs, j.MinJobs, j.MaxJobs, j.Running, j.Waiting, j.Finished, j.Failed, j.Speculation,
		time.Duration(math.Round(j.SinceChangeMs * 1e6))}
	return nil
}

// Verdict is a policy's answer: the parallelism it wants and why. An empty
// Reason with an unchanged Jobs means "no change".
type Verdict struct {
	Jobs   int    `json:"jobs"`
	Reason string `json:"reason"`
}

// Policy decides the parallelism from the latest sample and the run's
// state: Rule.Decide by default, or a JavaScript parallelism(metrics,
// state) hook. The Controller calls it on its own goroutine and clamps the
// answer to [MinJobs, MaxJobs].
type Policy func(Sample, State) Verdict

// Decide is the default parallelism policy, in this order:
//
//  1. within Cooldown of the previous change: no change;
//  2. CPU above CPUHigh and the machine over-subscribed: down by a quarter
//     (at least 1), not below the CPUs left for us (see cpusForUs): only
//     while Jobs is more than those, so that our own tasks keeping the CPUs
//     busy never lower it; when the CPU or runnable-thread counts are
//     unknown, CPU above CPUHigh is enough;
//  3. speculation off, at least FailureMin recent finished tasks and more
//     than FailureRate of them failed: down by a quarter (at least 1);
//  4. every slot busy, a task waiting for one, the failure share not too
//     high, and either more CPUs left for us than Jobs (CPU not above
//     CPUHigh, memory and disk low: so that what step 2 took back returns
//     once the others are gone, though our own tasks keep the CPU busy) or
//     everything low (CPU, memory, disk, load per CPU when the CPU count is
//     known): up by 1;
//  5. otherwise no change.
//
// Never below MinJobs nor above MaxJobs. scripts/policies/parallelism.js is
// the same rule in JavaScript, reasons included, checked against the same
// cases (testdata/parallelism.json).
func (r Rule) Decide(m Sample, st State) Verdict {
	jobs := st.Jobs
	hold := Verdict{Jobs: jobs}
	if ms(st.SinceChange) < ms(r.Cooldown) {
		return hold
	}
	down := max(st.MinJobs, jobs-max(1, jobs/4))
	failing := !st.Speculation && st.Finished >= r.FailureMin && st.Finished > 0 &&
		float64(st.Failed)/float64(st.Finished) > r.FailureRate
	ours, others, known := cpusForUs(m, st)
	busy := m.CPUPercent > r.CPUHigh && jobs > st.MinJobs
	switch {
	case busy && !known:
		return Verdict{down, fmt.Sprintf("cpu %s%% > %s%%", above(m.CPUPercent, r.CPUHigh), num(r.CPUHigh))}
	case busy && jobs > ours:
		return Verdict{max(down, ours), fmt.Sprintf("cpu %s%% > %s%% with %s",
			above(m.CPUPercent, r.CPUHigh), num(r.CPUHigh), leftForUs(m, others, ours, jobs))}
	case failing && jobs > st.MinJobs:
		return Verdict{down, fmt.Sprintf("%d of the last %d finished tasks failed (%s%% > %s%%)",
			st.Failed, st.Finished, pct(100*float64(st.Failed)/float64(st.Finished)), pct(100*r.FailureRate))}
	case failing || jobs >= st.MaxJobs || st.Waiting == 0 || st.Running < jobs:
		return hold
	case known && jobs < ours && m.CPUPercent <= r.CPUHigh && m.MemUsedPercent < r.MemLow && m.DiskBusyPercent < r.DiskLow:
		return Verdict{jobs + 1, fmt.Sprintf("%s, and %s for a slot", leftForUs(m, others, ours, jobs),
			plural(st.Waiting, "task waits", "tasks wait"))}
	}
	if m.CPUPercent >= r.CPULow || m.MemUsedPercent >= r.MemLow || m.DiskBusyPercent >= r.DiskLow ||
		(m.CPUs > 0 && m.Load1/float64(m.CPUs) >= r.LoadLow) {
		return hold
	}
	reason := fmt.Sprintf("cpu %s%%, memory %s%%, disk %s%%", pct(m.CPUPercent), pct(m.MemUsedPercent), pct(m.DiskBusyPercent))
	if m.CPUs > 0 {
		reason += fmt.Sprintf(", load %s%% of %d cpus", pct(100*m.Load1/float64(m.CPUs)), m.CPUs)
	}
	return Verdict{jobs + 1, reason + fmt.Sprintf(" are low and %s for a slot", plural(st.Waiting, "task waits", "tasks wait"))}
}

// cpusForUs is how many CPUs are ours to use at the sample: the CPUs less
// the runnable threads that are not ours (at least 1), where ours are the
// attempts running and the coordinator's own runnable threads (at least the
// sampling one). A task running more than one thread counts its extra
// threads as others': it over-subscribes the CPUs too. known is false when
// the CPU or runnable-thread count is unknown.
func cpusForUs(m Sample, st State) (ours, others int, known bool) {
	if m.CPUs <= 0 || m.Runnable <= 0 {
		return 0, 0, false
	}
	others = max(0, m.Runnable-max(1, m.SelfRunnable)-st.Running)
	return max(1, m.CPUs-others), others, true
}

// leftForUs says how many CPUs are left for our jobs: "5 other runnable
// threads on 2 cpus: none left for our 2 jobs (1 kept)".
func leftForUs(m Sample, others, ours, jobs int) string {
	left := strconv.Itoa(ours) + " left"
	if m.CPUs-others < 1 {
		left = "none left"
	}
	s := fmt.Sprintf("%s on %s: %s for our %s", plural(others, "other runnable thread", "other runnable threads"),
		plural(m.CPUs, "cpu", "cpus"), left, plural(jobs, "job", "jobs"))
	if m.CPUs-others < 1 {
		s += " (1 kept)"
	}
	return s
}

// pct rounds a percentage for a reason, half away from zero like JS
// Math.round does for positive numbers.
func pct(x float64) string { return strconv.FormatFloat(math.Round(x), 'f', -1, 64) }

// above prints x, which is above limit, rounded as pct does unless that
// would print it at or below limit ("90.4% > 90%", not "90% > 90%"); then
// with one decimal, half away from zero as in JS.
func above(x, limit float64) string {
	if math.Round(x) > limit {
		return pct(x)
	}
	return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64)
}

// num prints a threshold as JS String() would.
func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
