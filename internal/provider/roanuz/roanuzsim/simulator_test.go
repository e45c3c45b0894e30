package roanuzsim

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
		checkPush(t, i, a.pushBody(i))
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

// checkPush fails t unless body is a push as the documents show it: a
// cricket match-detail-update with a match key, a push kind and a numeric
// ts, and a ball with its key and detail in every Ball push. (The
// connector's own parser is not used here: the simulator shares no code
// with it. The connector's tests parse every simulated push.)
func checkPush(t *testing.T, step int, body []byte) {
	t.Helper()
	var p struct {
		Sport    string `json:"sport"`
		DataKind string `json:"data_kind"`
		Data     *struct {
			MatchKey      string      `json:"matchkey"`
			MatchPushKind string      `json:"match_push_kind"`
			PushReason    string      `json:"push_reason"`
			TS            json.Number `json:"ts"`
			Ball          *struct {
				BallKey json.Number `json:"ball_key"`
				Detail  struct {
					Key         string      `json:"key"`
					UpdatedTime json.Number `json:"updated_time"`
				} `json:"detail"`
			} `json:"ball"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil || dec.More() {
		t.Fatalf("step %d: push is not one JSON object: %v\n%s", step, err, body)
	}
	d := p.Data
	if p.Sport != "cricket" || p.DataKind != "match-detail-update" || d == nil || d.MatchKey == "" || d.MatchPushKind == "" || d.PushReason == "" {
		t.Fatalf("step %d: push lacks what the documents require: %s", step, body)
	}
	if _, err := d.TS.Float64(); err != nil {
		t.Fatalf("step %d: ts %q is not a unix time", step, d.TS)
	}
	if d.MatchPushKind == stepBall {
		if d.Ball == nil || d.Ball.BallKey.String() == "" || d.Ball.Detail.Key != d.Ball.BallKey.String() {
			t.Fatalf("step %d: Ball push without its ball: %s", step, body)
		}
		if _, err := d.Ball.Detail.UpdatedTime.Float64(); err != nil {
			t.Fatalf("step %d: updated_time %q is not a unix time", step, d.Ball.Detail.UpdatedTime)
		}
	}
}

// restCall makes a REST call to the simulator and returns the status and body.
func restCall(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set(headerToken, token)
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
	sim := startSim(t, WithMatches("m1", "m2"), WithListed("m2"), WithTokenLifetime(300*time.Millisecond))
	inactive := startSim(t, WithProjectInactive())
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
	featured := func() []map[string]any {
		t.Helper()
		_, v := restCall(t, "POST", base+"/core/sim_project/auth/", "", `{"api_key":"sim-api-key"}`)
		fresh, _ := v["data"].(map[string]any)["token"].(string) // tok may have expired by now
		status, body := restCall(t, "GET", base+"/cricket/sim_project/featured-matches-2/", fresh, "")
		data, _ := body["data"].(map[string]any)
		list, _ := data["matches"].([]any)
		if status != 200 || data == nil {
			t.Fatalf("featured: %d %v", status, body)
		}
		var out []map[string]any
		for _, m := range list {
			e, _ := m.(map[string]any)
			if e["key"] == nil || e["status"] == nil || e["teams"] == nil {
				t.Fatalf("featured entry without key, status or teams: %v", m)
			}
			out = append(out, e)
		}
		return out
	}
	if list := featured(); len(list) != 1 || list[0]["key"] != "m2" || list[0]["status"] != "not_started" {
		t.Fatalf("featured: %v", list)
	}
	for sim.Step("m2") < sim.Steps("m2")-1 {
		sim.Advance("m2")
	}
	sim.SetListed("m1", "m2")
	if list := featured(); len(list) != 2 || list[1]["key"] != "m2" || list[1]["status"] != "completed" {
		t.Fatalf("featured after the result: %v", list)
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
			sim := startSim(t, WithMatches("m1"), WithEngineIO(tc.server), WithPingInterval(200*time.Millisecond), WithVariant(VariantBinary))
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
			base := sim.URL() + "/v5"
			_, v := restCall(t, "POST", base+"/core/sim_project/auth/", "", `{"api_key":"sim-api-key"}`)
			tok, _ := v["data"].(map[string]any)["token"].(string)
			if status, body := restCall(t, "POST", base+"/cricket/sim_project/match/m1/subscribe/", tok, `{"method":"web_socket"}`); status != 200 {
				t.Fatalf("subscribe: %d %v", status, body)
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
			var m struct {
				Data struct {
					Key string `json:"key"`
				} `json:"data"`
				Cache struct {
					Etag string `json:"etag"`
				} `json:"cache"`
			}
			if err := json.Unmarshal(doc, &m); err != nil || m.Data.Key != "m1" || m.Cache.Etag == "" {
				t.Fatalf("attachment is not m1's match document (%v): %.200s", err, doc)
			}
		})
	}
}

// gunzipped returns b inflated when it is gzip, else b.
func gunzipped(b []byte) ([]byte, error) {
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func TestPusherRetriesAndLostAcks(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body, err := gunzipped(b)
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
	sim := NewSimulator(WithMatches("m1"), WithOvers(1))
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
	if err := RunSimulator(context.Background(), []string{"--help"}, &out, &errs); err != nil || !strings.Contains(errs.String(), "Examples:") ||
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
