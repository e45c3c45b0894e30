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

func TestCheckConnectorConfig(t *testing.T) {
	t.Setenv("SC_TEST_CC_TOKEN", "tok")
	plugins := connector.NewPlugins(connector.Plugin{Class: "x", Spec: connector.ConfigSpec{
		{Name: "x.token", Type: connector.TypePassword, Required: true},
		{Name: "x.count", Type: connector.TypeInt, Default: "1"},
	}})
	tests := []struct {
		name string
		in   connector.Config
		want []string // one substring per problem; none = valid
	}{
		{"references resolved", connector.Config{"name": "c", "connector.class": "x", "x.token": "${env:SC_TEST_CC_TOKEN}"}, nil},
		{"an unresolved reference beside the other problems", connector.Config{"name": "c", "connector.class": "x", "x.token": "${env:SC_TEST_CC_UNSET}",
			"tasks.max": "0", "x.cuont": "2"},
			[]string{`"tasks.max" = "0": expected an integer >= 1`, `"x.cuont" = "2": unknown setting`, `"x.token": environment variable SC_TEST_CC_UNSET is not set`}},
		{"a key with an unresolved reference is reported once", connector.Config{"name": "c", "connector.class": "x", "x.token": "t",
			"x.count": "${file:/nonexistent/c.properties:count}"},
			[]string{`"x.count": reading /nonexistent/c.properties`}},
		{"an unresolved reference and an unknown class", connector.Config{"name": "c", "connector.class": "y", "x.token": "${env:SC_TEST_CC_UNSET}"},
			[]string{`"connector.class" = "y": no such plugin`, `"x.token": environment variable SC_TEST_CC_UNSET is not set`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full, _, err := CheckConnectorConfig(plugins, tt.in)
			if len(tt.want) == 0 {
				if err != nil || full["x.token"] != "tok" || full["x.count"] != "1" {
					t.Fatalf("config %v, error %v", full, err)
				}
				return
			}
			ces, ok := err.(connector.ConfigErrors)
			if !ok || len(ces) != len(tt.want) {
				t.Fatalf("want %d problems, each once; got %v", len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.Contains(ces[i].Error(), w) {
					t.Errorf("problem %d is %q, want one containing %q", i, ces[i], w)
				}
			}
		})
	}
}
