package roanuz

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

func TestParseWebhookConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra map[string]string
		want  string // substring of the error; "" = valid
		check func(t *testing.T, c webhookConfig)
	}{
		{name: "defaults", check: func(t *testing.T, c webhookConfig) {
			if c.path != "/roanuz/push" || c.secretHeader != "X-Roanuz-Secret" || c.bodyMax != 1<<20 || c.inflatedMax != 4<<20 ||
				c.deadLetterMax != 64<<10 || c.window != 256 || c.maxInflight != 32 {
				t.Fatalf("defaults: %+v", c)
			}
		}},
		{name: "path normalised", extra: map[string]string{KeyPath: "hooks/roanuz/"}, check: func(t *testing.T, c webhookConfig) {
			if c.path != "/hooks/roanuz" {
				t.Fatalf("path %q", c.path)
			}
		}},
		{name: "ack timeout", extra: map[string]string{KeyAckTimeoutMs: "2500"}, check: func(t *testing.T, c webhookConfig) {
			if c.ackTimeout != 2500*time.Millisecond {
				t.Fatalf("ack timeout %v", c.ackTimeout)
			}
		}},
		{name: "allowlist of IPs and CIDRs", extra: map[string]string{KeyAllow: "10.1.2.3, 192.168.0.0/16,::1"}, check: func(t *testing.T, c webhookConfig) {
			want := []netip.Prefix{netip.MustParsePrefix("10.1.2.3/32"), netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("::1/128")}
			if len(c.allow) != len(want) {
				t.Fatalf("allow %v", c.allow)
			}
			for i := range want {
				if c.allow[i] != want[i] {
					t.Fatalf("allow %v, want %v", c.allow, want)
				}
			}
		}},
		{name: "bad allowlist entry", extra: map[string]string{KeyAllow: "10.0.0.0/8,example.com"}, want: "neither an IP nor a CIDR"},
		{name: "path secret with a slash", extra: map[string]string{KeySecretHeader: "", KeySecret: "a/b"}, want: "must not contain '/'"},
		{name: "path secret", extra: map[string]string{KeySecretHeader: " "}, check: func(t *testing.T, c webhookConfig) {
			if c.secretHeader != "" {
				t.Fatalf("secret header %q", c.secretHeader)
			}
		}},
		{name: "TLS cert without key", extra: map[string]string{KeyTLSCert: "c.pem"}, want: "set both"},
		{name: "subscribe without credentials", extra: map[string]string{KeySubscribe: "true", KeyMatches: "m1"}, want: "needs"},
		{name: "subscribe with credentials", extra: map[string]string{KeySubscribe: "true", KeyMatches: "m1", KeyProject: "p", KeyAPIKey: "k"},
			check: func(t *testing.T, c webhookConfig) {
				if !c.subscribe || len(c.matches) != 1 || c.apiKey != "k" {
					t.Fatalf("%+v", c)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseWebhookConfig(webhookConfigFor(t, tc.extra))
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !connector.IsPermanent(err) {
					t.Fatalf("error %v, want a permanent one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestWebhookSpecValidation(t *testing.T) {
	spec := connector.CommonSpec().Merge(WebhookSpec())
	for _, tc := range []struct {
		name string
		cfg  connector.Config
		ok   bool
	}{
		{"minimal", connector.Config{"name": "w", "connector.class": ClassWebhook, KeySecret: "s"}, true},
		{"no secret", connector.Config{"name": "w", "connector.class": ClassWebhook}, false},
		{"body cap too small", connector.Config{"name": "w", "connector.class": ClassWebhook, KeySecret: "s", KeyBodyMax: "10"}, false},
		{"unknown setting", connector.Config{"name": "w", "connector.class": ClassWebhook, KeySecret: "s", "roanuz.nope": "1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := spec.Validate(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("Validate: %v, want ok=%v", err, tc.ok)
			}
		})
	}
	// The secrets are passwords: redacted wherever the config is shown.
	for _, k := range []string{KeySecret, KeyAPIKey} {
		if key, ok := spec.Key(k); !ok || key.Type != connector.TypePassword {
			t.Fatalf("%s is not a password setting", k)
		}
	}
}
