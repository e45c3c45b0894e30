package worker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// ParseProperties reads a Java-style .properties file: key=value or
// key: value or key value, # and ! comments, backslash line continuations,
// and the usual escapes (\t \n \r \f \uXXXX, \ before any other character
// stands for that character).
func ParseProperties(r io.Reader) (connector.Config, error) {
	out := connector.Config{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	lineNo := 0
	var logical strings.Builder
	for sc.Scan() {
		lineNo++
		line := strings.TrimLeft(sc.Text(), " \t\f")
		if logical.Len() == 0 && (line == "" || line[0] == '#' || line[0] == '!') {
			continue
		}
		if trailingBackslashes(line)%2 == 1 {
			logical.WriteString(line[:len(line)-1])
			continue
		}
		logical.WriteString(line)
		k, v, err := splitProperty(logical.String())
		logical.Reset()
		if err != nil {
			return nil, fmt.Errorf("properties line %d: %w", lineNo, err)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading properties: %w", err)
	}
	if logical.Len() > 0 {
		k, v, err := splitProperty(logical.String())
		if err != nil {
			return nil, fmt.Errorf("properties line %d: %w", lineNo, err)
		}
		out[k] = v
	}
	return out, nil
}

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

// splitProperty splits a logical line at the first unescaped '=', ':' or
// whitespace, and unescapes both halves.
func splitProperty(line string) (string, string, error) {
	i := 0
	for i < len(line) {
		c := line[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	key := line[:min(i, len(line))]
	rest := ""
	if i < len(line) {
		rest = strings.TrimLeft(line[i:], " \t\f")
		if rest != "" && (rest[0] == '=' || rest[0] == ':') && (line[i] == ' ' || line[i] == '\t' || line[i] == '\f' || line[i] == rest[0]) {
			rest = strings.TrimLeft(rest[1:], " \t\f")
		}
	}
	k, err := unescapeProperty(key)
	if err != nil {
		return "", "", err
	}
	v, err := unescapeProperty(rest)
	if err != nil {
		return "", "", fmt.Errorf("value of %s: %w", k, err)
	}
	return k, v, nil
}

func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i == len(s)-1 {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\u escape in %q", s)
			}
			var r rune
			if _, err := fmt.Sscanf(s[i+1:i+5], "%04x", &r); err != nil {
				return "", fmt.Errorf("malformed \\u escape in %q", s)
			}
			b.WriteRune(r)
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// configRef matches Connect's config provider references: ${env:NAME} and
// ${file:/path/to/file:key} (key looked up in a properties file), plus
// ${file:/path/to/file} for a whole file's trimmed content.
var configRef = regexp.MustCompile(`\$\{(env|file):([^}]*)\}`)

// ResolveRefs returns cfg with every ${env:…} and ${file:…} reference
// replaced, so secrets can live in the environment or in files rather than
// in the config. A reference that cannot be resolved is an error naming
// the key (never the value).
func ResolveRefs(cfg connector.Config) (connector.Config, error) {
	out, errs := resolvePartial(cfg)
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// resolvePartial returns cfg with every value whose references all resolve
// resolved, the others left as written, and one problem (in key order) per
// key holding a reference that does not resolve.
func resolvePartial(cfg connector.Config) (connector.Config, connector.ConfigErrors) {
	out := make(connector.Config, len(cfg))
	var errs connector.ConfigErrors
	for k, v := range cfg {
		var problem string
		resolved := configRef.ReplaceAllStringFunc(v, func(ref string) string {
			m := configRef.FindStringSubmatch(ref)
			val, err := resolveRef(m[1], m[2])
			if err != nil && problem == "" {
				problem = err.Error()
			}
			return val
		})
		if problem != "" {
			errs = append(errs, &connector.ConfigError{Key: k, Problem: problem})
			out[k] = v
			continue
		}
		out[k] = resolved
	}
	sortProblems(errs)
	return out, errs
}

// withRefProblems returns every problem of a config at once: refs, the
// references that did not resolve, and those of err, found validating the
// config with those references left as written. A key whose reference did
// not resolve is reported once, for the reference. An err that is not
// ConfigErrors is returned as it is; nil if there is no problem.
func withRefProblems(refs connector.ConfigErrors, err error) error {
	var ces connector.ConfigErrors
	if err != nil && !errors.As(err, &ces) {
		return err
	}
	if len(refs) == 0 {
		return err
	}
	unresolved := make(map[string]bool, len(refs))
	for _, e := range refs {
		unresolved[e.Key] = true
	}
	all := append(connector.ConfigErrors{}, refs...)
	for _, e := range ces {
		if !unresolved[e.Key] {
			all = append(all, e)
		}
	}
	sortProblems(all)
	return all
}

// sortProblems orders problems by key, keeping the order of a key's own.
func sortProblems(errs connector.ConfigErrors) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Key < errs[j].Key })
}

func resolveRef(kind, arg string) (string, error) {
	switch kind {
	case "env":
		v, ok := os.LookupEnv(arg)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", arg)
		}
		return v, nil
	default: // file
		path, key := arg, ""
		if i := strings.LastIndex(arg, ":"); i > 0 {
			path, key = arg[:i], arg[i+1:]
		}
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", path, err)
		}
		defer f.Close()
		if key == "" {
			b, err := io.ReadAll(io.LimitReader(f, 1<<20))
			if err != nil {
				return "", fmt.Errorf("reading %s: %w", path, err)
			}
			return strings.TrimSpace(string(b)), nil
		}
		props, err := ParseProperties(f)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", path, err)
		}
		v, ok := props[key]
		if !ok {
			return "", fmt.Errorf("%s has no key %s", path, key)
		}
		return v, nil
	}
}
