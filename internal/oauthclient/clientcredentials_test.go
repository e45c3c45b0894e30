package oauthclient

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// endpoint is a token endpoint answering with answer after checking the
// request the way an authorization server does.
func endpoint(t *testing.T, answer func(w http.ResponseWriter, n int64)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		user, pass, ok := r.BasicAuth()
		if r.Method != http.MethodPost || !ok || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("request %s basic=%v content-type %q", r.Method, ok, r.Header.Get("Content-Type"))
		}
		if id, _ := url.QueryUnescape(user); id != "svc:1" {
			t.Errorf("client id %q (raw %q), want svc:1", id, user)
		}
		if sec, _ := url.QueryUnescape(pass); sec != "s3cret&=" {
			t.Errorf("client secret %q", sec)
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") != "kafka" {
			t.Errorf("form %v (%v)", r.PostForm, err)
		}
		answer(w, n)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func jwt(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(fmt.Sprintf(`{"sub":"svc","exp":%d}`, exp.Unix()))) + "."
}

func TestToken(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name      string
		answer    func(w http.ResponseWriter, n int64)
		wantErr   string
		wantToken string
		// after is how long after the first call a second one is made;
		// wantCalls is how many requests the endpoint has seen then.
		after     time.Duration
		wantCalls int64
	}{
		{name: "cached within 80% of expires_in", after: 79 * time.Second, wantCalls: 1, wantToken: "tok-1",
			answer: func(w http.ResponseWriter, n int64) {
				fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":100}`, n)
			}},
		{name: "fetched again after 80% of expires_in", after: 81 * time.Second, wantCalls: 2, wantToken: "tok-2",
			answer: func(w http.ResponseWriter, n int64) { fmt.Fprintf(w, `{"access_token":"tok-%d","expires_in":100}`, n) }},
		{name: "lifetime from the JWT exp claim", after: 7 * time.Minute, wantCalls: 1, wantToken: jwt(start.Add(10 * time.Minute)),
			answer: func(w http.ResponseWriter, _ int64) {
				fmt.Fprintf(w, `{"access_token":%q}`, jwt(start.Add(10*time.Minute)))
			}},
		{name: "refused client", wantErr: "HTTP 401: invalid_client: bad secret",
			answer: func(w http.ResponseWriter, _ int64) {
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"invalid_client","error_description":"bad secret"}`)
			}},
		{name: "server error with an HTML body", wantErr: "HTTP 502: <html>bad gateway</html>",
			answer: func(w http.ResponseWriter, _ int64) {
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprint(w, `<html>bad gateway</html>`)
			}},
		{name: "no access token", wantErr: ErrNoToken.Error(),
			answer: func(w http.ResponseWriter, _ int64) { fmt.Fprint(w, `{"token_type":"Bearer"}`) }},
		{name: "not JSON", wantErr: "answer is not JSON",
			answer: func(w http.ResponseWriter, _ int64) { fmt.Fprint(w, strings.Repeat("x", 3<<20)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := endpoint(t, tt.answer)
			now := start
			cc, err := New(srv.URL, "svc:1", "s3cret&=", "kafka", WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cc.Token(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				var ee *EndpointError
				if strings.Contains(tt.wantErr, "HTTP") && !errors.As(err, &ee) {
					t.Fatalf("error %T is not an *EndpointError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			now = now.Add(tt.after)
			if tok, err = cc.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tok != tt.wantToken || calls.Load() != tt.wantCalls {
				t.Fatalf("token %q after %d calls, want %q after %d", tok, calls.Load(), tt.wantToken, tt.wantCalls)
			}
		})
	}
}

func TestNewRefusesBadEndpoints(t *testing.T) {
	for _, ep := range []string{"", "ftp://idp/token", "https://", "idp:443/token"} {
		if _, err := New(ep, "id", "secret", ""); err == nil {
			t.Errorf("New(%q) accepted", ep)
		}
	}
	if _, err := New("https://idp/token", "", "secret", ""); err == nil {
		t.Error("New accepted an empty client id")
	}
}
