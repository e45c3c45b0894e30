package saba

import (
	"errors"
	"fmt"
)

// Sentinel errors of the package; wrapped errors match them with errors.Is.
var (
	// ErrUnauthorized means the server refused the token (HTTP 401).
	ErrUnauthorized = errors.New("saba: unauthorized")
	// ErrLogin means POST /login did not return a token.
	ErrLogin = errors.New("saba: login failed")
	// ErrRefresh means /refreshToken did not return a token.
	ErrRefresh = errors.New("saba: token refresh failed")
	// ErrStalled means the stream sent no byte, not even a keep-alive, for
	// stream.silence.timeout.ms.
	ErrStalled = errors.New("saba: stream silent for too long")
	// ErrBadMessage means an SSE message's data is not the documented JSON.
	ErrBadMessage = errors.New("saba: malformed message")
)

// Saba status codes (the "status" of every message, and of error bodies).
const (
	StatusSuccess             = 0
	StatusInitialData         = 1
	StatusReset               = 3
	StatusInvalidEncoding     = 97
	StatusInvalidQuery        = 98
	StatusMaintenance         = 99
	StatusInternalServerError = 100
)

// StatusError is a Saba error status (97-100) from the server, with its
// message. 97 and 98 mean the connector's configuration is wrong; 99 and 100
// are transient.
type StatusError struct {
	Status     int    // Saba status code
	Message    string // the server's message
	HTTPStatus int    // HTTP status code, 0 if the status came inside a stream
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("saba status %d (HTTP %d): %s", e.Status, e.HTTPStatus, e.Message)
}

// Permanent reports whether retrying cannot help (97 invalid Accept-Encoding,
// 98 invalid OData query).
func (e *StatusError) Permanent() bool {
	return e.Status == StatusInvalidEncoding || e.Status == StatusInvalidQuery
}
