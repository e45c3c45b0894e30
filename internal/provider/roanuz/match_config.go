package roanuz

import (
	"fmt"
	"hash/fnv"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/socketio"
)

// Settings of roanuz.match.
const (
	KeySocketURL        = "roanuz.socket.url"
	KeySocketEngineIO   = "roanuz.socket.engineio"
	KeyConnectionsMax   = "roanuz.connections.max"
	KeyMatchesPerConn   = "roanuz.matches.per.connection"
	KeyBackoffInitialMs = "roanuz.reconnect.backoff.initial.ms"
	KeyBackoffMaxMs     = "roanuz.reconnect.backoff.max.ms"
	KeyUpdateMax        = "roanuz.update.max.bytes"
	KeyDiscover         = "roanuz.matches.discover"
	KeyDiscoverInterval = "roanuz.matches.discover.interval.ms"
	KeyDiscoverStatus   = "roanuz.matches.discover.status"
	KeyQueueBytes       = "roanuz.queue.bytes"
)

// Values of roanuz.matches.discover.
const (
	DiscoverNone     = "none"     // follow roanuz.matches only
	DiscoverFeatured = "featured" // also follow the featured-matches list
)

// maxConnections is Roanuz's limit of WebSocket connections per project.
// It is also the number of match buckets (see bucketOf): no more tasks than
// that can hold a connection each.
const maxConnections = 20

// MatchSpec returns the settings of roanuz.match.
func MatchSpec() connector.ConfigSpec {
	return sharedSpec(true).Merge(connector.ConfigSpec{
		{Name: KeySocketURL, Type: connector.TypeString, Default: "", Check: connector.OrEmpty(connector.CheckURL("http", "https", "ws", "wss")), Doc: "Socket.IO server base URL (http(s) or ws(s)); empty = roanuz.api.url's host"},
		{Name: KeySocketEngineIO, Type: connector.TypeString, Default: "auto", Allowed: []string{"auto", "3", "4"},
			Doc: "Engine.IO version of the Socket.IO server: auto tries 4 and falls back to 3 (and keeps what worked for the reconnects)"},
		{Name: KeyConnectionsMax, Type: connector.TypeInt, Default: "20", Min: connector.Min(1), Doc: "most Socket.IO connections of the project, over all tasks (Roanuz allows 20)"},
		{Name: KeyMatchesPerConn, Type: connector.TypeInt, Default: "10", Min: connector.Min(1), Doc: "matches joined over one connection"},
		{Name: KeyBackoffInitialMs, Type: connector.TypeInt, Default: "500", Min: connector.Min(1), Doc: "first reconnect delay; doubles per failure, with jitter"},
		{Name: KeyBackoffMaxMs, Type: connector.TypeInt, Default: "30000", Min: connector.Min(1), Doc: "longest reconnect delay"},
		{Name: KeyUpdateMax, Type: connector.TypeInt, Default: "8388608", Min: connector.Min(1024), Doc: "largest match document accepted, inflated"},
		{Name: KeyDiscover, Type: connector.TypeString, Default: DiscoverNone, Allowed: []string{DiscoverNone, DiscoverFeatured},
			Doc: "featured: besides roanuz.matches, follow the matches of GET /v5/cricket/{project}/featured-matches-2/ whose status is in roanuz.matches.discover.status, and release (unsubscribe) a listed match that disappears from the list"},
		{Name: KeyDiscoverInterval, Type: connector.TypeInt, Default: "60000", Min: connector.Min(100), Doc: "how often the featured list is read"},
		{Name: KeyDiscoverStatus, Type: connector.TypeList, Default: "not_started,started", Doc: "statuses of listed matches to follow (live and upcoming)"},
		{Name: KeyQueueBytes, Type: connector.TypeInt, Default: "33554432", Min: connector.Min(1), Doc: "bytes of match documents buffered per task between the connections and Poll, beside roanuz.queue.size (backpressure beyond); one document is always let through, however large"},
	}).Merge(live.Spec())
}

type matchConfig struct {
	apiURL, socketURL, project, apiKey string
	engineIO                           socketio.Version
	matches                            []string
	connsMax, perConn                  int
	backoffInitial, backoffMax         time.Duration
	updateMax                          int64
	queue, batch                       int
	queueBytes                         int
	discover                           bool
	discoverEvery                      time.Duration
	discoverStatus                     []string
}

func parseMatchConfig(c connector.Config) (matchConfig, error) {
	cfg := matchConfig{apiURL: strings.TrimRight(c.String(KeyAPIURL), "/"), socketURL: c.String(KeySocketURL),
		project: c.String(KeyProject), apiKey: c.String(KeyAPIKey), matches: dedupe(c.List(KeyMatches)),
		connsMax: int(c.Int(KeyConnectionsMax)), perConn: int(c.Int(KeyMatchesPerConn)),
		backoffInitial: c.Millis(KeyBackoffInitialMs), backoffMax: c.Millis(KeyBackoffMaxMs),
		updateMax: c.Int(KeyUpdateMax), queue: int(c.Int(KeyQueue)), batch: int(c.Int(KeyBatch)), queueBytes: int(c.Int(KeyQueueBytes)),
		discover: c.String(KeyDiscover) == DiscoverFeatured, discoverEvery: c.Millis(KeyDiscoverInterval),
		discoverStatus: c.List(KeyDiscoverStatus)}
	switch c.String(KeySocketEngineIO) {
	case "3":
		cfg.engineIO = socketio.V3
	case "4":
		cfg.engineIO = socketio.V4
	default:
		cfg.engineIO = socketio.Auto
	}
	if len(cfg.matches) == 0 && !cfg.discover {
		return cfg, connector.Permanent(fmt.Errorf("%s is empty and %s=%s: name the match keys to follow, or discover them with %s=%s",
			KeyMatches, KeyDiscover, DiscoverNone, KeyDiscover, DiscoverFeatured))
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
	case "ws", "wss":
	default:
		return cfg, connector.Permanent(fmt.Errorf("%s=%q: scheme must be http, https, ws or wss", KeySocketURL, cfg.socketURL))
	}
	cfg.socketURL = u.String()
	if cfg.backoffMax < cfg.backoffInitial {
		cfg.backoffMax = cfg.backoffInitial
	}
	return cfg, nil
}

// dedupe drops repeated keys, keeping the first.
func dedupe(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// bucketOf returns the bucket of a match key. Buckets, not matches, are
// dealt to tasks, and each bucket has its own roster partition (the
// matches of the bucket that are subscribed), so whatever the number of
// tasks, every roster has exactly one task reading and writing it.
func bucketOf(match string) int {
	h := fnv.New32a()
	h.Write([]byte(match))
	return int(h.Sum32() % maxConnections)
}

// assignBuckets deals the buckets to n tasks, balancing the configured
// matches: the fullest buckets first, each to the task holding the fewest
// matches (then the fewest buckets). It is deterministic, so the connector
// and every task compute the same deal.
func assignBuckets(matches []string, n int) [][]int {
	load := make([]int, maxConnections)
	for _, m := range matches {
		load[bucketOf(m)]++
	}
	order := make([]int, maxConnections)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return load[b] - load[a] })
	out := make([][]int, n)
	taskLoad := make([]int, n)
	for _, b := range order {
		best := 0
		for i := 1; i < n; i++ {
			if taskLoad[i] < taskLoad[best] || (taskLoad[i] == taskLoad[best] && len(out[i]) < len(out[best])) {
				best = i
			}
		}
		out[best] = append(out[best], b)
		taskLoad[best] += load[b]
	}
	for _, bs := range out {
		slices.Sort(bs)
	}
	return out
}

// taskCount returns how many tasks to run for cfg with at most maxTasks:
// never more than the connections allow (each task holds at least one),
// without discovery never more than the buckets holding matches, and few
// enough that every task's configured matches fit its connections.
func taskCount(cfg matchConfig, maxTasks int) int {
	n := min(maxTasks, cfg.connsMax, maxConnections)
	if !cfg.discover {
		used := map[int]bool{}
		for _, m := range cfg.matches {
			used[bucketOf(m)] = true
		}
		n = min(n, max(len(used), 1))
	}
	for ; n > 1; n-- {
		if fits(cfg, assignBuckets(cfg.matches, n)) {
			break
		}
	}
	return max(n, 1)
}

// fits reports whether every task's configured matches fit its share of
// the connections.
func fits(cfg matchConfig, deal [][]int) bool {
	budget := cfg.connsMax / len(deal)
	for _, bs := range deal {
		n := 0
		for _, m := range cfg.matches {
			if slices.Contains(bs, bucketOf(m)) {
				n++
			}
		}
		if (n+cfg.perConn-1)/cfg.perConn > budget {
			return false
		}
	}
	return true
}
