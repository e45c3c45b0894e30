package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTemp writes content to name in dir and returns the path.
func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	const goodWorker = "bootstrap.servers=127.0.0.1:9092\nschema.registry.url=http://127.0.0.1:8081\n"
	const goodConn = `{"name": "syn", "config": {"connector.class": "synthetic", "tasks.max": "2", "synthetic.partitions": "4"}}`
	t.Setenv("SC_TEST_TOKEN", "tok-from-env")
	cases := []struct {
		name     string
		worker   string
		conns    []string
		wantCode int
		want     []string // substrings of stdout
		notWant  []string
	}{
		{name: "all good", worker: goodWorker + "rest.auth.token=${env:SC_TEST_TOKEN}\n", conns: []string{goodConn}, wantCode: 0,
			want: []string{"worker.properties: ok", `c0.json: ok (connector "syn")`}},
		{name: "worker: missing required, unknown key, wrong type, bad enum", worker: "schema.registry.url=http://x\nbogus.key=1\noffset.storage.partitions=many\nsecurity.protocol=TLS\n", wantCode: 1,
			want: []string{
				`config "bootstrap.servers": is required: host:port of one or more Kafka brokers`,
				`config "bogus.key" = "1": unknown setting`,
				`config "offset.storage.partitions" = "many": expected an integer`,
				`config "security.protocol" = "TLS": expected one of "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"`,
				"4 problem(s)",
			}},
		{name: "worker: bad listener", worker: goodWorker + "listeners=https://0.0.0.0:8443\n", wantCode: 1,
			want: []string{`config "listeners" = "https://0.0.0.0:8443": scheme "https" is not supported`}},
		{name: "worker: unresolvable secret reference, value never shown", worker: goodWorker + "rest.auth.token=${env:SC_TEST_UNSET_VAR}\nsasl.jaas.config=${file:/nonexistent/secrets.properties:jaas}\n", wantCode: 1,
			want: []string{`config "rest.auth.token": environment variable SC_TEST_UNSET_VAR is not set`, `config "sasl.jaas.config": reading /nonexistent/secrets.properties`}},
		{name: "worker: secret value redacted in messages", worker: goodWorker + "security.protocol=SASL_PLAINTEXT\nsasl.jaas.config=nothing-useful-s3cret\n", wantCode: 1,
			want: []string{`config "sasl.jaas.config" = "[hidden]": expected username="…" password="…"`}, notWant: []string{"s3cret"}},
		{name: "connector: every problem named", worker: goodWorker, conns: []string{
			`{"name": "syn", "config": {"connector.class": "synthetic", "tasks.max": "0", "synthetic.partitons": "4", "errors.tolerance": "some", "transaction.boundary.interval.ms": "soon"}}`}, wantCode: 1,
			want: []string{
				`c0.json: (connector "syn") 4 problem(s)`,
				`config "errors.tolerance" = "some": expected one of "none", "all"`,
				`config "synthetic.partitons" = "4": unknown setting`,
				`config "tasks.max" = "0": expected an integer >= 1`,
				`config "transaction.boundary.interval.ms" = "soon": expected an integer`,
			}},
		{name: "connector: unknown class", worker: goodWorker, conns: []string{`{"name": "x", "config": {"connector.class": "nope"}}`}, wantCode: 1,
			want: []string{`config "connector.class" = "nope": no such plugin; known: [`}},
		{name: "connector: missing name and class", worker: goodWorker, conns: []string{`{"config": {}}`}, wantCode: 1,
			want: []string{`config "connector.class": is required`}},
		{name: "connector: secret of an unknown key redacted", worker: goodWorker, conns: []string{`{"name": "s", "config": {"connector.class": "synthetic", "my.api.key": "abc-s3cret"}}`}, wantCode: 1,
			want: []string{`config "my.api.key" = "[hidden]": unknown setting`}, notWant: []string{"s3cret"}},
		{name: "connector: not JSON", worker: goodWorker, conns: []string{`name=x`}, wantCode: 1,
			want: []string{"connector config is not a JSON object"}},
		{name: "connector: non-string value", worker: goodWorker, conns: []string{`{"name": "x", "config": {"connector.class": "synthetic", "tasks.max": [1]}}`}, wantCode: 1,
			want: []string{`config "tasks.max": expected a string value, got [1]`}},
		{name: "connector: duplicate names", worker: goodWorker, conns: []string{goodConn, goodConn}, wantCode: 1,
			want: []string{`config "name" = "syn": already used by`}},
		{name: "worker: an unresolved reference does not hide the other problems", worker: goodWorker + "rest.auth.token=${env:SC_TEST_UNSET_VAR}\noffset.storage.partitions=many\nbogus.key=1\n", wantCode: 1,
			want: []string{"worker.properties: 3 problem(s)", `config "bogus.key" = "1": unknown setting`, `config "offset.storage.partitions" = "many": expected an integer`,
				`config "rest.auth.token": environment variable SC_TEST_UNSET_VAR is not set`}},
		{name: "connector: an unresolved reference does not hide the other problems", worker: goodWorker, conns: []string{`{"name": "img", "config": {"connector.class": "imgarena",
			"imgarena.url": "wss://x", "imgarena.auth.token": "${env:SC_TEST_UNSET_VAR}", "imgarena.fixtures": "1", "tasks.max": "0", "imgarena.feeed": "media"}}`}, wantCode: 1,
			want: []string{`c0.json: (connector "img") 3 problem(s)`, `config "imgarena.auth.token": environment variable SC_TEST_UNSET_VAR is not set`,
				`config "imgarena.feeed" = "media": unknown setting`, `config "tasks.max" = "0": expected an integer >= 1`}},
		{name: "worker: topic names Kafka refuses", worker: goodWorker + "offset.storage.topic=connect offsets\nconfig.storage.topic=..\nstatus.storage.topic=.\ntopic.prefix=prod/sports\n", wantCode: 1,
			want: []string{"4 problem(s)", `config "offset.storage.topic" = "connect offsets": " " is not allowed in a topic name`, `config "config.storage.topic" = "..": ".." is not a legal topic name`,
				`config "status.storage.topic" = ".": "." is not a legal topic name`, `config "topic.prefix" = "prod/sports": "/" is not allowed in a topic name`}},
		{name: "connector: topic names Kafka refuses", worker: goodWorker, conns: []string{`{"name": "syn", "config": {"connector.class": "synthetic",
			"topic.prefix": "sports:live", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": "dead letters"}}`,
			`{"name": "long", "config": {"connector.class": "synthetic", "topic.prefix": "` + strings.Repeat("p", 240) + `"}}`}, wantCode: 1,
			want: []string{`config "topic.prefix" = "sports:live": ":" is not allowed in a topic name`, `config "errors.deadletterqueue.topic.name" = "dead letters": " " is not allowed in a topic name`,
				`makes the topic "ppp`, `synthetic.events": a topic name is at most 249 characters, this one has 257`}},
		{name: "connector: names the REST API would refuse", worker: goodWorker, conns: []string{`{"name": "a/b", "config": {"connector.class": "synthetic"}}`,
			`{"name": "tab\there", "config": {"connector.class": "synthetic"}}`, `{"name": " ", "config": {"connector.class": "synthetic"}}`}, wantCode: 1,
			want: []string{`config "name" = "a/b": a connector name may not contain '/'`, `a connector name may not contain a control character (U+0009)`, `config "name": is required`}},
		{name: "connector: URL schemes the provider does not speak", worker: goodWorker, conns: []string{
			`{"name": "img", "config": {"connector.class": "imgarena", "imgarena.url": "ftp://feed.example", "imgarena.rest.url": "wss://rest.example", "imgarena.auth.token": "t"}}`,
			`{"name": "saba", "config": {"connector.class": "saba", "saba.base.url": "ws://odds.example", "saba.vendor.id": "v", "saba.vendor.member.id": "m", "saba.streams": "GetEvents"}}`,
			`{"name": "rm", "config": {"connector.class": "roanuz.match", "roanuz.api.url": "api.sports.roanuz.com", "roanuz.socket.url": "ftp://s", "roanuz.project.key": "p", "roanuz.api.key": "k", "roanuz.matches": "m1"}}`}, wantCode: 1,
			want: []string{`config "imgarena.url" = "ftp://feed.example": expected a ws:// or wss:// URL, not ftp://`, `config "imgarena.rest.url" = "wss://rest.example": expected a http:// or https:// URL, not wss://`,
				`config "saba.base.url" = "ws://odds.example": expected a http:// or https:// URL, not ws://`,
				`config "roanuz.api.url" = "api.sports.roanuz.com": expected a http:// or https:// URL with a host`, `config "roanuz.socket.url" = "ftp://s": expected a http:// or https:// or ws:// or wss:// URL, not ftp://`}},
		{name: "worker: registry URL without a scheme", worker: "bootstrap.servers=b:9092\nschema.registry.url=registry:8081\n", wantCode: 1,
			want: []string{`config "schema.registry.url" = "registry:8081": expected a http:// or https:// URL`}},
		{name: "connector: an allowed empty value printed legibly", worker: goodWorker, conns: []string{
			`{"name": "img", "config": {"connector.class": "imgarena", "imgarena.url": "wss://x", "imgarena.auth.token": "t", "imgarena.speed": "slow"}}`}, wantCode: 1,
			want: []string{`config "imgarena.speed" = "slow": expected one of "" (empty), "fast", "normal"`}, notWant: []string{"one of , fast"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"validate", writeTemp(t, dir, "worker.properties", tc.worker)}
			for i, c := range tc.conns {
				args = append(args, writeTemp(t, dir, "c"+string(rune('0'+i))+".json", c))
			}
			var stdout, stderr bytes.Buffer
			code := mainCode(context.Background(), args, &stdout, &stderr)
			out := stdout.String()
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, out, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out+stderr.String(), w) {
					t.Errorf("output shows %q:\n%s%s", w, out, stderr.String())
				}
			}
		})
	}
}

func TestValidateUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := mainCode(context.Background(), []string{"validate"}, &stdout, &stderr); code != 2 {
		t.Fatalf("no arguments: exit %d, want 2", code)
	}
	stderr.Reset()
	if code := mainCode(context.Background(), []string{"validate", "--help"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "Examples:") {
		t.Fatalf("--help: exit %d, stderr %q", code, stderr.String())
	}
}
