package saba

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/sse"
	"go.uber.org/zap/zaptest"
)

func testClient(t *testing.T, url string, extra map[string]string) (*Client, settings) {
	t.Helper()
	set, err := parseSettings(taskConfig(t, url, "GetEvents", extra))
	if err != nil {
		t.Fatal(err)
	}
	return newClient(set, zaptest.NewLogger(t), connector.DiscardMetrics()), set
}

func TestClientToken(t *testing.T) {
	cases := []struct {
		name                      string
		mode                      string
		ttl                       time.Duration
		act                       func(sim *sabasim.Simulator, c *Client, tok string)
		wantLogins, wantRefreshes int64
		sameToken                 bool
	}{
		{"fresh token reused", sabasim.RefreshBearer, time.Hour, func(*sabasim.Simulator, *Client, string) {}, 1, 0, true},
		{"refused token refreshed", sabasim.RefreshBearer, time.Hour, func(_ *sabasim.Simulator, c *Client, tok string) { c.Refused(tok) }, 1, 1, false},
		{"near expiry refreshed", sabasim.RefreshBearer, 2 * time.Second, func(*sabasim.Simulator, *Client, string) { time.Sleep(1200 * time.Millisecond) }, 1, 1, false},
		{"revoked: refresh fails, login again", sabasim.RefreshBearer, time.Hour, func(s *sabasim.Simulator, c *Client, tok string) { s.ExpireTokens(); c.Refused(tok) }, 2, 0, false},
		{"refresh endpoint broken: login again", sabasim.RefreshBroken, time.Hour, func(_ *sabasim.Simulator, c *Client, tok string) { c.Refused(tok) }, 2, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim, url := newTestSim(t, sabasim.WithRefreshMode(c.mode), sabasim.WithTokenTTL(c.ttl), sabasim.WithCredentials("vendor", "member"))
			cl, _ := testClient(t, url, map[string]string{KeyRefreshMargin: "60000"})
			ctx := context.Background()
			tok, err := cl.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c.act(sim, cl, tok)
			tok2, err := cl.Token(ctx)
			if err != nil {
				t.Fatal(err)
			}
			st := sim.Stats()
			if st.Logins != c.wantLogins || st.Refreshes != c.wantRefreshes || (tok == tok2) != c.sameToken {
				t.Fatalf("logins %d refreshes %d same %v", st.Logins, st.Refreshes, tok == tok2)
			}
			if err := sim.CheckToken(tok2); err != nil {
				t.Fatalf("token in use is not valid: %v", err)
			}
		})
	}
	t.Run("wrong credentials", func(t *testing.T) {
		_, url := newTestSim(t, sabasim.WithCredentials("other", "member"))
		cl, _ := testClient(t, url, nil)
		if _, err := cl.Token(context.Background()); !errors.Is(err, ErrLogin) || !connector.IsPermanent(err) {
			t.Fatalf("err %v, want a permanent ErrLogin", err)
		}
	})
}

func TestJWTExpiry(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		tok  string
		want int64
		ok   bool
	}{
		{enc(`{}`) + "." + enc(`{"exp":1800000000}`) + ".sig", 1800000000, true},
		{enc(`{}`) + "." + enc(`{"sub":"x"}`) + ".sig", 0, false},
		{"opaque-token", 0, false},
		{"a.!!!.c", 0, false},
	}
	for _, c := range cases {
		got, ok := jwtExpiry(c.tok)
		if ok != c.ok || (ok && got.Unix() != c.want) {
			t.Errorf("%q: %v %v", c.tok, got, ok)
		}
	}
}

func TestStreamURL(t *testing.T) {
	cl, _ := testClient(t, "http://h:1/", map[string]string{KeyIncludeMarkets: "$filter=bettype eq 1", KeyLanguage: "cs"})
	got := cl.StreamURL(StreamSpec{"GetEvents", "$filter=sporttype eq 1"})
	want := "http://h:1/sports/stream/v1/GetEvents?includeMarkets=%24filter%3Dbettype%20eq%201&language=cs&query=%24filter%3Dsporttype%20eq%201"
	if got != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
	if got := cl.StreamURL(StreamSpec{"GetMarkets", ""}); strings.Contains(got, "includeMarkets") {
		t.Fatalf("GetMarkets with includeMarkets: %s", got)
	}
}

func TestStreamLoopStatuses(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		permanent bool
	}{
		{"97", StatusInvalidEncoding, true},
		{"98", StatusInvalidQuery, true},
		{"99", StatusMaintenance, false},
		{"100", StatusInternalServerError, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim, url := newTestSim(t)
			sim.FailNext(c.status, 3)
			cl, set := testClient(t, url, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got := make(chan int, 1)
			err := cl.streamLoop(ctx, StreamSpec{"GetEvents", ""}, "", set, func(_ context.Context, ev sse.Event) error {
				m, err := parseMessage(ev.Data)
				if err == nil {
					select {
					case got <- m.Status:
					default:
					}
					cancel()
				}
				return err
			})
			if c.permanent {
				var se *StatusError
				if !connector.IsPermanent(err) || !errors.As(err, &se) || se.Status != c.status || se.Message != sabasim.StatusMessage(c.status) {
					t.Fatalf("err %v, want permanent status %d with the server's message", err, c.status)
				}
				if n := sim.Stats().Connects; n != 1 {
					t.Fatalf("%d connects for a permanent error", n)
				}
				return
			}
			if err != nil || len(got) != 1 {
				t.Fatalf("err %v, got %d messages", err, len(got))
			}
			if n := sim.Stats().Connects; n != 4 {
				t.Fatalf("%d connects, want 3 refused and 1", n)
			}
		})
	}
}

func TestStreamLoopStall(t *testing.T) {
	sim, url := newTestSim(t, sabasim.WithKeepAlive(time.Hour))
	cl, set := testClient(t, url, map[string]string{KeySilenceTimeout: "200"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ids []string
	start := time.Now()
	_ = cl.streamLoop(ctx, StreamSpec{"GetEvents", ""}, "", set, func(_ context.Context, ev sse.Event) error {
		ids = append(ids, ev.ID)
		if len(ids) == 1 {
			go func() { time.Sleep(50 * time.Millisecond); sim.Step(1) }()
		}
		if len(ids) == 2 {
			cancel()
		}
		return nil
	})
	// With keep-alives off, the stream is silent after the snapshot; the
	// client must reconnect with Last-Event-Id and get the update replayed.
	if len(ids) != 2 || ids[1] != sim.IDOf(1) {
		t.Fatalf("ids %v", ids)
	}
	if st := sim.Stats(); st.Connects < 1 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("took %s, %+v", time.Since(start), sim.Stats())
}
