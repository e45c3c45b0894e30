// Package logging builds the zap logger every command uses: JSON lines by
// default (for log shippers), a human console format when stderr is a
// terminal or when asked.
package logging

import (
	"fmt"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Formats.
const (
	FormatAuto    = "auto"    // console on a terminal, else JSON
	FormatJSON    = "json"    // one JSON object per line
	FormatConsole = "console" // human-readable
)

// New returns a logger writing to stderr in format at level ("debug",
// "info", "warn", "error").
func New(format, level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	if format == FormatAuto || format == "" {
		format = FormatJSON
		if isTerminal(os.Stderr) {
			format = FormatConsole
		}
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	switch format {
	case FormatJSON:
		enc = zapcore.NewJSONEncoder(encCfg)
	case FormatConsole:
		encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, fmt.Errorf("log format %q: expected auto, json or console", format)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(os.Stderr), lvl)
	return zap.New(core, zap.AddCaller()), nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
