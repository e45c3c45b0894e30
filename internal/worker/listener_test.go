package worker

import (
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

func TestParseListener(t *testing.T) {
	cases := []struct {
		in, want, errPart string
	}{
		{"http://127.0.0.1:8083", "127.0.0.1:8083", ""},
		{"http://localhost:0", "localhost:0", ""},
		{"http://[::1]:8083/", "[::1]:8083", ""},
		{"", "", ""},
		{"https://0.0.0.0:8443", "", `scheme "https" is not supported`},
		{"http://127.0.0.1", "", "with a port"},
		{"http://a:1,http://b:2", "", "expected one listener"},
		{"127.0.0.1:8083", "", "expected http://host:port"},
		{"http://h:1/path", "", "without a path"},
	}
	for _, tc := range cases {
		got, err := parseListener(tc.in)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) || !strings.Contains(err.Error(), `"listeners"`) {
				t.Errorf("parseListener(%q) error %v, want one naming listeners and %q", tc.in, err, tc.errPart)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseListener(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestWorkerConfigOneWayIn: one parse gives the worker options and the REST
// settings, resolves references in both, and reports every problem once.
func TestWorkerConfigOneWayIn(t *testing.T) {
	t.Setenv("REST_TEST_TOKEN", "tok")
	base := connector.Config{"bootstrap.servers": "b:9092", "schema.registry.url": "http://r"}
	with := func(kv ...string) connector.Config {
		c := base.Clone()
		for i := 0; i < len(kv); i += 2 {
			c[kv[i]] = kv[i+1]
		}
		return c
	}
	ws, err := ParseWorkerConfig(with(WKeyRESTAuthToken, "${env:REST_TEST_TOKEN}", WKeyListeners, "http://127.0.0.1:0"))
	if err != nil || ws.REST.AuthToken != "tok" || ws.REST.Addr != "127.0.0.1:0" {
		t.Fatalf("settings %+v, %v", ws, err)
	}
	ws, err = ParseWorkerConfig(base)
	if err != nil || ws.REST.Addr != "127.0.0.1:8083" {
		t.Fatalf("default listener: %+v, %v", ws.REST, err)
	}
	if ws, err = ParseWorkerConfig(with(WKeyListeners, "")); err != nil || ws.REST.Addr != "" {
		t.Fatalf("empty listeners: %+v, %v", ws, err)
	}
	_, err = ParseWorkerConfig(with(WKeyRESTAuthToken, "${env:REST_TEST_UNSET}"))
	if err == nil || !strings.Contains(err.Error(), "REST_TEST_UNSET is not set") {
		t.Fatalf("unresolvable token: %v", err)
	}
	_, err = ParseWorkerConfig(with(WKeyListeners, "ftp://x:1", "security.protocol", "TLS", "nope", "1"))
	ces, ok := err.(connector.ConfigErrors)
	if !ok || len(ces) != 3 {
		t.Fatalf("three problems, each once: %v", err)
	}
	for i, key := range []string{WKeyListeners, "nope", WKeySecurityProtocol} {
		if ces[i].Key != key {
			t.Fatalf("problem %d names %q, want %q: %v", i, ces[i].Key, key, err)
		}
	}
}
