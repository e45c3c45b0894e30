package live

import (
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

func TestConfig(t *testing.T) {
	spec := connector.CommonSpec().Merge(Spec())
	for _, tc := range []struct {
		name             string
		extra            map[string]string
		enabled          bool
		events, matches  string
		compactedMatches bool
	}{
		{name: "defaults", enabled: true, events: "sportsconnect.live.events", matches: "sportsconnect.live.matches"},
		{name: "prefix and names", extra: map[string]string{connector.KeyTopicPrefix: "eu", KeyEventsTopic: "ev", KeyMatchesTopic: "mt"}, enabled: true, events: "eu.ev", matches: "eu.mt"},
		{name: "disabled", extra: map[string]string{KeyEnabled: "false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := connector.Config{connector.KeyName: "c", connector.KeyClass: "x"}
			for k, v := range tc.extra {
				raw[k] = v
			}
			cfg, err := spec.Validate(raw)
			if err != nil {
				t.Fatal(err)
			}
			c := ParseConfig(cfg)
			if c.Enabled != tc.enabled {
				t.Fatalf("enabled %v", c.Enabled)
			}
			topics := c.Topics()
			if !tc.enabled {
				if topics != nil || c.TopicNames() != nil {
					t.Fatalf("disabled config names topics %v", topics)
				}
				return
			}
			if len(topics) != 2 || topics[0].Name != tc.events || topics[1].Name != tc.matches {
				t.Fatalf("topics %+v", topics)
			}
			if topics[0].Compact || topics[0].Restore || !topics[1].Compact || !topics[1].Restore {
				t.Fatalf("events must be a plain topic, matches compacted and restored: %+v", topics)
			}
		})
	}
}

func TestConfigRefusesBadTopicName(t *testing.T) {
	_, err := connector.CommonSpec().Merge(Spec()).Validate(connector.Config{connector.KeyName: "c", connector.KeyClass: "x", KeyEventsTopic: "bad name"})
	if err == nil {
		t.Fatal("a topic name with a space was accepted")
	}
}
