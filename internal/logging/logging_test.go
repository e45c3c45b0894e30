package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		format, level string
		ok            bool
	}{
		{FormatJSON, "info", true},
		{FormatConsole, "debug", true},
		{FormatAuto, "warn", true},
		{"", "error", true},
		{"xml", "info", false},
		{FormatJSON, "loud", false},
	}
	for _, tt := range tests {
		l, err := New(tt.format, tt.level)
		if (err == nil) != tt.ok {
			t.Errorf("New(%q, %q) error %v, want ok=%v", tt.format, tt.level, err, tt.ok)
		}
		if err == nil && l == nil {
			t.Errorf("New(%q, %q) returned a nil logger", tt.format, tt.level)
		}
	}
}

// TestColourOnlyOnATerminal: the console format colours its levels on a
// terminal only; a pipe or a file (the demo's stderr redirected) gets no
// escape codes.
func TestColourOnlyOnATerminal(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		format   string
		colour   bool
		json     bool
	}{
		{"console on a terminal", true, FormatConsole, true, false},
		{"console on a pipe", false, FormatConsole, false, false},
		{"auto on a terminal", true, FormatAuto, true, false},
		{"auto on a pipe", false, FormatAuto, false, true},
		{"json on a terminal", true, FormatJSON, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := newLogger(&buf, tt.terminal, tt.format, "info")
			if err != nil {
				t.Fatal(err)
			}
			l.Warn("hello")
			out := buf.String()
			if got := strings.Contains(out, "\x1b["); got != tt.colour {
				t.Errorf("escape codes: %v, want %v: %q", got, tt.colour, out)
			}
			if got := strings.HasPrefix(out, "{"); got != tt.json {
				t.Errorf("JSON: %v, want %v: %q", got, tt.json, out)
			}
			if !strings.Contains(out, "WARN") && !strings.Contains(out, `"level":"warn"`) {
				t.Errorf("no level in %q", out)
			}
		})
	}
	var buf bytes.Buffer
	l, err := NewTo(&buf, FormatConsole, "info")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("to a buffer")
	if out := buf.String(); strings.Contains(out, "\x1b") || !strings.Contains(out, "\tINFO\t") {
		t.Errorf("console to a buffer: %q, want an uncoloured INFO line", out)
	}
}
