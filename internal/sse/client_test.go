package sse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// eventStream writes the SSE response headers.
func eventStream(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
}

func TestConnectHeaders(t *testing.T) {
	tests := []struct {
		name        string
		lastEventID string
		setHeader   http.Header // set on the caller's request
		want        map[string]string
	}{
		{"defaults", "", nil, map[string]string{
			"Accept": "text/event-stream", "Cache-Control": "no-cache", "Accept-Encoding": AcceptEncoding, "Last-Event-Id": ""}},
		{"resume", "1767225600-42", http.Header{"Authorization": {"Bearer t"}}, map[string]string{
			"Last-Event-Id": "1767225600-42", "Authorization": "Bearer t", "Accept": "text/event-stream"}},
		{"caller encoding kept", "", http.Header{"Accept-Encoding": {"identity"}, "Accept": {"*/*"}}, map[string]string{
			"Accept-Encoding": "identity", "Accept": "text/event-stream"}},
	}
	for _, tc := range tests {
		var got http.Header
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Clone()
			eventStream(w)
			io.WriteString(w, "retry: 5000\n\ndata: a\n\nid: 7\ndata: b\n\n")
		}))
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		for k, v := range tc.setHeader {
			req.Header[k] = v
		}
		before := req.Header.Clone()
		s, err := Connect(context.Background(), srv.Client(), req, tc.lastEventID)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for k, v := range tc.want {
			if got.Get(k) != v {
				t.Errorf("%s: header %s = %q, want %q", tc.name, k, got.Get(k), v)
			}
		}
		if len(req.Header) != len(before) || req.Header.Get("Accept") != before.Get("Accept") {
			t.Errorf("%s: caller's request was modified: %v", tc.name, req.Header)
		}
		if id := s.LastEventID(); id != tc.lastEventID {
			t.Errorf("%s: initial LastEventID = %q", tc.name, id)
		}
		a, _ := s.Next()
		b, _ := s.Next()
		if _, err := s.Next(); err != io.EOF {
			t.Errorf("%s: end = %v", tc.name, err)
		}
		if string(a.Data) != "a" || a.ID != tc.lastEventID || b.ID != "7" || s.LastEventID() != "7" {
			t.Errorf("%s: events %+v %+v, last %q", tc.name, a, b, s.LastEventID())
		}
		if d, ok := s.Retry(); d != 5*time.Second || !ok {
			t.Errorf("%s: Retry = %v, %v", tc.name, d, ok)
		}
		if s.Response().StatusCode != http.StatusOK {
			t.Errorf("%s: response %v", tc.name, s.Response().Status)
		}
		s.Close()
		srv.Close()
	}
}

func TestConnectRejects(t *testing.T) {
	long := strings.Repeat("x", 10000)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		check   func(error) bool
	}{
		{"503 with body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		}, func(err error) bool {
			var he *HTTPError
			return errors.As(err, &he) && he.StatusCode == 503 && string(he.Body) == "maintenance\n" &&
				he.Header.Get("Retry-After") == "30" && strings.Contains(err.Error(), "503 Service Unavailable")
		}},
		{"404 long body truncated", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, long, http.StatusNotFound)
		}, func(err error) bool {
			var he *HTTPError
			return errors.As(err, &he) && he.StatusCode == 404 && string(he.Body) == long[:4096]
		}},
		{"gzip error body decoded", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write(compress(t, "gzip", []byte("slow down")))
		}, func(err error) bool {
			var he *HTTPError
			return errors.As(err, &he) && he.StatusCode == 429 && string(he.Body) == "slow down"
		}},
		{"204 means stop", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, func(err error) bool {
			var he *HTTPError
			return errors.As(err, &he) && he.StatusCode == 204
		}},
		{"wrong content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, "{}")
		}, func(err error) bool {
			var ce *ContentTypeError
			return errors.As(err, &ce) && ce.ContentType == "application/json"
		}},
		{"no content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil // no sniffing
			io.WriteString(w, "data: x\n\n")
		}, func(err error) bool {
			var ce *ContentTypeError
			return errors.As(err, &ce) && ce.ContentType == ""
		}},
		{"unknown encoding", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "zstd")
			eventStream(w)
		}, func(err error) bool {
			var ue *UnsupportedEncodingError
			return errors.As(err, &ue) && ue.Encoding == "zstd"
		}},
	}
	for _, tc := range tests {
		srv := httptest.NewServer(tc.handler)
		s, err := ConnectURL(context.Background(), srv.Client(), srv.URL, "")
		if s != nil || !tc.check(err) {
			t.Errorf("%s: got stream %v, err %v", tc.name, s != nil, err)
		}
		srv.Close()
	}

	if _, err := ConnectURL(context.Background(), nil, "http://127.0.0.1:1/", ""); err == nil ||
		!strings.HasPrefix(err.Error(), "sse: connecting") {
		t.Errorf("unreachable server: err = %v", err)
	}
	if _, err := ConnectURL(context.Background(), nil, "::bad", ""); err == nil {
		t.Error("bad URL accepted")
	}
}

func TestConnectContentTypeParameters(t *testing.T) {
	for _, ct := range []string{"text/event-stream; charset=utf-8", "Text/Event-Stream", "text/event-stream;charset"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			io.WriteString(w, "data: x\n\n")
		}))
		s, err := ConnectURL(context.Background(), srv.Client(), srv.URL, "")
		if err != nil {
			t.Errorf("%q: %v", ct, err)
		} else {
			s.Close()
		}
		srv.Close()
	}
}

// TestConnectCompressedIncremental checks that a compressed stream is
// delivered event by event: the server sends the second event only after
// the client has received the first.
func TestConnectCompressedIncremental(t *testing.T) {
	for _, coding := range []string{"gzip", "br", "deflate"} {
		gotFirst := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", coding)
			eventStream(w)
			enc := newEncoder(t, coding, w)
			io.WriteString(enc, "id: 1\r\ndata: {\"n\":1}\r\n\r\n")
			enc.Flush()
			w.(http.Flusher).Flush()
			select {
			case <-gotFirst:
			case <-time.After(10 * time.Second):
				return
			}
			io.WriteString(enc, "id: 2\r\ndata: {\"n\":2}\r\n\r\n")
			enc.Close()
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := ConnectURL(ctx, srv.Client(), srv.URL, "")
		if err != nil {
			t.Fatalf("%s: %v", coding, err)
		}
		e, err := s.Next()
		if err != nil || e.ID != "1" {
			t.Fatalf("%s: first event %+v, %v (not delivered before the second was sent?)", coding, e, err)
		}
		close(gotFirst)
		if e, err = s.Next(); err != nil || string(e.Data) != `{"n":2}` {
			t.Fatalf("%s: second event %+v, %v", coding, e, err)
		}
		if _, err = s.Next(); err != io.EOF {
			t.Fatalf("%s: end = %v", coding, err)
		}
		s.Close()
		cancel()
		srv.Close()
	}
}

// hangingServer sends one event, then keep-alive comments every interval
// until stopped, then nothing until the client goes away.
func hangingServer(interval time.Duration, keepAlives int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eventStream(w)
		io.WriteString(w, "data: hello\n\n")
		w.(http.Flusher).Flush()
		for range keepAlives {
			select {
			case <-time.After(interval):
				io.WriteString(w, ": ping\n")
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
		<-r.Context().Done()
	}))
}

func TestStreamCloseUnblocksNext(t *testing.T) {
	srv := hangingServer(0, 0)
	defer srv.Close()
	s, err := ConnectURL(context.Background(), srv.Client(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { s.Close() })
	done := make(chan error, 1)
	go func() { _, err := s.Next(); done <- err }()
	select {
	case err := <-done:
		if err != ErrClosed {
			t.Fatalf("Next after Close = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Next")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := s.Next(); err != ErrClosed {
		t.Fatalf("Next = %v, want ErrClosed", err)
	}
}

func TestStreamContextCancel(t *testing.T) {
	srv := hangingServer(0, 0)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := ConnectURL(ctx, srv.Client(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Next()
	time.AfterFunc(50*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { _, err := s.Next(); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Next after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the context did not unblock Next")
	}
}

// TestStreamStallDetection shows the intended stall detector: a timer reset
// by every read closes the stream once the server goes silent, but not
// while keep-alive comments keep arriving.
func TestStreamStallDetection(t *testing.T) {
	const keepAlives, interval, silence = 5, 20 * time.Millisecond, 300 * time.Millisecond
	srv := hangingServer(interval, keepAlives)
	defer srv.Close()
	var comments atomic.Int32
	var stall *time.Timer
	var s *Stream
	s, err := ConnectURL(context.Background(), srv.Client(), srv.URL, "",
		WithActivityFunc(func() { stall.Reset(silence) }),
		WithCommentFunc(func(string) { comments.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	stall = time.AfterFunc(silence, func() { s.Close() })
	defer stall.Stop()
	start := time.Now()
	if _, err := s.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); err != ErrClosed {
		t.Fatalf("Next = %v, want ErrClosed from the stall timer", err)
	}
	if got := comments.Load(); got != keepAlives {
		t.Errorf("saw %d keep-alive comments, want %d", got, keepAlives)
	}
	if elapsed := time.Since(start); elapsed < keepAlives*interval {
		t.Errorf("stream closed after %v, before the keep-alives ended", elapsed)
	}
}

func TestErrorMessages(t *testing.T) {
	e := &HTTPError{StatusCode: 502, Body: bytes.Repeat([]byte("y"), 1000)}
	msg := e.Error()
	if !strings.Contains(msg, "502 Bad Gateway") || len(msg) > 400 {
		t.Errorf("message = %q", msg)
	}
	for err, want := range map[error]string{
		&HTTPError{StatusCode: 500, Status: "500 Oops"}: "sse: unexpected HTTP status 500 Oops",
		&ContentTypeError{ContentType: "text/html"}:     `sse: response Content-Type is "text/html", want text/event-stream`,
		&ContentTypeError{}:                             "sse: response has no Content-Type, want text/event-stream",
		&UnsupportedEncodingError{Encoding: "zstd"}:     `sse: unsupported Content-Encoding "zstd"`,
	} {
		if got := err.Error(); got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
	}
}
