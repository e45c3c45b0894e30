package oauthclient

import (
	"errors"
	"fmt"
)

// ErrNoToken is returned when the endpoint answers 200 without an
// access_token.
var ErrNoToken = errors.New("token endpoint answered without an access_token")

// EndpointError is a token endpoint's refusal: an HTTP status other than
// 200, with the OAuth error code and description when the body has them
// (RFC 6749 §5.2).
type EndpointError struct {
	Status      int    // HTTP status code
	Code        string // "invalid_client", "invalid_scope", ... or empty
	Description string // error_description, or the start of the body
}

func (e *EndpointError) Error() string {
	msg := fmt.Sprintf("token endpoint answered HTTP %d", e.Status)
	if e.Code != "" {
		msg += ": " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}
