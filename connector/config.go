package connector

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is a flat string-to-string config, as Kafka Connect's connector
// configs are. Read it after Spec.Validate has applied defaults and checked
// types: the typed getters then never see a malformed value.
type Config map[string]string

// String returns the value of key.
func (c Config) String(key string) string { return c[key] }

// Int returns the value of key as an integer (0 if unset or malformed).
func (c Config) Int(key string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(c[key]), 10, 64)
	return n
}

// Bool returns the value of key as a boolean.
func (c Config) Bool(key string) bool {
	b, _ := strconv.ParseBool(strings.TrimSpace(c[key]))
	return b
}

// Millis returns the value of key, a number of milliseconds, as a duration.
func (c Config) Millis(key string) time.Duration {
	return time.Duration(c.Int(key)) * time.Millisecond
}

// List returns the value of key split on commas, each item trimmed, empty
// items dropped.
func (c Config) List(key string) []string {
	var out []string
	for _, s := range strings.Split(c[key], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Clone returns a copy of c.
func (c Config) Clone() Config {
	out := make(Config, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

// Type is the type of a config value.
type Type int

// Config value types, named as Kafka Connect names them.
const (
	TypeString   Type = iota // any string
	TypeInt                  // a base-10 integer
	TypeBool                 // true or false
	TypeList                 // comma-separated strings
	TypePassword             // a secret: never logged, redacted when shown
)

// String returns the Connect name of the type.
func (t Type) String() string {
	switch t {
	case TypeInt:
		return "INT"
	case TypeBool:
		return "BOOLEAN"
	case TypeList:
		return "LIST"
	case TypePassword:
		return "PASSWORD"
	}
	return "STRING"
}

// Redacted is what a secret's value is replaced with when a config is shown.
const Redacted = "[hidden]"

// ConfigKey describes one setting.
type ConfigKey struct {
	Name     string
	Type     Type
	Default  string // applied when the key is absent; ignored when Required
	Required bool
	Doc      string
	Allowed  []string // if set, the value must be one of these
	Min      *int64   // for TypeInt: the smallest allowed value
	// Check, if set, is called on a value given for the key (not on the
	// default) once its type is right; its error says what is expected.
	// See CheckTopicName, CheckTopicPrefix, CheckConnectorName, CheckURL.
	Check func(v string) error
}

// ConfigSpec is the set of settings a component understands.
type ConfigSpec []ConfigKey

// Min returns a pointer to n, for ConfigKey.Min.
func Min(n int64) *int64 { return &n }

// Merge returns the keys of s followed by those of others.
func (s ConfigSpec) Merge(others ...ConfigSpec) ConfigSpec {
	out := append(ConfigSpec(nil), s...)
	for _, o := range others {
		out = append(out, o...)
	}
	return out
}

// Key returns the key named name.
func (s ConfigSpec) Key(name string) (ConfigKey, bool) {
	for _, k := range s {
		if k.Name == name {
			return k, true
		}
	}
	return ConfigKey{}, false
}

// Validate checks cfg against the spec and returns a copy with defaults
// applied. Every problem is reported, each naming its key: unknown keys,
// missing required keys, values of the wrong type, outside the allowed set
// or refused by the key's Check.
func (s ConfigSpec) Validate(cfg Config) (Config, error) {
	out := cfg.Clone()
	var errs ConfigErrors
	known := make(map[string]bool, len(s))
	for _, k := range s {
		known[k.Name] = true
		v, present := cfg[k.Name]
		if !present || (k.Required && strings.TrimSpace(v) == "") {
			if k.Required {
				errs = append(errs, &ConfigError{Key: k.Name, Problem: "is required: " + k.Doc})
				continue
			}
			out[k.Name] = k.Default
			continue
		}
		if err := k.check(v); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range sortedKeys(cfg) {
		if !known[name] {
			errs = append(errs, &ConfigError{Key: name, Value: s.shown(name, cfg[name]), Problem: "unknown setting"})
		}
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Key < errs[j].Key })
		return nil, errs
	}
	return out, nil
}

// WithDefaults returns a copy of cfg with the default of every absent key
// that is not required: what Validate returns for a valid config, for
// reading settings of one whose problems lie elsewhere.
func (s ConfigSpec) WithDefaults(cfg Config) Config {
	out := cfg.Clone()
	for _, k := range s {
		if _, ok := out[k.Name]; !ok && !k.Required {
			out[k.Name] = k.Default
		}
	}
	return out
}

func (k ConfigKey) check(v string) *ConfigError {
	shown := v
	switch u, err := url.Parse(strings.TrimSpace(v)); {
	case k.Type == TypePassword:
		shown = Redacted
	case err == nil && u.User != nil:
		shown = u.Redacted() // a password in a URL is a secret too
	}
	bad := func(problem string) *ConfigError { return &ConfigError{Key: k.Name, Value: shown, Problem: problem} }
	switch k.Type {
	case TypeInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return bad("expected an integer")
		}
		if k.Min != nil && n < *k.Min {
			return bad(fmt.Sprintf("expected an integer >= %d", *k.Min))
		}
	case TypeBool:
		if _, err := strconv.ParseBool(strings.TrimSpace(v)); err != nil {
			return bad("expected true or false")
		}
	}
	if len(k.Allowed) > 0 {
		for _, a := range k.Allowed {
			if v == a {
				return nil
			}
		}
		return bad("expected one of " + AllowedList(k.Allowed))
	}
	if k.Check != nil {
		if err := k.Check(v); err != nil {
			return bad(err.Error())
		}
	}
	return nil
}

// AllowedList renders allowed values legibly: each quoted, the empty
// string named, e.g. `"" (empty), "fast", "normal"`.
func AllowedList(allowed []string) string {
	parts := make([]string, len(allowed))
	for i, a := range allowed {
		parts[i] = strconv.Quote(a)
		if a == "" {
			parts[i] += " (empty)"
		}
	}
	return strings.Join(parts, ", ")
}

// shown returns v, or Redacted if name is a secret (or unknown but looks like one).
func (s ConfigSpec) shown(name, v string) string {
	if k, ok := s.Key(name); ok {
		if k.Type == TypePassword {
			return Redacted
		}
		return v
	}
	if LooksSecret(name) {
		return Redacted
	}
	return v
}

// Redact returns a copy of cfg with every secret replaced by Redacted:
// the spec's password keys, and any key whose name looks like a secret.
func (s ConfigSpec) Redact(cfg Config) Config {
	out := make(Config, len(cfg))
	for k, v := range cfg {
		out[k] = s.shown(k, v)
	}
	return out
}

// LooksSecret reports whether a key name suggests a secret value (password,
// token, api key, secret, jaas config), so unknown keys are redacted too.
func LooksSecret(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"password", "secret", "token", "api.key", "api_key", "apikey", "jaas", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func sortedKeys(c Config) []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
