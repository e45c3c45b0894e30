package connector

import (
	"strings"
	"testing"
)

func TestNameChecks(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) error
		in    string
		want  string // substring of the error; "" = accepted
	}{
		{"topic", CheckTopicName, "sportsconnect.synthetic-events_1", ""},
		{"topic at the limit", CheckTopicName, strings.Repeat("t", 249), ""},
		{"topic too long", CheckTopicName, strings.Repeat("t", 250), "at most 249 characters, this one has 250"},
		{"topic empty", CheckTopicName, "", "not an empty one"},
		{"topic dot", CheckTopicName, ".", `"." is not a legal topic name`},
		{"topic dot dot", CheckTopicName, "..", `".." is not a legal topic name`},
		{"topic with a slash", CheckTopicName, "a/b", `"/" is not allowed in a topic name`},
		{"topic with a colon", CheckTopicName, "a:b", `":" is not allowed`},
		{"topic non-ASCII", CheckTopicName, "matchés", `"é" is not allowed`},
		{"prefix empty", CheckTopicPrefix, "", ""},
		{"prefix", CheckTopicPrefix, "prod.sports", ""},
		{"prefix dot", CheckTopicPrefix, ".", "not a usable topic prefix"},
		{"prefix space", CheckTopicPrefix, "my prefix", `" " is not allowed`},
		{"prefix too long", CheckTopicPrefix, strings.Repeat("p", 248), "at most 247 characters"},
		{"connector", CheckConnectorName, "img arena-1.prod", ""},
		{"connector empty", CheckConnectorName, "", "not an empty one"},
		{"connector blank", CheckConnectorName, "  ", "not an empty one"},
		{"connector slash", CheckConnectorName, "a/b", "may not contain '/'"},
		{"connector newline", CheckConnectorName, "a\nb", "control character (U+000A)"},
		{"connector DEL", CheckConnectorName, "a\x7fb", "control character (U+007F)"},
		{"connector C1 control", CheckConnectorName, "a\u0085b", "control character (U+0085)"},
		{"ws URL", CheckURL("ws", "wss"), "wss://dde-streams.data.imgarena.com", ""},
		{"ws URL with port and path", CheckURL("ws", "wss"), "ws://127.0.0.1:8080/feed", ""},
		{"ftp for ws", CheckURL("ws", "wss"), "ftp://x", "expected a ws:// or wss:// URL, not ftp://"},
		{"http for ws", CheckURL("ws", "wss"), "http://x", "not http://"},
		{"no scheme", CheckURL("http", "https"), "registry:8081", "expected a http:// or https:// URL"},
		{"no host", CheckURL("http", "https"), "http://", "with a host"},
		{"unparsable", CheckURL("http", "https"), "http://[::1", "expected a http:// or https:// URL"},
		{"empty refused", CheckURL("http"), "", "with a host"},
		{"empty allowed by OrEmpty", OrEmpty(CheckURL("http")), "", ""},
		{"OrEmpty still checks", OrEmpty(CheckURL("http")), "ws://x", "not ws://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("%q refused: %v", tt.in, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%q: error %v, want one containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestAllowedList(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{[]string{"", "fast", "normal"}, `"" (empty), "fast", "normal"`},
		{[]string{"none", "all"}, `"none", "all"`},
		{[]string{"a b"}, `"a b"`},
	} {
		if got := AllowedList(tt.in); got != tt.want {
			t.Errorf("AllowedList(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
