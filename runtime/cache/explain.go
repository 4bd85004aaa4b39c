package cache

import (
	"fmt"
	"slices"
)

// Diff says, field by field, how manifest now differs from before: the
// reasons a key changed. It is empty when the two are the same.
func Diff(before, now Manifest) []string {
	var out []string
	if !slices.Equal(before.Command, now.Command) {
		out = append(out, fmt.Sprintf("command changed: %q -> %q", before.Command, now.Command))
	}
	if before.Cwd != now.Cwd {
		out = append(out, fmt.Sprintf("cwd changed: %q -> %q", before.Cwd, now.Cwd))
	}
	out = append(out, diffMap("env", before.Env, now.Env, envWord)...)
	out = append(out, diffMap("input", before.Inputs, now.Inputs, fileWord)...)
	if !slices.Equal(before.Outputs, now.Outputs) {
		out = append(out, fmt.Sprintf("outputs changed: %q -> %q", before.Outputs, now.Outputs))
	}
	deps := func(m map[string]Digest) map[string]string {
		s := map[string]string{}
		for k, v := range m {
			s[k] = string(v)
		}
		return s
	}
	out = append(out, diffMap("dep", deps(before.Deps), deps(now.Deps), depWord)...)
	if before.Platform != now.Platform {
		out = append(out, fmt.Sprintf("platform changed: %s -> %s", before.Platform, now.Platform))
	}
	if before.Extra != now.Extra {
		out = append(out, fmt.Sprintf("cacheKey changed: %q -> %q", before.Extra, now.Extra))
	}
	return out
}

func envWord(before, now string) string {
	switch {
	case before == "unset":
		return "was unset, now set"
	case now == "unset":
		return "was set, now unset"
	}
	return "value changed"
}

func fileWord(before, now string) string {
	if before[2:] == now[2:] {
		return "executable bit changed"
	}
	return "content changed"
}

func depWord(string, string) string { return "its key changed" }

func diffMap(kind string, before, now map[string]string, word func(b, n string) string) []string {
	var out []string
	for _, k := range sortedKeys(now) {
		b, ok := before[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s %q added", kind, k))
		case b != now[k]:
			out = append(out, fmt.Sprintf("%s %q: %s", kind, k, word(b, now[k])))
		}
	}
	for _, k := range sortedKeys(before) {
		if _, ok := now[k]; !ok {
			out = append(out, fmt.Sprintf("%s %q removed", kind, k))
		}
	}
	return out
}

// Changed lists the input files of now that are new or different since a
// manifest from before (all of them when there is none), sorted.
func Changed(before *Manifest, now Manifest) []string {
	var out []string
	for _, p := range sortedKeys(now.Inputs) {
		if before == nil || before.Inputs[p] != now.Inputs[p] {
			out = append(out, p)
		}
	}
	return out
}
