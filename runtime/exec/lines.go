package exec

import "bytes"

// DefaultLineMax is the longest piece LineWriter emits when Max is 0.
const DefaultLineMax = 64 << 10

// LineWriter splits a byte stream into lines and calls Emit for each complete
// line (without the '\n'), and for the final partial line on Close. Lines
// longer than Max (default DefaultLineMax) are emitted in Max-sized pieces so
// memory stays bounded. Bytes are never altered.
//
// partial is true when the piece did not end with '\n': a piece of a long
// line (more follows) or an unterminated last line. So the pieces of one line
// are zero or more partial pieces followed by one non-partial piece, except
// for an unterminated last line.
//
// Emit is called from the goroutine calling Write or Close. The slice it gets
// is only valid during the call: it may be reused after Emit returns.
// A LineWriter is not safe for concurrent use.
type LineWriter struct {
	Max  int
	Emit func(line []byte, partial bool)

	buf []byte // the start of the current line, at most Max bytes
}

// Write splits p into lines. It never fails.
func (w *LineWriter) Write(p []byte) (int, error) {
	n, limit := len(p), w.limit()
	for len(p) > 0 {
		if len(w.buf) == limit && p[0] != '\n' {
			w.emit(w.buf, true) // a full piece, and the line goes on
		}
		room := limit - len(w.buf)
		// A newline up to one byte past room still ends a piece of at most Max.
		if i := bytes.IndexByte(p[:min(room+1, len(p))], '\n'); i >= 0 {
			w.endLine(p[:i])
			p = p[i+1:]
			continue
		}
		take := min(room, len(p))
		w.buf = append(w.buf, p[:take]...)
		p = p[take:]
	}
	return n, nil
}

// Close emits the unterminated last line, if any, as partial.
func (w *LineWriter) Close() error {
	if len(w.buf) > 0 {
		w.emit(w.buf, true)
	}
	return nil
}

// endLine emits the buffered start of the line followed by rest.
func (w *LineWriter) endLine(rest []byte) {
	if len(w.buf) == 0 {
		w.emit(rest, false) // the common case: no copy
		return
	}
	w.buf = append(w.buf, rest...)
	w.emit(w.buf, false)
}

// emit calls Emit and empties the buffer.
func (w *LineWriter) emit(line []byte, partial bool) {
	if w.Emit != nil {
		w.Emit(line, partial)
	}
	w.buf = w.buf[:0]
}

func (w *LineWriter) limit() int {
	if w.Max > 0 {
		return w.Max
	}
	return DefaultLineMax
}
