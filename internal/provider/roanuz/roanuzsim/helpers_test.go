package roanuzsim

import "testing"

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
