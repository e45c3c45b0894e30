package worker

import (
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

func TestParseConnectorJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    connector.Config
		wantErr string
	}{
		{"connect body", `{"name":"c1","config":{"connector.class":"synthetic","tasks.max":"2"}}`,
			connector.Config{"name": "c1", "connector.class": "synthetic", "tasks.max": "2"}, ""},
		{"bare config", `{"name":"c1","connector.class":"synthetic"}`, connector.Config{"name": "c1", "connector.class": "synthetic"}, ""},
		{"numbers and bools become text", `{"name":"c","config":{"tasks.max":2,"x.enable":true}}`,
			connector.Config{"name": "c", "tasks.max": "2", "x.enable": "true"}, ""},
		{"nested value refused", `{"name":"c","config":{"x":{"y":1}}}`, nil, `config "x": expected a string value`},
		{"name mismatch", `{"name":"a","config":{"name":"b"}}`, nil, `differs from the top-level name "a"`},
		{"not json", `name=c`, nil, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConnectorJSON([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func FuzzParseConnectorJSON(f *testing.F) {
	f.Add([]byte(`{"name":"c","config":{"a":"b","n":1}}`))
	f.Add([]byte(`{"a":true}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		_, _ = ParseConnectorJSON(in)
	})
}
