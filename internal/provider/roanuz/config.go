package roanuz

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
)

// Connector classes.
const (
	ClassWebhook = "roanuz.webhook"
	ClassMatch   = "roanuz.match"
)

// Settings shared by both classes.
const (
	KeyAPIURL   = "roanuz.api.url"
	KeyProject  = "roanuz.project.key"
	KeyAPIKey   = "roanuz.api.key"
	KeyMatches  = "roanuz.matches"
	KeyQueue    = "roanuz.queue.size"
	KeyBatch    = "roanuz.batch.max"
	KeyProvider = "roanuz"
)

// Settings of roanuz.webhook.
const (
	KeyListen        = "roanuz.webhook.listen"
	KeyPath          = "roanuz.webhook.path"
	KeySecret        = "roanuz.webhook.secret"
	KeySecretHeader  = "roanuz.webhook.secret.header"
	KeyAllow         = "roanuz.webhook.allow"
	KeyTLSCert       = "roanuz.webhook.tls.cert"
	KeyTLSKey        = "roanuz.webhook.tls.key"
	KeyBodyMax       = "roanuz.webhook.body.max.bytes"
	KeyInflatedMax   = "roanuz.webhook.inflated.max.bytes"
	KeyAckTimeoutMs  = "roanuz.webhook.ack.timeout.ms"
	KeyDedupWindow   = "roanuz.webhook.dedup.window"
	KeySubscribe     = "roanuz.subscribe"
	KeyMaxInflight   = "roanuz.webhook.max.inflight"
	KeyDeadLetterMax = "roanuz.webhook.deadletter.max.bytes"
)

func sharedSpec(apiRequired bool) connector.ConfigSpec {
	return connector.ConfigSpec{
		{Name: KeyAPIURL, Type: connector.TypeString, Default: "https://api.sports.roanuz.com", Check: connector.CheckURL("http", "https"), Doc: "Roanuz REST base URL (or the simulator's http://127.0.0.1:PORT)"},
		{Name: KeyProject, Type: connector.TypeString, Required: apiRequired, Default: "", Doc: "Roanuz project key"},
		{Name: KeyAPIKey, Type: connector.TypePassword, Required: apiRequired, Default: "", Doc: "Roanuz api key, exchanged for a 24 h rs-token at /v5/core/{project}/auth/"},
		{Name: KeyMatches, Type: connector.TypeList, Default: "", Doc: "match keys to subscribe"},
		{Name: KeyQueue, Type: connector.TypeInt, Default: "1024", Min: connector.Min(1), Doc: "messages buffered between the network and Poll (backpressure beyond)"},
		{Name: KeyBatch, Type: connector.TypeInt, Default: "500", Min: connector.Min(1), Doc: "most records returned by one Poll"},
	}
}

// WebhookSpec returns the settings of roanuz.webhook.
func WebhookSpec() connector.ConfigSpec {
	return sharedSpec(false).Merge(connector.ConfigSpec{
		{Name: KeyListen, Type: connector.TypeString, Default: "0.0.0.0:8585", Doc: "listen address of the push receiver"},
		{Name: KeyPath, Type: connector.TypeString, Default: "/roanuz/push", Doc: "URL path the provider posts to (set the same URL in the Roanuz console)"},
		{Name: KeySecret, Type: connector.TypePassword, Required: true, Doc: "shared secret the sender must present (in roanuz.webhook.secret.header, or as the last path segment when that is empty)"},
		{Name: KeySecretHeader, Type: connector.TypeString, Default: "X-Roanuz-Secret", Doc: "header carrying the secret; empty = the secret is the path's last segment: <path>/<secret>"},
		{Name: KeyAllow, Type: connector.TypeList, Default: "", Doc: "source addresses allowed to post (IPs or CIDRs); empty = any"},
		{Name: KeyTLSCert, Type: connector.TypeString, Default: "", Doc: "TLS certificate file; with roanuz.webhook.tls.key serves HTTPS"},
		{Name: KeyTLSKey, Type: connector.TypeString, Default: "", Doc: "TLS private key file"},
		{Name: KeyBodyMax, Type: connector.TypeInt, Default: "1048576", Min: connector.Min(1024), Doc: "largest request body accepted (413 beyond)"},
		{Name: KeyInflatedMax, Type: connector.TypeInt, Default: "4194304", Min: connector.Min(1024), Doc: "largest gunzipped body accepted (413 beyond; inflation stops there)"},
		{Name: KeyAckTimeoutMs, Type: connector.TypeInt, Default: "10000", Min: connector.Min(100), Doc: "a push not committed within this long is answered 503 (the provider retries)"},
		{Name: KeyDedupWindow, Type: connector.TypeInt, Default: "256", Min: connector.Min(1), Doc: "recent push identities remembered per match (in the source offset) to drop repeats"},
		{Name: KeyMaxInflight, Type: connector.TypeInt, Default: "32", Min: connector.Min(1), Doc: "requests handled at once (each holds at most body.max + inflated.max bytes); more wait, then get 503"},
		{Name: KeyDeadLetterMax, Type: connector.TypeInt, Default: "65536", Min: connector.Min(1024), Doc: "a body over roanuz.webhook.body.max.bytes is dead-lettered truncated to its first N bytes (headers roanuz.body.truncated, .declared.bytes, .seen.bytes, .kept.bytes)"},
		{Name: KeySubscribe, Type: connector.TypeBool, Default: "true", Doc: "call detail-updates-subscribe for roanuz.matches at start (needs project and api key)"},
	}).Merge(live.Spec())
}

// webhookConfig is the parsed roanuz.webhook settings.
type webhookConfig struct {
	apiURL, project, apiKey string
	matches                 []string
	subscribe               bool
	listen, path            string
	secret, secretHeader    string
	allow                   []netip.Prefix
	tlsCert, tlsKey         string
	bodyMax, inflatedMax    int64
	deadLetterMax           int64
	ackTimeout              time.Duration
	window                  int
	maxInflight             int
	queue, batch            int
}

func parseWebhookConfig(c connector.Config) (webhookConfig, error) {
	cfg := webhookConfig{
		apiURL: c.String(KeyAPIURL), project: c.String(KeyProject), apiKey: c.String(KeyAPIKey),
		matches: c.List(KeyMatches), subscribe: c.Bool(KeySubscribe),
		listen: c.String(KeyListen), path: "/" + strings.Trim(c.String(KeyPath), "/"),
		secret: c.String(KeySecret), secretHeader: strings.TrimSpace(c.String(KeySecretHeader)),
		tlsCert: c.String(KeyTLSCert), tlsKey: c.String(KeyTLSKey),
		bodyMax: c.Int(KeyBodyMax), inflatedMax: c.Int(KeyInflatedMax), deadLetterMax: c.Int(KeyDeadLetterMax),
		ackTimeout: c.Millis(KeyAckTimeoutMs), window: int(c.Int(KeyDedupWindow)), maxInflight: int(c.Int(KeyMaxInflight)),
		queue: int(c.Int(KeyQueue)), batch: int(c.Int(KeyBatch)),
	}
	if cfg.secret == "" {
		return cfg, connector.Permanent(fmt.Errorf("%s is empty", KeySecret))
	}
	if cfg.secretHeader == "" && strings.Contains(cfg.secret, "/") {
		return cfg, connector.Permanent(fmt.Errorf("%s must not contain '/' when it is a path segment", KeySecret))
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return cfg, connector.Permanent(fmt.Errorf("set both %s and %s, or neither", KeyTLSCert, KeyTLSKey))
	}
	for _, a := range c.List(KeyAllow) {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			ip, ierr := netip.ParseAddr(a)
			if ierr != nil {
				return cfg, connector.Permanent(fmt.Errorf("%s: %q is neither an IP nor a CIDR", KeyAllow, a))
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		cfg.allow = append(cfg.allow, p.Masked())
	}
	if cfg.subscribe && len(cfg.matches) > 0 && (cfg.project == "" || cfg.apiKey == "") {
		return cfg, connector.Permanent(fmt.Errorf("%s needs %s and %s", KeyMatches, KeyProject, KeyAPIKey))
	}
	return cfg, nil
}
