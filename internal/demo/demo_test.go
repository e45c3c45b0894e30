package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"go.uber.org/zap/zaptest"
)

func TestDemoRunsAndChecksEverything(t *testing.T) {
	var out bytes.Buffer
	err := Run(context.Background(), zaptest.NewLogger(t), Options{
		Plugins: connector.NewPlugins(synthetic.Plugin()),
		Sources: []Source{&Synthetic{Partitions: 3, Events: 500}},
		Timeout: 60 * time.Second, Out: &out,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"source partition 0: 500 records",
		`"position":1`,
		"1500 records; every source partition holds positions 1..500 exactly once, in order; committed offsets = 500",
		"all 1 connectors checked",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
