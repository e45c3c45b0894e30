package connector

import (
	"errors"
	"fmt"
)

// Sentinel errors. Wrapped errors returned by this package match them with
// errors.Is.
var (
	// ErrUnknownClass means a connector config names a connector.class that
	// no plugin provides.
	ErrUnknownClass = errors.New("unknown connector.class")
)

// ConfigError reports one invalid connector or worker setting. It names the
// key and says what was expected.
type ConfigError struct {
	Key     string // the setting, e.g. "tasks.max"
	Value   string // the value given; empty for a missing key; redacted for secrets
	Problem string // what is wrong and what is expected
}

// Error implements error.
func (e *ConfigError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("config %q: %s", e.Key, e.Problem)
	}
	return fmt.Sprintf("config %q = %q: %s", e.Key, e.Value, e.Problem)
}

// ConfigErrors is every problem found in one config, in key order.
type ConfigErrors []*ConfigError

// Error implements error, one problem per line.
func (es ConfigErrors) Error() string {
	s := ""
	for i, e := range es {
		if i > 0 {
			s += "\n"
		}
		s += e.Error()
	}
	return s
}

// permanentError marks an error that restarting the task cannot fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one a restart cannot fix (a configuration error the
// provider reported, say): the worker fails the task at once instead of
// restarting it with backoff.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent reports whether err, or an error it wraps, was marked Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
