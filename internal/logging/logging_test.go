package logging

import "testing"

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
