package roanuz

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/socketio"
)

// rawMatchConfig validates a roanuz.match config without a simulator.
func rawMatchConfig(t testing.TB, extra map[string]string) connector.Config {
	t.Helper()
	raw := connector.Config{"name": "rzm", "connector.class": ClassMatch, KeyAPIURL: "http://127.0.0.1:1", KeyProject: "p",
		KeyAPIKey: "k", KeyMatches: "m1,m2"}
	for k, v := range extra {
		raw[k] = v
	}
	cfg, err := connector.CommonSpec().Merge(MatchSpec()).Validate(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSpecURLs: the spec accepts only the schemes the client speaks (the
// REST API over http(s), Socket.IO over http(s) or ws(s)), so validate
// refuses the others before a task starts.
func TestSpecURLs(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]string
		want string // substring of the error; "" = valid
	}{
		{"simulator URLs", map[string]string{KeyAPIURL: "http://127.0.0.1:1", KeySocketURL: "ws://127.0.0.1:2"}, ""},
		{"socket URL over https", map[string]string{KeySocketURL: "https://socket.example.com"}, ""},
		{"socket URL empty: the API URL's", map[string]string{KeySocketURL: ""}, ""},
		{"socket URL of another scheme", map[string]string{KeySocketURL: "ftp://x"}, `"roanuz.socket.url" = "ftp://x": expected a http:// or https:// or ws:// or wss:// URL, not ftp://`},
		{"socket URL not a URL", map[string]string{KeySocketURL: "::nope"}, `"roanuz.socket.url" = "::nope"`},
		{"API URL over WebSocket", map[string]string{KeyAPIURL: "wss://api.example"}, `"roanuz.api.url" = "wss://api.example": expected a http:// or https:// URL, not wss://`},
		{"API URL without a scheme", map[string]string{KeyAPIURL: "api.sports.roanuz.com"}, `"roanuz.api.url" = "api.sports.roanuz.com"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for class, spec := range map[string]connector.ConfigSpec{ClassMatch: MatchSpec(), ClassWebhook: WebhookSpec()} {
				if _, ok := tc.set[KeySocketURL]; ok && class == ClassWebhook {
					continue
				}
				raw := connector.Config{"name": "rz", "connector.class": class, KeyProject: "p", KeyAPIKey: "k", KeySecret: "s"}
				if class == ClassMatch {
					delete(raw, KeySecret)
				}
				for k, v := range tc.set {
					raw[k] = v
				}
				_, err := connector.CommonSpec().Merge(spec).Validate(raw)
				if tc.want == "" {
					if err != nil {
						t.Fatalf("%s: %v", class, err)
					}
					continue
				}
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("%s: error %v, want %q", class, err, tc.want)
				}
			}
		})
	}
}

func keys(n int) string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("k%d", i))
	}
	return strings.Join(out, ",")
}

// sameBucket returns n match keys of one bucket.
func sameBucket(n int) string {
	var out []string
	for i := 0; len(out) < n; i++ {
		if k := fmt.Sprintf("s%d", i); bucketOf(k) == bucketOf("s0") {
			out = append(out, k)
		}
	}
	return strings.Join(out, ",")
}

func TestParseMatchConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra map[string]string
		want  string // substring of the error; "" = valid
		check func(t *testing.T, c matchConfig)
	}{
		{name: "socket URL from the API URL", check: func(t *testing.T, c matchConfig) {
			if c.socketURL != "ws://127.0.0.1:1" || c.engineIO != socketio.Auto || c.discover || len(c.matches) != 2 {
				t.Fatalf("%+v", c)
			}
		}},
		{name: "https becomes wss", extra: map[string]string{KeySocketURL: "https://socket.example.com"}, check: func(t *testing.T, c matchConfig) {
			if c.socketURL != "wss://socket.example.com" {
				t.Fatalf("socket URL %q", c.socketURL)
			}
		}},
		{name: "pinned Engine.IO v3", extra: map[string]string{KeySocketEngineIO: "3"}, check: func(t *testing.T, c matchConfig) {
			if c.engineIO != socketio.V3 {
				t.Fatalf("engineIO %v", c.engineIO)
			}
		}},
		{name: "repeated keys once", extra: map[string]string{KeyMatches: "m1,m2,m1"}, check: func(t *testing.T, c matchConfig) {
			if !slices.Equal(c.matches, []string{"m1", "m2"}) {
				t.Fatalf("matches %v", c.matches)
			}
		}},
		{name: "nothing to follow", extra: map[string]string{KeyMatches: ""}, want: "is empty"},
		{name: "discovery alone", extra: map[string]string{KeyMatches: "", KeyDiscover: DiscoverFeatured}, check: func(t *testing.T, c matchConfig) {
			if !c.discover || !slices.Equal(c.discoverStatus, []string{"not_started", "started"}) || c.discoverEvery.Seconds() != 60 {
				t.Fatalf("%+v", c)
			}
		}},
		{name: "over Roanuz's 20 connections", extra: map[string]string{KeyConnectionsMax: "21"}, want: "at most 20"},
		{name: "matches do not fit", extra: map[string]string{KeyMatches: keys(5), KeyMatchesPerConn: "2", KeyConnectionsMax: "2"}, want: "need 3 connections"},
		{name: "backoff max below initial", extra: map[string]string{KeyBackoffInitialMs: "900", KeyBackoffMaxMs: "100"}, check: func(t *testing.T, c matchConfig) {
			if c.backoffMax != c.backoffInitial {
				t.Fatalf("backoff %v..%v", c.backoffInitial, c.backoffMax)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseMatchConfig(rawMatchConfig(t, tc.extra))
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) || !connector.IsPermanent(err) {
					t.Fatalf("error %v, want a permanent one containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestAssignBuckets(t *testing.T) {
	for _, tc := range []struct {
		matches string
		n       int
	}{{"m1,m2", 1}, {"m1,m2", 2}, {keys(7), 3}, {keys(40), 20}, {"", 4}} {
		t.Run(fmt.Sprintf("%d tasks, %s", tc.n, tc.matches), func(t *testing.T) {
			ms := strings.Split(tc.matches, ",")
			if tc.matches == "" {
				ms = nil
			}
			deal := assignBuckets(ms, tc.n)
			if again := assignBuckets(ms, tc.n); fmt.Sprint(again) != fmt.Sprint(deal) {
				t.Fatalf("not deterministic: %v then %v", deal, again)
			}
			seen := map[int]int{}
			loads := make([]int, tc.n)
			for i, bs := range deal {
				for _, b := range bs {
					seen[b]++
				}
				for _, m := range ms {
					if slices.Contains(bs, bucketOf(m)) {
						loads[i]++
					}
				}
			}
			for b := 0; b < maxConnections; b++ {
				if seen[b] != 1 {
					t.Fatalf("bucket %d dealt %d times: %v", b, seen[b], deal)
				}
			}
			// Balanced as far as buckets allow: no task holds more than the
			// fullest bucket beyond the lightest task.
			fullest := 0
			for _, m := range ms {
				n := 0
				for _, x := range ms {
					if bucketOf(x) == bucketOf(m) {
						n++
					}
				}
				fullest = max(fullest, n)
			}
			if slices.Max(loads)-slices.Min(loads) > fullest {
				t.Fatalf("loads %v (fullest bucket %d)", loads, fullest)
			}
		})
	}
}

func TestTaskCount(t *testing.T) {
	for _, tc := range []struct {
		name     string
		extra    map[string]string
		maxTasks int
		want     int
	}{
		{"one match, many tasks", map[string]string{KeyMatches: "m1"}, 8, 1},
		{"discovery uses the tasks", map[string]string{KeyMatches: "", KeyDiscover: DiscoverFeatured}, 8, 8},
		{"never more than the connections", map[string]string{KeyMatches: "", KeyDiscover: DiscoverFeatured, KeyConnectionsMax: "3"}, 8, 3},
		{"balanced shares fit", map[string]string{KeyMatches: keys(6), KeyMatchesPerConn: "3", KeyConnectionsMax: "2"}, 2, 2},
		{"fewer tasks when a bucket does not fit", map[string]string{KeyMatches: sameBucket(4) + ",x,y", KeyMatchesPerConn: "3", KeyConnectionsMax: "2"}, 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseMatchConfig(rawMatchConfig(t, tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			n := taskCount(cfg, tc.maxTasks)
			if n != tc.want {
				t.Fatalf("%d tasks, want %d", n, tc.want)
			}
			if !fits(cfg, assignBuckets(cfg.matches, n)) {
				t.Fatalf("%d tasks do not fit their matches", n)
			}
			c := &MatchConnector{}
			if err := c.Start(t.Context(), rawMatchConfig(t, tc.extra)); err != nil {
				t.Fatal(err)
			}
			tcs, err := c.TaskConfigs(tc.maxTasks)
			if err != nil || len(tcs) != n {
				t.Fatalf("TaskConfigs: %d configs, %v; want %d", len(tcs), err, n)
			}
		})
	}
}
