package roanuz

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
)

func TestClientErrors(t *testing.T) {
	sim := startSim(t, roanuzsim.WithMatches("m1"))
	inactive := startSim(t, roanuzsim.WithMatches("m1"), roanuzsim.WithProjectInactive())
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		sim          *roanuzsim.Simulator
		project, key string
		match        string
		want         error
	}{
		{"bad api key", sim, "sim_project", "wrong", "m1", ErrUnauthorized},
		{"unknown project", sim, "nope", "sim-api-key", "m1", ErrNotFound},
		{"inactive project", inactive, "sim_project", "sim-api-key", "m1", ErrProjectInactive},
		{"unknown match", sim, "sim_project", "sim-api-key", "nope", ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClient(tc.sim.URL(), tc.project, tc.key, nil, testLogger(t))
			err := c.Subscribe(ctx, tc.match)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Subscribe: %v, want %v", err, tc.want)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status == 0 {
				t.Fatalf("error %v is not an APIError with a status", err)
			}
		})
	}
}

func TestClientSubscribeAndMatch(t *testing.T) {
	sim := startSim(t, roanuzsim.WithMatches("m1"))
	c := NewClient(sim.URL(), "sim_project", "sim-api-key", nil, testLogger(t))
	ctx := context.Background()
	for _, step := range []struct {
		name   string
		call   func() error
		method string
		want   bool
	}{
		{"subscribe", func() error { return c.Subscribe(ctx, "m1") }, MethodWebSocket, true},
		{"subscribe twice", func() error { return c.Subscribe(ctx, "m1") }, MethodWebSocket, true},
		{"detail-updates-subscribe", func() error { return c.SubscribeUpdates(ctx, "m1") }, MethodWebHook, true},
		{"unsubscribe", func() error { _, err := c.Unsubscribe(ctx, "m1"); return err }, MethodWebSocket, false},
		{"detail-updates-unsubscribe", func() error { return c.UnsubscribeUpdates(ctx, "m1") }, MethodWebHook, false},
	} {
		if err := step.call(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := sim.Subscribed("m1", step.method); got != step.want {
			t.Fatalf("%s: subscribed %v, want %v", step.name, got, step.want)
		}
	}
	if n := sim.Auths(); n != 1 {
		t.Fatalf("%d authentications for 5 calls with a 24 h token, want 1", n)
	}
	b, err := c.Match(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data struct {
			Key string `json:"key"`
		} `json:"data"`
		Cache struct {
			Etag string `json:"etag"`
		} `json:"cache"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Data.Key != "m1" || doc.Cache.Etag == "" {
		t.Fatalf("match doc %s: %v", b, err)
	}
}

func TestClientTokenLifecycle(t *testing.T) {
	sim := startSim(t, roanuzsim.WithMatches("m1"), roanuzsim.WithTokenLifetime(500*time.Millisecond))
	c := NewClient(sim.URL(), "sim_project", "sim-api-key", nil, testLogger(t))
	ctx := context.Background()
	if _, err := c.Match(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	// Renewed before expiry: after 80% of the lifetime a call authenticates again.
	time.Sleep(450 * time.Millisecond)
	if _, err := c.Match(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	if n := sim.Auths(); n != 2 {
		t.Fatalf("%d authentications, want 2 (renewal before expiry)", n)
	}
	// A token the server forgot: one 401, one fresh auth, success.
	sim.RevokeTokens()
	if _, err := c.Match(ctx, "m1"); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := sim.Auths(); n != 3 {
		t.Fatalf("%d authentications, want 3 (re-auth after 401)", n)
	}
}

// TestClientFeaturedMatches reads the featured list: the listed matches,
// each with its status and its entry as sent.
func TestClientFeaturedMatches(t *testing.T) {
	sim := startSim(t, roanuzsim.WithMatches("m1", "m2"), roanuzsim.WithListed("m2"))
	cl := NewClient(sim.URL(), "sim_project", "sim-api-key", nil, testLogger(t))
	list, err := cl.FeaturedMatches(context.Background())
	if err != nil || len(list) != 1 || list[0].Key != "m2" || list[0].Status != "not_started" || len(list[0].Raw) == 0 {
		t.Fatalf("featured: %+v, %v", list, err)
	}
	for sim.Step("m2") < sim.Steps("m2")-1 {
		sim.Advance("m2")
	}
	sim.SetListed("m1", "m2")
	if list, err = cl.FeaturedMatches(context.Background()); err != nil || len(list) != 2 || list[1].Status != "completed" {
		t.Fatalf("featured after the result: %+v, %v", list, err)
	}
}
