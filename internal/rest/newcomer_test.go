package rest_test

import (
	"net"
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/internal/rest"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
)

// TestLaunchPortInUse: a listener that cannot be bound is an error naming
// the way out; an empty one runs no API.
func TestLaunchPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = rest.Launch(worker.RESTSettings{Addr: ln.Addr().String()}, rest.Options{})
	if err == nil || !strings.Contains(err.Error(), "address already in use") || !strings.Contains(err.Error(), "listeners=") {
		t.Fatalf("Launch on a port in use: %v, want an error naming the port in use and listeners=", err)
	}
	s, err := rest.Launch(worker.RESTSettings{}, rest.Options{})
	if err != nil || s == nil {
		t.Fatalf("Launch without a listener: %v, %v", s, err)
	}
}

// TestConnectorNamesRefused: the API refuses the names validate refuses
// (connector.CheckConnectorName), with a 400.
func TestConnectorNamesRefused(t *testing.T) {
	a := startAPI(t, "")
	for _, name := range []string{`a/b`, `tab\there`, `next\u0085line`} {
		body := `{"name": "` + name + `", "config": {"connector.class": "synthetic"}}`
		v := a.expect("POST", "/connectors", body, 400, docError).(map[string]any)
		if msg := v["message"].(string); !strings.Contains(msg, "may not contain") {
			t.Errorf("name %s: message %q", name, msg)
		}
	}
}

// TestValidateEndpointReportsEveryProblem: a reference that does not
// resolve is one error beside the config's others.
func TestValidateEndpointReportsEveryProblem(t *testing.T) {
	a := startAPI(t, "")
	ci := a.expect("PUT", "/connector-plugins/secretive/config/validate",
		`{"connector.class":"secretive","name":"x","tasks.max":"zero","secretive.token":"${env:SC_TEST_REST_UNSET}"}`, 200, docConfigInfos).(map[string]any)
	if ci["error_count"] != 2.0 {
		t.Fatalf("error_count %v, want 2 (the token's reference and tasks.max): %v", ci["error_count"], ci)
	}
	for _, c := range ci["configs"].([]any) {
		v := c.(map[string]any)["value"].(map[string]any)
		if v["name"] == "secretive.token" {
			if errs := v["errors"].([]any); len(errs) != 1 || !strings.Contains(errs[0].(string), "SC_TEST_REST_UNSET is not set") {
				t.Fatalf("token errors %v", errs)
			}
		}
	}
}
