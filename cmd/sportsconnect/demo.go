package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"github.com/seed-474f70f7/sportsconnect/internal/logging"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenademo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzdemo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabademo"
)

// demoSources is what the demo runs: the synthetic source and each
// provider's simulator. A provider package adds its demo source here.
func demoSources(parts int, events int64) []demo.Source {
	return []demo.Source{
		&demo.Synthetic{Partitions: parts, Events: events},
		&imgarenademo.DemoSource{Fixtures: 6, Events: 1500},
		sabademo.NewDemo(),
		&roanuzdemo.Webhook{}, &roanuzdemo.Match{},
	}
}

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "demo [flags]", `  sportsconnect demo
  sportsconnect demo --partitions 16 --events 50000`, stderr)
	parts := fs.Int("partitions", 8, "synthetic source partitions")
	events := fs.Int64("events", 25000, "events per partition")
	timeout := fs.Duration("timeout", 55*time.Second, "give up after this long")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := logging.New(logging.FormatConsole, *logLevel)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr
	st, _ := os.Stdout.Stat()
	return demo.Run(ctx, log, demo.Options{
		Plugins: plugins(),
		Sources: demoSources(*parts, *events),
		Timeout: *timeout, Out: stdout,
		Progress: st != nil && st.Mode()&os.ModeCharDevice != 0,
	})
}
