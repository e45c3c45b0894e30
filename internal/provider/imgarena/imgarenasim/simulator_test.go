package imgarenasim

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
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

func TestSimulatorRoutes(t *testing.T) {
	sim := startSim(t, SimFixtures("11", "12"))
	cases := []struct {
		path, auth string
		code       int
		body       string
	}{
		{"/soccer/fixtures?live=true&subscribed=true", "Bearer sim-token", 200, `"id":11`},
		{"/media/basketball/fixtures?live=true", "Bearer sim-token", 200, `"collectionStatus"`},
		{"/soccer/fixtures?live=true", "Bearer nope", 401, `"statusCode":401`},
		{"/soccer/fixtures/99/actions", "", 404, "Fixture not found"},
		{"/soccer/fixtures/11/actions?startPosition=-1", "", 400, "startPosition"},
		{"/soccer/fixtures/11/actions?speed=warp", "", 400, "speed"},
		{"/nothing", "", 404, ""},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodGet, sim.RESTURL()+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.body) {
			t.Errorf("%s: %d %s, want %d containing %q", tc.path, resp.StatusCode, b, tc.code, tc.body)
		}
		if tc.code == 200 {
			var list []map[string]any
			if err := json.Unmarshal(b, &list); err != nil || len(list) != 2 {
				t.Errorf("%s: %s is not the fixture list: %v", tc.path, b, err)
			}
		}
	}
}

func TestSimulatorDeterministic(t *testing.T) {
	a, b := NewSimulator(SimSeed(9), SimEvents(50)), NewSimulator(SimSeed(9), SimEvents(50))
	c := NewSimulator(SimSeed(10), SimEvents(50))
	ta, tb, tc := a.Timeline("100001"), b.Timeline("100001"), c.Timeline("100001")
	same := 0
	for i := range ta {
		if ta[i] != tb[i] {
			t.Fatalf("same seed differs at %d", i)
		}
		if ta[i].ActionID == tc[i].ActionID {
			same++
		}
	}
	if same == len(ta) {
		t.Fatal("different seeds gave the same timeline")
	}
}
