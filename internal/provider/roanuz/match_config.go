package roanuz

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

// Settings of roanuz.match.
const (
	KeySocketURL        = "roanuz.socket.url"
	KeyConnectionsMax   = "roanuz.connections.max"
	KeyMatchesPerConn   = "roanuz.matches.per.connection"
	KeyBackoffInitialMs = "roanuz.reconnect.backoff.initial.ms"
	KeyBackoffMaxMs     = "roanuz.reconnect.backoff.max.ms"
	KeyUpdateMax        = "roanuz.update.max.bytes"
)

// maxConnections is Roanuz's limit of WebSocket connections per project.
const maxConnections = 20

// MatchSpec returns the settings of roanuz.match.
func MatchSpec() connector.ConfigSpec {
	return sharedSpec(true).Merge(connector.ConfigSpec{
		{Name: KeySocketURL, Type: connector.TypeString, Default: "", Doc: "Socket.IO server base URL (http(s) or ws(s)); empty = roanuz.api.url's host"},
		{Name: KeyConnectionsMax, Type: connector.TypeInt, Default: "20", Min: connector.Min(1), Doc: "most Socket.IO connections of the project, over all tasks (Roanuz allows 20)"},
		{Name: KeyMatchesPerConn, Type: connector.TypeInt, Default: "10", Min: connector.Min(1), Doc: "matches joined over one connection"},
		{Name: KeyBackoffInitialMs, Type: connector.TypeInt, Default: "500", Min: connector.Min(1), Doc: "first reconnect delay; doubles per failure, with jitter"},
		{Name: KeyBackoffMaxMs, Type: connector.TypeInt, Default: "30000", Min: connector.Min(1), Doc: "longest reconnect delay"},
		{Name: KeyUpdateMax, Type: connector.TypeInt, Default: "8388608", Min: connector.Min(1024), Doc: "largest match document accepted, inflated"},
	})
}

type matchConfig struct {
	apiURL, socketURL, project, apiKey string
	matches                            []string
	connsMax, perConn                  int
	backoffInitial, backoffMax         time.Duration
	updateMax                          int64
	queue, batch                       int
}

func parseMatchConfig(c connector.Config) (matchConfig, error) {
	cfg := matchConfig{apiURL: strings.TrimRight(c.String(KeyAPIURL), "/"), socketURL: c.String(KeySocketURL),
		project: c.String(KeyProject), apiKey: c.String(KeyAPIKey), matches: c.List(KeyMatches),
		connsMax: int(c.Int(KeyConnectionsMax)), perConn: int(c.Int(KeyMatchesPerConn)),
		backoffInitial: c.Millis(KeyBackoffInitialMs), backoffMax: c.Millis(KeyBackoffMaxMs),
		updateMax: c.Int(KeyUpdateMax), queue: int(c.Int(KeyQueue)), batch: int(c.Int(KeyBatch))}
	if len(cfg.matches) == 0 {
		return cfg, connector.Permanent(fmt.Errorf("%s is empty: name the match keys to follow", KeyMatches))
	}
	if cfg.connsMax > maxConnections {
		return cfg, connector.Permanent(fmt.Errorf("%s=%d: Roanuz allows at most %d connections per project", KeyConnectionsMax, cfg.connsMax, maxConnections))
	}
	if need := (len(cfg.matches) + cfg.perConn - 1) / cfg.perConn; need > cfg.connsMax {
		return cfg, connector.Permanent(fmt.Errorf("%d matches at %d per connection need %d connections, over %s=%d: raise %s",
			len(cfg.matches), cfg.perConn, need, KeyConnectionsMax, cfg.connsMax, KeyMatchesPerConn))
	}
	if cfg.socketURL == "" {
		cfg.socketURL = cfg.apiURL
	}
	u, err := url.Parse(cfg.socketURL)
	if err != nil || u.Host == "" {
		return cfg, connector.Permanent(fmt.Errorf("%s=%q is not a URL", KeySocketURL, cfg.socketURL))
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	cfg.socketURL = u.String()
	if cfg.backoffMax < cfg.backoffInitial {
		cfg.backoffMax = cfg.backoffInitial
	}
	return cfg, nil
}
