package worker

import (
	"errors"
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestParseWorkerConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      connector.Config
		wantErr []string
	}{
		{name: "minimal", in: connector.Config{"bootstrap.servers": "a:9092,b:9092", "schema.registry.url": "http://r"}},
		{name: "missing both required", in: connector.Config{}, wantErr: []string{`"bootstrap.servers": is required`, `"schema.registry.url": is required`}},
		{name: "bad protocol", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "security.protocol": "SSL_PLAIN"},
			wantErr: []string{`expected one of "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"`}},
		{name: "sasl without user", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "security.protocol": "SASL_PLAINTEXT", "sasl.jaas.config": "nonsense secretvalue"},
			wantErr: []string{`"sasl.jaas.config" = "[hidden]": expected username=`}},
		{name: "sasl scram", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
			"sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p w";`}},
		{name: "missing CA file", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "security.protocol": "SSL", "ssl.truststore.location": "/nonexistent/ca.pem"},
			wantErr: []string{`"ssl.truststore.location"`}},
		{name: "unknown key", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "bootstrap.server": "typo"},
			wantErr: []string{`"bootstrap.server" = "typo": unknown setting`}},
		{name: "unresolved reference beside the other problems", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r",
			"rest.auth.token": "${env:SC_TEST_WC_UNSET}", "offset.storage.partitions": "many", "bogus": "1"},
			wantErr: []string{`"bogus" = "1": unknown setting`, `"offset.storage.partitions" = "many": expected an integer`, `"rest.auth.token": environment variable SC_TEST_WC_UNSET is not set`}},
		{name: "a key with an unresolved reference is reported once", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "${env:SC_TEST_WC_UNSET}",
			"offset.storage.partitions": "${env:SC_TEST_WC_UNSET}"},
			wantErr: []string{`"offset.storage.partitions": environment variable SC_TEST_WC_UNSET is not set`, `"schema.registry.url": environment variable SC_TEST_WC_UNSET is not set`}},
		{name: "unresolved credentials beside a missing CA file and a bad listener", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r",
			"security.protocol": "SASL_SSL", "sasl.jaas.config": "${file:/nonexistent/secrets.properties:jaas}", "ssl.truststore.location": "/nonexistent/ca.pem", "listeners": "https://x:1"},
			wantErr: []string{`"listeners" = "https://x:1": scheme "https" is not supported`, `"sasl.jaas.config": reading /nonexistent/secrets.properties`, `"ssl.truststore.location" = "/nonexistent/ca.pem"`}},
		{name: "missing CA and client certificate files", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "security.protocol": "SSL",
			"ssl.truststore.location": "/nonexistent/ca.pem", "ssl.keystore.location": "/nonexistent/client.pem"},
			wantErr: []string{`"ssl.keystore.location" = "/nonexistent/client.pem": expected a PEM file`, `"ssl.truststore.location" = "/nonexistent/ca.pem"`}},
		{name: "topic names Kafka refuses", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r",
			"offset.storage.topic": "connect offsets", "config.storage.topic": "..", "status.storage.topic": strings.Repeat("s", 250), "topic.prefix": "a/b"},
			wantErr: []string{`"config.storage.topic" = "..": ".." is not a legal topic name`, `"offset.storage.topic" = "connect offsets": " " is not allowed in a topic name`,
				`"status.storage.topic" = "sss`, `"topic.prefix" = "a/b": "/" is not allowed in a topic name`}},
		{name: "compression", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "producer.compression.type": "lz4"}},
		{name: "unknown compression", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "producer.compression.type": "brotli"},
			wantErr: []string{`"producer.compression.type" = "brotli": expected one of "gzip", "lz4", "none", "snappy", "zstd"`}},
		{name: "registry URL without a scheme", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "registry:8081"},
			wantErr: []string{`"schema.registry.url" = "registry:8081": expected a http:// or https:// URL`}},
		{name: "registry URL of another scheme", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "ftp://registry:8081"},
			wantErr: []string{`expected a http:// or https:// URL, not ftp://`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := ParseWorkerConfig(tt.in)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if len(ws.Options) == 0 || len(ws.Kafka) == 0 || ws.RegistryURL != "http://r" {
					t.Fatalf("settings %+v", ws)
				}
				return
			}
			checkProblems(t, err, tt.wantErr, "secretvalue")
		})
	}
}

// checkProblems fails t unless err is ConfigErrors holding each of want
// once, and nothing else, without showing secret.
func checkProblems(t *testing.T, err error, want []string, secret string) {
	t.Helper()
	var ces connector.ConfigErrors
	if !errors.As(err, &ces) {
		t.Fatalf("error %v, want ConfigErrors", err)
	}
	if len(ces) != len(want) {
		t.Errorf("%d problems, want %d, each once:\n%v", len(ces), len(want), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the secret %q: %v", secret, err)
	}
}

// withKeys returns a copy of base with the key, value pairs kv set.
func withKeys(base connector.Config, kv ...string) connector.Config {
	c := base.Clone()
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i]] = kv[i+1]
	}
	return c
}

// TestCompressionCodec: every producer.compression.type is its codec.
func TestCompressionCodec(t *testing.T) {
	want := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	names := compressionNames()
	if len(names) != len(want) {
		t.Fatalf("names %q, want the %d of Kafka", names, len(want))
	}
	for _, name := range names {
		if got, ok := want[name]; !ok || compressionCodec(name) != got {
			t.Errorf("%s: codec %v, want %v", name, compressionCodec(name), got)
		}
	}
	if d := WorkerSpec().WithDefaults(connector.Config{})[WKeyCompression]; d != "snappy" {
		t.Errorf("default %q, want snappy (franz-go's own default, kept)", d)
	}
}
