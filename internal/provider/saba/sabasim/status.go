package sabasim

import "errors"

// Saba status codes: the "status" of every message, and of error bodies.
const (
	StatusSuccess             = 0
	StatusInitialData         = 1
	StatusReset               = 3
	StatusInvalidEncoding     = 97
	StatusInvalidQuery        = 98
	StatusMaintenance         = 99
	StatusInternalServerError = 100
)

var (
	// errFilter: an OData query the simulator cannot parse (status 98).
	errFilter = errors.New("invalid OData query")
	// errBadToken: a token the simulator refuses (HTTP 401).
	errBadToken = errors.New("invalid token")
)

// StatusMessage is the documented message of each status, as the
// simulator sends it in the "message" field.
func StatusMessage(status int) string {
	switch status {
	case StatusSuccess:
		return "Success"
	case StatusInitialData:
		return "InitialData"
	case StatusReset:
		return "Reset"
	case StatusInvalidEncoding:
		return "Invalid Accept-Encoding"
	case StatusInvalidQuery:
		return "Invalid OData query attributes"
	case StatusMaintenance:
		return "System under maintenance"
	case StatusInternalServerError:
		return "Internal Server Error"
	}
	return "Unknown"
}

// httpStatusOf is the HTTP status code the documents give each error status.
func httpStatusOf(status int) int {
	switch status {
	case StatusInvalidEncoding, StatusInvalidQuery:
		return 400
	case StatusMaintenance:
		return 503
	case StatusInternalServerError:
		return 500
	}
	return 200
}
