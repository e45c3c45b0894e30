package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestApplyRetriesARebalanceAndStopsOnARefusal: apply puts each connector's
// config with PUT /connectors/NAME/config and the bearer token, retries a
// 409 (a rebalance) until it is answered, and stops at a 400 with the
// API's message.
func TestApplyRetriesARebalanceAndStopsOnARefusal(t *testing.T) {
	var calls atomic.Int32
	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			http.Error(w, `{"error_code":401}`, http.StatusUnauthorized)
			return
		}
		switch {
		case r.URL.Path == "/connectors/bad/config":
			http.Error(w, `{"error_code":400,"message":"Connector configuration is invalid"}`, http.StatusBadRequest)
		case n <= 2:
			http.Error(w, `{"error_code":409,"message":"rebalance"}`, http.StatusConflict)
		case r.Method == http.MethodPut && r.URL.Path == "/connectors/syn/config":
			_ = json.NewDecoder(r.Body).Decode(&got)
			w.WriteHeader(http.StatusCreated)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("syn.json", `{"name":"syn","config":{"connector.class":"synthetic","tasks.max":"2"}}`)
	bad := write("bad.json", `{"name":"bad","config":{"connector.class":"synthetic"}}`)
	t.Setenv("APPLY_TEST_TOKEN", "tok-123")

	var out, errb bytes.Buffer
	err := applyCmd(context.Background(), []string{"--url", srv.URL, "--token", "${env:APPLY_TEST_TOKEN}", good}, &out, &errb)
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, errb.String())
	}
	if calls.Load() != 3 || got["connector.class"] != "synthetic" || got["name"] != "syn" {
		t.Fatalf("%d calls, body %v; want two 409s retried, then the config", calls.Load(), got)
	}
	if !strings.Contains(out.String(), "connector syn created") {
		t.Fatalf("output %q", out.String())
	}
	err = applyCmd(context.Background(), []string{"--url", srv.URL, "--token", "${env:APPLY_TEST_TOKEN}", bad}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") || !strings.Contains(err.Error(), "invalid") {
		t.Fatalf("apply of a refused config: %v", err)
	}
}
