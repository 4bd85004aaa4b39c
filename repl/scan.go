package repl

import "strings"

// open is a bracket, template literal or template substitution that is
// still open at the end of the scanned text.
type open struct {
	ch  byte // '(', '[', '{', '`' or '$' (a ${ substitution)
	pos int
}

// scanned is what the scanner knows at the end of a text.
type scanned struct {
	stack []open
	// quote is ' or " when the text ends inside such a string, which
	// started at quotePos; cont is true when its line ends with a
	// backslash (the string goes on to the next line).
	quote       byte
	quotePos    int
	cont        bool
	comment     bool // inside /* ... */
	lineComment bool // in a // comment at the end of the text
}

// incomplete reports whether more lines are needed: brackets, template
// literals, block comments or line-continued strings are still open.
func incomplete(src string) bool {
	s := scan(src)
	return len(s.stack) > 0 || s.comment || (s.quote != 0 && s.cont)
}

// inTemplate reports whether the text ends inside a template literal's
// text (not in one of its substitutions).
func (s scanned) inTemplate() bool {
	return len(s.stack) > 0 && s.stack[len(s.stack)-1].ch == '`'
}

// scan reads JavaScript just enough to know what is open at the end:
// brackets, strings, template literals (with nested ${...}), comments and
// regular expression literals (so their brackets and quotes do not count).
func scan(src string) scanned {
	var s scanned
	prev := byte(0) // last significant character of code, for telling regex from division
	prevWord := ""
	i := 0
	for i < len(src) {
		c := src[i]
		if s.inTemplate() {
			switch {
			case c == '\\':
				i += 2
				continue
			case c == '`':
				s.stack = s.stack[:len(s.stack)-1]
				prev = '`'
			case c == '$' && i+1 < len(src) && src[i+1] == '{':
				s.stack = append(s.stack, open{'$', i})
				i += 2
				prev = '{'
				continue
			}
			i++
			continue
		}
		switch {
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			if i == len(src) {
				s.lineComment = true
			}
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				s.comment = true
				return s
			}
			i += end + 4
			continue
		case c == '\'' || c == '"':
			j, closed, cont := scanString(src, i)
			if !closed && j >= len(src) {
				s.quote, s.quotePos, s.cont = c, i, cont
				return s
			}
			i = j
			prev = c
			continue
		case c == '`':
			s.stack = append(s.stack, open{'`', i})
		case c == '(' || c == '[' || c == '{':
			s.stack = append(s.stack, open{c, i})
		case c == ')' || c == ']' || c == '}':
			if n := len(s.stack); n > 0 && matches(s.stack[n-1].ch, c) {
				s.stack = s.stack[:n-1]
			}
		case c == '/' && regexAllowed(prev, prevWord):
			i = skipRegex(src, i)
			prev = '/'
			prevWord = ""
			continue
		case isIdent(c):
			j := i
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			prevWord = src[i:j]
			prev = 'a'
			i = j
			continue
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			prev = c
			prevWord = ""
		}
		i++
	}
	return s
}

func matches(o, c byte) bool {
	switch c {
	case ')':
		return o == '('
	case ']':
		return o == '['
	}
	return o == '{' || o == '$'
}

// scanString reads a '...' or "..." string starting at i and returns the
// index after it, whether it was closed, and whether it ended with a
// line-continuing backslash at the end of the text.
func scanString(src string, i int) (int, bool, bool) {
	q := src[i]
	j := i + 1
	for j < len(src) {
		switch src[j] {
		case '\\':
			if j+1 >= len(src) {
				return len(src), false, true
			}
			j += 2
			continue
		case q:
			return j + 1, true, false
		case '\n':
			return j, false, false // unterminated: a syntax error, not an open string
		}
		j++
	}
	return j, false, false
}

// regexAllowed tells whether a '/' after prev starts a regular expression.
func regexAllowed(prev byte, word string) bool {
	switch word {
	case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await":
		return true
	}
	if prev == 'a' || prev == ')' || prev == ']' || prev == '}' || prev == '\'' || prev == '"' || prev == '`' || prev == '/' {
		return false
	}
	return true
}

func skipRegex(src string, i int) int {
	j := i + 1
	class := false
	for j < len(src) && src[j] != '\n' {
		switch c := src[j]; {
		case c == '\\':
			j++
		case c == '[':
			class = true
		case c == ']':
			class = false
		case c == '/' && !class:
			j++
			for j < len(src) && isIdent(src[j]) {
				j++
			}
			return j
		}
		j++
	}
	return j
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
