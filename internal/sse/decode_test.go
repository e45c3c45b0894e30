package sse

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/andybalholm/brotli"
)

// flushWriter is a compressing writer that can emit what it has so far.
type flushWriter interface {
	io.WriteCloser
	Flush() error
}

// newEncoder returns a compressor for coding; "deflate-raw" is DEFLATE
// without the zlib wrapper, as some servers send for "deflate".
func newEncoder(t testing.TB, coding string, w io.Writer) flushWriter {
	t.Helper()
	switch coding {
	case "gzip":
		return gzip.NewWriter(w)
	case "deflate":
		return zlib.NewWriter(w)
	case "deflate-raw":
		fw, err := flate.NewWriter(w, flate.DefaultCompression)
		if err != nil {
			t.Fatal(err)
		}
		return fw
	case "br":
		return brotli.NewWriter(w)
	}
	t.Fatalf("no encoder for %q", coding)
	return nil
}

// compress encodes data with the comma-separated codings, applied in order.
func compress(t testing.TB, codings string, data []byte) []byte {
	t.Helper()
	for c := range strings.SplitSeq(codings, ",") {
		c = strings.TrimSpace(c)
		if c == "" || c == "identity" {
			continue
		}
		var buf bytes.Buffer
		w := newEncoder(t, c, &buf)
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		data = buf.Bytes()
	}
	return data
}

// trackingBody records whether Close was called.
type trackingBody struct {
	io.Reader
	closed bool
}

func (b *trackingBody) Close() error { b.closed = true; return nil }

func TestDecompress(t *testing.T) {
	payload := []byte(strings.Repeat("id: 1\r\ndata: {\"odds\":1.95}\r\n\r\n", 200))
	tests := []struct {
		name, header, encodeWith string
	}{
		{"none", "", ""},
		{"identity", "identity", ""},
		{"gzip", "gzip", "gzip"},
		{"x-gzip", "x-gzip", "gzip"},
		{"case and spaces", " GZip ", "gzip"},
		{"deflate zlib", "deflate", "deflate"},
		{"deflate raw", "deflate", "deflate-raw"},
		{"br", "br", "br"},
		{"gzip then br", "gzip, br", "gzip, br"},
		{"identity in list", "identity, deflate", "deflate"},
	}
	for _, tc := range tests {
		wire := compress(t, tc.encodeWith, payload)
		for _, one := range []bool{false, true} {
			var src io.Reader = bytes.NewReader(wire)
			if one {
				src = iotest.OneByteReader(src)
			}
			body := &trackingBody{Reader: src}
			rc, err := Decompress(body, tc.header)
			if err != nil {
				t.Fatalf("%s: Decompress: %v", tc.name, err)
			}
			got, err := io.ReadAll(rc)
			if err != nil || !bytes.Equal(got, payload) {
				t.Errorf("%s (one byte reads: %v): got %d bytes, %v", tc.name, one, len(got), err)
			}
			if err := rc.Close(); err != nil || !body.closed {
				t.Errorf("%s: Close = %v, body closed %v", tc.name, err, body.closed)
			}
		}
	}
}

func TestDecompressUnsupported(t *testing.T) {
	for _, header := range []string{"compress", "zstd", "gzip, zstd", "br;q=1"} {
		body := &trackingBody{Reader: strings.NewReader("")}
		_, err := Decompress(body, header)
		var ue *UnsupportedEncodingError
		if !errors.As(err, &ue) || ue.Encoding == "" {
			t.Errorf("%q: err = %v, want *UnsupportedEncodingError", header, err)
		}
		if body.closed {
			t.Errorf("%q: body closed on error", header)
		}
	}
}

func TestDecompressErrors(t *testing.T) {
	payload := []byte("data: hello\n\n")
	truncated := func(coding string) []byte {
		b := compress(t, coding, payload)
		return b[:len(b)-4]
	}
	tests := []struct {
		name, header string
		wire         []byte
		want         error // nil: any decoding error
	}{
		{"gzip garbage", "gzip", []byte("not gzip at all"), gzip.ErrHeader},
		{"gzip truncated", "gzip", truncated("gzip"), io.ErrUnexpectedEOF},
		{"deflate truncated", "deflate", truncated("deflate"), io.ErrUnexpectedEOF},
		{"deflate one byte", "deflate", []byte{0x78}, io.ErrUnexpectedEOF},
		{"br garbage", "br", []byte("\xff\xff\xff\xff not brotli"), nil},
	}
	for _, tc := range tests {
		rc, err := Decompress(io.NopCloser(bytes.NewReader(tc.wire)), tc.header)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, err = io.ReadAll(rc)
		if err == nil || !strings.Contains(err.Error(), "sse: decoding "+tc.header) ||
			(tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err = %v, want decoding error wrapping %v", tc.name, err, tc.want)
		}
		if _, err2 := rc.Read(make([]byte, 8)); err2 == nil {
			t.Errorf("%s: Read after error succeeded", tc.name)
		}
	}

	// Errors of the body itself are not blamed on the decoder.
	boom := errors.New("connection reset")
	wire := compress(t, "gzip", payload)
	rc, _ := Decompress(io.NopCloser(&errAfterReader{data: wire[:20], err: boom}), "gzip")
	if _, err := io.ReadAll(rc); err != boom {
		t.Errorf("body error = %v, want it unchanged", err)
	}

	// An empty body is a clean end of stream for gzip and deflate.
	for _, coding := range []string{"gzip", "deflate"} {
		rc, _ := Decompress(io.NopCloser(strings.NewReader("")), coding)
		if n, err := rc.Read(make([]byte, 8)); n != 0 || err != io.EOF {
			t.Errorf("%s empty body: %d, %v", coding, n, err)
		}
	}
}

// TestDecompressStreaming checks that flushed data is decoded before the
// rest of the body exists: the writer only sends the second chunk after the
// reader has received the first.
func TestDecompressStreaming(t *testing.T) {
	for _, coding := range []string{"gzip", "deflate", "deflate-raw", "br"} {
		header := strings.TrimSuffix(coding, "-raw")
		pr, pw := io.Pipe()
		gotFirst := make(chan struct{})
		go func() {
			w := newEncoder(t, coding, pw)
			w.Write([]byte("data: first\n\n"))
			w.Flush()
			select {
			case <-gotFirst:
			case <-time.After(10 * time.Second):
			}
			w.Write([]byte("data: second\n\n"))
			w.Close()
			pw.Close()
		}()
		rc, err := Decompress(pr, header)
		if err != nil {
			t.Fatal(err)
		}
		p := NewReader(rc)
		first := make(chan Event, 1)
		go func() {
			e, _ := p.Next()
			first <- e
		}()
		select {
		case e := <-first:
			if string(e.Data) != "first" {
				t.Fatalf("%s: first event %q", coding, e.Data)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: first event not decoded before the rest of the body", coding)
		}
		close(gotFirst)
		if e, err := p.Next(); err != nil || string(e.Data) != "second" {
			t.Fatalf("%s: second event %q, %v", coding, e.Data, err)
		}
		if _, err := p.Next(); err != io.EOF {
			t.Fatalf("%s: end = %v", coding, err)
		}
	}
}

// TestDecompressBrotliEnd covers the end of a brotli stream: its last
// bytes split into separate reads must not turn into an error (a spurious
// "excessive input" from the brotli package), at any split point.
func TestDecompressBrotliEnd(t *testing.T) {
	data := []byte("1171001070id: 1\r\ndatab0d: 10") // found by FuzzDecompress
	wire := compress(t, "br", data)
	for i := 1; i < len(wire); i++ {
		for j := i + 1; j < len(wire); j++ {
			rc, _ := Decompress(io.NopCloser(splitAt(wire, i, j)), "br")
			if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("split at %d,%d: %q, %v", i, j, got, err)
			}
		}
	}
	// Bytes after the end of the stream are ignored.
	rc, _ := Decompress(io.NopCloser(bytes.NewReader(append(wire, "trailing"...))), "br")
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("trailing bytes: %q, %v", got, err)
	}
}

func TestIsZlibHeader(t *testing.T) {
	for _, level := range []int{zlib.NoCompression, zlib.BestSpeed, zlib.DefaultCompression, zlib.BestCompression} {
		var buf bytes.Buffer
		w, _ := zlib.NewWriterLevel(&buf, level)
		w.Write([]byte("x"))
		w.Close()
		if b := buf.Bytes(); !isZlibHeader(b[0], b[1]) {
			t.Errorf("level %d: zlib header %x not recognised", level, b[:2])
		}
	}
	for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.HuffmanOnly} {
		b := compress(t, "deflate-raw", []byte("data: x\n\n"))
		if level != flate.DefaultCompression {
			var buf bytes.Buffer
			w, _ := flate.NewWriter(&buf, level)
			w.Write([]byte("data: x\n\n"))
			w.Close()
			b = buf.Bytes()
		}
		if isZlibHeader(b[0], b[1]) {
			t.Errorf("level %d: raw deflate %x taken for zlib", level, b[:2])
		}
	}
}

func FuzzDecompress(f *testing.F) {
	for _, s := range []string{"", "data: x\n\n", strings.Repeat("id: 1\r\ndata: {}\r\n\r\n", 20)} {
		f.Add([]byte(s), uint8(0))
		for i, c := range []string{"gzip", "deflate", "deflate-raw", "br"} {
			f.Add(compress(f, c, []byte(s)), uint8(i))
		}
	}
	codings := []string{"gzip", "deflate", "deflate-raw", "br"}
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		coding := codings[int(pick)%len(codings)]
		header := strings.TrimSuffix(coding, "-raw")
		// Arbitrary input must not panic; cap output against bombs.
		if rc, err := Decompress(io.NopCloser(bytes.NewReader(data)), header); err == nil {
			io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
		}
		// Any data must survive a round trip, also in one-byte reads.
		rc, err := Decompress(io.NopCloser(iotest.OneByteReader(bytes.NewReader(compress(t, coding, data)))), header)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s round trip: %d bytes, %v", coding, len(got), err)
		}
	})
}
