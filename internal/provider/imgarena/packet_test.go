package imgarena

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
)

func TestParsePacketClassifies(t *testing.T) {
	feed := imgarenasim.NewFeed(1, "100001", 5, true)
	ev, _ := feed.Next()
	action := string(feed.Packet(ev, 3))
	cases := []struct {
		name string
		in   string
		kind packetKind
		seq  int64
		err  bool
		auth bool // error is an auth refusal before authorisation
	}{
		{name: "action", in: action, kind: kindAction, seq: 3},
		{name: "action quoted seq", in: `{"fixtureAction":{"fixtureSeqNum":"9"},"finished":"true"}`, kind: kindAction, seq: 9},
		{name: "status", in: `{"eventElementType":"ConnectionStateChanged","state":"Connected","timestamp":"1767225600000"}`, kind: kindStatus},
		{name: "authorised type", in: `{"type":"authorised"}`, kind: kindLiveness},
		{name: "authorised status ok", in: `{"status":"ok","message":"Authorised"}`, kind: kindLiveness},
		{name: "authorised 200", in: `{"authorised":true,"statusCode":200}`, kind: kindLiveness},
		{name: "heartbeat type", in: `{"type":"heartbeat"}`, kind: kindLiveness},
		{name: "heartbeat ts", in: `{"heartbeat":1767225600000}`, kind: kindLiveness},
		{name: "empty object", in: `{}`, kind: kindLiveness},
		{name: "bare string", in: `"ping"`, kind: kindLiveness},
		{name: "unknown fields", in: `{"foo":[1,2],"bar":{"x":null}}`, kind: kindLiveness},
		{name: "refusal 401", in: `{"statusCode":401,"message":"Invalid token"}`, kind: kindError, auth: true},
		{name: "refusal error", in: `{"error":"Unauthorized","message":"Invalid token"}`, kind: kindError, auth: true},
		{name: "authorised false", in: `{"authorised":false}`, kind: kindError, auth: true},
		{name: "type error", in: `{"type":"error","reason":"fixture not found"}`, kind: kindError},
		{name: "truncated", in: action[:len(action)/2], err: true},
		{name: "truncated status", in: `{"eventElementType":"ConnectionStateCh`, err: true},
		{name: "truncated seq-less action", in: `{"traceId":"x","fixtureAction":{"actionId":"junk`, err: true},
		{name: "non-JSON heartbeat", in: `heartbeat`, kind: kindLiveness},
		{name: "ping", in: `ping`, kind: kindLiveness},
		{name: "empty frame", in: ``, kind: kindLiveness},
		{name: "blank frame", in: " \r\n", kind: kindLiveness},
		{name: "binary bytes", in: "\x00\x01\xff", kind: kindLiveness},
		{name: "broken object without an action or status key", in: `{"type":"heartb`, kind: kindLiveness},
		{name: "action without seq", in: `{"fixtureAction":{"actionId":"x"}}`, err: true},
		{name: "action seq zero", in: `{"fixtureAction":{"fixtureSeqNum":0}}`, err: true},
		{name: "action wrong type", in: `{"fixtureAction":"x"}`, err: true},
		{name: "status not object field", in: `{"eventElementType":{"a":1}}`, kind: kindStatus},
		{name: "null action is liveness", in: `{"fixtureAction":null}`, kind: kindLiveness},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parsePacket([]byte(tc.in))
			if tc.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.kind != tc.kind || p.seq != tc.seq {
				t.Fatalf("kind %s seq %d, want %s seq %d", p.kind, p.seq, tc.kind, tc.seq)
			}
			if p.kind == kindError && tc.auth != p.isAuthError(true) {
				t.Fatalf("isAuthError = %v, want %v (%q)", !tc.auth, tc.auth, p.errMsg)
			}
		})
	}
}

func TestScanSeq(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{`{"fixtureAction":{"fixtureSeqNum":42,"x`, 42, true},
		{`{"fixtureSeqNum" : "7",`, 7, true},
		{`{"fixtureSeqNum":12`, 0, false}, // digits may be cut short
		{`{"fixtureSeqNum":0,`, 0, false},
		{`{"fixtureSeq`, 0, false},
		{`{"fixtureSeqNum"x1,`, 0, false},
	}
	for _, tc := range cases {
		if n, ok := scanSeq([]byte(tc.in)); n != tc.want || ok != tc.ok {
			t.Errorf("%s: %d %v, want %d %v", tc.in, n, ok, tc.want, tc.ok)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	ms := time.Date(2026, 1, 1, 12, 0, 0, 123e6, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1767268800123", ms, true},
		{"1767268800.123", ms, true},
		{"1767268800123000", ms, true},
		{"2026-01-01T12:00:00.123Z", ms, true},
		{"", time.Time{}, false},
		{"soon", time.Time{}, false},
		{"-5", time.Time{}, false},
	}
	for _, tc := range cases {
		got, ok := parseTimestamp(tc.in)
		if ok != tc.ok || !got.Truncate(time.Millisecond).Equal(tc.want) {
			t.Errorf("%q: %v %v, want %v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFlexTypes(t *testing.T) {
	var w wirePacket
	p, err := parsePacket([]byte(`{"version":2,"traceId":null,"fixtureAction":{"fixtureSeqNum":1,"timestamp":"1767268800123.456","sendTypeId":"2","period":"1","team":{"id":17,"name":"A"},"metadata":{"xG":"0.1234567890123"}},"fixtureSummary":{"homeTeamScore":"3","awayTeamScore":1.5}}`))
	if err != nil {
		t.Fatal(err)
	}
	w = *p.action
	fa := w.FixtureAction
	if w.Version.s != "2" || w.TraceID.ok || fa.Timestamp.s != "1767268800123.456" || fa.SendTypeID.n != 2 || fa.Team.ID.s != "17" ||
		string(fa.Metadata) != `{"xG":"0.1234567890123"}` || w.FixtureSummary.HomeTeamScore.n != 3 || w.FixtureSummary.AwayTeamScore.ok {
		t.Fatalf("decoded %+v %+v %+v", w, fa, w.FixtureSummary)
	}
}

// FuzzParsePacket: no input may panic, and whatever parses as an action
// has a positive seq and builds a record value.
func FuzzParsePacket(f *testing.F) {
	feed := imgarenasim.NewFeed(3, "100001", 5, true)
	for i := int64(1); i <= 5; i++ {
		ev, _ := feed.Next()
		f.Add(feed.Packet(ev, i))
		f.Add(feed.Malformed(ev, i))
	}
	for _, s := range []string{`{"type":"heartbeat"}`, `{"statusCode":401,"message":"Invalid token"}`,
		`{"eventElementType":"ConnectionStateChanged","state":"Disconnected","timestamp":"1"}`, `[]`, `null`, `{"fixtureAction":{}}`,
		`{"FixtureAction":{"fixtureSeqNum":1},"x":"fixtureAction"}`, `{"fixtureAction":null,"FIXTUREACTION":{"fixtureSeqNum":2}}`,
		`{"fixtureAction":{"fixtureSeqNum":3},"fixtureAction":null}`, `{"fixtureAction":"x"}`, `{"fixtureAction":{"fixtureSeqNum":"\u0031"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePacket(b)
		// The one-pass path for actions must agree with the general one.
		g, gerr := parseGeneral(bytes.TrimSpace(b))
		if (err == nil) != (gerr == nil) || p.kind != g.kind || p.seq != g.seq || p.finished != g.finished {
			t.Fatalf("parsePacket: %s seq %d finished %v err %v; parseGeneral: %s seq %d finished %v err %v",
				p.kind, p.seq, p.finished, err, g.kind, g.seq, g.finished, gerr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			scanSeq(b)
			return
		}
		switch p.kind {
		case kindAction:
			if p.seq < 1 {
				t.Fatalf("action with seq %d", p.seq)
			}
			a := newAction("f", "soccer", p.seq, p.action, b, time.Now())
			if a.Raw != string(b) {
				t.Fatal("raw not byte-exact")
			}
		case kindStatus:
			newStatus("f", "soccer", 0, p.status, b, time.Now())
		}
	})
}
