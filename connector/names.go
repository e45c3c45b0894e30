package connector

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// MaxTopicLength is the longest topic name Kafka accepts.
const MaxTopicLength = 249

// CheckTopicName reports what makes name an illegal Kafka topic name, or
// nil: Kafka allows 1 to 249 of the characters a-z A-Z 0-9 . _ -, and
// neither "." nor "..".
func CheckTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("expected a topic name, not an empty one")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a legal topic name", name)
	case len(name) > MaxTopicLength:
		return fmt.Errorf("a topic name is at most %d characters, this one has %d", MaxTopicLength, len(name))
	}
	if c, ok := illegalTopicChar(name); ok {
		return fmt.Errorf("%q is not allowed in a topic name: expected only a-z A-Z 0-9 . _ -", string(c))
	}
	return nil
}

// CheckTopicPrefix reports what makes prefix unusable as the first part of
// topic names (prefix + "." + name), or nil. Empty is allowed: the names
// are then used as they are.
func CheckTopicPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if prefix == "." || prefix == ".." {
		return fmt.Errorf("%q is not a usable topic prefix", prefix)
	}
	if c, ok := illegalTopicChar(prefix); ok {
		return fmt.Errorf("%q is not allowed in a topic name: expected only a-z A-Z 0-9 . _ -", string(c))
	}
	if max := MaxTopicLength - 2; len(prefix) > max {
		return fmt.Errorf("a topic prefix is at most %d characters (topics are prefix.name, at most %d), this one has %d", max, MaxTopicLength, len(prefix))
	}
	return nil
}

// illegalTopicChar returns the first character Kafka does not allow in a
// topic name.
func illegalTopicChar(s string) (rune, bool) {
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return c, true
		}
	}
	return 0, false
}

// CheckConnectorName reports what makes name unusable as a connector name,
// or nil: it must not be empty or blank, and must hold no '/' (it is a URL
// path segment of the REST API) and no control character (it is part of
// every task's transactional.id and of the offsets topic's keys).
func CheckConnectorName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("expected a connector name, not an empty one")
	}
	for _, c := range name {
		if c == '/' {
			return errors.New("a connector name may not contain '/'")
		}
		if unicode.IsControl(c) {
			return fmt.Errorf("a connector name may not contain a control character (%U)", c)
		}
	}
	return nil
}

// CheckURL returns a check (for ConfigKey.Check) accepting an absolute URL
// with a host and one of schemes, e.g. CheckURL("ws", "wss").
func CheckURL(schemes ...string) func(string) error {
	want := make([]string, len(schemes))
	for i, s := range schemes {
		want[i] = s + "://"
	}
	expected := "expected a " + strings.Join(want, " or ") + " URL"
	return func(v string) error {
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%s: %v", expected, errors.Unwrap(err))
		}
		if u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("%s with a host", expected)
		}
		for _, s := range schemes {
			if u.Scheme == s {
				return nil
			}
		}
		return fmt.Errorf("%s, not %s://", expected, u.Scheme)
	}
}

// OrEmpty returns a check accepting the empty value (a default derived from
// other settings) and otherwise what check accepts.
func OrEmpty(check func(string) error) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		return check(v)
	}
}
