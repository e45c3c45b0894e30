package sse

import "math"

// Option configures a [Reader], and through [Connect] a [Stream].
type Option func(*config)

type config struct {
	maxEventSize int
	bufferSize   int
	dataChunk    int // see Reader.chunk; tests lower it
	lastEventID  string
	onComment    func(comment string)
	onActivity   func()
}

func newConfig(opts []Option) config {
	c := config{maxEventSize: DefaultMaxEventSize, bufferSize: DefaultBufferSize, dataChunk: keepDataCap}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	// Keep size arithmetic (limit+1, doubling) far from overflow.
	c.maxEventSize = min(c.maxEventSize, math.MaxInt32)
	return c
}

// WithMaxEventSize limits, in bytes, the length of any single line of the
// stream (excluding its line terminator) and the length of any event's Data.
// Exceeding either makes [Reader.Next] fail with [ErrEventTooLarge], so the
// Reader's memory use stays within a small multiple of this value. Values
// below 1 are ignored and values above math.MaxInt32 are clamped. The
// default is [DefaultMaxEventSize].
func WithMaxEventSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxEventSize = n
		}
	}
}

// WithBufferSize sets the size of the input buffer. A data line longer than
// the buffer is moved into the event's data piece by piece as it arrives;
// the buffer grows only for other long lines (comments, event, id, retry and
// unknown fields), up to the maximum event size, and shrinks back to this
// size once the long line has been consumed. Values below 16 are ignored.
// The default is [DefaultBufferSize].
func WithBufferSize(n int) Option {
	return func(c *config) {
		if n >= 16 {
			c.bufferSize = n
		}
	}
}

// WithLastEventID seeds the last event ID, so that events without an id
// field are reported with this ID until the server sends one. Use it when
// resuming a stream with a Last-Event-ID request header; [Connect] does so.
//
// The specification initializes the buffer to the empty string for every
// connection; browsers (and this option) keep the previous value instead, so
// that a reconnection is not forgotten just because the server omits ids.
func WithLastEventID(id string) Option {
	return func(c *config) { c.lastEventID = id }
}

// WithCommentFunc registers fn to be called, from inside [Reader.Next], for
// every comment line (a line starting with ':'). comment is the text after
// the colon, unmodified (the customary leading space is kept). Servers use
// comments as keep-alives; see also [WithActivityFunc].
func WithCommentFunc(fn func(comment string)) Option {
	return func(c *config) { c.onComment = fn }
}

// WithActivityFunc registers fn to be called, from inside [Reader.Next],
// every time a read from the underlying reader returns at least one byte:
// events, partial events, comments and blank lines all count. It is the
// intended hook for resetting a stall timer. fn must be cheap and must not
// call methods of the Reader.
func WithActivityFunc(fn func()) Option {
	return func(c *config) { c.onActivity = fn }
}
