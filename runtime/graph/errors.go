package graph

import (
	"fmt"
	"strings"
)

// DuplicateError: two tasks with the same name.
type DuplicateError struct{ Name, First, Second string }

func (e *DuplicateError) Error() string {
	msg := fmt.Sprintf("task %q is defined twice", e.Name)
	if e.First != "" && e.Second != "" {
		msg += fmt.Sprintf(" (at %s and %s)", e.First, e.Second)
	}
	return msg
}

// UnknownDepError: a task depends on a name that is not defined.
type UnknownDepError struct{ Task, Dep, Suggestion string }

func (e *UnknownDepError) Error() string {
	return fmt.Sprintf("task %q depends on unknown task %q%s", e.Task, e.Dep, didYouMean(e.Suggestion))
}

// UnknownTaskError: a target names no task.
type UnknownTaskError struct{ Name, Suggestion string }

func (e *UnknownTaskError) Error() string {
	return fmt.Sprintf("unknown task %q%s", e.Name, didYouMean(e.Suggestion))
}

// CycleError: the dependency path that closes on itself, starting and ending
// on the same task (a self dependency is a path of two equal names).
type CycleError struct{ Path []string }

func (e *CycleError) Error() string {
	return "dependency cycle: " + strings.Join(e.Path, " -> ")
}

// DefinitionError: a task definition that cannot be used as given.
type DefinitionError struct{ Task, Msg string }

func (e *DefinitionError) Error() string {
	if e.Task == "" {
		return e.Msg
	}
	return fmt.Sprintf("task %q: %s", e.Task, e.Msg)
}

func didYouMean(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", s)
}

// Suggest returns the candidate closest to name by edit distance, when it is
// close enough to be a plausible typo (at most a third of the name's length,
// minimum 1), else "". Ties go to the earlier candidate.
func Suggest(name string, candidates []string) string {
	best, bestD := "", -1
	limit := max(1, len([]rune(name))/3)
	for _, c := range candidates {
		d := editDistance(name, c)
		if d <= limit && (bestD < 0 || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (adjacent transpositions
// count as one edit) between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
