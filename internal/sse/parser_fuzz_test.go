package sse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// refParse is a deliberately naive, whole-input transcription of the
// specification's parsing rules, used as the oracle for FuzzReader.
func refParse(in []byte) parseResult {
	s := strings.TrimPrefix(string(in), "\uFEFF")
	var (
		res       = parseResult{Err: io.EOF}
		data      strings.Builder
		eventType string
		idBuf     string
		hasID     bool
		retry     time.Duration
		hasRetry  bool
	)
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return res // an unterminated last line is not a line
		}
		line := s[:i]
		if strings.HasPrefix(s[i:], "\r\n") {
			s = s[i+2:]
		} else {
			s = s[i+1:]
		}
		if line == "" {
			res.LastID = idBuf
			if data.Len() > 0 {
				e := testEvent{ID: idBuf, HasID: hasID, Type: "message", Data: strings.TrimSuffix(data.String(), "\n"), Retry: retry, HasRetry: hasRetry}
				if eventType != "" {
					e.Type = eventType
				}
				res.Events = append(res.Events, e)
			}
			data.Reset()
			eventType, hasID, retry, hasRetry = "", false, 0, false
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch name {
		case "event":
			eventType = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
		case "id":
			if !strings.Contains(value, "\x00") {
				idBuf, hasID = value, true
			}
		case "retry":
			if d, ok := parseRetry([]byte(value)); ok {
				retry, hasRetry = d, true
				res.Retry, res.HasRetry = d, true
			}
		}
	}
}

// fuzzChunks turns the fuzzer's split bytes into read sizes.
func fuzzChunks(data, splits []byte) io.Reader {
	var offs []int
	off := 0
	for _, b := range splits {
		off += int(b % 17)
		if off > len(data) {
			break
		}
		offs = append(offs, off)
	}
	return splitAt(data, offs...)
}

// errKind classifies a Next error so results of different runs compare.
func errKind(err error) string {
	switch {
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, ErrEventTooLarge):
		return "too large"
	default:
		return fmt.Sprint("unexpected: ", err)
	}
}

func FuzzReader(f *testing.F) {
	for _, tc := range parserTests {
		f.Add([]byte(tc.in), []byte{3, 1, 4, 1, 5, 9, 2, 6})
		f.Add([]byte(tc.in), []byte(nil))
	}
	f.Add([]byte("data: a\r"), []byte{8})
	f.Add([]byte("data: 0123456789012345678901234567890\n\n"), []byte{16, 16})
	f.Add([]byte("\xEF\xBB\xBFid: 1\r\nretry: 10\r\ndata: x\r\n\r\n"), []byte{1, 1, 1})
	// Data lines longer than the 16-byte buffer are read in pieces, also
	// across the data limit of 24 bytes and at a CR ending a read.
	f.Add([]byte("data: 0123456789abcdefghij\ndata:0123456789\r\n\r\n"), []byte{16, 16, 16})
	f.Add([]byte("data:0123456789abcdef\r\ndata:  0123456789abcdefghijklmnopqrstuvwxyz\r"), []byte{16, 5, 11, 16})
	f.Add([]byte("data:0123456789\ndata: 0123456789abcdefghijk\n\n"), []byte{10, 16, 16})

	const limit = 24
	f.Fuzz(func(t *testing.T, data, splits []byte) {
		want := refParse(data)
		runs := map[string]parseResult{
			"whole":   readAll(bytes.NewReader(data)),
			"onebyte": readAll(iotest.OneByteReader(bytes.NewReader(data)), WithBufferSize(64)),
			"chunked": readAll(fuzzChunks(data, splits), WithBufferSize(16)),
			"pieces":  readAll(fuzzChunks(data, splits), WithBufferSize(16), withDataChunk(3)),
		}
		for name, got := range runs {
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s read of %q:\n got %+v\nwant %+v", name, data, got, want)
			}
		}

		small := readAll(bytes.NewReader(data), WithMaxEventSize(limit))
		smallOne := readAll(fuzzChunks(data, splits), WithMaxEventSize(limit), WithBufferSize(16))
		if k1, k2 := errKind(small.Err), errKind(smallOne.Err); k1 != k2 || strings.HasPrefix(k1, "unexpected") {
			t.Fatalf("limited reads of %q ended with %q and %q", data, k1, k2)
		}
		smallPieces := readAll(fuzzChunks(data, splits), WithMaxEventSize(limit), WithBufferSize(16), withDataChunk(5))
		if k1, k3 := errKind(small.Err), errKind(smallPieces.Err); k1 != k3 {
			t.Fatalf("limited reads of %q ended with %q and %q (data in pieces)", data, k1, k3)
		}
		small.Err, smallOne.Err, smallPieces.Err = nil, nil, nil
		if !reflect.DeepEqual(small, smallOne) {
			t.Fatalf("limited reads of %q differ:\n%+v\n%+v", data, small, smallOne)
		}
		if !reflect.DeepEqual(small, smallPieces) {
			t.Fatalf("limited reads of %q differ (data in pieces):\n%+v\n%+v", data, small, smallPieces)
		}
		for _, e := range small.Events {
			if len(e.Data) > limit || len(e.ID) > limit || len(e.Type) > limit {
				t.Fatalf("event exceeds limit %d: %+v", limit, e)
			}
		}
		if errKind(small.Err) == "EOF" && !reflect.DeepEqual(small.Events, want.Events) {
			t.Fatalf("limit changed events without an error for %q", data)
		}
	})
}

// loopReader serves data over and over, at most 16 KiB per read.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	p = p[:min(len(p), 16<<10)]
	n := 0
	for n < len(p) {
		m := copy(p[n:], l.data[l.off:])
		n += m
		l.off = (l.off + m) % len(l.data)
	}
	return n, nil
}

// benchPayload is a ~600-byte JSON object resembling an odds update.
func benchPayload() string {
	var sb strings.Builder
	sb.WriteString(`{"type":"MarketUpdate","eventId":48213377,"sportType":1,"marketId":902311045,"betType":3,"status":"Running","selections":[`)
	for i := 0; sb.Len() < 560; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"key":"h%d","price":1.%03d,"line":%d.5}`, i, 850+i*7, i)
	}
	sb.WriteString(`],"ts":1767225600123}`)
	return sb.String()
}

func BenchmarkReader(b *testing.B) {
	payload := benchPayload()
	for _, eol := range []string{"\r\n", "\n"} {
		name := map[string]string{"\r\n": "CRLF", "\n": "LF"}[eol]
		b.Run(name, func(b *testing.B) {
			var stream bytes.Buffer
			for i := range 256 {
				fmt.Fprintf(&stream, "id: 1767225600123-%06d%sdata: %s%s%s", i, eol, payload, eol, eol)
				if i%16 == 0 {
					stream.WriteString(":keep-alive" + eol + eol)
				}
			}
			p := NewReader(&loopReader{data: stream.Bytes()})
			b.SetBytes(int64(stream.Len() / 256))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				e, err := p.Next()
				if err != nil || len(e.Data) != len(payload) {
					b.Fatalf("Next = %d bytes, %v", len(e.Data), err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
