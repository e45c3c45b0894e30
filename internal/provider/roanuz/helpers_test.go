package roanuz

import (
	"io"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"go.uber.org/zap/zapcore"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// startSim starts a simulator on a random local port, closed at cleanup.
func startSim(t testing.TB, opts ...SimOption) *Simulator {
	t.Helper()
	sim := NewSimulator(opts...)
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

func testLogger(t testing.TB) *zap.Logger { return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)) }

func mustWebhookConfig(t testing.TB, c connector.Config) webhookConfig {
	t.Helper()
	cfg, err := parseWebhookConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// bufferLogger logs JSON lines into w.
func bufferLogger(w io.Writer) *zap.Logger {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zap.DebugLevel))
}
