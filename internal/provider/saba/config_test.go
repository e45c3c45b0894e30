package saba

import (
	"os"
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
)

func TestParseStreams(t *testing.T) {
	cases := []struct {
		in   string
		want []StreamSpec
		ok   bool
	}{
		{"GetEvents", []StreamSpec{{"GetEvents", ""}}, true},
		{"GetEvents $filter=sporttype eq 1; GetMarkets $filter=bettype eq 1", []StreamSpec{{"GetEvents", "$filter=sporttype eq 1"}, {"GetMarkets", "$filter=bettype eq 1"}}, true},
		{"GetEvents $filter=a eq 1\n GetEvents $filter=a eq 2 ", []StreamSpec{{"GetEvents", "$filter=a eq 1"}, {"GetEvents", "$filter=a eq 2"}}, true},
		{"GetFixtures", nil, false},
		{" ; ", nil, false},
		{"GetEvents; GetEvents", nil, false},
	}
	for _, c := range cases {
		got, err := ParseStreams(c.in)
		if (err == nil) != c.ok || len(got) != len(c.want) {
			t.Errorf("%q: %v %v", c.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: %v", c.in, got)
			}
		}
	}
}

// TestSpecChecks: the spec refuses a base URL the HTTP client cannot use
// and streams it cannot open, before a task starts.
func TestSpecChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]string
		want string // substring of the error; "" = valid
	}{
		{"simulator", map[string]string{KeyBaseURL: "http://127.0.0.1:8090"}, ""},
		{"over WebSocket", map[string]string{KeyBaseURL: "wss://odds.example"}, `"saba.base.url" = "wss://odds.example": expected a http:// or https:// URL, not wss://`},
		{"without a scheme", map[string]string{KeyBaseURL: "odds.example:443"}, `"saba.base.url" = "odds.example:443": expected a http:// or https:// URL`},
		{"unknown endpoint", map[string]string{KeyStreams: "GetEvents; GetFixtures $top=1"}, `"saba.streams" = "GetEvents; GetFixtures $top=1": "GetFixtures $top=1": unknown endpoint`},
		{"no stream", map[string]string{KeyStreams: " ; "}, `"saba.streams" = " ; ": names no stream`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := connector.Config{"name": "n", "connector.class": Class, KeyBaseURL: "https://odds.example", KeyVendorID: "v", KeyVendorMemberID: "m", KeyStreams: "GetEvents"}
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

func TestSpecRedactsVendorID(t *testing.T) {
	cfg := connector.Config{KeyVendorID: "secret-vendor", KeyVendorMemberID: "m"}
	if got := Spec().Redact(cfg)[KeyVendorID]; got != connector.Redacted {
		t.Fatalf("vendor id shown as %q", got)
	}
	if _, err := connector.CommonSpec().Merge(Spec()).Validate(connector.Config{"name": "x", "connector.class": Class}); err == nil {
		t.Fatal("missing required settings accepted")
	}
}

func TestTaskConfigsSplitStreams(t *testing.T) {
	c := &Connector{}
	cfg := taskConfig(t, "http://x", "GetEvents; GetMarkets; GetEvents $filter=sporttype eq 2", nil)
	if err := c.Start(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	for _, c2 := range []struct{ max, want int }{{1, 1}, {2, 2}, {8, 3}} {
		got, err := c.TaskConfigs(c2.max)
		if err != nil || len(got) != c2.want {
			t.Errorf("tasks.max %d: %d configs, %v", c2.max, len(got), err)
		}
	}
	ts := c.Topics()
	if len(ts) != 4 || ts[0].Name != "sportsconnect.saba.events" || ts[1].Name != "sportsconnect.saba.markets" ||
		ts[2].Name != "sportsconnect.live.events" || ts[3].Name != "sportsconnect.live.matches" || !ts[3].Compact || !ts[3].Restore {
		t.Fatalf("topics %v", topicNames(ts))
	}
	if names := Plugin().Topics(cfg); len(names) != 4 || names[2] != "sportsconnect.live.events" || names[3] != "sportsconnect.live.matches" {
		t.Fatalf("Plugin.Topics %v", names)
	}
	if err := c.Start(t.Context(), taskConfig(t, "http://x", "GetEvents", map[string]string{live.KeyEnabled: "false"})); err != nil {
		t.Fatal(err)
	}
	if ts := c.Topics(); len(ts) != 2 {
		t.Fatalf("live.events.enabled=false: topics %v", topicNames(ts))
	}
}

func topicNames(ts []connector.TopicSpec) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

// TestDocListsEverySetting: the package documentation's Configuration
// section names every setting of Spec, with its default.
func TestDocListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "// # Configuration")
	if !ok {
		t.Fatal("doc.go has no Configuration section")
	}
	for _, k := range Spec() {
		want := "//\t" + k.Name + " "
		i := strings.Index(section, want)
		if i < 0 {
			t.Errorf("doc.go does not list %s", k.Name)
			continue
		}
		line, _, _ := strings.Cut(section[i+len(want):], "\n")
		switch {
		case k.Required && !strings.Contains(line, "required"):
			t.Errorf("doc.go: %s is required", k.Name)
		case !k.Required && k.Default != "" && !strings.Contains(line, k.Default):
			t.Errorf("doc.go: %s defaults to %q: %s", k.Name, k.Default, line)
		}
	}
}
