package roanuz

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/seed-474f70f7/sportsconnect/internal/socketio"
)

func TestParseMatch(t *testing.T) {
	tl := timeline(1, 2)
	last := tl.Steps("m1") - 1
	for _, tc := range []struct {
		name  string
		doc   []byte
		want  error
		check func(t *testing.T, d *matchDocument)
	}{
		{name: "not started", doc: tl.Document("m1", 0), check: func(t *testing.T, d *matchDocument) {
			m := d.match
			if m.Key != "m1" || m.Name != "Team A vs Team B" || m.ShortName != "A vs B" || m.Status != "not_started" ||
				m.PlayStatus != "scheduled" || m.Format != "t20" || m.StartAt == nil || m.TeamA == nil || m.TeamA.Code != "TA" ||
				m.TeamB.Name != "Team B" || m.Etag == "" || len(d.balls) != 0 || m.Raw == "" {
				t.Fatalf("%+v", m)
			}
		}},
		{name: "completed", doc: tl.Document("m1", last), check: func(t *testing.T, d *matchDocument) {
			m := d.match
			if m.Status != "completed" || m.Result == nil || m.Result.ResultType != "win_by" || len(m.Innings) != 2 || m.Toss == nil ||
				m.Toss.Elected != "bat" || m.Target == nil || m.Target.Runs == 0 || len(d.balls) != roanuzsim.RelatedBalls {
				t.Fatalf("%+v (%d balls)", m, len(d.balls))
			}
			for i := 1; i < len(d.balls); i++ {
				if !ballLess(d.balls[i-1].key, d.balls[i].key) {
					t.Fatalf("balls out of order: %s before %s", d.balls[i-1].key, d.balls[i].key)
				}
			}
			if _, err := parseBall(d.balls[0].raw); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "unknown fields ignored", doc: []byte(`{"data":{"key":"x","new_thing":[1,2],"play":{"innings_order":[],"whatever":{}}},"cache":{"etag":"e"}}`),
			check: func(t *testing.T, d *matchDocument) {
				if d.match.Key != "x" || d.match.Etag != "e" {
					t.Fatalf("%+v", d.match)
				}
			}},
		{name: "not JSON", doc: []byte(`{"data":`), want: ErrMalformed},
		{name: "no key", doc: []byte(`{"data":{"name":"x"}}`), want: ErrMalformed},
		{name: "no data", doc: []byte(`{"error":{"code":"M-404"}}`), want: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseMatch(tc.doc, "rest", time.Now())
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil {
				tc.check(t, d)
			}
		})
	}
}

func TestDecodeUpdate(t *testing.T) {
	doc := timeline(1, 1).Document("m1", 3)
	quoted, _ := json.Marshal(string(doc))
	b64, _ := json.Marshal(base64.StdEncoding.EncodeToString(gzipBytes(doc)))
	for _, tc := range []struct {
		name string
		arg  socketio.Arg
		max  int64
		want error
	}{
		{name: "JSON text", arg: socketio.Arg{JSON: quoted}, max: 1 << 20},
		{name: "object", arg: socketio.Arg{JSON: doc}, max: 1 << 20},
		{name: "gzipped base64 text", arg: socketio.Arg{JSON: b64}, max: 1 << 20},
		{name: "gzipped binary attachment", arg: socketio.Arg{Binary: gzipBytes(doc)}, max: 1 << 20},
		{name: "plain binary attachment", arg: socketio.Arg{Binary: doc}, max: 1 << 20},
		{name: "inflates past the cap", arg: socketio.Arg{Binary: roanuzsim.GzipBomb(1 << 20)}, max: 1 << 16, want: ErrTooLarge},
		{name: "a number", arg: socketio.Arg{JSON: json.RawMessage(`42`)}, max: 1 << 20, want: ErrMalformed},
		{name: "text that is not JSON", arg: socketio.Arg{JSON: json.RawMessage(`"hello"`)}, max: 1 << 20, want: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeUpdate(tc.arg, tc.max)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err == nil && string(got) != string(doc) {
				t.Fatalf("decoded %d bytes, not the document", len(got))
			}
		})
	}
}

func FuzzParseMatchUpdate(f *testing.F) {
	// Small seeds: new inputs are minimized for up to -fuzzminimizetime
	// (60 s by default, long on documents of KiBs): run with
	// -fuzzminimizetime 2s.
	tl := timeline(3, 1)
	f.Add(tl.Document("m1", 5), false)
	f.Add(gzipBytes(tl.Document("m1", 1)), true)
	f.Add([]byte(`{"data":{"key":"k","play":{"related_balls":{"1":{"wicket":{"player_key":7}}},"innings_order":["a_1"],"innings":{}}}}`), false)
	f.Fuzz(func(t *testing.T, b []byte, binary bool) {
		arg := socketio.Arg{JSON: b}
		if binary {
			arg = socketio.Arg{Binary: b}
		}
		doc, err := DecodeUpdate(arg, 1<<16)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(doc) > 1<<16 {
			t.Fatalf("%d bytes past the cap", len(doc))
		}
		d, err := ParseMatch(doc, "socket", time.Now())
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if d.match.Key == "" || d.match.ContentHash == "" {
			t.Fatalf("accepted a document without key or hash: %+v", d.match)
		}
		for _, b := range d.balls {
			if _, err := parseBall(b.raw); err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped ball error %v", err)
			}
		}
	})
}
