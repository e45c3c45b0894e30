package worker

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// RESTSettings are the worker's REST API settings, parsed.
type RESTSettings struct {
	Addr      string // host:port to listen on; empty = no REST API
	AuthToken string // bearer token every request must carry; empty = none
}

// parseListener turns Connect's "listeners" value (http://host:port; one
// listener) into a host:port to listen on. An empty value disables the API.
func parseListener(listeners string) (string, *connector.ConfigError) {
	listeners = strings.TrimSpace(listeners)
	if listeners == "" {
		return "", nil
	}
	bad := func(problem string) (string, *connector.ConfigError) {
		return "", &connector.ConfigError{Key: WKeyListeners, Value: listeners, Problem: problem}
	}
	if strings.Contains(listeners, ",") {
		return bad("expected one listener (http://host:port); several are not supported")
	}
	u, err := url.Parse(listeners)
	if err != nil || u.Host == "" {
		return bad("expected http://host:port, e.g. http://127.0.0.1:8083")
	}
	if u.Scheme != "http" {
		return bad(fmt.Sprintf("scheme %q is not supported: expected http://host:port (put a TLS proxy in front for https)", u.Scheme))
	}
	if u.Path != "" && u.Path != "/" {
		return bad("expected http://host:port without a path")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || port == "" {
		return bad("expected http://host:port with a port, e.g. http://127.0.0.1:8083")
	}
	return net.JoinHostPort(host, port), nil
}
