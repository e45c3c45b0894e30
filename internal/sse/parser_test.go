package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// testEvent is an Event with comparable, printable Data.
type testEvent struct {
	ID       string
	HasID    bool
	Type     string
	Data     string
	Retry    time.Duration
	HasRetry bool
}

func toTest(e Event) testEvent {
	return testEvent{e.ID, e.HasID, e.Type, string(e.Data), e.Retry, e.HasRetry}
}

// msg is a "message" event without id or retry.
func msg(data string) testEvent { return testEvent{Type: DefaultEventType, Data: data} }

// typed returns e with its Type set.
func (e testEvent) typed(t string) testEvent { e.Type = t; return e }

// id returns e with ID set; own says whether the event carried the id field.
func (e testEvent) id(id string, own bool) testEvent { e.ID, e.HasID = id, own; return e }

// retry returns e with a retry field.
func (e testEvent) retry(d time.Duration) testEvent { e.Retry, e.HasRetry = d, true; return e }

// chunkReader returns one chunk per Read call.
type chunkReader struct{ chunks [][]byte }

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.chunks) > 0 && len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks[0] = c.chunks[0][n:]
	return n, nil
}

// splitAt returns a reader yielding in split at the given offsets.
func splitAt(in []byte, offsets ...int) io.Reader {
	var chunks [][]byte
	prev := 0
	for _, o := range offsets {
		chunks = append(chunks, in[prev:o])
		prev = o
	}
	return &chunkReader{chunks: append(chunks, in[prev:])}
}

// splitAfterCR splits in right after every '\r', so every CR is the last
// byte of a read.
func splitAfterCR(in []byte) io.Reader {
	var offs []int
	for i, c := range in {
		if c == '\r' {
			offs = append(offs, i+1)
		}
	}
	return splitAt(in, offs...)
}

type parseResult struct {
	Events   []testEvent
	Err      error
	LastID   string
	Retry    time.Duration
	HasRetry bool
}

func readAll(r io.Reader, opts ...Option) parseResult {
	p := NewReader(r, opts...)
	var res parseResult
	for {
		e, err := p.Next()
		if err != nil {
			res.Err = err
			break
		}
		res.Events = append(res.Events, toTest(e))
	}
	res.LastID = p.LastEventID()
	res.Retry, res.HasRetry = p.Retry()
	return res
}

// readers returns the ways a test input is fed to the parser.
func readers(in []byte) map[string]func() io.Reader {
	m := map[string]func() io.Reader{
		"whole":   func() io.Reader { return bytes.NewReader(in) },
		"onebyte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(in)) },
		"dataerr": func() io.Reader { return iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(in))) },
		"crsplit": func() io.Reader { return splitAfterCR(in) },
	}
	if len(in) < 80 {
		for i := 1; i < len(in); i++ {
			m[fmt.Sprintf("split%d", i)] = func() io.Reader { return splitAt(in, i) }
		}
	}
	return m
}

var parserTests = []struct {
	name     string
	in       string
	want     []testEvent
	lastID   string
	retry    time.Duration // reconnection time expected from Reader.Retry
	hasRetry bool          // Reader.Retry must report a value even if retry is 0
}{
	// Examples from the WHATWG specification.
	{name: "spec/three messages", in: "data: This is the first message.\n\ndata: This is the second message, it\ndata: has two lines.\n\ndata: This is the third message.\n\n",
		want: []testEvent{msg("This is the first message."), msg("This is the second message, it\nhas two lines."), msg("This is the third message.")}},
	{name: "spec/event types", in: "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
		want: []testEvent{msg("73857293").typed("add"), msg("2153").typed("remove"), msg("113411").typed("add")}},
	{name: "spec/stock", in: "data: YHOO\ndata: +2\ndata: 10\n\n", want: []testEvent{msg("YHOO\n+2\n10")}},
	{name: "spec/test stream", in: ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
		want: []testEvent{msg("first event").id("1", true), msg("second event").id("", true), msg(" third event")}},
	{name: "spec/test stream unterminated", in: ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n",
		want: []testEvent{msg("first event").id("1", true), msg("second event").id("", true)}},
	{name: "spec/empty data", in: "data\n\ndata\ndata\n\ndata:", want: []testEvent{msg(""), msg("\n")}},
	{name: "spec/space after colon", in: "data:test\n\ndata: test\n\n", want: []testEvent{msg("test"), msg("test")}},

	// Line terminators.
	{name: "eol/LF", in: "data: a\ndata: b\n\n", want: []testEvent{msg("a\nb")}},
	{name: "eol/CRLF", in: "data: a\r\ndata: b\r\n\r\n", want: []testEvent{msg("a\nb")}},
	{name: "eol/CR", in: "data: a\rdata: b\r\r", want: []testEvent{msg("a\nb")}},
	{name: "eol/mixed", in: "data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r\n", want: []testEvent{msg("a\nb\nc"), msg("d")}},
	{name: "eol/LF CR is two line ends", in: "data: a\n\rdata: b\n\n", want: []testEvent{msg("a"), msg("b")}},
	{name: "eol/CR CR LF", in: "data: a\r\r\ndata: b\r\n\r\n", want: []testEvent{msg("a"), msg("b")}},
	{name: "eol/only blank lines", in: "\r\n\n\r\r\n", want: nil},
	{name: "eol/CR at end of stream", in: "data: a\r\r", want: []testEvent{msg("a")}},

	// Byte order mark.
	{name: "bom/stripped", in: "\xEF\xBB\xBFdata: a\n\n", want: []testEvent{msg("a")}},
	{name: "bom/only once", in: "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n", want: []testEvent{msg("b")}},
	{name: "bom/not in middle", in: "data: a\n\n\xEF\xBB\xBFdata: b\n\n", want: []testEvent{msg("a")}},
	{name: "bom/partial", in: "\xEF\xBBdata: a\n\ndata: b\n\n", want: []testEvent{msg("b")}},
	{name: "bom/alone", in: "\xEF\xBB\xBF", want: nil},

	// Field parsing.
	{name: "field/no space", in: "data:x\n\n", want: []testEvent{msg("x")}},
	{name: "field/one space", in: "data: x\n\n", want: []testEvent{msg("x")}},
	{name: "field/two spaces", in: "data:  x\n\n", want: []testEvent{msg(" x")}},
	{name: "field/tab kept", in: "data:\tx\n\n", want: []testEvent{msg("\tx")}},
	{name: "field/trailing space kept", in: "data: x \n\n", want: []testEvent{msg("x ")}},
	{name: "field/colon in value", in: "data: a:b\ndata::c\n\n", want: []testEvent{msg("a:b\n:c")}},
	{name: "field/no colon", in: "data\ndata\n\n", want: []testEvent{msg("\n")}},
	{name: "field/case sensitive", in: "Data: x\n\nDATA: y\n\n", want: nil},
	{name: "field/space before colon", in: "data : x\n\n", want: nil},
	{name: "field/unknown ignored", in: "foo: bar\ndata: x\nbaz\n\n", want: []testEvent{msg("x")}},
	{name: "field/NULL and bad UTF-8 in data kept", in: "data: a\x00b\xff\n\n", want: []testEvent{msg("a\x00b\xff")}},
	{name: "field/empty data lines", in: "data:\ndata:\n\n", want: []testEvent{msg("\n")}},

	// Comments.
	{name: "comment/alone", in: ": keep-alive\n\n:\n\n", want: nil},
	{name: "comment/inside event", in: "data: a\n: c\ndata: b\n\n", want: []testEvent{msg("a\nb")}},

	// Event type.
	{name: "event/reset after dispatch", in: "event: foo\ndata: x\n\ndata: y\n\n", want: []testEvent{msg("x").typed("foo"), msg("y")}},
	{name: "event/empty is message", in: "event:\ndata: x\n\n", want: []testEvent{msg("x")}},
	{name: "event/last wins", in: "event: a\nevent: b\ndata: x\n\n", want: []testEvent{msg("x").typed("b")}},
	{name: "event/reset by empty dispatch", in: "event: foo\n\ndata: x\n\n", want: []testEvent{msg("x")}},

	// Last event ID.
	{name: "id/persists", in: "id: 1\ndata: a\n\ndata: b\n\n", lastID: "1",
		want: []testEvent{msg("a").id("1", true), msg("b").id("1", false)}},
	{name: "id/without data", in: "id: 7\n\ndata: x\n\n", lastID: "7", want: []testEvent{msg("x").id("7", false)}},
	{name: "id/without data at end", in: "data: x\n\nid: 8\n\n", lastID: "8", want: []testEvent{msg("x")}},
	{name: "id/NULL ignored", in: "id: 1\n\nid: a\x00b\ndata: x\n\n", lastID: "1", want: []testEvent{msg("x").id("1", false)}},
	{name: "id/empty resets", in: "id: 1\ndata: a\n\nid:\ndata: b\n\n", want: []testEvent{msg("a").id("1", true), msg("b").id("", true)}},
	{name: "id/after data in block", in: "data: a\nid: 2\n\n", lastID: "2", want: []testEvent{msg("a").id("2", true)}},
	{name: "id/last wins", in: "id: 1\nid: 2\ndata: a\n\n", lastID: "2", want: []testEvent{msg("a").id("2", true)}},
	{name: "id/space kept", in: "id:  x\ndata: a\n\n", lastID: " x", want: []testEvent{msg("a").id(" x", true)}},
	{name: "id/incomplete event does not count", in: "id: 1\n\nid: 2\ndata: x", lastID: "1", want: nil},

	// Reconnection time.
	{name: "retry/with event", in: "retry: 1500\ndata: x\n\n", retry: 1500 * time.Millisecond,
		want: []testEvent{msg("x").retry(1500 * time.Millisecond)}},
	{name: "retry/zero", in: "retry: 0\ndata: x\n\n", hasRetry: true, want: []testEvent{msg("x").retry(0)}},
	{name: "retry/without event", in: "retry: 3000\n\ndata: x\n\n", retry: 3 * time.Second, want: []testEvent{msg("x")}},
	{name: "retry/in discarded event", in: "retry: 2000\ndata: x", retry: 2 * time.Second},
	{name: "retry/invalid ignored", in: "retry: 1000\n\nretry: 1a\nretry: -1\nretry:\nretry\nretry: +1\nretry:  10\nretry: 1.5\nretry: \u0661\ndata: x\n\n",
		retry: time.Second, want: []testEvent{msg("x")}},
	{name: "retry/leading zeros", in: "retry: 0042\ndata: x\n\n", retry: 42 * time.Millisecond, want: []testEvent{msg("x").retry(42 * time.Millisecond)}},
	{name: "retry/saturates", in: "retry: 99999999999999999999999\ndata: x\n\n", retry: math.MaxInt64,
		want: []testEvent{msg("x").retry(math.MaxInt64)}},

	// End of stream.
	{name: "eof/no blank line", in: "data: a\n", want: nil},
	{name: "eof/no line end", in: "data: a", want: nil},
	{name: "eof/after complete event", in: "data: a\n\ndata: b\n", want: []testEvent{msg("a")}},
	{name: "eof/empty", in: "", want: nil},
}

func TestReader(t *testing.T) {
	for _, tc := range parserTests {
		for mode, mk := range readers([]byte(tc.in)) {
			for _, bufSize := range []int{DefaultBufferSize, 16} {
				for _, chunk := range []int{keepDataCap, 2} {
					got := readAll(mk(), WithBufferSize(bufSize), withDataChunk(chunk))
					want := parseResult{Events: tc.want, Err: io.EOF, LastID: tc.lastID, Retry: tc.retry, HasRetry: tc.hasRetry || tc.retry != 0}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s [%s, buffer %d, data pieces of %d]:\n got %+v\nwant %+v", tc.name, mode, bufSize, chunk, got, want)
					}
				}
			}
		}
	}
}

func TestReaderCRAtReadBoundary(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []testEvent
	}{
		{"CR then LF is one line end", []string{"data: a\r", "\ndata: b\r", "\n\r", "\n"}, []testEvent{msg("a\nb")}},
		{"CR then CR is two line ends", []string{"data: a\r", "\r"}, []testEvent{msg("a")}},
		{"CR then data", []string{"data: a\r", "data: b\r\r"}, []testEvent{msg("a\nb")}},
		{"CR, empty read, LF", []string{"data: a\r", "", "\n\r\n"}, []testEvent{msg("a")}},
		{"blank CR then LF", []string{"data: a\r\r", "\ndata: b\r\n\r\n"}, []testEvent{msg("a"), msg("b")}},
	}
	for _, tc := range tests {
		var chunks [][]byte
		for _, c := range tc.chunks {
			chunks = append(chunks, []byte(c))
		}
		got := readAll(&chunkReader{chunks: chunks})
		if !reflect.DeepEqual(got.Events, tc.want) || got.Err != io.EOF {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestReaderCRDoesNotWait checks that a CR ending the blank line dispatches
// at once instead of waiting to see whether an LF follows.
func TestReaderCRDoesNotWait(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	p := NewReader(pr)
	go pw.Write([]byte("data: a\r\r"))
	done := make(chan Event, 1)
	go func() {
		e, err := p.Next()
		if err == nil {
			done <- e
		}
	}()
	select {
	case e := <-done:
		if string(e.Data) != "a" {
			t.Fatalf("got %q, want a", e.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event after trailing CR was not dispatched")
	}
}

func TestReaderTooLarge(t *testing.T) {
	tests := []struct {
		name string
		max  int
		in   string
		want []testEvent // events before the error
	}{
		{"data at limit", 11, "data:12345\ndata:12345\n\n", nil},
		{"data over limit", 10, "data: ok\n\ndata:12345\ndata:12345\n\n", []testEvent{msg("ok")}},
		{"line over limit", 10, "data: ok\n\ndata: 123456\n\n", []testEvent{msg("ok")}},
		{"comment over limit", 10, ": 0123456789\n\n", nil},
		{"unterminated line over limit", 10, "data: 0123456789", nil},
		{"CR line over limit", 10, "data: 0123456789\rdata: x\r\r", nil},
	}
	for _, tc := range tests {
		for mode, mk := range readers([]byte(tc.in)) {
			p := NewReader(mk(), WithMaxEventSize(tc.max), WithBufferSize(16))
			var got []testEvent
			var err error
			for {
				var e Event
				if e, err = p.Next(); err != nil {
					break
				}
				got = append(got, toTest(e))
			}
			if tc.name == "data at limit" {
				if err != io.EOF || len(got) != 1 || got[0].Data != "12345\n12345" {
					t.Errorf("%s [%s]: got %+v, %v", tc.name, mode, got, err)
				}
				continue
			}
			if !errors.Is(err, ErrEventTooLarge) || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s [%s]: got %+v, %v; want %+v, ErrEventTooLarge", tc.name, mode, got, err, tc.want)
			}
			if _, err2 := p.Next(); err2 != err {
				t.Errorf("%s [%s]: error not sticky: %v then %v", tc.name, mode, err, err2)
			}
			if len(p.buf) > max(tc.max+1, 16) {
				t.Errorf("%s [%s]: buffer grew to %d", tc.name, mode, len(p.buf))
			}
		}
	}
}

// TestReaderBoundedMemory feeds an endless line: the Reader must fail
// instead of buffering it.
func TestReaderBoundedMemory(t *testing.T) {
	endless := iotest.OneByteReader(io.MultiReader(strings.NewReader("data: "), repeatReader('x')))
	p := NewReader(endless, WithMaxEventSize(1<<16), WithBufferSize(64))
	if _, err := p.Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("got %v, want ErrEventTooLarge", err)
	}
	if len(p.buf) > 1<<16+1 {
		t.Fatalf("buffer grew to %d", len(p.buf))
	}
}

type repeatReader byte

func (b repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestReaderHooks(t *testing.T) {
	in := ": hello\r\ndata: a\n:\n\n: bye"
	var comments []string
	activity := 0
	p := NewReader(iotest.OneByteReader(strings.NewReader(in)),
		WithCommentFunc(func(c string) { comments = append(comments, c) }),
		WithActivityFunc(func() { activity++ }))
	e, err := p.Next()
	if err != nil || string(e.Data) != "a" {
		t.Fatalf("Next = %+v, %v", e, err)
	}
	if want := []string{" hello", ""}; !reflect.DeepEqual(comments, want) {
		t.Errorf("comments before event = %q, want %q", comments, want)
	}
	if _, err := p.Next(); err != io.EOF {
		t.Fatalf("Next = %v, want EOF", err)
	}
	// The unterminated final comment is not a line and is not reported.
	if len(comments) != 2 {
		t.Errorf("comments = %q", comments)
	}
	if activity != len(in) {
		t.Errorf("activity called %d times, want %d (one per one-byte read)", activity, len(in))
	}
}

func TestReaderOptions(t *testing.T) {
	p := NewReader(strings.NewReader("data: a\n\nid: 2\ndata: b\n\n"), WithLastEventID("1"), nil)
	if got := p.LastEventID(); got != "1" {
		t.Fatalf("initial LastEventID = %q", got)
	}
	first, _ := p.Next()
	second, _ := p.Next()
	if first.ID != "1" || first.HasID || second.ID != "2" || !second.HasID {
		t.Errorf("events = %+v, %+v", first, second)
	}
	// Data must not alias the Reader's buffers.
	if string(first.Data) != "a" || string(second.Data) != "b" {
		t.Errorf("data = %q, %q", first.Data, second.Data)
	}
}

// errAfterReader returns its data, then err with the last chunk.
type errAfterReader struct {
	data []byte
	err  error
}

func (r *errAfterReader) Read(p []byte) (int, error) {
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, r.err
	}
	return n, nil
}

func TestReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	p := NewReader(&errAfterReader{data: []byte("data: a\n\ndata: b\n\ndata: c\n"), err: boom})
	for _, want := range []string{"a", "b"} {
		if e, err := p.Next(); err != nil || string(e.Data) != want {
			t.Fatalf("Next = %+v, %v; want %q", e, err, want)
		}
	}
	_, err := p.Next()
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "sse: reading event stream") {
		t.Fatalf("err = %v, want wrapped boom", err)
	}
	if _, err2 := p.Next(); err2 != err {
		t.Fatalf("error not sticky: %v", err2)
	}

	p = NewReader(iotest.ErrReader(nil))
	if _, err := p.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("err = %v, want io.ErrNoProgress", err)
	}
}

// smallReads limits every Read of r to n bytes.
type smallReads struct {
	r io.Reader
	n int
}

func (s smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// TestReaderLongLineLinear guards against rescanning a long line on every
// read: 8 MiB arriving 64 bytes at a time would take minutes if quadratic.
func TestReaderLongLineLinear(t *testing.T) {
	const size = 8 << 20
	src := io.MultiReader(strings.NewReader("data: "), io.LimitReader(repeatReader('x'), size), strings.NewReader("\r\r"))
	start := time.Now()
	e, err := NewReader(smallReads{src, 64}).Next()
	if err != nil || len(e.Data) != size {
		t.Fatalf("Next = %d bytes, %v", len(e.Data), err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %v", d)
	}
}
