package worker

import (
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
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
			wantErr: []string{`expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL`}},
		{name: "sasl without user", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "security.protocol": "SASL_PLAINTEXT", "sasl.jaas.config": "nonsense secretvalue"},
			wantErr: []string{`"sasl.jaas.config" = "[hidden]": expected username=`}},
		{name: "sasl scram", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
			"sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p w";`}},
		{name: "missing CA file", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "security.protocol": "SSL", "ssl.truststore.location": "/nonexistent/ca.pem"},
			wantErr: []string{`"ssl.truststore.location"`}},
		{name: "unknown key", in: connector.Config{"bootstrap.servers": "a:1", "schema.registry.url": "http://r", "bootstrap.server": "typo"},
			wantErr: []string{`"bootstrap.server" = "typo": unknown setting`}},
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
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secretvalue") {
				t.Errorf("error leaks the jaas config: %v", err)
			}
		})
	}
}
