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
				`config "security.protocol" = "TLS": expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL`,
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
				`config "errors.tolerance" = "some": expected one of none, all`,
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
