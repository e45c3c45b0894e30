package roanuz

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestTimelineDeterministic(t *testing.T) {
	a, b, c := newTimeline(1, "m1", 2), newTimeline(1, "m1", 2), newTimeline(2, "m1", 2)
	if len(a.steps) != len(b.steps) {
		t.Fatal("same seed, different timelines")
	}
	for i := range a.steps {
		if !bytes.Equal(a.pushBody(i), b.pushBody(i)) || !bytes.Equal(a.matchDoc(i), b.matchDoc(i)) {
			t.Fatalf("step %d differs for the same seed", i)
		}
	}
	same := len(a.steps) == len(c.steps)
	for i := 0; same && i < len(a.steps); i++ {
		same = bytes.Equal(a.pushBody(i), c.pushBody(i))
	}
	if same {
		t.Fatal("another seed gives the same timeline")
	}
	kinds := map[string]int{}
	updates := 0
	for i, s := range a.steps {
		kinds[s.Kind]++
		if s.Reason == "Update" {
			updates++
		}
		if _, err := ParsePush(a.pushBody(i)); err != nil {
			t.Fatalf("step %d: the simulator's own push does not parse: %v", i, err)
		}
	}
	for _, k := range []string{stepInfo, stepToss, stepSquad, stepPlay, stepBall, stepResult, stepReward} {
		if kinds[k] == 0 {
			t.Fatalf("no %s step in %v", k, kinds)
		}
	}
	for _, tc := range []struct {
		step         int
		status, play string
	}{{0, "not_started", "scheduled"}, {a.completed - 1, "started", "in_play"}, {a.completed, "completed", "result"}} {
		if st, pl := a.status(tc.step); st != tc.status || pl != tc.play {
			t.Fatalf("step %d: status %s/%s, want %s/%s", tc.step, st, pl, tc.status, tc.play)
		}
	}
	if updates == 0 {
		t.Log("no correction in this timeline (allowed, but rare)")
	}
}

// restCall makes a REST call to the simulator and returns the status and body.
func restCall(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set(HeaderToken, token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

func TestSimulatorREST(t *testing.T) {
	sim := startSim(t, SimMatches("m1", "m2"), SimListed("m2"), SimTokenLifetime(300*time.Millisecond))
	inactive := startSim(t, SimProjectInactive())
	base := sim.URL() + "/v5"
	_, v := restCall(t, "POST", base+"/core/sim_project/auth/", "", `{"api_key":"sim-api-key"}`)
	tok, _ := v["data"].(map[string]any)["token"].(string)
	for _, tc := range []struct {
		name, method, url, token, body string
		want                           int
	}{
		{"auth: wrong api key", "POST", base + "/core/sim_project/auth/", "", `{"api_key":"nope"}`, 401},
		{"auth: unknown project", "POST", base + "/core/other/auth/", "", `{"api_key":"sim-api-key"}`, 404},
		{"auth: inactive project", "POST", inactive.URL() + "/v5/core/sim_project/auth/", "", `{"api_key":"sim-api-key"}`, 402},
		{"subscribe without token", "POST", base + "/cricket/sim_project/match/m1/subscribe/", "", `{"method":"web_socket"}`, 401},
		{"subscribe with the wrong method", "POST", base + "/cricket/sim_project/match/m1/subscribe/", tok, `{"method":"web_hook"}`, 400},
		{"subscribe an unknown match", "POST", base + "/cricket/sim_project/match/zz/subscribe/", tok, `{"method":"web_socket"}`, 404},
		{"subscribe", "POST", base + "/cricket/sim_project/match/m1/subscribe/", tok, `{"method":"web_socket"}`, 200},
		{"detail-updates-subscribe", "POST", base + "/cricket/sim_project/match/m1/detail-updates-subscribe/", tok, `{"method":"web_hook"}`, 200},
		{"match", "GET", base + "/cricket/sim_project/match/m1/", tok, "", 200},
		{"featured list", "GET", base + "/cricket/sim_project/featured-matches-2/", tok, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := restCall(t, tc.method, tc.url, tc.token, tc.body)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %v", status, tc.want, body)
			}
			if status != 200 && (body["error"] == nil || body["http_status_code"] == nil) {
				t.Fatalf("error answer not in Roanuz's shape: %v", body)
			}
		})
	}
	if !sim.Subscribed("m1", MethodWebSocket) || !sim.Subscribed("m1", MethodWebHook) || sim.Subscribed("m2", MethodWebSocket) {
		t.Fatal("subscriptions not recorded")
	}
	// The featured list names the listed matches with their status.
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
	// Tokens expire.
	time.Sleep(350 * time.Millisecond)
	if status, body := restCall(t, "GET", base+"/cricket/sim_project/match/m1/", tok, ""); status != 401 ||
		!strings.Contains(body["error"].(map[string]any)["msg"].(string), "expired") {
		t.Fatalf("expired token: %d %v", status, body)
	}
}

// sockDial opens a raw WebSocket to the simulator's Socket.IO endpoint.
func sockDial(t *testing.T, sim *Simulator, eio string) (*websocket.Conn, int) {
	t.Helper()
	u := "ws" + strings.TrimPrefix(sim.URL(), "http") + "/v5/websocket/?EIO=" + eio + "&transport=websocket"
	ws, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		if resp != nil {
			return nil, resp.StatusCode
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws, 101
}

// sockRead reads the next frame within 2 s.
func sockRead(t *testing.T, ws *websocket.Conn) (int, []byte) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	mt, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	return mt, b
}

func sockSend(t *testing.T, ws *websocket.Conn, s string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func TestSimulatorEngineIO(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server int
		eio    string
		speaks int // 0 = refused
	}{
		{"v4 server, v4 client", EngineIOv4, "4", 4},
		{"v4 server refuses v3", EngineIOv4, "3", 0},
		{"v3 server, v3 client", EngineIOv3, "3", 3},
		{"v3 server ignores EIO=4 (socket.io 2.x)", EngineIOv3, "4", 3},
		{"both, v3 asked", EngineIOBoth, "3", 3},
		{"both, v4 asked", EngineIOBoth, "4", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSim(t, SimMatches("m1"), SimEngineIO(tc.server), SimPingInterval(200*time.Millisecond), SimVariant(VariantBinary))
			ws, status := sockDial(t, sim, tc.eio)
			if tc.speaks == 0 {
				if status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", status)
				}
				return
			}
			_, open := sockRead(t, ws)
			var info map[string]any
			if open[0] != '0' || json.Unmarshal(open[1:], &info) != nil || info["sid"] == "" {
				t.Fatalf("open packet %q", open)
			}
			if _, has := info["maxPayload"]; has != (tc.speaks == 4) {
				t.Fatalf("Engine.IO v%d open packet %q", tc.speaks, open)
			}
			if tc.speaks == 3 {
				if _, b := sockRead(t, ws); string(b) != "40" {
					t.Fatalf("v3: %q after open, want 40 (root namespace)", b)
				}
				sockSend(t, ws, "2probe")
				if _, b := sockRead(t, ws); string(b) != "3probe" {
					t.Fatalf("v3 ping answered %q", b)
				}
				sockSend(t, ws, "40/nope,")
				if _, b := sockRead(t, ws); string(b) != `44/nope,"Invalid namespace"` {
					t.Fatalf("v3 bad namespace: %q", b)
				}
				sockSend(t, ws, "40/cricket,")
				if _, b := sockRead(t, ws); string(b) != "40/cricket," {
					t.Fatalf("v3 namespace join answered %q", b)
				}
			} else {
				if _, b := sockRead(t, ws); string(b) != "2" {
					t.Fatalf("v4: server ping %q, want 2", b)
				}
				sockSend(t, ws, "3")
				sockSend(t, ws, "40/cricket,")
				if _, b := sockRead(t, ws); !strings.HasPrefix(string(b), `40/cricket,{"sid":`) {
					t.Fatalf("v4 namespace join answered %q", b)
				}
			}
			// Join a match and get its document as a binary attachment.
			cl := NewClient(sim.URL(), "sim_project", "sim-api-key", nil, testLogger(t))
			tok, err := cl.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if err := cl.Subscribe(context.Background(), "m1"); err != nil {
				t.Fatal(err)
			}
			join, _ := json.Marshal([]any{"connect_to_match", map[string]string{"token": tok, "match_key": "m1"}})
			sockSend(t, ws, "42/cricket,"+string(join))
			var header string
			var attachment []byte
			for attachment == nil {
				mt, b := sockRead(t, ws)
				switch {
				case mt == websocket.BinaryMessage:
					attachment = b
				case string(b) == "2":
					sockSend(t, ws, "3")
				case strings.HasPrefix(string(b), "451-"):
					header = string(b)
				}
			}
			if !strings.HasPrefix(header, `451-/cricket,["on_match_update",{"_placeholder":true,"num":0}]`) {
				t.Fatalf("binary event header %q", header)
			}
			if tc.speaks == 3 {
				if attachment[0] != 4 {
					t.Fatalf("v3 binary frame starts with %d, want 4 (message)", attachment[0])
				}
				attachment = attachment[1:]
			}
			zr, err := gzip.NewReader(bytes.NewReader(attachment))
			if err != nil {
				t.Fatal(err)
			}
			doc, _ := io.ReadAll(zr)
			if _, err := ParseMatch(doc, "socket", time.Now()); err != nil {
				t.Fatalf("attachment: %v", err)
			}
		})
	}
}

func TestPusherRetriesAndLostAcks(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body, err := DecodeBody(b, r.Header.Get("Content-Encoding"), 1<<20)
		mu.Lock()
		defer mu.Unlock()
		calls++
		switch {
		case r.Header.Get("X-Roanuz-Secret") != "s":
			w.WriteHeader(401)
		case err != nil:
			w.WriteHeader(400)
		case calls%7 == 0:
			w.WriteHeader(503) // the pusher must retry
		default:
			seen[string(body)]++
			w.WriteHeader(200)
		}
	}))
	defer srv.Close()
	sim := NewSimulator(SimMatches("m1"), SimOvers(1))
	p := sim.NewPusher(PushOptions{URL: srv.URL, SecretHeader: "X-Roanuz-Secret", Secret: "s", Senders: 2, LostAckEvery: 5,
		CorruptEvery: 10, WrongSecret: 10, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
	pushes, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Acked != int64(len(pushes)) || st.LostAcks == 0 || st.Retries == 0 {
		t.Fatalf("stats %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, pr := range pushes {
		if seen[string(pr.Body)] == 0 {
			t.Fatalf("push of step %d never accepted", pr.Step)
		}
	}
	if len(st.Injected["corrupt"]) == 0 || st.Injected["wrong-secret"][0] != 401 || st.Injected["corrupt"][0] != 400 {
		t.Fatalf("injected %v", st.Injected)
	}
}

func TestRunSimulator(t *testing.T) {
	var out, errs bytes.Buffer
	if err := RunSimulator(context.Background(), []string{"--help"}, &out, &errs); err == nil || !strings.Contains(errs.String(), "Examples:") ||
		!strings.Contains(errs.String(), "--sock-eio") || !strings.Contains(errs.String(), "featured-matches-2") {
		t.Fatalf("--help: %v\n%s", err, errs.String())
	}
	out.Reset()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := RunSimulator(ctx, []string{"--addr", "127.0.0.1:0", "--matches", "a,b", "--listed", "b", "--sock-eio", "3", "--step-interval", "10ms"},
		&out, &errs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "roanuz simulator on http://127.0.0.1:") || !strings.Contains(out.String(), "stopped") {
		t.Fatalf("output:\n%s", out.String())
	}
}
