package sabasim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/sse"
)

// newTestSim starts a simulator on an httptest server.
func newTestSim(t *testing.T, opts ...SimOption) (*Simulator, string) {
	t.Helper()
	sim := NewSimulator(append([]SimOption{WithEpoch("t0"), WithRecordTimeline(true), WithKeepAlive(250 * time.Millisecond)}, opts...)...)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { sim.Close(); srv.Close() })
	sim.Start()
	return sim, srv.URL
}

func login(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Post(url+"/login", "application/json", strings.NewReader(`{"vendor_id":"v","vendor_member_id":"m"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("login: %v %+v", err, tr)
	}
	return tr.AccessToken
}

// openRaw opens a stream with the sse package and returns it.
func openRaw(t *testing.T, url, token, path, lastID, acceptEnc string) (*sse.Stream, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if acceptEnc != "" {
		req.Header.Set("Accept-Encoding", acceptEnc)
	}
	return sse.Connect(ctx, nil, req, lastID)
}

// testMessage is a message's data as the documents describe it, decoded
// with encoding/json: the simulator's tests share no parser with the
// connector.
type testMessage struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
	Payload struct {
		Events  *testSet `json:"events"`
		Markets *testSet `json:"markets"`
	} `json:"payload"`
}

// testSet is the add/change/remove lists of events or markets.
type testSet struct {
	Add    []json.RawMessage `json:"add"`
	Change []json.RawMessage `json:"change"`
	Remove []json.RawMessage `json:"remove"`
}

func (s *testSet) len() int {
	if s == nil {
		return 0
	}
	return len(s.Add) + len(s.Change) + len(s.Remove)
}

// decodeMessage decodes a message's data; it must be one JSON object with
// a status.
func decodeMessage(data []byte) (*testMessage, error) {
	var m testMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	var has struct {
		Status *int `json:"status"`
	}
	if json.Unmarshal(data, &has) != nil || has.Status == nil {
		return nil, errors.New("no status")
	}
	return &m, nil
}

func nextMsg(t *testing.T, st *sse.Stream) (sse.Event, *testMessage) {
	t.Helper()
	for {
		ev, err := st.Next()
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		m, err := decodeMessage(ev.Data)
		if err != nil {
			t.Fatalf("parse %q: %v", ev.Data, err)
		}
		if !ev.HasID && m.Status == 0 && m.Payload.Events.len()+m.Payload.Markets.len() == 0 {
			continue // keep-alive event
		}
		return ev, m
	}
}

func TestSimulatorStreamStatuses(t *testing.T) {
	sim, url := newTestSim(t, WithCacheSize(5), WithEvents(5, 2))
	tok := login(t, url)
	const path = "/sports/stream/v1/GetEvents?query=%24filter%3Dsporttype%20ge%201"

	// First connection: status 1 with the full set, id of the head.
	st, err := openRaw(t, url, tok, path, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ev, m := nextMsg(t, st)
	if m.Status != StatusInitialData || len(m.Payload.Events.Add) != 5 || len(m.Payload.Markets.Add) != 10 {
		t.Fatalf("initial: status %d, %d events, %d markets", m.Status, len(m.Payload.Events.Add), m.Payload.Markets.len())
	}
	if ev.ID != "t0-0" {
		t.Fatalf("initial id %q", ev.ID)
	}
	sim.Step(3)
	for i := int64(1); i <= 3; i++ {
		ev, m := nextMsg(t, st)
		if m.Status != StatusSuccess || ev.ID != sim.IDOf(i) {
			t.Fatalf("update %d: status %d id %q", i, m.Status, ev.ID)
		}
	}
	st.Close()

	// Reconnect inside the cache: replay, no snapshot.
	sim.Step(2)
	st, err = openRaw(t, url, tok, path, sim.IDOf(3), "gzip")
	if err != nil {
		t.Fatal(err)
	}
	if ev, m := nextMsg(t, st); m.Status != StatusSuccess || ev.ID != sim.IDOf(4) {
		t.Fatalf("replay: status %d id %q", m.Status, ev.ID)
	}
	st.Close()

	// Outside the cache (or unknown): status 3 with the full set.
	sim.Step(10)
	for _, last := range []string{sim.IDOf(1), "other-epoch-5", "garbage"} {
		st, err = openRaw(t, url, tok, path, last, "br")
		if err != nil {
			t.Fatal(err)
		}
		ev, m := nextMsg(t, st)
		head, headID := sim.Head()
		if m.Status != StatusReset || ev.ID != headID || head != 15 {
			t.Fatalf("last %q: status %d id %q (head %s)", last, m.Status, ev.ID, headID)
		}
		st.Close()
	}
}

func TestSimulatorErrorStatuses(t *testing.T) {
	sim, url := newTestSim(t)
	tok := login(t, url)
	cases := []struct {
		name, path, enc string
		fail            int
		httpCode, want  int
	}{
		{"bad encoding", "/sports/stream/v1/GetEvents", "compress", 0, 400, 97},
		{"bad query", "/sports/stream/v1/GetEvents?query=sporttype%3D%3D1", "", 0, 400, 98},
		{"unknown attribute", "/sports/stream/v1/GetMarkets?query=%24filter%3Dcolour%20eq%201", "", 0, 400, 98},
		{"maintenance", "/sports/stream/v1/GetEvents", "", 99, 503, 99},
		{"internal", "/sports/stream/v1/GetEvents", "", 100, 500, 100},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.fail != 0 {
				sim.FailNext(c.fail, 1)
			}
			_, err := openRaw(t, url, tok, c.path, "", c.enc)
			var he *sse.HTTPError
			if !errors.As(err, &he) || he.StatusCode != c.httpCode {
				t.Fatalf("err %v, want HTTP %d", err, c.httpCode)
			}
			var body struct{ Status int }
			if json.Unmarshal(he.Body, &body) != nil || body.Status != c.want {
				t.Fatalf("body %s, want status %d", he.Body, c.want)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		_, err := openRaw(t, url, "", "/sports/stream/v1/GetEvents", "", "")
		var he *sse.HTTPError
		if !errors.As(err, &he) || he.StatusCode != 401 {
			t.Fatalf("err %v, want 401", err)
		}
	})
	t.Run("token query parameter", func(t *testing.T) {
		st, err := openRaw(t, url, "", "/sports/stream/v1/GetEvents?token="+tok, "", "deflate")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, m := nextMsg(t, st); m.Status != StatusInitialData {
			t.Fatalf("status %d", m.Status)
		}
	})
}

func TestSimulatorFaults(t *testing.T) {
	sim, url := newTestSim(t, WithKeepAlive(30*time.Millisecond), WithTokenTTL(time.Hour))
	tok := login(t, url)
	const path = "/sports/stream/v1/GetMarkets"
	t.Run("keep-alives", func(t *testing.T) {
		var comments int
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		st, err := sse.Connect(ctx, nil, req, "", sse.WithCommentFunc(func(string) { comments++ }))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		events := 0
		for events < 3 {
			ev, err := st.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ev.HasID {
				events++
			}
		}
		if comments == 0 {
			t.Fatal("no comment keep-alive before 3 event keep-alives")
		}
	})
	t.Run("cut mid-event", func(t *testing.T) {
		st, err := openRaw(t, url, tok, path, "", "gzip")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		nextMsg(t, st)
		sim.CutStreams()
		sim.Step(1)
		for {
			_, err := st.Next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					t.Log("cut seen as EOF")
				}
				return
			}
		}
	})
	t.Run("expire tokens", func(t *testing.T) {
		st, err := openRaw(t, url, tok, path, "", "")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		nextMsg(t, st)
		sim.ExpireTokens()
		for {
			if _, err := st.Next(); err != nil {
				break
			}
		}
		_, err = openRaw(t, url, tok, path, "", "")
		var he *sse.HTTPError
		if !errors.As(err, &he) || he.StatusCode != 401 {
			t.Fatalf("old token after ExpireTokens: %v, want 401", err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		sim2, url2 := newTestSim(t, WithMalformedEvery(2))
		st, err := openRaw(t, url2, login(t, url2), "/sports/stream/v1/GetEvents", "", "")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		nextMsg(t, st)
		sim2.Step(2)
		ev, err := st.Next()
		for err == nil && ev.ID != sim2.IDOf(2) {
			ev, err = st.Next()
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, perr := decodeMessage(ev.Data); perr == nil {
			t.Fatalf("update 2 parsed: %q", ev.Data)
		}
	})
}

func TestNegotiateEncoding(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"", "identity", true},
		{"br, gzip, deflate", "br", true},
		{"gzip;q=1.0, br;q=0", "gzip", true},
		{"deflate", "deflate", true},
		{"identity", "identity", true},
		{"*", "gzip", true},
		{"compress", "", false},
		{"compress, zstd", "", false},
		{"compress, identity", "identity", true},
		{"br;q=0", "identity", true},
	}
	for _, c := range cases {
		got, ok := negotiateEncoding(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: got %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestTimelineDeterministic(t *testing.T) {
	a := NewSimulator(WithSeed(7), WithEpoch("x"), WithRecordTimeline(true))
	b := NewSimulator(WithSeed(7), WithEpoch("x"), WithRecordTimeline(true))
	a.Step(200)
	b.Step(200)
	strip := func(us []Update) []Update {
		for i := range us {
			us[i].Created = time.Time{}
		}
		return us
	}
	ja, _ := json.Marshal(strip(a.Updates()))
	jb, _ := json.Marshal(strip(b.Updates()))
	if string(ja) != string(jb) {
		t.Fatal("same seed, different timelines")
	}
	c := NewSimulator(WithSeed(8), WithEpoch("x"), WithRecordTimeline(true))
	c.Step(200)
	if jc, _ := json.Marshal(strip(c.Updates())); string(jc) == string(ja) {
		t.Fatal("different seeds, same timeline")
	}
}

// TestSimulatorRepeats: WithDuplicateEvery sends every n-th update's frame
// twice in a row; WithInclusiveReplay starts a replay with the message
// named by Last-Event-Id.
func TestSimulatorRepeats(t *testing.T) {
	sim, url := newTestSim(t, WithDuplicateEvery(3), WithInclusiveReplay(true))
	tok := login(t, url)
	const path = "/sports/stream/v1/GetEvents"
	st, err := openRaw(t, url, tok, path, "", "")
	if err != nil {
		t.Fatal(err)
	}
	nextMsg(t, st) // the snapshot
	sim.Step(4)
	var ids []string
	for range 5 {
		ev, _ := nextMsg(t, st)
		ids = append(ids, ev.ID)
	}
	want := []string{sim.IDOf(1), sim.IDOf(2), sim.IDOf(3), sim.IDOf(3), sim.IDOf(4)}
	if !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v (update 3 twice)", ids, want)
	}
	st.Close()

	st, err = openRaw(t, url, tok, path, sim.IDOf(4), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sim.Step(1)
	first, _ := nextMsg(t, st)
	second, _ := nextMsg(t, st)
	if first.ID != sim.IDOf(4) || second.ID != sim.IDOf(5) {
		t.Fatalf("replay after %s: %s then %s, want the named message again first", sim.IDOf(4), first.ID, second.ID)
	}
	if st := sim.Stats(); st.Duplicates != 2 {
		t.Fatalf("duplicates %d, want 2", st.Duplicates)
	}
}
