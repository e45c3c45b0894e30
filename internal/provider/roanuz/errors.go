package roanuz

import (
	"errors"
	"fmt"
)

// Sentinel errors; wrapped errors match them with errors.Is.
var (
	// ErrUnauthorized means Roanuz refused the api key or the token (401),
	// also after one fresh authentication.
	ErrUnauthorized = errors.New("roanuz: unauthorized (invalid api key or token)")
	// ErrProjectInactive means the project is not active (402).
	ErrProjectInactive = errors.New("roanuz: project inactive (402)")
	// ErrForbidden means the project may not use this API (403).
	ErrForbidden = errors.New("roanuz: forbidden (403)")
	// ErrNotFound means the project, match or endpoint does not exist (404).
	ErrNotFound = errors.New("roanuz: not found (404)")
	// ErrAPI is any other error answer of the REST API.
	ErrAPI = errors.New("roanuz: API error")
	// ErrMalformed means a message is not what the documents describe.
	ErrMalformed = errors.New("roanuz: malformed message")
	// ErrTooLarge means a body, or its inflated form, is larger than allowed.
	ErrTooLarge = errors.New("roanuz: message too large")
	// ErrNotSubscribed means the Socket.IO server answered on_error for a match
	// the project is not subscribed to.
	ErrNotSubscribed = errors.New("roanuz: match not subscribed")
)

// APIError is an error answer of the Roanuz REST API:
// {"error":{...},"http_status_code":N}. It matches the sentinel of its status
// with errors.Is.
type APIError struct {
	Status int    // HTTP status
	Code   string // error.code, if any
	Msg    string // error.msg, if any
	Op     string // what was being done
}

// Error implements error.
func (e *APIError) Error() string {
	s := fmt.Sprintf("roanuz %s: HTTP %d", e.Op, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// Unwrap returns the sentinel of the status.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case 401:
		return ErrUnauthorized
	case 402:
		return ErrProjectInactive
	case 403:
		return ErrForbidden
	case 404:
		return ErrNotFound
	}
	return ErrAPI
}
