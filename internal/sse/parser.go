package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

const (
	// DefaultMaxEventSize is the default limit, in bytes, for one line of the
	// stream and for the data of one event. See [WithMaxEventSize].
	DefaultMaxEventSize = 16 << 20

	// DefaultBufferSize is the default initial size of a Reader's input
	// buffer. See [WithBufferSize].
	DefaultBufferSize = 32 << 10

	// DefaultEventType is the event type of events without an event field.
	DefaultEventType = "message"

	// keepDataCap is the capacity above which the data buffer is released
	// after an event instead of being reused, so that one large event does
	// not pin its memory for the life of the stream. It is also the size of
	// the pieces in which the data of a larger event is accumulated.
	keepDataCap = 1 << 20
)

// utf8BOM is stripped once from the start of the stream.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Event is one dispatched Server-Sent Event.
type Event struct {
	// ID is the stream's last event ID when the event was dispatched: the
	// value of the most recent valid id field, whether it appeared in this
	// event or an earlier one (or the value given to [WithLastEventID]).
	// An id field with an empty value resets it to "".
	ID string
	// HasID reports whether this event's own lines contained a valid id
	// field (one whose value has no U+0000 NULL), as opposed to ID being
	// inherited from an earlier event.
	HasID bool
	// Type is the value of the event field, or [DefaultEventType] ("message")
	// when the event had no event field or an empty one.
	Type string
	// Data is the concatenation of the event's data fields, joined by "\n".
	// It is a fresh slice owned by the caller. The bytes are passed through
	// as received: invalid UTF-8 is not replaced by U+FFFD.
	Data []byte
	// Retry is the reconnection time set by a valid retry field among the
	// event's lines, or 0 if there was none (see HasRetry).
	Retry time.Duration
	// HasRetry reports whether the event's lines contained a valid retry
	// field; it distinguishes "retry: 0" from no retry field.
	HasRetry bool
}

// Reader parses a text/event-stream. It is not safe for concurrent use.
type Reader struct {
	src        io.Reader
	max        int
	onComment  func(string)
	onActivity func()

	// Input buffer: unread bytes are buf[r:w]. size is its normal length,
	// to which it shrinks after growing for a long line.
	buf  []byte
	r, w int
	size int
	// buf[r:noEOL] is known to hold no '\r' or '\n', and buf[r:lfFree] no
	// '\n', so neither a long line arriving in small reads nor a stream of
	// bare CR line ends is scanned more than once.
	noEOL  int
	lfFree int
	// skipLF is set when a line ended with '\r' at the end of the buffered
	// input: a '\n' arriving next belongs to the same line terminator.
	skipLF bool
	// bomDone is set once the start of the stream was checked for a BOM.
	bomDone bool
	// rerr is the pending error of the underlying reader, reported once
	// the buffered lines are consumed.
	rerr error
	// err is the sticky error returned by Next.
	err error

	// A data line that does not fit in the input buffer is streamed: its
	// value is appended to the data buffer every time the buffer fills up,
	// instead of growing the input buffer to hold the whole line. inData is
	// set while the rest of such a line is awaited, partial counts the bytes
	// of the line already consumed (for the line length limit), and
	// dataOver records that the value overflowed the data limit: the error
	// is reported when the line ends, as if the line had been read whole.
	inData   bool
	dataOver bool
	partial  int

	// Parser state from the specification. The data buffer is
	// chunks + data, holding dataLen bytes: the data lines joined by '\n'.
	// The specification's final '\n' is implied by hasData (the buffer is
	// not empty) and never stored, so it costs neither a byte nor a grow.
	// data grows by doubling up to chunk bytes; beyond that, full pieces of
	// chunk bytes move to chunks, so that a large event is not copied on
	// every grow and the pieces are joined once, into Event.Data.
	data      []byte
	chunks    [][]byte
	chunk     int
	dataLen   int
	hasData   bool
	eventType []byte // event type buffer
	idBuf     string // last event ID buffer
	lastID    string // last event ID string
	hasID     bool   // current event block had a valid id field
	retry     time.Duration
	hasRetry  bool // current event block had a valid retry field
	reconnect time.Duration
	hasRecon  bool   // reconnect holds a server-set value
	lastType  string // previous non-default type, reused to avoid allocation
}

// NewReader returns a Reader parsing the event stream read from r. The
// Reader buffers its input; it reads from r only when it needs more bytes
// to complete a line, so an event is returned as soon as its terminating
// blank line has been read.
func NewReader(r io.Reader, opts ...Option) *Reader {
	c := newConfig(opts)
	size := c.bufferSize
	if c.maxEventSize < size-1 {
		size = max(c.maxEventSize+1, 16)
	}
	return &Reader{
		src:        r,
		max:        c.maxEventSize,
		onComment:  c.onComment,
		onActivity: c.onActivity,
		buf:        make([]byte, size),
		size:       size,
		chunk:      max(c.dataChunk, 1),
		idBuf:      c.lastEventID,
		lastID:     c.lastEventID,
	}
}

// Next returns the next dispatched event. It returns io.EOF (unwrapped) when
// the stream ends; an event that was not terminated by a blank line before
// the end is discarded, as the specification requires. Other errors wrap
// the underlying reader's error or [ErrEventTooLarge]. Errors are sticky:
// once Next has failed it keeps returning the same error.
func (p *Reader) Next() (Event, error) {
	if p.err != nil {
		return Event{}, p.err
	}
	for {
		line, err := p.readLine()
		if err != nil {
			p.err = err
			return Event{}, err
		}
		if p.inData {
			// line is the rest of a streamed data line.
			if err := p.endDataLine(line); err != nil {
				p.err = err
				return Event{}, err
			}
			continue
		}
		ev, ok, err := p.processLine(line)
		if err != nil {
			p.err = err
			return Event{}, err
		}
		if ok {
			return ev, nil
		}
	}
}

// LastEventID returns the stream's last event ID string: the id in force at
// the most recent blank line, whether or not that blank line dispatched an
// event. This is the value to send as Last-Event-ID when reconnecting. An id
// field in an event that was never completed does not count.
func (p *Reader) LastEventID() string { return p.lastID }

// Retry returns the reconnection time most recently set by a valid retry
// field, and whether the server set one at all. A retry field takes effect
// as soon as its line is read, even if its event is never dispatched. The
// specification's user-agent-defined default is left to the caller.
func (p *Reader) Retry() (time.Duration, bool) { return p.reconnect, p.hasRecon }

// readLine returns the next complete line without its terminator, or, if
// p.inData is set on return, what remains of a streamed data line. The slice
// aliases the input buffer and is valid until the next call.
func (p *Reader) readLine() ([]byte, error) {
	for {
		if !p.bomDone {
			avail := p.buf[p.r:p.w]
			if len(avail) < len(utf8BOM) && p.rerr == nil && bytes.HasPrefix(utf8BOM, avail) {
				p.fill()
				continue
			}
			if bytes.HasPrefix(avail, utf8BOM) {
				p.r += len(utf8BOM)
			}
			p.bomDone = true
		}
		if p.skipLF && p.r < p.w {
			if p.buf[p.r] == '\n' {
				p.r++
			}
			p.skipLF = false
		}
		if line, ok := p.scanLine(); ok {
			if p.partial+len(line) > p.max {
				return nil, p.tooLarge("line")
			}
			return line, nil
		}
		if p.partial+p.w-p.r > p.max {
			return nil, p.tooLarge("line")
		}
		if p.rerr != nil {
			if p.rerr == io.EOF {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("sse: reading event stream: %w", p.rerr)
		}
		if p.w-p.r == len(p.buf) {
			// An incomplete line fills the buffer: fill would grow it.
			p.streamData()
		}
		p.fill()
	}
}

// scanLine extracts a complete line from buf[r:w], if there is one.
func (p *Reader) scanLine() ([]byte, bool) {
	from := max(p.r, p.noEOL)
	lfFrom := max(from, p.lfFree)
	lf := -1
	end := p.w // CR is searched for before the first LF only
	if i := bytes.IndexByte(p.buf[lfFrom:p.w], '\n'); i >= 0 {
		lf = lfFrom + i
		end = lf
	} else {
		p.lfFree = p.w
	}
	if i := bytes.IndexByte(p.buf[from:end], '\r'); i >= 0 {
		cr := from + i
		line := p.buf[p.r:cr]
		switch {
		case cr+1 == p.w:
			p.r = cr + 1
			p.skipLF = true
		case p.buf[cr+1] == '\n':
			p.r = cr + 2
		default:
			p.r = cr + 1
		}
		return line, true
	}
	if lf < 0 {
		p.noEOL = p.w
		return nil, false
	}
	line := p.buf[p.r:lf]
	p.r = lf + 1
	return line, true
}

// streamData moves the incomplete line filling the input buffer into the
// data buffer if it is a data line, so that the input buffer need not grow
// to hold the whole line. Other lines are left in place.
func (p *Reader) streamData() {
	piece := p.buf[p.r:p.w]
	if !p.inData {
		// The buffer holds at least 16 bytes, enough to see the whole
		// field name and the optional space after the colon.
		if !bytes.HasPrefix(piece, dataField) {
			return
		}
		value := piece[len(dataField):]
		if value[0] == ' ' {
			value = value[1:]
		}
		p.inData = true
		p.dataOver = !p.addData(value, true)
	} else if !p.dataOver {
		p.dataOver = !p.addData(piece, false)
	}
	p.partial += len(piece)
	p.r = p.w
}

// endDataLine completes a streamed data line with its last piece.
func (p *Reader) endDataLine(rest []byte) error {
	over := p.dataOver
	p.inData, p.dataOver, p.partial = false, false, 0
	if over || !p.addData(rest, false) {
		return p.tooLarge("event data")
	}
	return nil
}

// shrink returns the input buffer to its normal size once it has grown for
// a long line and the unread input fits again.
func (p *Reader) shrink() {
	if len(p.buf) <= p.size || p.w-p.r >= p.size {
		return
	}
	nb := make([]byte, p.size)
	p.w = copy(nb, p.buf[p.r:p.w])
	p.noEOL, p.lfFree = max(p.noEOL-p.r, 0), max(p.lfFree-p.r, 0)
	p.r = 0
	p.buf = nb
}

// fill reads once from the source into the free end of the buffer, first
// making room by discarding consumed bytes, shrinking the buffer back to its
// normal size or growing it.
func (p *Reader) fill() {
	p.shrink()
	switch {
	case p.r == p.w:
		p.r, p.w, p.noEOL, p.lfFree = 0, 0, 0, 0
	case p.w == len(p.buf) && p.r > 0:
		n := copy(p.buf, p.buf[p.r:p.w])
		p.noEOL, p.lfFree = max(p.noEOL-p.r, 0), max(p.lfFree-p.r, 0)
		p.r, p.w = 0, n
	case p.w == len(p.buf):
		// The buffer holds one incomplete line of at most p.max bytes
		// (readLine checked), so growing up to p.max+1 always makes room.
		size := min(2*len(p.buf), p.max+1)
		if size <= len(p.buf) {
			size = len(p.buf) + 1
		}
		nb := make([]byte, size)
		p.w = copy(nb, p.buf[p.r:p.w])
		p.noEOL, p.lfFree = max(p.noEOL-p.r, 0), max(p.lfFree-p.r, 0)
		p.r = 0
		p.buf = nb
	}
	for range 100 {
		n, err := p.src.Read(p.buf[p.w:])
		if n < 0 || n > len(p.buf)-p.w {
			p.rerr = errors.New("invalid Read result")
			return
		}
		p.w += n
		if n > 0 && p.onActivity != nil {
			p.onActivity()
		}
		if err != nil {
			p.rerr = err
			return
		}
		if n > 0 {
			return
		}
	}
	p.rerr = io.ErrNoProgress
}

func (p *Reader) tooLarge(what string) error {
	return fmt.Errorf("sse: %s longer than %d bytes: %w", what, p.max, ErrEventTooLarge)
}

// processLine interprets one line. ok reports whether an event was dispatched.
func (p *Reader) processLine(line []byte) (ev Event, ok bool, err error) {
	if len(line) == 0 {
		ev, ok = p.dispatch()
		return ev, ok, nil
	}
	if line[0] == ':' {
		if p.onComment != nil {
			p.onComment(string(line[1:]))
		}
		return Event{}, false, nil
	}
	name, value := line, line[len(line):]
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if !p.addData(value, true) {
			return Event{}, false, p.tooLarge("event data")
		}
	case "event":
		p.eventType = append(p.eventType[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			if string(value) != p.idBuf {
				p.idBuf = string(value)
			}
			p.hasID = true
		}
	case "retry":
		if d, valid := parseRetry(value); valid {
			p.retry, p.hasRetry = d, true
			p.reconnect, p.hasRecon = d, true
		}
	}
	return Event{}, false, nil
}

// dispatch implements "dispatch the event" for a blank line.
func (p *Reader) dispatch() (Event, bool) {
	p.lastID = p.idBuf
	defer p.resetEvent()
	if !p.hasData {
		return Event{}, false
	}
	ev := Event{
		ID:       p.lastID,
		HasID:    p.hasID,
		Type:     DefaultEventType,
		Data:     p.takeData(),
		Retry:    p.retry,
		HasRetry: p.hasRetry,
	}
	if len(p.eventType) > 0 {
		if string(p.eventType) != p.lastType {
			p.lastType = string(p.eventType)
		}
		ev.Type = p.lastType
	}
	return ev, true
}

// resetEvent clears the per-event buffers after a blank line, and returns
// the input buffer to its normal size if a long line made it grow.
func (p *Reader) resetEvent() {
	if cap(p.data) > keepDataCap {
		p.data = nil
	} else {
		p.data = p.data[:0]
	}
	p.dataLen, p.hasData = 0, false
	p.shrink()
	p.eventType = p.eventType[:0]
	p.hasID, p.hasRetry, p.retry = false, false, 0
}

// parseRetry interprets a retry field value: base-ten milliseconds made only
// of ASCII digits. An empty value is not a number and is rejected; values
// too large for a time.Duration saturate at its maximum.
func parseRetry(v []byte) (time.Duration, bool) {
	if len(v) == 0 {
		return 0, false
	}
	const maxMillis = math.MaxInt64 / int64(time.Millisecond)
	var ms int64
	saturated := false
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		if !saturated {
			ms = ms*10 + int64(c-'0')
			saturated = ms > maxMillis
		}
	}
	if saturated {
		return time.Duration(math.MaxInt64), true
	}
	return time.Duration(ms) * time.Millisecond, true
}
