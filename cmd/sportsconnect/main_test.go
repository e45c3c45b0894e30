package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMainCode(t *testing.T) {
	dir := t.TempDir()
	badWorker := filepath.Join(dir, "bad.properties")
	if err := os.WriteFile(badWorker, []byte("bootstrap.servers=127.0.0.1:1\nsecurity.protocol=TLS\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := filepath.Join(dir, "c.json")
	if err := os.WriteFile(conn, []byte(`{"name":"c","config":{"connector.class":"synthetic"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		args      []string
		code      int
		stderrHas []string
	}{
		{"no args", nil, 2, []string{"Usage: sportsconnect COMMAND"}},
		{"help", []string{"--help"}, 0, []string{"Commands:", "demo", "run"}},
		{"unknown", []string{"frobnicate"}, 2, []string{`unknown command "frobnicate"`}},
		{"run without configs", []string{"run"}, 2, []string{"need a worker config"}},
		{"run help", []string{"run", "--help"}, 0, []string{"Examples:", "worker.properties"}},
		{"run bad worker config", []string{"run", badWorker, conn}, 1, []string{
			`"schema.registry.url": is required`, `"security.protocol" = "TLS": expected one of "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"`}},
		{"run missing file", []string{"run", filepath.Join(dir, "nope.properties"), conn}, 1, []string{"no such file"}},
		{"simulate unknown", []string{"simulate", "nobody"}, 2, []string{`unknown provider "nobody"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := mainCode(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", code, tt.code, stderr.String())
			}
			for _, w := range tt.stderrHas {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}
