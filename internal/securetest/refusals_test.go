package securetest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/securekafka"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
)

// testRefusals checks that wrong credentials stop the worker with an error
// that names the cause, within a bounded time, instead of hanging or
// running without writing.
func testRefusals(t *testing.T, b *securekafka.Broker, upstream string, tokens *securekafka.TokenServer) {
	tests := []struct {
		name     string
		listener string
		security string
		env      map[string]string
		// registryCheck is what the registry proxy demands; nil accepts all.
		registryCheck func(*http.Request) bool
		wantErr       []string // any of these
	}{
		{name: "client certificate of another CA", listener: b.MTLS,
			security: "security.protocol=SSL\nssl.truststore.location={{.CA}}\nssl.keystore.location={{.RogueClient}}",
			wantErr:  []string{"certificate", "tls", "EOF", "connection reset"}},
		{name: "no client certificate", listener: b.MTLS,
			security: "security.protocol=SSL\nssl.truststore.location={{.CA}}",
			wantErr:  []string{"certificate", "tls", "EOF", "connection reset"}},
		{name: "wrong SCRAM password", listener: b.SCRAM,
			security: "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nssl.truststore.location={{.CA}}\n" +
				`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="` + b.User + `" password="Wr0ng-s3cret";`,
			wantErr: []string{"SASL_AUTHENTICATION_FAILED", "Authentication failed"}},
		{name: "client secret the token endpoint refuses", listener: b.OAuth,
			security: "security.protocol=SASL_SSL\nsasl.mechanism=OAUTHBEARER\nssl.truststore.location={{.CA}}\nsasl.oauthbearer.token.endpoint.url={{.TokenURL}}\n" +
				`sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="` + oauthClientID + `" clientSecret="Wr0ng-s3cret";`,
			wantErr: []string{"HTTP 401: invalid_client"}},
		{name: "registry credentials refused", listener: b.MTLS,
			security:      "security.protocol=SSL\nssl.truststore.location={{.CA}}\nssl.keystore.location={{.Client}}\nbasic.auth.credentials.source=USER_INFO\nbasic.auth.user.info=reg-user:Wr0ng-s3cret",
			registryCheck: securekafka.BasicAuthCheck("reg-user", "reg-pass"),
			wantErr:       []string{"Unauthorized"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := tt.registryCheck
			if check == nil {
				check = acceptAll
			}
			proxy := securekafka.NewRegistryProxy(t, b.Certs, upstream, check)
			name := testenv.UniqueName(t, "secno-")
			ws := loadWorker(t, name, tt.listener, proxy.URL(), tt.security, b, tokens)
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			start := time.Now()
			w, err := newWorker(ctx, t, ws, name)
			if err == nil {
				// The registry is first asked when a task encodes: the task
				// must fail or keep restarting, never commit.
				defer w.Close()
				err = waitTaskError(ctx, t, w, name)
			}
			if err == nil {
				t.Fatal("the worker ran")
			}
			found := false
			for _, want := range tt.wantErr {
				found = found || strings.Contains(err.Error(), want)
			}
			if !found {
				t.Fatalf("error %q names none of %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "Wr0ng-s3cret") {
				t.Fatalf("error shows the secret: %v", err)
			}
			t.Logf("refused after %s: %v", time.Since(start).Round(time.Millisecond), err)
		})
	}
}

// acceptAll is a registry check that lets every request through.
func acceptAll(*http.Request) bool { return true }

// waitTaskError waits until a task of the connector fails or restarts and
// returns its trace; it fails t if anything is committed first.
func waitTaskError(ctx context.Context, t *testing.T, w *worker.Worker, name string) error {
	t.Helper()
	for ctx.Err() == nil {
		st, err := w.Status(name)
		if err != nil {
			return err
		}
		for _, ts := range st.Tasks {
			if ts.Stats.RecordsWritten > 0 {
				t.Fatalf("task %d committed %d records with credentials that should be refused", ts.ID, ts.Stats.RecordsWritten)
			}
			if (ts.State == worker.StateFailed || ts.State == worker.StateRestarting) && ts.Trace != "" {
				return errors.New(ts.Trace)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
