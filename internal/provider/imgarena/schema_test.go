package imgarena

import (
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
)

// TestSchemaRoundTrip encodes records of every simulated shape with the
// embedded schemas and decodes them back; raw must survive byte-exact.
func TestSchemaRoundTrip(t *testing.T) {
	feed := imgarenasim.NewFeed(5, "100007", 40, true)
	now := time.Now().UTC().Truncate(time.Millisecond) // received_at is timestamp-millis
	for i := int64(1); ; i++ {
		ev, ok := feed.Next()
		if !ok {
			break
		}
		raw := feed.Packet(ev, i)
		p, err := parsePacket(raw)
		if err != nil {
			t.Fatal(err)
		}
		in := newAction("100007", "soccer", i, p.action, raw, now)
		b, err := avro.Marshal(ActionSchema(), in)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		var out Action
		if err := avro.Unmarshal(ActionSchema(), b, &out); err != nil {
			t.Fatal(err)
		}
		if out.Raw != string(raw) || out.Position != i || *out.ActionID != ev.ActionID || !out.ReceivedAt.Equal(now) ||
			out.EventTime == nil || !out.EventTime.Equal(ev.Time.Truncate(time.Millisecond)) || out.Finished != ev.Finished {
			t.Fatalf("event %d: round trip %+v", i, out)
		}
		if out.Summary == nil || out.Summary.HomeTeamScore == nil || *out.Summary.HomeTeamScore != int64(ev.HomeScore) {
			t.Fatalf("event %d: summary %+v", i, out.Summary)
		}
	}
	raw := imgarenasim.StatusPacket("Disconnected", now)
	p, err := parsePacket(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := avro.Marshal(StatusSchema(), newStatus("100007", "soccer", 3, p.status, raw, now))
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := avro.Unmarshal(StatusSchema(), b, &st); err != nil {
		t.Fatal(err)
	}
	if st.Raw != string(raw) || *st.State != "Disconnected" || st.Position != 3 || st.EventTime == nil {
		t.Fatalf("status round trip %+v", st)
	}
	// A minimal action: every optional field absent.
	p, err = parsePacket([]byte(`{"fixtureAction":{"fixtureSeqNum":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := avro.Marshal(ActionSchema(), newAction("x", "soccer", 1, p.action, []byte("{}"), now)); err != nil {
		t.Fatal(err)
	}
}
