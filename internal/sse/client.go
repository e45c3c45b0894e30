package sse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// ContentType is the media type of an event stream.
const ContentType = "text/event-stream"

// Stream is an open event stream returned by [Connect]. Next must not be
// called concurrently with itself; Close may be called from any goroutine
// at any time.
type Stream struct {
	resp   *http.Response
	body   io.ReadCloser // resp.Body, decompressed
	rd     *Reader
	cancel context.CancelFunc
	closed atomic.Bool
}

// Connect sends req with client (http.DefaultClient if nil) and returns the
// event stream of its response. It works on a copy of req bound to ctx and
// sets these headers on it:
//
//   - Accept: text/event-stream
//   - Cache-Control: no-cache
//   - Accept-Encoding: [AcceptEncoding], unless req already sets one (for
//     example "identity" to ask for no compression). Setting the header
//     explicitly also turns off Go's transparent gzip handling; the body is
//     decoded by [Decompress] instead.
//   - Last-Event-ID: lastEventID, when it is not empty.
//
// A response status that is not 2xx, or is 204 No Content, yields an
// [*HTTPError]; a media type other than text/event-stream yields a
// [*ContentTypeError]; an unknown Content-Encoding yields an
// [*UnsupportedEncodingError]. opts configure the [Reader]; lastEventID is
// applied first as [WithLastEventID], so events carry it until the server
// sends an id.
//
// Connect does not detect stalls and does not reconnect. Cancelling ctx or
// calling [Stream.Close] aborts a pending [Stream.Next], so a stall timer
// reset from [WithActivityFunc] can simply call Close.
func Connect(ctx context.Context, client *http.Client, req *http.Request, lastEventID string, opts ...Option) (*Stream, error) {
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithCancel(ctx)
	req = req.Clone(ctx)
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	req.Header.Set("Accept", ContentType)
	req.Header.Set("Cache-Control", "no-cache")
	if req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", AcceptEncoding)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}

	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("sse: connecting: %w", err)
	}
	fail := func(err error) (*Stream, error) {
		resp.Body.Close()
		cancel()
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 || resp.StatusCode == http.StatusNoContent {
		return fail(newHTTPError(resp))
	}
	if ct := resp.Header.Get("Content-Type"); !isEventStream(ct) {
		return fail(&ContentTypeError{ContentType: ct})
	}
	body, err := Decompress(resp.Body, contentEncoding(resp.Header))
	if err != nil {
		return fail(fmt.Errorf("sse: opening response body: %w", err))
	}
	return &Stream{
		resp:   resp,
		body:   body,
		rd:     NewReader(body, append([]Option{WithLastEventID(lastEventID)}, opts...)...),
		cancel: cancel,
	}, nil
}

// ConnectURL is [Connect] with a GET request for url.
func ConnectURL(ctx context.Context, client *http.Client, url, lastEventID string, opts ...Option) (*Stream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("sse: creating request: %w", err)
	}
	return Connect(ctx, client, req, lastEventID, opts...)
}

// Next returns the next event, as [Reader.Next] does: io.EOF when the server
// ended the stream, [ErrClosed] after Close, or another wrapped error.
func (s *Stream) Next() (Event, error) {
	if s.closed.Load() {
		return Event{}, ErrClosed
	}
	ev, err := s.rd.Next()
	if err != nil && s.closed.Load() {
		return Event{}, ErrClosed
	}
	return ev, err
}

// Close ends the stream: it cancels the request and closes the response
// body, which makes a Next blocked in another goroutine return [ErrClosed].
// It is safe to call more than once and concurrently with Next.
func (s *Stream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.cancel()
	if err := s.body.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("sse: closing stream: %w", err)
	}
	return nil
}

// LastEventID returns the last event ID to send when reconnecting; see
// [Reader.LastEventID]. It must not be called concurrently with Next.
func (s *Stream) LastEventID() string { return s.rd.LastEventID() }

// Retry returns the reconnection time requested by the server, if any; see
// [Reader.Retry]. It must not be called concurrently with Next.
func (s *Stream) Retry() (time.Duration, bool) { return s.rd.Retry() }

// Response returns the HTTP response, for its status and headers. Its Body
// belongs to the Stream and must not be read.
func (s *Stream) Response() *http.Response { return s.resp }

// isEventStream reports whether a Content-Type value has the media type
// text/event-stream, with any parameters.
func isEventStream(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return false
	}
	return mt == ContentType
}

// contentEncoding joins all Content-Encoding header lines into one list.
func contentEncoding(h http.Header) string {
	return strings.Join(h.Values("Content-Encoding"), ",")
}

// newHTTPError builds an HTTPError from resp, reading at most maxErrorBody
// bytes of its body, decompressed if the coding is known. Read errors just
// truncate the body: the status is what matters.
func newHTTPError(resp *http.Response) *HTTPError {
	var r io.Reader = resp.Body
	if d, err := Decompress(resp.Body, contentEncoding(resp.Header)); err == nil {
		r = d
	}
	body, _ := io.ReadAll(io.LimitReader(r, maxErrorBody))
	return &HTTPError{
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		Header:     resp.Header,
		Body:       body,
	}
}
