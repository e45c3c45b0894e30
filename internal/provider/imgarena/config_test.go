package imgarena

import (
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name      string
		set       map[string]string
		wantErr   string
		stream    string
		fixtures  string
		topicPart string
	}{
		{name: "betting", set: map[string]string{KeyURL: "wss://dde.example:443"}, stream: "wss://dde.example:443/soccer/fixtures/12/actions?startPosition=5", fixtures: "https://dde.example:443/soccer/fixtures?live=true&subscribed=true"},
		{name: "media fast", set: map[string]string{KeyURL: "ws://h/", KeyFeed: FeedMedia, KeySpeed: "fast"}, stream: "ws://h/media/soccer/fixtures/12/actions?startPosition=5&speed=fast", fixtures: "http://h/soccer/fixtures?live=true&subscribed=true"},
		{name: "volleyball", set: map[string]string{KeyURL: "ws://h", KeySport: "v2/volleyball", KeyRESTURL: "http://rest"}, stream: "ws://h/v2/volleyball/fixtures/12/actions?startPosition=5", fixtures: "http://rest/v2/volleyball/fixtures?live=true&subscribed=true"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := connector.Config{"name": "n", "connector.class": Class, KeyToken: "s3cret"}
			for k, v := range tc.set {
				raw[k] = v
			}
			cfg, err := connector.CommonSpec().Merge(Spec()).Validate(raw)
			if err != nil {
				t.Fatal(err)
			}
			c, err := parseConfig(cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !connector.IsPermanent(err) {
					t.Fatalf("err %v, want permanent %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.streamURL("12", 5); got != tc.stream {
				t.Fatalf("stream %s, want %s", got, tc.stream)
			}
			if got := c.fixturesURL(); got != tc.fixtures {
				t.Fatalf("fixtures %s, want %s", got, tc.fixtures)
			}
			if strings.Contains(c.streamURL("12", 5)+c.fixturesURL(), "s3cret") {
				t.Fatal("token in a URL")
			}
		})
	}
}

// TestSpecChecks: the spec refuses URLs of a scheme the client does not
// speak (the stream is a WebSocket, the Fixtures API is HTTP) and a sport
// that cannot be part of a topic name, before a task starts.
func TestSpecChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]string
		want string // substring of the error; "" = valid
	}{
		{"simulator", map[string]string{KeyURL: "ws://127.0.0.1:9000"}, ""},
		{"production with a REST URL", map[string]string{KeyURL: "wss://dde-streams.data.imgarena.com", KeyRESTURL: "https://dde-api.data.imgarena.com"}, ""},
		{"stream over ftp", map[string]string{KeyURL: "ftp://feed"}, `"imgarena.url" = "ftp://feed": expected a ws:// or wss:// URL, not ftp://`},
		{"stream over http", map[string]string{KeyURL: "http://h"}, `expected a ws:// or wss:// URL, not http://`},
		{"stream without a host", map[string]string{KeyURL: "wss://"}, `"imgarena.url" = "wss://": expected a ws:// or wss:// URL with a host`},
		{"REST over WebSocket", map[string]string{KeyURL: "wss://h", KeyRESTURL: "wss://h"}, `"imgarena.rest.url" = "wss://h": expected a http:// or https:// URL, not wss://`},
		{"sport with a path", map[string]string{KeyURL: "wss://h", KeySport: "v2/volleyball"}, ""},
		{"sport with a space", map[string]string{KeyURL: "wss://h", KeySport: "ice hockey"}, `"imgarena.sport" = "ice hockey": its last segment is part of the topic names: " " is not allowed`},
		{"sport empty", map[string]string{KeyURL: "wss://h", KeySport: "/"}, `"imgarena.sport" = "/": expected a sport path segment`},
		{"speed outside the allowed set", map[string]string{KeyURL: "wss://h", KeySpeed: "slow"}, `expected one of "" (empty), "fast", "normal"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := connector.Config{"name": "n", "connector.class": Class, KeyToken: "s3cret"}
			for k, v := range tc.set {
				raw[k] = v
			}
			_, err := connector.CommonSpec().Merge(Spec()).Validate(raw)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTokenRedacted(t *testing.T) {
	spec := connector.CommonSpec().Merge(Spec())
	got := spec.Redact(connector.Config{KeyToken: "s3cret"})
	if got[KeyToken] != connector.Redacted {
		t.Fatalf("token shown as %q", got[KeyToken])
	}
}

func TestTaskConfigsSplit(t *testing.T) {
	cases := []struct {
		fixtures string
		max      int
		want     []string
	}{
		{"1,2,3,4,5", 2, []string{"1,3,5", "2,4"}},
		{"1,2", 4, []string{"1", "2"}},
		{"", 3, []string{"", "", ""}},
	}
	for _, tc := range cases {
		cfg, err := connector.CommonSpec().Merge(Spec()).Validate(connector.Config{"name": "n", "connector.class": Class, KeyToken: "x", KeyURL: "ws://h", KeyFixtures: tc.fixtures})
		if err != nil {
			t.Fatal(err)
		}
		c := &Connector{}
		if err := c.Start(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		tcs, err := c.TaskConfigs(tc.max)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range tcs {
			got = append(got, x[KeyFixtures])
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s/%d: %v, want %v", tc.fixtures, tc.max, got, tc.want)
		}
	}
}
