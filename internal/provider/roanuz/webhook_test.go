package roanuz

import (
	"bytes"
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestWebhookRefusesBadRequests(t *testing.T) {
	sim := NewSimulator(SimMatches("m1"), SimOvers(1))
	good := sim.tls["m1"].pushBody(5)
	for _, tc := range []struct {
		name     string
		extra    map[string]string
		path     string // appended to the receiver URL
		header   string // secret header value
		body     []byte
		encoding string
		method   string
		want     int
		dead     int // dead letters written
	}{
		{name: "ok gzip", header: "s3cret-value", body: gzipBytes(good), encoding: "gzip", want: 200},
		{name: "ok plain json", header: "s3cret-value", body: good, want: 200},
		{name: "wrong secret", header: "nope", body: gzipBytes(good), want: 401},
		{name: "missing secret", body: gzipBytes(good), want: 401},
		{name: "wrong path", path: "/x", header: "s3cret-value", body: good, want: 404},
		{name: "GET", header: "s3cret-value", method: http.MethodGet, want: 405},
		{name: "oversized body", header: "s3cret-value", body: bytes.Repeat([]byte("{"), 2<<20), want: 413},
		{name: "gzip bomb", header: "s3cret-value", body: GzipBomb(256 << 20), encoding: "gzip", want: 413, dead: 1},
		{name: "corrupt gzip", header: "s3cret-value", body: gzipBytes(good)[:40], want: 400, dead: 1},
		{name: "gzip header but plain body", header: "s3cret-value", body: good, encoding: "gzip", want: 400, dead: 1},
		{name: "not json", header: "s3cret-value", body: gzipBytes([]byte("{nope")), want: 400, dead: 1},
		{name: "no matchkey", header: "s3cret-value", body: []byte(`{"data":{"match_push_kind":"Info","ts":1}}`), want: 400, dead: 1},
		{name: "path token ok", extra: map[string]string{KeySecretHeader: ""}, path: "/s3cret-value", body: gzipBytes(good), want: 200},
		{name: "path token wrong", extra: map[string]string{KeySecretHeader: ""}, path: "/wrong", body: gzipBytes(good), want: 401},
		{name: "allowlist refuses", extra: map[string]string{KeyAllow: "10.0.0.0/8"}, header: "s3cret-value", body: good, want: 403},
		{name: "allowlist admits", extra: map[string]string{KeyAllow: "10.0.0.0/8, 127.0.0.1"}, header: "s3cret-value", body: good, want: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, url := startWebhook(t, webhookConfigFor(t, tc.extra), nil)
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequestWithContext(context.Background(), method, url+tc.path, bytes.NewReader(tc.body))
			if tc.header != "" {
				req.Header.Set("X-Roanuz-Secret", tc.header)
			}
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			// Bounded memory: well under the 256 MiB a bomb inflates to.
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 48<<20 {
				t.Fatalf("handling one request allocated %d MiB", grown>>20)
			}
			deadline := time.Now().Add(2 * time.Second)
			for {
				_, dead := written(r.records())
				if dead == tc.dead {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d dead letters, want %d", dead, tc.dead)
				}
				time.Sleep(10 * time.Millisecond)
			}
			for _, rec := range r.records() {
				if rec.DeadLetter != nil && !bytes.Equal(rec.DeadLetter.Raw, tc.body) {
					t.Fatal("dead letter does not hold the body as received")
				}
			}
		})
	}
}

func TestWebhookSecretNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	cfg := webhookConfigFor(t, nil)
	rc := newReceiver(mustWebhookConfig(t, cfg), bufferLogger(&logs))
	if err := rc.start(); err != nil {
		t.Fatal(err)
	}
	defer rc.stop()
	for _, secret := range []string{"s3cret-valuX", "s3cret-value"} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+rc.addr()+"/roanuz/push", strings.NewReader("{}"))
		req.Header.Set("X-Roanuz-Secret", secret)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		if resp, err := http.DefaultClient.Do(req.WithContext(ctx)); err == nil {
			resp.Body.Close()
		}
		cancel()
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Fatalf("a secret reached the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "refused") {
		t.Fatalf("the refusal was not logged:\n%s", logs.String())
	}
}
