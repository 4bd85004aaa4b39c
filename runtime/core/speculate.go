package core

import (
	"slices"
	"sort"
	"strings"

	"github.com/jsrt-script/jsrt-script/runtime/graph"
	"github.com/jsrt-script/jsrt-script/runtime/history"
)

// Speculation thresholds: a task is run ahead when, after earlier runs that
// asked for the same targets, the next run asked for it at least
// AheadShare of the time, over at least AheadMinRuns such runs.
const (
	AheadShare   = 0.8
	AheadMinRuns = 3
	aheadHistory = 200 // runs looked at
)

// aheadTargets returns the tasks history says are usually asked for next:
// cacheable (they declare inputs), defined in this graph, and not already
// part of this run.
func aheadTargets(h *history.History, g *graph.Graph, targets []string, wanted []*graph.Task) ([]string, error) {
	in := map[string]bool{}
	for _, t := range wanted {
		in[t.Name] = true
	}
	if !slices.ContainsFunc(g.Tasks(), func(t *graph.Task) bool { return !in[t.Name] && canRunAhead(t) }) {
		return nil, nil // nothing could be run ahead: history need not be read
	}
	runs, err := h.Runs(aheadHistory)
	if err != nil {
		return nil, err
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Start.Before(runs[j].Start) })
	key := targetsKey(targets)
	followers, asked := 0, map[string]int{}
	for i := 0; i+1 < len(runs); i++ {
		if targetsKey(runs[i].Targets) != key {
			continue
		}
		followers++
		for _, name := range dedupe(runs[i+1].Targets) {
			asked[name]++
		}
	}
	if followers < AheadMinRuns {
		return nil, nil
	}
	var out []string
	for name, n := range asked {
		if t := g.Task(name); t == nil || in[name] || !canRunAhead(t) {
			continue
		}
		if float64(n)/float64(followers) >= AheadShare {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// canRunAhead: only tasks whose results the cache may keep. A task with
// side effects says cache: false, and one whose key is a function cannot be
// known ahead.
func canRunAhead(t *graph.Task) bool {
	return len(t.Inputs) > 0 && !t.NoCache && !t.KeyFunc
}

func targetsKey(targets []string) string {
	return strings.Join(dedupe(targets), "\x00")
}

func dedupe(names []string) []string {
	s := append([]string(nil), names...)
	sort.Strings(s)
	out := s[:0]
	for i, n := range s {
		if i == 0 || n != s[i-1] {
			out = append(out, n)
		}
	}
	return out
}
