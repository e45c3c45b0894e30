package connector

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestValidateConnector(t *testing.T) {
	plugins := NewPlugins(Plugin{Class: "x", Spec: ConfigSpec{{Name: "x.token", Type: TypePassword, Required: true}},
		New:    func(*zap.Logger) Connector { return nil },
		Topics: func(cfg Config) []string { return []string{ParseSettings(cfg).Topic("x.events")} }})
	tests := []struct {
		name    string
		in      Config
		wantErr string
	}{
		{"ok", Config{"name": "n", "connector.class": "x", "x.token": "t"}, ""},
		{"no class", Config{"name": "n"}, `"connector.class": is required`},
		{"unknown class", Config{"name": "n", "connector.class": "y"}, `no such plugin; known: [x]`},
		{"plugin key missing", Config{"name": "n", "connector.class": "x"}, `"x.token": is required`},
		{"bad boundary", Config{"name": "n", "connector.class": "x", "x.token": "t", "transaction.boundary": "connector"}, `expected one of "adaptive", "poll", "interval"`},
		{"bad tolerance", Config{"name": "n", "connector.class": "x", "x.token": "t", "errors.tolerance": "some"}, `expected one of "none", "all"`},
		{"name with a slash", Config{"name": "a/b", "connector.class": "x", "x.token": "t"}, `config "name" = "a/b": a connector name may not contain '/'`},
		{"name with a control character", Config{"name": "a\tb", "connector.class": "x", "x.token": "t"}, `may not contain a control character`},
		{"bad topic prefix", Config{"name": "n", "connector.class": "x", "x.token": "t", "topic.prefix": "my prefix"}, `config "topic.prefix" = "my prefix": " " is not allowed in a topic name`},
		{"bad dead-letter topic", Config{"name": "n", "connector.class": "x", "x.token": "t", "errors.deadletterqueue.topic.name": ".."}, `config "errors.deadletterqueue.topic.name" = "..": ".." is not a legal topic name`},
		{"topic too long", Config{"name": "n", "connector.class": "x", "x.token": "t", "topic.prefix": strings.Repeat("p", 241)}, `makes the topic "ppp`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := ValidateConnector(plugins, tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				s := ParseSettings(cfg)
				if s.TasksMax != 1 || s.Boundary != BoundaryAdaptive || s.BoundaryInterval != time.Second || s.BoundarySettle != 2*time.Millisecond || s.TolerateAll || s.Topic("a.b") != "sportsconnect.a.b" {
					t.Fatalf("defaults %+v", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestSettingsTopicWithoutPrefix(t *testing.T) {
	if got := (Settings{}).Topic("x"); got != "x" {
		t.Fatalf("Topic = %q", got)
	}
}

func TestPluginsLookup(t *testing.T) {
	p := NewPlugins(Plugin{Class: "b"}, Plugin{Class: "a"})
	if got := p.Classes(); strings.Join(got, ",") != "a,b" {
		t.Fatalf("Classes = %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate class did not panic")
		}
	}()
	NewPlugins(Plugin{Class: "a"}, Plugin{Class: "a"})
}
