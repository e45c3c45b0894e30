package sse

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrEventTooLarge is returned, wrapped, by [Reader.Next] when a single line
// of the event stream or the data of a single event exceeds the limit set
// with [WithMaxEventSize]. The limit bounds the memory a Reader uses, so the
// error is permanent: the Reader returns it from every later call and the
// connection should be dropped. Test for it with errors.Is.
var ErrEventTooLarge = errors.New("sse: event too large")

// ErrClosed is returned by [Stream.Next] once [Stream.Close] has been called,
// including by a Next call that was blocked when Close was called.
var ErrClosed = errors.New("sse: stream closed")

// maxErrorBody is how much of a non-2xx response body HTTPError keeps.
const maxErrorBody = 4 << 10

// HTTPError is returned by [Connect] when the server answers with a status
// other than 2xx, or with 204 No Content (which the Server-Sent Events
// specification uses to tell clients to stop reconnecting). Body holds the
// first 4 KiB of the (decompressed, when possible) response body; Header can
// be inspected for Retry-After.
type HTTPError struct {
	// StatusCode is the HTTP status code, e.g. 503.
	StatusCode int
	// Status is the status line text, e.g. "503 Service Unavailable".
	Status string
	// Header is the response header.
	Header http.Header
	// Body is at most the first 4 KiB of the response body.
	Body []byte
}

// Error implements error. It includes at most 256 bytes of the body.
func (e *HTTPError) Error() string {
	status := e.Status
	if status == "" {
		status = fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if len(e.Body) == 0 {
		return "sse: unexpected HTTP status " + status
	}
	body := e.Body
	if len(body) > 256 {
		body = body[:256]
	}
	return fmt.Sprintf("sse: unexpected HTTP status %s: %q", status, body)
}

// ContentTypeError is returned by [Connect] when a successful response does
// not have the media type text/event-stream (parameters such as charset are
// allowed and ignored).
type ContentTypeError struct {
	// ContentType is the Content-Type header value received, possibly empty.
	ContentType string
}

// Error implements error.
func (e *ContentTypeError) Error() string {
	if e.ContentType == "" {
		return "sse: response has no Content-Type, want text/event-stream"
	}
	return fmt.Sprintf("sse: response Content-Type is %q, want text/event-stream", e.ContentType)
}

// UnsupportedEncodingError is returned by [Decompress] (and therefore by
// [Connect]) when the Content-Encoding names a coding this package cannot
// decode. Supported codings are br, gzip (alias x-gzip), deflate and identity.
type UnsupportedEncodingError struct {
	// Encoding is the unsupported content coding, lower-cased.
	Encoding string
}

// Error implements error.
func (e *UnsupportedEncodingError) Error() string {
	return fmt.Sprintf("sse: unsupported Content-Encoding %q", e.Encoding)
}
