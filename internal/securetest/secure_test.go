package securetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"github.com/seed-474f70f7/sportsconnect/internal/eoscheck"
	"github.com/seed-474f70f7/sportsconnect/internal/securekafka"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// The synthetic feed of every case: partitions × events records, slow
// enough that the first worker is stopped midway.
const (
	partitions = 4
	events     = 150
	rate       = "200" // events/s per task
)

// Client-credentials identity of the OAUTHBEARER cases.
const (
	oauthClientID     = "sc-client"
	oauthClientSecret = "sc-client-secret"
)

// props is what every case's worker.properties holds; each case adds its
// security lines. Secrets come from the environment, as in production.
const props = `bootstrap.servers={{.Bootstrap}}
schema.registry.url={{.Registry}}
schema.registry.ssl.truststore.location={{.CA}}
group.id={{.Name}}
offset.storage.topic={{.Name}}-offsets
offset.storage.partitions=3
topic.prefix={{.Name}}
listeners=
{{.Security}}`

type securityCase struct {
	name     string
	listener func(*securekafka.Broker) string
	// security is the case's properties (a template over the broker and
	// certificates); env is what it reads from the environment.
	security string
	env      map[string]string
	// registry says which credentials the registry proxy demands.
	registry func(b *securekafka.Broker) func(*http.Request) bool
}

func TestSecuredClusters(t *testing.T) {
	b := securekafka.Start(t)
	upstream := testenv.Registry(t)
	tokens := securekafka.NewTokenServer(t, b.Certs, oauthClientID, oauthClientSecret)
	cases := []securityCase{
		{
			name:     "mutual TLS, registry user info",
			listener: func(b *securekafka.Broker) string { return b.MTLS },
			security: `security.protocol=SSL
ssl.truststore.location={{.CA}}
ssl.keystore.location={{.Client}}
basic.auth.credentials.source=USER_INFO
basic.auth.user.info=${env:SC_TEST_REGISTRY_USER_INFO}`,
			env: map[string]string{"SC_TEST_REGISTRY_USER_INFO": "reg-user:reg-pass"},
			registry: func(*securekafka.Broker) func(*http.Request) bool {
				return securekafka.BasicAuthCheck("reg-user", "reg-pass")
			},
		},
		{
			name:     "SCRAM-SHA-512 over SSL, registry inherits the SASL credentials",
			listener: func(b *securekafka.Broker) string { return b.SCRAM },
			security: `security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${env:SC_TEST_KAFKA_USER}" password="${env:SC_TEST_KAFKA_PASSWORD}";
ssl.truststore.location={{.CA}}
basic.auth.credentials.source=SASL_INHERIT`,
			env: map[string]string{"SC_TEST_KAFKA_USER": b.User, "SC_TEST_KAFKA_PASSWORD": b.Password},
			registry: func(b *securekafka.Broker) func(*http.Request) bool {
				return securekafka.BasicAuthCheck(b.User, b.Password)
			},
		},
		{
			name:     "OAUTHBEARER client credentials, registry OAuth",
			listener: func(b *securekafka.Broker) string { return b.OAuth },
			security: `security.protocol=SASL_SSL
sasl.mechanism=OAUTHBEARER
sasl.oauthbearer.token.endpoint.url={{.TokenURL}}
sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="` + oauthClientID + `" clientSecret="${env:SC_TEST_OAUTH_SECRET}" scope="kafka";
ssl.truststore.location={{.CA}}
bearer.auth.credentials.source=OAUTHBEARER
bearer.auth.issuer.endpoint.url={{.TokenURL}}
bearer.auth.client.id=` + oauthClientID + `
bearer.auth.client.secret=${env:SC_TEST_OAUTH_SECRET}`,
			env:      map[string]string{"SC_TEST_OAUTH_SECRET": oauthClientSecret},
			registry: func(*securekafka.Broker) func(*http.Request) bool { return issuedBearer(oauthClientID) },
		},
	}
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) {
			for k, v := range sc.env {
				t.Setenv(k, v)
			}
			proxy := securekafka.NewRegistryProxy(t, b.Certs, upstream, sc.registry(b))
			name := testenv.UniqueName(t, "sec-")
			ws := loadWorker(t, name, sc.listener(b), proxy.URL(), sc.security, b, tokens)
			issuedBefore := tokens.Issued()
			runExactlyOnce(t, ws, name)
			if proxy.Accepted() == 0 || proxy.Rejected() != 0 {
				t.Fatalf("registry proxy accepted %d, rejected %d requests; want some accepted, none rejected", proxy.Accepted(), proxy.Rejected())
			}
			if strings.Contains(sc.security, "OAUTHBEARER") && tokens.Issued() == issuedBefore {
				t.Fatal("no token was fetched from the token endpoint")
			}
			t.Logf("registry requests through the proxy: %d; tokens issued so far: %d", proxy.Accepted(), tokens.Issued())
		})
	}
	t.Run("refusals", func(t *testing.T) { testRefusals(t, b, upstream, tokens) })
}

// loadWorker writes the case's worker.properties and loads it as the
// sportsconnect binary does.
func loadWorker(t *testing.T, name, bootstrap, registry, security string, b *securekafka.Broker, tokens *securekafka.TokenServer) *worker.WorkerSettings {
	t.Helper()
	data := map[string]string{"Bootstrap": bootstrap, "Registry": registry, "CA": b.Certs.CA, "Client": b.Certs.Client,
		"RogueClient": b.Certs.RogueClient, "Name": name, "TokenURL": tokens.URL()}
	var sb strings.Builder
	tmpl := template.Must(template.New("props").Parse(strings.Replace(props, "{{.Security}}", security, 1)))
	if err := tmpl.Execute(&sb, data); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "worker.properties")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ws, err := worker.LoadWorkerConfig(path)
	if err != nil {
		t.Fatalf("loading %s:\n%s\n%v", path, sb.String(), err)
	}
	return ws
}

// newWorker starts a worker of ws running the case's synthetic connector.
func newWorker(ctx context.Context, t *testing.T, ws *worker.WorkerSettings, name string) (*worker.Worker, error) {
	t.Helper()
	src, err := ws.RegistryClient()
	if err != nil {
		return nil, err
	}
	w, err := worker.New(connector.NewPlugins(synthetic.Plugin()), append(ws.Options,
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))))...)
	if err != nil {
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	err = w.CreateConnector(ctx, connector.Config{
		connector.KeyName: name, connector.KeyClass: synthetic.Class, connector.KeyTasksMax: "2", connector.KeyTopicPrefix: name,
		connector.KeyTopicPartitions: "3", connector.KeyTxnBoundary: connector.BoundaryInterval, connector.KeyTxnBoundaryIntervalMs: "50",
		synthetic.KeyPartitions: fmt.Sprint(partitions), synthetic.KeyEvents: fmt.Sprint(events), synthetic.KeyRate: rate,
	})
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	return w, nil
}

// committed returns how many records the connector has committed, failing
// t if a task failed.
func committed(t *testing.T, w *worker.Worker, name string) int64 {
	t.Helper()
	st, err := w.Status(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range st.Tasks {
		if ts.State == worker.StateFailed {
			t.Fatalf("task %d failed: %s", ts.ID, ts.Trace)
		}
	}
	return demo.SumPositions(st, "position")
}

// waitCommitted waits until the connector has committed at least n records.
func waitCommitted(t *testing.T, w *worker.Worker, name string, n int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for committed(t, w, name) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d records committed after 60 s, want %d", committed(t, w, name), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runExactlyOnce runs the connector on one worker until a third is
// committed, stops it, finishes on a second worker, and checks the topic
// and the offsets over the secured listener.
func runExactlyOnce(t *testing.T, ws *worker.WorkerSettings, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	total := int64(partitions * events)
	w1, err := newWorker(ctx, t, ws, name)
	if err != nil {
		t.Fatal(err)
	}
	waitCommitted(t, w1, name, total/3)
	mid := committed(t, w1, name)
	if err := w1.Close(); err != nil {
		t.Fatalf("stopping the first worker: %v", err)
	}
	w2, err := newWorker(ctx, t, ws, name)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	waitCommitted(t, w2, name, total)
	src, err := ws.RegistryClient()
	if err != nil {
		t.Fatal(err)
	}
	topic := synthetic.Topic(connector.ParseSettings(connector.Config{connector.KeyTopicPrefix: name}))
	got, n, err := eoscheck.ReadTopicWith(ctx, ws.Kafka, src, topic, 560)
	if err != nil {
		t.Fatal(err)
	}
	if err := eoscheck.Check(got, partitions, events); err != nil {
		t.Fatal(err)
	}
	if err := eoscheck.CheckOffsets(ctx, ws.Kafka, name+"-offsets", name, partitions, events); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records read back read_committed, each position once; first worker stopped after %d", n, mid)
}

// issuedBearer accepts a bearer token that is a JWT for subject sub, as
// the test's token endpoint issues them.
func issuedBearer(sub string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		parts := strings.Split(tok, ".")
		if !ok || len(parts) != 3 {
			return false
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct {
			Sub string `json:"sub"`
		}
		return err == nil && json.Unmarshal(payload, &claims) == nil && claims.Sub == sub
	}
}
