package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// ParseConnectorJSON reads a connector config in the shape of Kafka
// Connect's POST /connectors body: {"name": "...", "config": {...}}. A bare
// config object (with "name" inside) is accepted too. Values must be
// strings; numbers and booleans are taken as their JSON text.
func ParseConnectorJSON(b []byte) (connector.Config, error) {
	var body struct {
		Name   string                     `json:"name"`
		Config map[string]json.RawMessage `json:"config"`
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&body); err != nil {
		return nil, fmt.Errorf("connector config is not a JSON object: %w", err)
	}
	raw := body.Config
	if raw == nil {
		// A bare config object.
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("connector config is not a JSON object: %w", err)
		}
	}
	out := connector.Config{}
	var errs connector.ConfigErrors
	for k, v := range raw {
		s, err := jsonScalar(v)
		if err != nil {
			errs = append(errs, &connector.ConfigError{Key: k, Problem: err.Error()})
			continue
		}
		out[k] = s
	}
	if body.Name != "" {
		if n, ok := out[connector.KeyName]; ok && n != body.Name {
			errs = append(errs, &connector.ConfigError{Key: connector.KeyName, Value: n, Problem: fmt.Sprintf("differs from the top-level name %q", body.Name)})
		}
		out[connector.KeyName] = body.Name
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// CheckConnectorConfig resolves a raw connector config's references and
// validates it against the common settings and its plugin, returning the
// resolved config with defaults applied. Every problem is reported at
// once, as ConfigErrors: a reference that does not resolve beside the
// config's other problems.
func CheckConnectorConfig(plugins *connector.Plugins, raw connector.Config) (connector.Config, connector.Plugin, error) {
	resolved, refErrs := resolvePartial(raw)
	full, p, err := connector.ValidateConnector(plugins, resolved)
	if err := withRefProblems(refErrs, err); err != nil {
		return nil, p, err
	}
	return full, p, nil
}

func jsonScalar(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err == nil {
		return n.String(), nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return strconv.FormatBool(b), nil
	}
	return "", fmt.Errorf("expected a string value, got %s", bytes.TrimSpace(v))
}
