package sabademo

import (
	"net/http/httptest"
	"testing"
	"time"

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
