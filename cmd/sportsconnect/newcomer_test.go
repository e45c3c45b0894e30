package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// TestFlagsAfterArguments: a flag after the positional arguments is
// honoured (or refused as a usage error), never taken for a file name.
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	w := writeTemp(t, dir, "w.properties", "bootstrap.servers=127.0.0.1:1\nschema.registry.url=http://127.0.0.1:1\n")
	noREST := writeTemp(t, dir, "norest.properties", "bootstrap.servers=127.0.0.1:1\nschema.registry.url=http://127.0.0.1:1\nlisteners=\n")
	c := writeTemp(t, dir, "c.json", `{"name": "syn", "config": {"connector.class": "synthetic"}}`)
	tests := []struct {
		name      string
		args      []string
		code      int
		stdoutHas []string
		stderrHas []string
	}{
		{"validate: unknown flag after the files", []string{"validate", w, c, "--log-level", "debug"}, 2, nil,
			[]string{"flag provided but not defined: -log-level"}},
		{"validate: help after the files", []string{"validate", w, c, "--help"}, 0, nil, []string{"Examples:"}},
		{"validate: -- ends the flags", []string{"validate", w, "--", c}, 0, []string{"c.json: ok"}, nil},
		{"run: bad log level after the files", []string{"run", w, c, "--log-level", "nope"}, 2, nil, []string{`log level "nope"`}},
		{"run: mode after the worker config", []string{"run", noREST, "--mode", "distributed"}, 2, nil,
			[]string{"distributed mode needs the REST API"}},
		{"plugins: flag after the class", []string{"plugins", "saba", "--json"}, 0, []string{`"class": "saba"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := mainCode(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, want := range tt.stdoutHas {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, want := range tt.stderrHas {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if strings.Contains(stdout.String()+stderr.String(), "no such file") {
				t.Errorf("a flag was taken for a file:\n%s%s", stdout.String(), stderr.String())
			}
		})
	}
}

// occupy listens on addr for the test, or finds it already in use.
func occupy(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return // in use already: as good for the test
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
}

// TestRESTPortInUse: a listener already in use fails the start at once,
// whether listeners is set or the default, instead of a worker running
// without its REST API, /metrics and probes.
func TestRESTPortInUse(t *testing.T) {
	port := freePort(t)
	for _, tc := range []struct {
		name, listeners, addr string
	}{
		{"default listener", "", "127.0.0.1:8083"},
		{"explicit listener", fmt.Sprintf("listeners=http://127.0.0.1:%d\n", port), fmt.Sprintf("127.0.0.1:%d", port)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			occupy(t, tc.addr)
			dir := t.TempDir()
			// Nothing listens at the broker's address: a worker that went
			// on past the REST API would wait for it until the timeout.
			w := writeTemp(t, dir, "w.properties", "bootstrap.servers=127.0.0.1:1\nschema.registry.url=http://127.0.0.1:1\n"+tc.listeners)
			c := writeTemp(t, dir, "c.json", `{"name": "syn", "config": {"connector.class": "synthetic"}}`)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := mainCode(ctx, []string{"run", "--log-format", "json", w, c}, &stdout, &stderr)
			took := time.Since(start)
			if code != 1 || took > 5*time.Second {
				t.Fatalf("exit %d after %v, want 1 at once\nstderr:\n%s", code, took, stderr.String())
			}
			for _, want := range []string{"REST API: listening on " + tc.addr, "address already in use", "listeners="} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

// TestVersion runs the binary: version, commit, Go and franz-go versions.
func TestVersion(t *testing.T) {
	out, err := exec.Command(testenv.Binary(t), "version").Output()
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github.com/twmb/franz-go (v\S+)`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod names no franz-go version")
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^sportsconnect \S+$`),
		regexp.MustCompile(`(?m)^commit +(unknown|[0-9a-f]{40})( \(modified\))?$`),
		regexp.MustCompile(`(?m)^go +` + regexp.QuoteMeta(runtime.Version()) + `$`),
		regexp.MustCompile(`(?m)^franz-go +` + regexp.QuoteMeta(string(m[1])) + `$`),
	} {
		if !want.Match(out) {
			t.Errorf("version output does not match %s:\n%s", want, out)
		}
	}
}

// TestPlugins: every class with every setting, its type, default and doc,
// as text and as JSON, without a broker.
func TestPlugins(t *testing.T) {
	ps := plugins()
	var stdout, stderr bytes.Buffer
	if code := mainCode(context.Background(), []string{"plugins"}, &stdout, &stderr); code != 0 {
		t.Fatalf("plugins: exit %d\n%s", code, stderr.String())
	}
	text := stdout.String()
	specs := map[string]connector.ConfigSpec{"": connector.CommonSpec()}
	for _, class := range ps.Classes() {
		p, _ := ps.Lookup(class)
		specs[class] = p.Spec
		if !strings.Contains(text, "connector.class="+class+"\n  "+p.Doc+"\n") {
			t.Errorf("text lacks class %s with its doc", class)
		}
	}
	for class, spec := range specs {
		for _, k := range spec {
			head := "\n  " + k.Name + "  " + k.Type.String() + ", "
			if k.Required {
				head += "required"
			} else {
				head += "default " + connector.AllowedList([]string{k.Default})
			}
			if !strings.Contains(text, head) || !strings.Contains(text, "\n      "+k.Doc+"\n") {
				t.Errorf("%s: text lacks %q with its doc", class, strings.TrimSpace(head))
			}
		}
	}
	if !strings.Contains(text, `imgarena.speed  STRING, default "" (empty), one of "" (empty), "fast", "normal"`) {
		t.Errorf("allowed values not listed legibly:\n%s", text)
	}

	stdout.Reset()
	if code := mainCode(context.Background(), []string{"plugins", "--json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("plugins --json: exit %d\n%s", code, stderr.String())
	}
	var docs []pluginDoc
	if err := json.Unmarshal(stdout.Bytes(), &docs); err != nil {
		t.Fatalf("plugins --json: %v\n%s", err, stdout.String())
	}
	if len(docs) != len(specs) {
		t.Fatalf("%d entries, want the common settings and %d classes", len(docs), len(specs)-1)
	}
	for _, d := range docs {
		spec := specs[d.Class]
		if len(d.Settings) != len(spec) {
			t.Fatalf("class %q: %d settings, want %d", d.Class, len(d.Settings), len(spec))
		}
		for i, s := range d.Settings {
			k := spec[i]
			if s.Name != k.Name || s.Doc != k.Doc || s.Required != k.Required || (!k.Required && (s.Default == nil || *s.Default != k.Default)) {
				t.Errorf("class %q: %+v, want %+v", d.Class, s, k)
			}
		}
	}

	stderr.Reset()
	if code := mainCode(context.Background(), []string{"plugins", "nope"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), `unknown connector class "nope"`) {
		t.Errorf("unknown class: exit %d, stderr %s", code, stderr.String())
	}
}

// TestDemoWritesNoColourToAPipe runs the demo as a user would with its
// output piped: no terminal, so no escape codes in its log lines.
func TestDemoWritesNoColourToAPipe(t *testing.T) {
	cmd := exec.Command(testenv.Binary(t), "demo", "--partitions", "1", "--events", "200", "--log-level", "info")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "\tINFO\t") {
		t.Fatalf("no console log line on stderr:\n%s", stderr.String())
	}
	for name, out := range map[string]string{"stderr": stderr.String(), "stdout": stdout.String()} {
		if i := strings.IndexByte(out, 0x1b); i >= 0 {
			line := out[strings.LastIndexByte(out[:i], '\n')+1:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			t.Errorf("%s holds an escape code: %q", name, line)
		}
	}
}
