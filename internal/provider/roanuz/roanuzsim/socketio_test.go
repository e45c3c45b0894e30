package roanuzsim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestSendMalformed: Joined counts the connections that joined a match;
// SendMalformed writes one broken on_match_update to each of them while
// the match is subscribed, and says to how many.
func TestSendMalformed(t *testing.T) {
	sim := startSim(t, WithMatches("m1", "m2"), WithVariant(VariantText), WithPingInterval(time.Minute))
	if n := sim.SendMalformed("m1"); n != 0 || sim.Joined("m1") != 0 {
		t.Fatalf("no connection: sent to %d, joined %d", n, sim.Joined("m1"))
	}
	ws, _ := sockDial(t, sim, "4")
	sockRead(t, ws) // open
	sockSend(t, ws, "40/cricket,")
	sockRead(t, ws) // namespace joined
	base := sim.URL() + "/v5"
	_, v := restCall(t, "POST", base+"/core/sim_project/auth/", "", `{"api_key":"sim-api-key"}`)
	tok, _ := v["data"].(map[string]any)["token"].(string)
	restCall(t, "POST", base+"/cricket/sim_project/match/m1/subscribe/", tok, `{"method":"web_socket"}`)
	join, _ := json.Marshal([]any{"connect_to_match", map[string]string{"token": tok, "match_key": "m1"}})
	sockSend(t, ws, "42/cricket,"+string(join))
	readEvent := func(name string) string {
		t.Helper()
		for {
			_, b := sockRead(t, ws)
			if s := string(b); strings.HasPrefix(s, `42/cricket,["`+name+`"`) {
				return s
			}
		}
	}
	readEvent("on_match_joined")
	readEvent("on_match_update") // the state on joining
	if sim.Joined("m1") != 1 || sim.Joined("m2") != 0 {
		t.Fatalf("joined m1 %d, m2 %d; want 1, 0", sim.Joined("m1"), sim.Joined("m2"))
	}
	if n := sim.SendMalformed("m1"); n != 1 {
		t.Fatalf("sent to %d connections, want 1", n)
	}
	var args []string
	msg := readEvent("on_match_update")
	if err := json.Unmarshal([]byte(strings.TrimPrefix(msg, "42/cricket,")), &args); err != nil || len(args) != 2 {
		t.Fatalf("malformed update %q: %v", msg, err)
	}
	if json.Valid([]byte(args[1])) || !strings.HasPrefix(args[1], `{"data":{"key":`) {
		t.Fatalf("the update is not a broken match document: %q", args[1])
	}
	if n := sim.SendMalformed("m2"); n != 0 {
		t.Fatalf("m2 (not joined): sent to %d", n)
	}
	restCall(t, "POST", base+"/cricket/sim_project/match/m1/unsubscribe/", tok, `{"method":"web_socket"}`)
	if n := sim.SendMalformed("m1"); n != 0 {
		t.Fatalf("m1 unsubscribed: sent to %d", n)
	}
	ws.Close()
	deadline := time.Now().Add(2 * time.Second)
	for sim.Joined("m1") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a closed connection still counts as joined")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
