package repl

import (
	"sort"
	"strings"
)

// Names is what completion offers, a snapshot taken between statements:
// global names, the properties of objects by dotted path ("scheduler",
// "r.tasks") and the task names.
type Names struct {
	Globals []string
	Props   map[string][]string
	Tasks   []string
}

// taskFuncs are the functions whose string arguments are task names.
var taskFuncs = map[string]bool{"run": true, "task": true, "predict": true, "invalidate": true}

var keywords = []string{"async", "await", "break", "case", "catch", "class", "const", "continue", "delete", "do",
	"else", "false", "finally", "for", "function", "if", "in", "instanceof", "let", "new", "null", "of", "return",
	"switch", "this", "throw", "true", "try", "typeof", "undefined", "var", "void", "while"}

// complete returns the completions of line at pos, given the lines already
// typed of the same statement (before) and the names known: the text to
// keep before the word, the candidates for the word, and the text after
// the cursor.
func (r *REPL) complete(before, line string, pos int, names Names) (string, []string, string) {
	head, tail := line[:pos], line[pos:]
	if before == "" && strings.HasPrefix(strings.TrimLeft(head, " "), ".") {
		return r.completeCommand(head, tail, names)
	}
	text := before + head
	st := scan(text)
	if st.comment || st.lineComment {
		return head, nil, tail
	}
	if st.quote != 0 || st.inTemplate() {
		start := st.quotePos
		if st.quote == 0 {
			start = st.stack[len(st.stack)-1].pos
		}
		word := text[start+1:]
		if len(word) > len(head) || strings.ContainsAny(word, "\\$\n") || !inTaskCall(text, st) {
			return head, nil, tail
		}
		return head[:len(head)-len(word)], withPrefix(names.Tasks, word), tail
	}
	i := len(head)
	for i > 0 && isIdent(head[i-1]) {
		i--
	}
	word := head[i:]
	if i > 0 && head[i-1] == '.' {
		path := chainBefore(head[:i-1])
		if path == "" {
			return head, nil, tail
		}
		return head[:i], withPrefix(names.Props[path], word), tail
	}
	if word == "" || (word[0] >= '0' && word[0] <= '9') {
		return head, nil, tail
	}
	return head[:i], withPrefix(append(append([]string{}, names.Globals...), keywords...), word), tail
}

// completeCommand completes a dot-command's name, or its argument with what
// the command proposes.
func (r *REPL) completeCommand(head, tail string, names Names) (string, []string, string) {
	lead := len(head) - len(strings.TrimLeft(head, " "))
	cmd := head[lead:]
	name, arg, hasArg := strings.Cut(cmd, " ")
	if !hasArg {
		var all []string
		for _, c := range r.commands() {
			all = append(all, "."+c.Name)
		}
		return head[:lead], withPrefix(all, name), tail
	}
	for _, c := range r.commands() {
		if "."+c.Name == name && c.Complete != nil {
			arg = strings.TrimLeft(arg, " ")
			return head[:len(head)-len(arg)], withPrefix(c.Complete(arg, names), arg), tail
		}
	}
	return head, nil, tail
}

// inTaskCall reports whether the string that text ends in is an argument
// (directly, or inside arrays or objects) of run(), task() and the like.
func inTaskCall(text string, st scanned) bool {
	stack := st.stack
	if st.quote == 0 {
		stack = stack[:len(stack)-1] // the template literal itself
	}
	for k := len(stack) - 1; k >= 0; k-- {
		switch stack[k].ch {
		case '[', '{':
			continue
		case '(':
			callee := chainBefore(strings.TrimRight(text[:stack[k].pos], " \t"))
			if j := strings.LastIndexByte(callee, '.'); j >= 0 {
				callee = callee[j+1:]
			}
			return taskFuncs[callee]
		}
		return false
	}
	return false
}

// chainBefore returns the dotted identifier chain that s ends with
// ("scheduler", "a.b.c"), or "" if s does not end with one.
func chainBefore(s string) string {
	end, i := len(s), len(s)
	for {
		j := i
		for j > 0 && isIdent(s[j-1]) {
			j--
		}
		if j == i || (s[j] >= '0' && s[j] <= '9') {
			return ""
		}
		k := j - 1
		if k >= 0 && s[k] == '.' && !(k > 0 && s[k-1] == '.') {
			if k > 0 && s[k-1] == '?' { // optional chaining: a?.b
				k--
			}
			i = k
			continue
		}
		return strings.ReplaceAll(s[j:end], "?.", ".")
	}
}

// withPrefix returns the distinct names that start with prefix, sorted.
func withPrefix(names []string, prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
