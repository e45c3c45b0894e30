package live

import "github.com/seed-474f70f7/sportsconnect/connector"

// Settings every provider connector takes for its normalized records.
const (
	KeyEnabled      = "live.events.enabled"
	KeyEventsTopic  = "live.events.topic"
	KeyMatchesTopic = "live.matches.topic"
)

// Default topic names, before topic.prefix.
const (
	DefaultEventsTopic  = "live.events"
	DefaultMatchesTopic = "live.matches"
)

// Spec returns the settings of the normalized records; provider specs
// merge it.
func Spec() connector.ConfigSpec {
	return connector.ConfigSpec{
		{Name: KeyEnabled, Type: connector.TypeBool, Default: "true", Doc: "also write every event in the normalized shape to live.events.topic and each match's latest state to live.matches.topic, in the same transaction as the provider records"},
		{Name: KeyEventsTopic, Type: connector.TypeString, Default: DefaultEventsTopic, Check: connector.CheckTopicName, Doc: "the normalized events topic, after topic.prefix (shared by every provider's connectors)"},
		{Name: KeyMatchesTopic, Type: connector.TypeString, Default: DefaultMatchesTopic, Check: connector.CheckTopicName, Doc: "the compacted topic of each match's latest normalized state, after topic.prefix"},
	}
}

// Config is the parsed settings.
type Config struct {
	Enabled      bool
	EventsTopic  string // prefixed
	MatchesTopic string // prefixed
}

// ParseConfig reads the settings from a validated connector config.
func ParseConfig(cfg connector.Config) Config {
	set := connector.ParseSettings(cfg)
	return Config{
		Enabled:      cfg.Bool(KeyEnabled),
		EventsTopic:  set.Topic(cfg.String(KeyEventsTopic)),
		MatchesTopic: set.Topic(cfg.String(KeyMatchesTopic)),
	}
}

// Topics returns the topics written when enabled (nil otherwise): events,
// and matches compacted and restored.
func (c Config) Topics() []connector.TopicSpec {
	if !c.Enabled {
		return nil
	}
	return []connector.TopicSpec{
		{Name: c.EventsTopic, Schema: EventSchema()},
		{Name: c.MatchesTopic, Schema: MatchSchema(), Compact: true, Restore: true},
	}
}

// TopicNames returns the topic names of Topics, for Plugin.Topics.
func (c Config) TopicNames() []string {
	if !c.Enabled {
		return nil
	}
	return []string{c.EventsTopic, c.MatchesTopic}
}
