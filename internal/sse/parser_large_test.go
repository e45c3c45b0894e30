package sse

import (
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// withDataChunk sets the size of the pieces in which a Reader accumulates
// the data of a large event, so that small inputs exercise joining them.
func withDataChunk(n int) Option {
	return func(c *config) { c.dataChunk = n }
}

// allocDuring returns the bytes allocated on the heap while fn runs. The
// test must not run in parallel with others for the count to be its own.
func allocDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	runtime.GC()
	return after.TotalAlloc - before.TotalAlloc
}

// TestReaderLargeEventMemory reads one 24 MiB single-line event, like a
// provider's initial snapshot, and bounds what the Reader allocates for it:
// the line must not be accumulated in a doubling input buffer and then copied
// again into the data buffer and into Event.Data. Afterwards the Reader must
// hold no more than its default input buffer and a small data buffer.
func TestReaderLargeEventMemory(t *testing.T) {
	const size = 24 << 20
	for _, tc := range []struct {
		name  string
		chunk int // bytes per Read of the source; 0 for as many as asked
	}{
		{"whole reads", 0},
		{"4 KiB reads", 4 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var src io.Reader = io.MultiReader(strings.NewReader("data: "),
				io.LimitReader(repeatReader('x'), size), strings.NewReader("\n\ndata: next\n\n"))
			if tc.chunk > 0 {
				src = smallReads{src, tc.chunk}
			}
			p := NewReader(src, WithMaxEventSize(32<<20))
			var e Event
			var err error
			alloc := allocDuring(func() { e, err = p.Next() })
			if err != nil || len(e.Data) != size || e.Data[0] != 'x' || e.Data[size-1] != 'x' {
				t.Fatalf("Next = %d bytes, %v", len(e.Data), err)
			}
			t.Logf("allocated %.1f MiB (%.2fx the event) for a %d MiB event; input buffer %d bytes, data buffer cap %d",
				float64(alloc)/(1<<20), float64(alloc)/size, size>>20, len(p.buf), cap(p.data))
			if limit := uint64(size) * 5 / 2; alloc > limit {
				t.Errorf("allocated %d bytes while reading a %d-byte event, want at most %d", alloc, size, limit)
			}
			if len(p.buf) != DefaultBufferSize {
				t.Errorf("input buffer is %d bytes after the event, want %d", len(p.buf), DefaultBufferSize)
			}
			if cap(p.data) > keepDataCap {
				t.Errorf("data buffer keeps %d bytes after the event", cap(p.data))
			}
			if e, err := p.Next(); err != nil || string(e.Data) != "next" {
				t.Fatalf("next event = %q, %v", e.Data, err)
			}
		})
	}
}

// TestReaderBufferShrinks checks that a long line other than data, which
// has to be held whole in the input buffer, does not leave the buffer large
// for the rest of the stream.
func TestReaderBufferShrinks(t *testing.T) {
	const long = 1 << 20
	for _, tc := range []struct{ name, line string }{
		{"comment", ":" + strings.Repeat("c", long)},
		{"event type", "event: " + strings.Repeat("t", long)},
		{"unknown field", "x-pad: " + strings.Repeat("p", long)},
	} {
		for _, chunk := range []int{1 << 30, 4 << 10} {
			var comment string
			in := tc.line + "\ndata: a\n\n" + strings.Repeat("data: b\n\n", 10)
			p := NewReader(smallReads{strings.NewReader(in), chunk}, WithCommentFunc(func(c string) { comment = c }))
			e, err := p.Next()
			if err != nil || string(e.Data) != "a" {
				t.Fatalf("%s: Next = %q, %v", tc.name, e.Data, err)
			}
			if tc.name == "comment" && len(comment) != long {
				t.Errorf("%s: comment of %d bytes, want %d", tc.name, len(comment), long)
			}
			if tc.name == "event type" && len(e.Type) != long {
				t.Errorf("%s: type of %d bytes", tc.name, len(e.Type))
			}
			if len(p.buf) != DefaultBufferSize {
				t.Errorf("%s [reads of %d]: input buffer is %d bytes after the event, want %d", tc.name, chunk, len(p.buf), DefaultBufferSize)
			}
			for range 10 {
				if e, err := p.Next(); err != nil || string(e.Data) != "b" {
					t.Fatalf("%s: Next = %q, %v", tc.name, e.Data, err)
				}
			}
		}
	}
}

// TestReaderLongDataLines checks data lines longer than the input buffer,
// which are moved into the data buffer in pieces, against the reference
// parser, for every way of feeding the input, buffer and piece size.
func TestReaderLongDataLines(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	inputs := []string{
		"data: " + x(100) + "\n\n",
		"data:" + x(40) + "\r\ndata:  " + x(50) + "\rdata\r\r",
		"\xEF\xBB\xBFdata: " + x(70) + "\nid: 5\n\ndata: y\n\n",
		"data:" + x(10) + "\ndata:" + x(11) + "\ndata:" + x(12) + "\n\n",
		"data: " + x(10) + "\ndata: " + x(11) + "\ndata: " + x(12) + "\r\n\r\n",
		"data: " + x(30) + "\r\n\r\ndata: " + x(30) + "\r",
		"data:" + x(11) + " \n\n",
		"data: " + x(40) + "\ndata: " + x(40),
		"datax: " + x(40) + "\ndata" + x(40) + "\n:data: " + x(40) + "\ndata: z\n\n",
		"event: " + x(40) + "\ndata:" + x(40) + "\nretry: 00000000000000000000001\n\n",
		"data: " + x(40) + "\nid: 1\n\ndata: " + x(40) + "\nid: 2",
	}
	for _, in := range inputs {
		want := refParse([]byte(in))
		for mode, mk := range readers([]byte(in)) {
			for _, bufSize := range []int{16, 17, 21, 64} {
				for _, chunk := range []int{1, 3, 16, keepDataCap} {
					got := readAll(mk(), WithBufferSize(bufSize), withDataChunk(chunk))
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%q [%s, buffer %d, pieces of %d]:\n got %+v\nwant %+v", in, mode, bufSize, chunk, got, want)
					}
				}
			}
		}
	}
}

// TestReaderLongDataLineLimits checks that the limits apply to a data line
// read in pieces exactly as to a line read whole: the line limit as soon as
// the line is too long, the data limit only once the line is complete (an
// unterminated last line is discarded at the end of the stream).
func TestReaderLongDataLineLimits(t *testing.T) {
	const limit = 20
	tests := []struct {
		name   string
		in     string
		want   []testEvent
		tooBig bool
	}{
		{"data over limit", "data: ok\n\ndata: 0123456789\ndata: 0123456789abc\n\n", []testEvent{msg("ok")}, true},
		{"data over limit, unterminated", "data: ok\n\ndata: 0123456789\ndata: 0123456789abc", []testEvent{msg("ok")}, false},
		{"data at limit", "data: 0123456789\ndata: 012345678\n\n", []testEvent{msg("0123456789\n012345678")}, false},
		{"line over limit", "data: ok\n\ndata: 0123456789abcde\n\n", []testEvent{msg("ok")}, true},
		{"line over limit, unterminated", "data: 0123456789abcde", nil, true},
		{"line at limit", "data:0123456789abcde\r\r", []testEvent{msg("0123456789abcde")}, false},
	}
	for _, tc := range tests {
		for mode, mk := range readers([]byte(tc.in)) {
			for _, chunk := range []int{1, 4, keepDataCap} {
				got := readAll(mk(), WithMaxEventSize(limit), WithBufferSize(16), withDataChunk(chunk))
				if !reflect.DeepEqual(got.Events, tc.want) || errors.Is(got.Err, ErrEventTooLarge) != tc.tooBig ||
					!tc.tooBig && got.Err != io.EOF {
					t.Errorf("%s [%s, pieces of %d]: got %+v, %v", tc.name, mode, chunk, got.Events, got.Err)
				}
			}
		}
	}
}
