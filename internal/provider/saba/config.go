package saba

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
)

// Class is the connector.class value.
const Class = "saba"

// Settings of the saba connector.
const (
	KeyBaseURL        = "saba.base.url"
	KeyVendorID       = "saba.vendor.id"
	KeyVendorMemberID = "saba.vendor.member.id"
	KeyVersion        = "saba.api.version"
	KeyStreams        = "saba.streams"
	KeyIncludeMarkets = "saba.include.markets"
	KeyLanguage       = "saba.language"
	KeyTombstones     = "saba.tombstones"
	KeySilenceTimeout = "stream.silence.timeout.ms"
	KeyRefreshMargin  = "saba.token.refresh.margin.ms"
	KeyBackoffInitial = "saba.reconnect.backoff.initial.ms"
	KeyBackoffMax     = "saba.reconnect.backoff.max.ms"
	KeyMaxEventBytes  = "saba.max.event.bytes"
	KeyQueueMessages  = "saba.queue.messages"
	KeyQueueBytes     = "saba.queue.bytes"
	KeyPollMaxRecords = "saba.poll.max.records"
	KeyAcceptEncoding = "saba.accept.encoding"
	KeyRequestTimeout = "saba.request.timeout.ms"
)

// Spec returns the saba connector's own settings and those of the
// normalized records (live.Spec).
func Spec() connector.ConfigSpec {
	return connector.ConfigSpec{
		{Name: KeyBaseURL, Type: connector.TypeString, Required: true, Check: connector.CheckURL("http", "https"), Doc: "base URL of the OddsDirect API, e.g. http://127.0.0.1:8090 for the simulator"},
		{Name: KeyVendorID, Type: connector.TypePassword, Required: true, Doc: "vendor_id sent to POST /login (a secret; use ${env:NAME})"},
		{Name: KeyVendorMemberID, Type: connector.TypeString, Required: true, Doc: "vendor_member_id sent to POST /login"},
		{Name: KeyVersion, Type: connector.TypeString, Default: "v1", Doc: "the {version} path segment of /sports/stream/{version}/..."},
		{Name: KeyStreams, Type: connector.TypeString, Required: true, Check: checkStreams, Doc: "streams, separated by ';' or newlines, each 'ENDPOINT [OData query]', e.g. 'GetEvents $filter=sporttype eq 1; GetMarkets $filter=sporttype eq 2'"},
		{Name: KeyIncludeMarkets, Type: connector.TypeString, Default: "", Doc: "includeMarkets of GetEvents streams: empty (server default), none, or an OData filter such as $filter=bettype eq 1"},
		{Name: KeyLanguage, Type: connector.TypeString, Default: "en", Doc: "language query parameter"},
		{Name: KeyTombstones, Type: connector.TypeBool, Default: "false", Doc: "also write a null-value tombstone keyed by eventId after each event remove (for a compacted events topic)"},
		{Name: KeySilenceTimeout, Type: connector.TypeInt, Default: "20000", Min: connector.Min(100), Doc: "reconnect when the stream sends no byte (keep-alives included) for this long"},
		{Name: KeyRefreshMargin, Type: connector.TypeInt, Default: "60000", Min: connector.Min(0), Doc: "refresh the token this long before it expires"},
		{Name: KeyBackoffInitial, Type: connector.TypeInt, Default: "250", Min: connector.Min(1), Doc: "first reconnect delay; doubled per failure, with jitter"},
		{Name: KeyBackoffMax, Type: connector.TypeInt, Default: "30000", Min: connector.Min(1), Doc: "longest reconnect delay"},
		{Name: KeyMaxEventBytes, Type: connector.TypeInt, Default: "67108864", Min: connector.Min(1024), Doc: "largest SSE message accepted (an initial snapshot is one message)"},
		{Name: KeyQueueMessages, Type: connector.TypeInt, Default: "4", Min: connector.Min(1), Doc: "decoded SSE messages buffered per stream between the network and Poll (backpressure)"},
		{Name: KeyQueueBytes, Type: connector.TypeInt, Default: "33554432", Min: connector.Min(1), Doc: "bytes of SSE messages buffered per task between the network and Poll; one message is always let through, however large"},
		{Name: KeyPollMaxRecords, Type: connector.TypeInt, Default: "5000", Min: connector.Min(1), Doc: "Poll stops taking further messages once this many records are gathered (a message is never split)"},
		{Name: KeyAcceptEncoding, Type: connector.TypeString, Default: "br, gzip, deflate", Doc: "Accept-Encoding of stream requests"},
		{Name: KeyRequestTimeout, Type: connector.TypeInt, Default: "15000", Min: connector.Min(1), Doc: "timeout of /login and /refreshToken requests"},
	}.Merge(live.Spec())
}

// StreamSpec is one configured stream: an endpoint and its OData query.
type StreamSpec struct {
	Endpoint string // GetEvents, GetMarkets, ...
	Query    string // the query parameter, e.g. $filter=sporttype eq 1; may be empty
}

// Name names the stream in logs, in metrics (the fixture label) and in the
// sc.saba.stream header of its dead letters: its endpoint and query.
func (sp StreamSpec) Name() string { return strings.TrimSpace(sp.Endpoint + " " + sp.Query) }

// knownEndpoints are the stream endpoints of the documents.
var knownEndpoints = map[string]bool{"GetEvents": true, "GetMarkets": true, "GetOutrights": true, "GetSports": true, "GetLeagues": true}

// ParseStreams parses the saba.streams setting.
func ParseStreams(s string) ([]StreamSpec, error) {
	var out []StreamSpec
	seen := map[StreamSpec]bool{}
	for _, item := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		ep, q, _ := strings.Cut(item, " ")
		sp := StreamSpec{Endpoint: ep, Query: strings.TrimSpace(q)}
		if !knownEndpoints[ep] {
			return nil, &connector.ConfigError{Key: KeyStreams, Value: item, Problem: "unknown endpoint; expected GetEvents, GetMarkets, GetOutrights, GetSports or GetLeagues"}
		}
		if seen[sp] {
			return nil, &connector.ConfigError{Key: KeyStreams, Value: item, Problem: "listed twice"}
		}
		seen[sp] = true
		out = append(out, sp)
	}
	if len(out) == 0 {
		return nil, &connector.ConfigError{Key: KeyStreams, Value: s, Problem: "names no stream"}
	}
	return out, nil
}

// checkStreams is the spec's check of saba.streams: ParseStreams' problem,
// naming the stream it is about.
func checkStreams(v string) error {
	if _, err := ParseStreams(v); err != nil {
		var ce *connector.ConfigError
		if errors.As(err, &ce) && ce.Value != v {
			return fmt.Errorf("%q: %s", ce.Value, ce.Problem)
		}
		if ce != nil {
			return errors.New(ce.Problem)
		}
		return err
	}
	return nil
}

// settings are the parsed connector settings a task needs.
type settings struct {
	baseURL, vendorID, memberID, version string
	includeMarkets, language, acceptEnc  string
	tombstones                           bool
	silence, refreshMargin               time.Duration
	backoffInitial, backoffMax           time.Duration
	requestTimeout                       time.Duration
	maxEventBytes, queue, pollMax        int
	queueBytes                           int
	streams                              []StreamSpec
}

func parseSettings(cfg connector.Config) (settings, error) {
	streams, err := ParseStreams(cfg.String(KeyStreams))
	if err != nil {
		return settings{}, err
	}
	s := settings{
		baseURL:        strings.TrimRight(cfg.String(KeyBaseURL), "/"),
		vendorID:       cfg.String(KeyVendorID),
		memberID:       cfg.String(KeyVendorMemberID),
		version:        cfg.String(KeyVersion),
		includeMarkets: cfg.String(KeyIncludeMarkets),
		language:       cfg.String(KeyLanguage),
		acceptEnc:      cfg.String(KeyAcceptEncoding),
		tombstones:     cfg.Bool(KeyTombstones),
		silence:        cfg.Millis(KeySilenceTimeout),
		refreshMargin:  cfg.Millis(KeyRefreshMargin),
		backoffInitial: cfg.Millis(KeyBackoffInitial),
		backoffMax:     cfg.Millis(KeyBackoffMax),
		requestTimeout: cfg.Millis(KeyRequestTimeout),
		maxEventBytes:  int(cfg.Int(KeyMaxEventBytes)),
		queue:          int(cfg.Int(KeyQueueMessages)),
		queueBytes:     int(cfg.Int(KeyQueueBytes)),
		pollMax:        int(cfg.Int(KeyPollMaxRecords)),
		streams:        streams,
	}
	if s.baseURL == "" {
		return settings{}, &connector.ConfigError{Key: KeyBaseURL, Problem: "is required"}
	}
	if s.backoffMax < s.backoffInitial {
		return settings{}, &connector.ConfigError{Key: KeyBackoffMax, Value: fmt.Sprint(cfg.Int(KeyBackoffMax)), Problem: "must be >= " + KeyBackoffInitial}
	}
	return s, nil
}
