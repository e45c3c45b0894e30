package roanuz

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
)

func TestWebhookRefusesBadRequests(t *testing.T) {
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches("m1"), roanuzsim.WithOvers(1))
	good := sim.PushBody("m1", 5)
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
		// truncated: the dead letter holds the body's first
		// roanuz.webhook.deadletter.max.bytes bytes, with the headers saying so.
		truncated bool
	}{
		{name: "ok gzip", header: "s3cret-value", body: gzipBytes(good), encoding: "gzip", want: 200},
		{name: "ok plain json", header: "s3cret-value", body: good, want: 200},
		{name: "wrong secret", header: "nope", body: gzipBytes(good), want: 401},
		{name: "missing secret", body: gzipBytes(good), want: 401},
		{name: "wrong path", path: "/x", header: "s3cret-value", body: good, want: 404},
		{name: "GET", header: "s3cret-value", method: http.MethodGet, want: 405},
		{name: "oversized body: its start dead-lettered", header: "s3cret-value", body: bytes.Repeat([]byte("{"), 2<<20), want: 413, dead: 1, truncated: true},
		{name: "oversized body, smaller dead letter", extra: map[string]string{KeyDeadLetterMax: "1024"}, header: "s3cret-value", body: bytes.Repeat([]byte("x"), 3<<20), want: 413, dead: 1, truncated: true},
		{name: "gzip bomb", header: "s3cret-value", body: roanuzsim.GzipBomb(256 << 20), encoding: "gzip", want: 413, dead: 1},
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
				if rec.DeadLetter == nil {
					continue
				}
				h := map[string]string{}
				for _, x := range rec.Headers {
					h[x.Key] = string(x.Value)
				}
				if !tc.truncated {
					if !bytes.Equal(rec.DeadLetter.Raw, tc.body) || h[HeaderTruncated] != "" {
						t.Fatal("dead letter does not hold the body as received")
					}
					continue
				}
				cfg := mustWebhookConfig(t, webhookConfigFor(t, tc.extra))
				kept := int(cfg.deadLetterMax)
				if !bytes.Equal(rec.DeadLetter.Raw, tc.body[:kept]) || h[HeaderTruncated] != "true" ||
					h[HeaderDeclaredLen] != strconv.Itoa(len(tc.body)) || h[HeaderKeptBytes] != strconv.Itoa(kept) ||
					h[HeaderSeenBytes] != strconv.FormatInt(cfg.bodyMax+1, 10) || h[connector.HeaderProvider] != KeyProvider {
					t.Fatalf("truncated dead letter: %d bytes, headers %v", len(rec.DeadLetter.Raw), h)
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

func TestWebhookOversizedChunkedBody(t *testing.T) {
	r, url := startWebhook(t, webhookConfigFor(t, map[string]string{KeyBodyMax: "2048", KeyDeadLetterMax: "1024"}), nil)
	// A reader of unknown length: sent chunked, without Content-Length.
	body := io.MultiReader(strings.NewReader(strings.Repeat("z", 5000)))
	req, _ := http.NewRequest(http.MethodPost, url, body)
	req.Header.Set("X-Roanuz-Secret", "s3cret-value")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	recs := r.records()
	if len(recs) != 1 || recs[0].DeadLetter == nil {
		t.Fatalf("%d records, want one dead letter", len(recs))
	}
	h := map[string]string{}
	for _, x := range recs[0].Headers {
		h[x.Key] = string(x.Value)
	}
	if h[HeaderDeclaredLen] != "unknown" || h[HeaderSeenBytes] != "2049" || h[HeaderKeptBytes] != "1024" ||
		string(recs[0].DeadLetter.Raw) != strings.Repeat("z", 1024) || !errors.Is(recs[0].DeadLetter.Err, ErrTooLarge) {
		t.Fatalf("headers %v, %d bytes kept, err %v", h, len(recs[0].DeadLetter.Raw), recs[0].DeadLetter.Err)
	}
}
