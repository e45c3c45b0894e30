package imgarenademo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// TestCompareProcess runs a small feed through a "baseline" (the same
// binary) and this build, with and without the live topics, and checks
// each run is reported and compared.
func TestCompareProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := []string{testenv.Binary(t)}
	c, err := CompareProcess(ctx, ProcessOptions{Brokers: testenv.Brokers(t), RegistryURL: testenv.Registry(t), Simulator: bin, Binary: bin,
		Fixtures: 2, Events: 200, Tasks: 1, TopicPartitions: 1, Prefix: testenv.UniqueName(t, "imgcompare-")}, bin, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(c)
	if len(c.Baseline) != 1 || len(c.SameWork) != 1 || len(c.Defaults) != 1 {
		t.Fatalf("runs %d/%d/%d, want one each", len(c.Baseline), len(c.SameWork), len(c.Defaults))
	}
	for _, r := range []ProcessResult{c.Baseline[0], c.SameWork[0], c.Defaults[0]} {
		if r.Records != 400 || r.RecordsPerSec() <= 0 || r.CPU <= 0 {
			t.Fatalf("implausible run %+v", r)
		}
	}
	if !strings.HasPrefix(c.Baseline[0].Build, "baseline ") || !strings.Contains(c.SameWork[0].Build, "live.events.enabled=false") {
		t.Fatalf("runs are not told apart: %q, %q", c.Baseline[0].Build, c.SameWork[0].Build)
	}
	if r := c.Ratio(); r <= 0 || c.RunningRatio() <= 0 || c.SameWork[0].RunningRecordsPerSec() <= c.SameWork[0].RecordsPerSec() || !strings.Contains(c.String(), "against the baseline") {
		t.Fatalf("ratio %v, report %q", r, c)
	}
	if _, err := CompareProcess(ctx, ProcessOptions{}, nil, 1); err == nil {
		t.Fatal("a comparison without a baseline ran")
	}
}
