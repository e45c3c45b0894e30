package connector

import (
	"errors"
	"strings"
	"testing"
)

func testSpec() ConfigSpec {
	return ConfigSpec{
		{Name: "a.required", Type: TypeString, Required: true, Doc: "needed"},
		{Name: "an.int", Type: TypeInt, Default: "5", Min: Min(1)},
		{Name: "a.bool", Type: TypeBool, Default: "false"},
		{Name: "a.choice", Type: TypeString, Default: "x", Allowed: []string{"x", "y"}},
		{Name: "a.secret", Type: TypePassword, Default: ""},
		{Name: "a.list", Type: TypeList, Default: "p, q,,r"},
		{Name: "a.speed", Type: TypeString, Default: "", Allowed: []string{"", "fast", "normal"}},
		{Name: "a.topic", Type: TypeString, Default: "t", Check: CheckTopicName},
	}
}

func TestConfigSpecValidate(t *testing.T) {
	tests := []struct {
		name    string
		in      Config
		wantErr []string // substrings, one per expected problem
		check   func(t *testing.T, c Config)
	}{
		{
			name: "defaults applied",
			in:   Config{"a.required": "v"},
			check: func(t *testing.T, c Config) {
				if c.Int("an.int") != 5 || c.Bool("a.bool") || c.String("a.choice") != "x" {
					t.Fatalf("defaults not applied: %v", c)
				}
				if got := c.List("a.list"); strings.Join(got, "|") != "p|q|r" {
					t.Fatalf("List = %q", got)
				}
			},
		},
		{name: "missing required", in: Config{}, wantErr: []string{`config "a.required": is required: needed`}},
		{name: "blank required", in: Config{"a.required": "  "}, wantErr: []string{`"a.required": is required`}},
		{name: "bad int", in: Config{"a.required": "v", "an.int": "five"}, wantErr: []string{`config "an.int" = "five": expected an integer`}},
		{name: "int below min", in: Config{"a.required": "v", "an.int": "0"}, wantErr: []string{`expected an integer >= 1`}},
		{name: "bad bool", in: Config{"a.required": "v", "a.bool": "yes please"}, wantErr: []string{`"a.bool" = "yes please": expected true or false`}},
		{name: "not allowed", in: Config{"a.required": "v", "a.choice": "z"}, wantErr: []string{`expected one of "x", "y"`}},
		{name: "not allowed, the empty value named", in: Config{"a.required": "v", "a.speed": "slow"}, wantErr: []string{`config "a.speed" = "slow": expected one of "" (empty), "fast", "normal"`}},
		{name: "allowed empty value", in: Config{"a.required": "v", "a.speed": ""}, check: func(t *testing.T, c Config) {
			if c.String("a.speed") != "" {
				t.Fatalf("a.speed = %q", c.String("a.speed"))
			}
		}},
		{name: "refused by Check", in: Config{"a.required": "v", "a.topic": "bad topic"}, wantErr: []string{`config "a.topic" = "bad topic": " " is not allowed in a topic name`}},
		{name: "unknown key", in: Config{"a.required": "v", "typo.key": "1"}, wantErr: []string{`config "typo.key" = "1": unknown setting`}},
		{name: "unknown secret-looking key is redacted", in: Config{"a.required": "v", "my.api.key": "s3cr3t"}, wantErr: []string{`"my.api.key" = "[hidden]": unknown setting`}},
		{name: "every problem reported", in: Config{"an.int": "x", "zz": "1"}, wantErr: []string{`a.required`, `an.int`, `zz`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testSpec().Validate(tt.in)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, got)
				return
			}
			var ces ConfigErrors
			if !errors.As(err, &ces) {
				t.Fatalf("error %v is not ConfigErrors", err)
			}
			if len(ces) != len(tt.wantErr) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ces), len(tt.wantErr), err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestConfigSpecRedact(t *testing.T) {
	got := testSpec().Redact(Config{"a.secret": "pw", "a.required": "visible", "rest.auth.token": "tok", "sasl.jaas.config": "x"})
	want := Config{"a.secret": Redacted, "a.required": "visible", "rest.auth.token": Redacted, "sasl.jaas.config": Redacted}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestBadSecretValueNotEchoed(t *testing.T) {
	spec := ConfigSpec{{Name: "token", Type: TypePassword, Allowed: []string{"a"}}}
	_, err := spec.Validate(Config{"token": "hunter2"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("want an error without the secret, got %v", err)
	}
}
