package repl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/peterh/liner"
)

// Liner reads lines on a terminal with line editing, history (Up/Down,
// Ctrl-R) and Tab completion.
type Liner struct {
	st      *liner.State
	history string
}

// NewLiner takes the terminal (the process's stdin and stdout) and loads
// the history from historyFile, if it exists. complete is called on the
// reading goroutine when Tab is pressed.
func NewLiner(historyFile string, complete func(line string, pos int) (string, []string, string)) (*Liner, error) {
	st := liner.NewLiner()
	st.SetCtrlCAborts(true)
	st.SetTabCompletionStyle(liner.TabPrints)
	st.SetWordCompleter(liner.WordCompleter(complete))
	l := &Liner{st: st, history: historyFile}
	if historyFile == "" {
		return l, nil
	}
	f, err := os.Open(historyFile)
	if errors.Is(err, os.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("reading history: %w", err)
	}
	defer f.Close()
	if _, err := st.ReadHistory(f); err != nil {
		st.Close()
		return nil, fmt.Errorf("reading history %s: %w", historyFile, err)
	}
	return l, nil
}

// ReadLine implements LineReader.
func (l *Liner) ReadLine(prompt string) (string, error) {
	line, err := l.st.Prompt(prompt)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", ErrInterrupted
	}
	return line, err
}

// AddHistory implements LineReader.
func (l *Liner) AddHistory(line string) { l.st.AppendHistory(line) }

// Close saves the history and restores the terminal.
func (l *Liner) Close() error {
	err := l.saveHistory()
	if cerr := l.st.Close(); err == nil {
		err = cerr
	}
	return err
}

func (l *Liner) saveHistory() error {
	if l.history == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(l.history), 0o755); err != nil {
		return fmt.Errorf("saving history: %w", err)
	}
	tmp := l.history + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("saving history: %w", err)
	}
	if _, err := l.st.WriteHistory(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("saving history: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving history: %w", err)
	}
	return os.Rename(tmp, l.history)
}

// Lines reads plain lines (a pipe, or a terminal without line editing),
// writing the prompt, if any, to w.
type Lines struct {
	r *bufio.Reader
	w io.Writer
}

// NewLines reads from r; prompts go to w (nil: none).
func NewLines(r io.Reader, w io.Writer) *Lines { return &Lines{r: bufio.NewReader(r), w: w} }

// ReadLine implements LineReader.
func (l *Lines) ReadLine(prompt string) (string, error) {
	if l.w != nil && prompt != "" {
		fmt.Fprint(l.w, prompt)
	}
	line, err := l.r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", err
	}
	line = line[:len(line)-len(trailingEOL(line))]
	return line, nil
}

func trailingEOL(s string) string {
	switch {
	case len(s) >= 2 && s[len(s)-2:] == "\r\n":
		return "\r\n"
	case len(s) >= 1 && s[len(s)-1] == '\n':
		return "\n"
	}
	return ""
}

// AddHistory implements LineReader; plain lines keep none.
func (l *Lines) AddHistory(string) {}

// Close implements LineReader.
func (l *Lines) Close() error { return nil }
