// Package logging builds the zap logger every command uses: JSON lines by
// default (for log shippers), a human console format when stderr is a
// terminal or when asked. Colour codes are written only to a terminal.
package logging

import (
	"fmt"
	"io"
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
	return NewTo(os.Stderr, format, level)
}

// NewTo returns a logger writing to w in format at level. Auto is the
// console format when w is a terminal, else JSON; the console format
// colours the level only on a terminal, so a file or a pipe gets no
// escape codes.
func NewTo(w io.Writer, format, level string) (*zap.Logger, error) {
	f, ok := w.(*os.File)
	return newLogger(w, ok && isTerminal(f), format, level)
}

func newLogger(w io.Writer, terminal bool, format, level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	if format == FormatAuto || format == "" {
		format = FormatJSON
		if terminal {
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
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		if terminal {
			encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(encCfg)
	default:
		return nil, fmt.Errorf("log format %q: expected auto, json or console", format)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), lvl)
	return zap.New(core, zap.AddCaller()), nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
