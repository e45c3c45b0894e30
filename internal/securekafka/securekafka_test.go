package securekafka

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// TestSecureKafka starts one broker and proves each secured listener lets
// the right client in and keeps the wrong one out.
func TestSecureKafka(t *testing.T) {
	b := Start(t)
	serverOnly := clientTLS(t, b.Certs, "")

	t.Run("MTLSTransactional", func(t *testing.T) {
		topic := testenv.UniqueName(t, "mtls-")
		b.CreateTopic(t, topic, 1)
		tlsCfg := clientTLS(t, b.Certs, b.Certs.Client)
		produceTransactional(t, topic, "over mtls", kgo.SeedBrokers(b.MTLS), kgo.DialTLSConfig(tlsCfg))
		got := readOne(t, topic, kgo.SeedBrokers(b.MTLS), kgo.DialTLSConfig(tlsCfg))
		if got != "over mtls" {
			t.Fatalf("read back %q, want %q", got, "over mtls")
		}
	})

	t.Run("MTLSRejectsRogueCert", func(t *testing.T) {
		err := mustFail(t, kgo.SeedBrokers(b.MTLS), kgo.DialTLSConfig(clientTLS(t, b.Certs, b.Certs.RogueClient)))
		assertTLSRefusal(t, err)
	})

	t.Run("MTLSRejectsNoCert", func(t *testing.T) {
		assertTLSRefusal(t, mustFail(t, kgo.SeedBrokers(b.MTLS), kgo.DialTLSConfig(serverOnly)))
	})

	t.Run("SCRAM", func(t *testing.T) {
		topic := testenv.UniqueName(t, "scram-")
		b.CreateTopic(t, topic, 1)
		creds := scram.Auth{User: b.User, Pass: b.Password}
		for _, mech := range []struct {
			name string
			opt  kgo.Opt
		}{
			{"SCRAM-SHA-512", kgo.SASL(creds.AsSha512Mechanism())},
			{"SCRAM-SHA-256", kgo.SASL(creds.AsSha256Mechanism())},
		} {
			produceOne(t, topic, "over "+mech.name, kgo.SeedBrokers(b.SCRAM), kgo.DialTLSConfig(serverOnly), mech.opt)
		}
	})

	t.Run("SCRAMWrongPassword", func(t *testing.T) {
		creds := scram.Auth{User: b.User, Pass: b.Password + "-wrong"}
		err := mustFail(t, kgo.SeedBrokers(b.SCRAM), kgo.DialTLSConfig(serverOnly), kgo.SASL(creds.AsSha512Mechanism()))
		assertAuthFailure(t, err)
	})

	t.Run("OAuthBearer", func(t *testing.T) {
		ts := NewTokenServer(t, b.Certs, "sc-client", "s3cret/+=&")
		topic := testenv.UniqueName(t, "oauth-")
		b.CreateTopic(t, topic, 1)
		mech := oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
			tok, err := fetchToken(ctx, b.Certs, ts.URL(), "sc-client", "s3cret/+=&", "kafka")
			return oauth.Auth{Token: tok}, err
		})
		produceOne(t, topic, "over oauth", kgo.SeedBrokers(b.OAuth), kgo.DialTLSConfig(serverOnly), kgo.SASL(mech))
		if ts.Issued() == 0 || ts.Rejected() != 0 {
			t.Fatalf("token server issued %d, rejected %d; want >0 and 0", ts.Issued(), ts.Rejected())
		}
		if got := readOne(t, topic, kgo.SeedBrokers(b.OAuth), kgo.DialTLSConfig(serverOnly), kgo.SASL(mech)); got != "over oauth" {
			t.Fatalf("read back %q, want %q", got, "over oauth")
		}
	})

	t.Run("OAuthBearerGarbageToken", func(t *testing.T) {
		mech := revealing{oauth.Auth{Token: "not-a-jwt"}.AsMechanism()}
		assertInvalidToken(t, mustFail(t, kgo.SeedBrokers(b.OAuth), kgo.DialTLSConfig(serverOnly), kgo.SASL(mech)))
	})

	t.Run("OAuthBearerExpiredToken", func(t *testing.T) {
		tok, err := UnsecuredJWT("sc-client", "", -10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		mech := revealing{oauth.Auth{Token: tok}.AsMechanism()}
		assertInvalidToken(t, mustFail(t, kgo.SeedBrokers(b.OAuth), kgo.DialTLSConfig(serverOnly), kgo.SASL(mech)))
	})
}

// clientTLS is Certs.ClientTLS, failing t on error.
func clientTLS(t *testing.T, c *Certs, certFile string) *tls.Config {
	t.Helper()
	cfg, err := c.ClientTLS(certFile)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newClient returns a client closed in t.Cleanup.
func newClient(t *testing.T, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("creating client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// produceTransactional commits one record to topic in a transaction.
func produceTransactional(t *testing.T, topic, value string, opts ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := newClient(t, append(opts, kgo.TransactionalID(testenv.UniqueName(t, "tx-")), kgo.DefaultProduceTopic(topic))...)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatalf("begin transaction: %v", err)
	}
	if err := cl.ProduceSync(ctx, kgo.StringRecord(value)).FirstErr(); err != nil {
		t.Fatalf("producing in a transaction: %v", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("committing the transaction: %v", err)
	}
}

// produceOne produces one record to topic and fails t on error.
func produceOne(t *testing.T, topic, value string, opts ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := newClient(t, append(opts, kgo.DefaultProduceTopic(topic))...)
	if err := cl.ProduceSync(ctx, kgo.StringRecord(value)).FirstErr(); err != nil {
		t.Fatalf("producing %q: %v", value, err)
	}
}

// readOne returns the value of the first committed record of topic.
func readOne(t *testing.T, topic string, opts ...kgo.Opt) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := newClient(t, append(opts, kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading %s: no record within 30s", topic)
		}
		for _, e := range fs.Errors() {
			t.Fatalf("reading %s: partition %d: %v", topic, e.Partition, e.Err)
		}
		if recs := fs.Records(); len(recs) > 0 {
			return string(recs[0].Value)
		}
	}
}

// mustFail pings the broker with opts and no retries, and fails t unless
// that fails within 10 s.
func mustFail(t *testing.T, opts ...kgo.Opt) error {
	t.Helper()
	cl := newClient(t, append(opts, kgo.RequestRetries(0), kgo.DialTimeout(5*time.Second))...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := cl.Ping(ctx)
	if err == nil {
		t.Fatal("the broker let this client in; want it refused")
	}
	if ctx.Err() != nil {
		t.Fatalf("no refusal within 10s, only a timeout: %v", err)
	}
	t.Logf("refused as expected: %v", err)
	return err
}

// assertTLSRefusal fails t unless err is the broker refusing the handshake
// (a TLS alert from the far end, not our own verification failing).
func assertTLSRefusal(t *testing.T, err error) {
	t.Helper()
	if !strings.Contains(err.Error(), "remote error: tls:") {
		t.Fatalf("want the broker's TLS alert, got: %v", err)
	}
}

// assertAuthFailure fails t unless err is a SASL authentication failure.
func assertAuthFailure(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, kerr.SaslAuthenticationFailed) && !strings.Contains(strings.ToLower(err.Error()), "authentication") {
		t.Fatalf("want an authentication failure, got: %v", err)
	}
}

// assertInvalidToken fails t unless err carries the broker's RFC 7628
// error challenge for a refused token (see revealing).
func assertInvalidToken(t *testing.T, err error) {
	t.Helper()
	if !strings.Contains(err.Error(), `"status":"invalid_token"`) {
		t.Fatalf(`want the broker's {"status":"invalid_token"} challenge, got: %v`, err)
	}
}

// revealing wraps a SASL mechanism so that a failed challenge reports the
// server's bytes: franz-go's OAUTHBEARER answers the broker's RFC 7628
// error challenge ({"status":"invalid_token"}) with only "unexpected data
// in oauth response", which would not tell a refused token from any other
// protocol surprise.
type revealing struct{ sasl.Mechanism }

func (r revealing) Authenticate(ctx context.Context, host string) (sasl.Session, []byte, error) {
	s, first, err := r.Mechanism.Authenticate(ctx, host)
	return revealingSession{s}, first, err
}

type revealingSession struct{ sasl.Session }

func (s revealingSession) Challenge(resp []byte) (bool, []byte, error) {
	done, out, err := s.Session.Challenge(resp)
	if err != nil && len(resp) > 0 {
		err = fmt.Errorf("%w; the server sent %s", err, resp)
	}
	return done, out, err
}

// fetchToken is a minimal client-credentials client, as Kafka's Java
// client does it: credentials form-encoded, then HTTP Basic.
func fetchToken(ctx context.Context, certs *Certs, tokenURL, id, secret, scope string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("building token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certs.CAPool()}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint: %s: %s", resp.Status, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", fmt.Errorf("decoding token response %s: %w", body, err)
	}
	return tr.AccessToken, nil
}
