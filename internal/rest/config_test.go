package rest

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
		got, err := ParseListener(tc.in)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) || !strings.Contains(err.Error(), `"listeners"`) {
				t.Errorf("ParseListener(%q) error %v, want one naming listeners and %q", tc.in, err, tc.errPart)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseListener(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSettings(t *testing.T) {
	t.Setenv("REST_TEST_TOKEN", "tok")
	worker, restCfg := SplitWorkerConfig(connector.Config{"bootstrap.servers": "b:9092", KeyAuthToken: "${env:REST_TEST_TOKEN}"})
	if _, ok := worker[KeyAuthToken]; ok || len(restCfg) != 1 || worker["bootstrap.servers"] != "b:9092" {
		t.Fatalf("split: worker %v rest %v", worker, restCfg)
	}
	s, err := ParseSettings(restCfg, "http://127.0.0.1:0")
	if err != nil || s.AuthToken != "tok" || s.Addr != "127.0.0.1:0" {
		t.Fatalf("settings %+v, %v", s, err)
	}
	_, err = ParseSettings(connector.Config{KeyAuthToken: "${env:REST_TEST_UNSET}"}, "ftp://x:1")
	if err == nil || !strings.Contains(err.Error(), "REST_TEST_UNSET is not set") {
		t.Fatalf("unresolvable token: %v", err)
	}
	if !IsRESTKey(KeyAuthToken) || IsRESTKey("listeners") {
		t.Fatal("IsRESTKey")
	}
}
