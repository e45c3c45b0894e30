package rest

import (
	"fmt"
	"net"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// Worker settings of the REST API, beside Connect's own "listeners" (which
// the worker spec already holds). They live in the worker properties file.
const (
	// KeyAuthToken is an optional bearer token: when set, every request but
	// GET /healthz and GET /readyz must carry "Authorization: Bearer <token>".
	KeyAuthToken = "rest.auth.token"
)

// Spec returns the REST API's worker settings. The worker config is split
// by it: these keys are validated here, the rest by connector.WorkerSpec.
func Spec() connector.ConfigSpec {
	return connector.ConfigSpec{
		{Name: KeyAuthToken, Type: connector.TypePassword, Default: "", Doc: "bearer token every REST request must carry (Authorization: Bearer ...); empty = no authentication (the API then should stay bound to 127.0.0.1)"},
	}
}

// IsRESTKey reports whether a worker setting belongs to the REST API's spec.
func IsRESTKey(name string) bool {
	_, ok := Spec().Key(name)
	return ok
}

// ParseListener turns Connect's "listeners" value (http://host:port; one
// listener) into a host:port to listen on. An empty value disables the API.
func ParseListener(listeners string) (string, error) {
	listeners = strings.TrimSpace(listeners)
	if listeners == "" {
		return "", nil
	}
	if strings.Contains(listeners, ",") {
		return "", &connector.ConfigError{Key: connector.WKeyListeners, Value: listeners, Problem: "expected one listener (http://host:port); several are not supported"}
	}
	u, err := url.Parse(listeners)
	if err != nil || u.Host == "" {
		return "", &connector.ConfigError{Key: connector.WKeyListeners, Value: listeners, Problem: "expected http://host:port, e.g. http://127.0.0.1:8083"}
	}
	if u.Scheme != "http" {
		return "", &connector.ConfigError{Key: connector.WKeyListeners, Value: listeners, Problem: fmt.Sprintf("scheme %q is not supported: expected http://host:port (put a TLS proxy in front for https)", u.Scheme)}
	}
	if u.Path != "" && u.Path != "/" {
		return "", &connector.ConfigError{Key: connector.WKeyListeners, Value: listeners, Problem: "expected http://host:port without a path"}
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || port == "" {
		return "", &connector.ConfigError{Key: connector.WKeyListeners, Value: listeners, Problem: "expected http://host:port with a port, e.g. http://127.0.0.1:8083"}
	}
	return net.JoinHostPort(host, port), nil
}

// SplitWorkerConfig separates the REST API's settings from the rest of a
// raw worker config, so each half is validated by its own spec.
func SplitWorkerConfig(raw connector.Config) (worker, restCfg connector.Config) {
	worker, restCfg = connector.Config{}, connector.Config{}
	for k, v := range raw {
		if IsRESTKey(k) {
			restCfg[k] = v
		} else {
			worker[k] = v
		}
	}
	return worker, restCfg
}

// Settings are the parsed REST settings of a worker.
type Settings struct {
	Addr      string // host:port to listen on; empty = no REST API
	AuthToken string // bearer token; empty = none
	// Explicit is true when the worker config sets listeners: failing to
	// bind it is then fatal; the default listener is best effort.
	Explicit bool
}

// ParseSettings resolves ${env:…}/${file:…} references in the REST half of
// a worker config, validates it, and parses the worker's listeners value.
func ParseSettings(restCfg connector.Config, listeners string) (Settings, error) {
	resolved, err := connector.ResolveRefs(restCfg)
	if err != nil {
		return Settings{}, err
	}
	cfg, err := Spec().Validate(resolved)
	var errs connector.ConfigErrors
	if err != nil {
		ce, ok := err.(connector.ConfigErrors)
		if !ok {
			return Settings{}, err
		}
		errs = append(errs, ce...)
	}
	addr, lerr := ParseListener(listeners)
	if lerr != nil {
		errs = append(errs, lerr.(*connector.ConfigError))
	}
	if len(errs) > 0 {
		return Settings{}, errs
	}
	return Settings{Addr: addr, AuthToken: cfg.String(KeyAuthToken)}, nil
}

// BuildInfo returns the binary's module version and VCS revision, for GET /.
func BuildInfo() (version, commit string) {
	version, commit = "dev", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, commit
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		version = v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			commit = s.Value
		}
	}
	return version, commit
}
