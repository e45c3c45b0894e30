package worker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
)

func TestParseProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want connector.Config
	}{
		{"equals", "a=b\n", connector.Config{"a": "b"}},
		{"colon and spaces", "a : b c \n", connector.Config{"a": "b c "}},
		{"whitespace separator", "key value\n", connector.Config{"key": "value"}},
		{"comments and blanks", "# c\n! c\n\n  x=1\n", connector.Config{"x": "1"}},
		{"continuation", "list=a,\\\n    b,\\\n    c\n", connector.Config{"list": "a,b,c"}},
		{"escapes", `k\:x=v\tw\u0041` + "\n", connector.Config{"k:x": "v\twA"}},
		{"empty value", "e=\n", connector.Config{"e": ""}},
		{"no trailing newline", "last=1", connector.Config{"last": "1"}},
		{"jaas", `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`,
			connector.Config{"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProperties(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%q = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestParsePropertiesBadEscape(t *testing.T) {
	if _, err := ParseProperties(strings.NewReader(`a=\u00`)); err == nil {
		t.Fatal("want an error for a short \\u escape")
	}
}

func TestResolveRefs(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets.properties")
	if err := os.WriteFile(secrets, []byte("token=from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	whole := filepath.Join(dir, "token.txt")
	if err := os.WriteFile(whole, []byte("whole-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SC_TEST_TOKEN", "from-env")
	got, err := ResolveRefs(connector.Config{
		"a": "${env:SC_TEST_TOKEN}",
		"b": "${file:" + secrets + ":token}",
		"c": "Bearer ${file:" + whole + "}",
		"d": "plain",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := connector.Config{"a": "from-env", "b": "from-file", "c": "Bearer whole-file", "d": "plain"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	_, err = ResolveRefs(connector.Config{"x": "${env:SC_SURELY_UNSET_VAR}", "y": "${file:" + secrets + ":nokey}"})
	if err == nil || !strings.Contains(err.Error(), `"x"`) || !strings.Contains(err.Error(), `"y"`) {
		t.Fatalf("want errors naming x and y, got %v", err)
	}
}

func FuzzParseProperties(f *testing.F) {
	for _, s := range []string{"a=b\n", "k v\\\n  w\n", `x\u0041=\t`, "#c\n!d\n", "a:=:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cfg, err := ParseProperties(strings.NewReader(in))
		if err != nil {
			return
		}
		for k := range cfg {
			_ = cfg.String(k)
		}
	})
}
