package saba

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
)

// newTestSim starts a simulator on an httptest server.
func newTestSim(t *testing.T, opts ...sabasim.SimOption) (*sabasim.Simulator, string) {
	t.Helper()
	sim := sabasim.NewSimulator(append([]sabasim.SimOption{sabasim.WithEpoch("t0"), sabasim.WithRecordTimeline(true), sabasim.WithKeepAlive(250 * time.Millisecond)}, opts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })
	sim.Start()
	return sim, srv.URL
}

// taskConfig returns a validated connector config for the simulator at url.
func taskConfig(t *testing.T, url, streams string, extra map[string]string) connector.Config {
	t.Helper()
	cfg := connector.Config{
		"name": "saba-test", "connector.class": Class,
		KeyBaseURL: url, KeyVendorID: "vendor", KeyVendorMemberID: "member", KeyStreams: streams,
		KeySilenceTimeout: "2000", KeyBackoffInitial: "20", KeyBackoffMax: "200",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	out, err := connector.CommonSpec().Merge(Spec()).Validate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
