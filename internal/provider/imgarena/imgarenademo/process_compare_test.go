package imgarenademo

import (
	"context"
	"os"
	"strconv"
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
	brokerPID, _ := strconv.Atoi(os.Getenv("KAFKA_PID")) // make test: the local broker
	c, err := CompareProcess(ctx, ProcessOptions{Brokers: testenv.Brokers(t), RegistryURL: testenv.Registry(t), Simulator: bin, Binary: bin,
		Fixtures: 2, Events: 200, Tasks: 1, TopicPartitions: 1, Prefix: testenv.UniqueName(t, "imgcompare-"), BrokerPID: brokerPID}, bin, 1)
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
	// A run this small usually leaves the machine room, and the report
	// then says so instead of the bound (TestTwiceText checks both).
	want := "what twice the baseline's records/s"
	if c.Baseline[0].MachineBusy < 0.9 {
		want = "the machine had room"
	}
	if !strings.Contains(c.String(), want) {
		t.Fatalf("the report lacks %q (baseline's machine %.0f%% busy): %q", want, 100*c.Baseline[0].MachineBusy, c)
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

// TestTwiceText: what twice the baseline would take, from the runs' own
// figures.
func TestTwiceText(t *testing.T) {
	base := ProcessResult{Records: 400000, Elapsed: 5 * time.Second, MachineCores: 2, MachineBusy: 0.95}
	same := ProcessResult{Records: 400000, Elapsed: 3200 * time.Millisecond, CPU: 3400 * time.Millisecond, MachineCores: 2, MachineBusy: 0.95,
		SimCPU: 900 * time.Millisecond}
	withBroker := same
	withBroker.BrokerCPU = 1700 * time.Millisecond
	cases := []struct {
		name string
		c    ProcessComparison
		want []string
	}{
		// 2 x 80,000/s = 160,000/s; 2 cores allow 1.25 s per 100k; the
		// machine spent 0.95 x 2 x 3.2 s = 6.08 s for 400k (1.52 per
		// 100k), 0.85 of it the connector.
		{"broker known", ProcessComparison{Baseline: []ProcessResult{base}, SameWork: []ProcessResult{withBroker}},
			[]string{"(160000 from process start)", "all 2 cores busy, at most 1.25 s", "took 0.67 s per 100k (broker 0.42, simulator 0.23)", "leave the connector 0.58 s against the 0.85"}},
		{"broker unknown", ProcessComparison{Baseline: []ProcessResult{base}, SameWork: []ProcessResult{same}},
			[]string{"took 0.67 s per 100k (simulator 0.23)"}},
		{"machine with room", ProcessComparison{Baseline: []ProcessResult{{Records: 1, Elapsed: time.Second, MachineCores: 2, MachineBusy: 0.7}}, SameWork: []ProcessResult{withBroker}},
			[]string{"the machine had room (70% of its 2 cores busy", "own CPU bounds"}},
		{"no core figures", ProcessComparison{Baseline: []ProcessResult{{Records: 1, Elapsed: time.Second}}, SameWork: []ProcessResult{{Records: 1, Elapsed: time.Second}}},
			[]string{"unknown"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.c.twiceText()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q\nlacks %q", got, w)
				}
			}
		})
	}
}
