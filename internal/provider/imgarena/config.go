package imgarena

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
)

// Class is the connector.class value.
const Class = "imgarena"

// Settings of the imgarena connector.
const (
	KeyURL              = "imgarena.url"
	KeyRESTURL          = "imgarena.rest.url"
	KeyToken            = "imgarena.auth.token"
	KeySport            = "imgarena.sport"
	KeyFeed             = "imgarena.feed"
	KeyFixtures         = "imgarena.fixtures"
	KeyPollIntervalMs   = "imgarena.fixtures.poll.interval.ms"
	KeySilenceMs        = "imgarena.silence.timeout.ms"
	KeyBackoffInitialMs = "imgarena.reconnect.backoff.initial.ms"
	KeyBackoffMaxMs     = "imgarena.reconnect.backoff.max.ms"
	KeySpeed            = "imgarena.speed"
	KeyQueue            = "imgarena.queue.size"
	KeyQueueBytes       = "imgarena.queue.bytes"
	KeyBatch            = "imgarena.batch.max"
	KeyFrameMax         = "imgarena.frame.max.bytes"
)

// Feeds: the betting feed lives at /{sport}/..., the media feed at /media/{sport}/....
const (
	FeedBetting = "betting"
	FeedMedia   = "media"
)

// Spec returns the imgarena connector's own settings.
func Spec() connector.ConfigSpec {
	return connector.ConfigSpec{
		{Name: KeyURL, Type: connector.TypeString, Required: true, Check: connector.CheckURL("ws", "wss"), Doc: "WebSocket base URL, e.g. wss://dde-streams.data.imgarena.com (or the simulator's ws://127.0.0.1:PORT)"},
		{Name: KeyRESTURL, Type: connector.TypeString, Default: "", Check: connector.OrEmpty(connector.CheckURL("http", "https")), Doc: "Fixtures REST API base URL; empty = imgarena.url with ws→http, wss→https"},
		{Name: KeyToken, Type: connector.TypePassword, Required: true, Doc: "the auth token sent as the first frame {\"authToken\": ...} and as the REST Bearer token"},
		{Name: KeySport, Type: connector.TypeString, Default: "soccer", Check: checkSport, Doc: "sport path segment: soccer, basketball, cricket, ice-hockey, snooker, v2/volleyball, ...; its last segment is part of the topic names"},
		{Name: KeyFeed, Type: connector.TypeString, Default: FeedBetting, Allowed: []string{FeedBetting, FeedMedia}, Doc: "betting: /{sport}/fixtures/{id}/actions; media: /media/{sport}/fixtures/{id}/actions"},
		{Name: KeyFixtures, Type: connector.TypeList, Default: "", Doc: "fixture ids to follow; empty = discover live fixtures from the Fixtures REST API"},
		{Name: KeyPollIntervalMs, Type: connector.TypeInt, Default: "60000", Min: connector.Min(100), Doc: "how often live fixtures are discovered (without imgarena.fixtures)"},
		{Name: KeySilenceMs, Type: connector.TypeInt, Default: "30000", Min: connector.Min(10), Doc: "a connection with no packet at all (not even a heartbeat) for this long is dead and is reconnected"},
		{Name: KeyBackoffInitialMs, Type: connector.TypeInt, Default: "500", Min: connector.Min(1), Doc: "first reconnect delay; doubles per failed attempt, with jitter"},
		{Name: KeyBackoffMaxMs, Type: connector.TypeInt, Default: "30000", Min: connector.Min(1), Doc: "longest reconnect delay"},
		{Name: KeySpeed, Type: connector.TypeString, Default: "", Allowed: []string{"", "fast", "normal"}, Doc: "speed query parameter (offline matches only); empty = not sent"},
		{Name: KeyQueue, Type: connector.TypeInt, Default: "256", Min: connector.Min(1), Doc: "records buffered between the connections and Poll, over all the task's fixtures (backpressure beyond; see also imgarena.queue.bytes); " +
			"measured on an unpaced feed with 4 tasks, each queued record costs about 15 KB of process memory (the record, its share of the transaction being written, and the GC's headroom): 256 keep a worker of 4 tasks near 55 MB, 512 (with imgarena.batch.max 500) near 70 MB for the same records/s on 2 cores; more may pay where the broker's round trips, not the CPU, bound a task"},
		{Name: KeyQueueBytes, Type: connector.TypeInt, Default: "8388608", Min: connector.Min(1), Doc: "bytes of records (their raw frames) buffered between the connections and Poll, over all the task's fixtures; one record always passes, however large (backpressure beyond)"},
		{Name: KeyBatch, Type: connector.TypeInt, Default: "250", Min: connector.Min(1), Doc: "most records returned by one Poll (with the adaptive boundary, about one transaction's worth under full load)"},
		{Name: KeyFrameMax, Type: connector.TypeInt, Default: "1048576", Min: connector.Min(1024), Doc: "largest WebSocket message accepted; larger closes the connection"},
	}.Merge(live.Spec())
}

// config is the parsed provider settings.
type config struct {
	wsBase, restBase string
	token            string
	sport            string
	media            bool
	fixtures         []string
	pollInterval     time.Duration
	silence          time.Duration
	backoffInitial   time.Duration
	backoffMax       time.Duration
	speed            string
	queue, batch     int
	queueBytes       int
	frameMax         int64
}

// parseConfig reads a validated config.
func parseConfig(c connector.Config) (config, error) {
	cfg := config{
		wsBase:         strings.TrimRight(c.String(KeyURL), "/"),
		restBase:       strings.TrimRight(c.String(KeyRESTURL), "/"),
		token:          c.String(KeyToken),
		sport:          strings.Trim(c.String(KeySport), "/"),
		media:          c.String(KeyFeed) == FeedMedia,
		fixtures:       c.List(KeyFixtures),
		pollInterval:   c.Millis(KeyPollIntervalMs),
		silence:        c.Millis(KeySilenceMs),
		backoffInitial: c.Millis(KeyBackoffInitialMs),
		backoffMax:     c.Millis(KeyBackoffMaxMs),
		speed:          c.String(KeySpeed),
		queue:          int(c.Int(KeyQueue)),
		batch:          int(c.Int(KeyBatch)),
		queueBytes:     int(c.Int(KeyQueueBytes)),
		frameMax:       c.Int(KeyFrameMax),
	}
	u, err := url.Parse(cfg.wsBase)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return cfg, connector.Permanent(fmt.Errorf("%s=%q: want ws://host[:port] or wss://host[:port]", KeyURL, cfg.wsBase))
	}
	if cfg.restBase == "" {
		scheme := "http"
		if u.Scheme == "wss" {
			scheme = "https"
		}
		cfg.restBase = scheme + "://" + u.Host + strings.TrimRight(u.Path, "/")
	}
	if cfg.sport == "" {
		return cfg, connector.Permanent(fmt.Errorf("%s is empty", KeySport))
	}
	if cfg.backoffMax < cfg.backoffInitial {
		cfg.backoffMax = cfg.backoffInitial
	}
	return cfg, nil
}

// streamURL returns the WebSocket URL of fixture's actions, skipping start events.
func (c config) streamURL(fixture string, start int64) string {
	var b strings.Builder
	b.WriteString(c.wsBase)
	if c.media {
		b.WriteString("/media")
	}
	b.WriteString("/" + c.sport + "/fixtures/" + url.PathEscape(fixture) + "/actions?startPosition=")
	fmt.Fprint(&b, start)
	if c.speed != "" {
		b.WriteString("&speed=" + c.speed)
	}
	return b.String()
}

// fixturesURL returns the Fixtures REST API URL of the live, subscribed fixtures.
func (c config) fixturesURL() string {
	return c.restBase + "/" + c.sport + "/fixtures?live=true&subscribed=true"
}

// checkSport accepts a sport whose last path segment can be part of a
// topic name.
func checkSport(v string) error {
	sport := strings.Trim(v, "/")
	if sport == "" {
		return fmt.Errorf("expected a sport path segment such as soccer or v2/volleyball")
	}
	if err := connector.CheckTopicName(topicSport(sport)); err != nil {
		return fmt.Errorf("its last segment is part of the topic names: %w", err)
	}
	return nil
}

// topicSport is the sport as a topic name segment (v2/volleyball → volleyball).
func topicSport(sport string) string {
	if i := strings.LastIndexByte(sport, '/'); i >= 0 {
		sport = sport[i+1:]
	}
	return sport
}
