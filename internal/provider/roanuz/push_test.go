package roanuz

import (
	"errors"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
)

const docBallPush = `{"sport":"cricket","data_kind":"match-detail-update","data":{"matchkey":"match_key","ball":{"ball_key":524352,"over":0,"batting_order":1,"is_delete":false,"detail":{"key":"524352","ball_type":"normal","batting_team":"b","comment":"Vinod Srinivasan to Vyshakh Jagannivasan: <b>FOUR</b>. 4 runs.","innings":"b_1","overs":[0,1],"batsman":{"player_key":"player_key","ball_count":1,"runs":4,"is_dot_ball":false,"is_four":true,"is_six":false},"bowler":{"player_key":"player_key","ball_count":1,"runs":4,"extras":0,"is_wicket":false},"team_score":{"ball_count":1,"runs":4,"extras":0,"is_wicket":false},"fielders":[],"wicket":null,"non_striker_key":"player_key","entry_time":1733148685.812,"ball_play_status":"played","ball_tags":[],"updated_time":1733148685.812,"repr":"b4"}},"push_reason":"NewOrLast","match_push_kind":"Ball","ts":1733148686.425609}}`

func TestParsePush(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want error
		kind string
		ball bool
	}{
		{"documented ball push", docBallPush, nil, "Ball", true},
		{"documented toss", `{"sport":"cricket","data_kind":"match-detail-update","data":{"matchkey":"match_key","ball":null,"push_reason":"Other","match_push_kind":"Toss","ts":1733148590}}`, nil, "Toss", false},
		{"unknown fields kept", `{"x":1,"data":{"matchkey":"m","match_push_kind":"Other","ts":1,"new":[1]}}`, nil, "Other", false},
		{"no data", `{"sport":"cricket"}`, ErrMalformed, "", false},
		{"no ts", `{"data":{"matchkey":"m","match_push_kind":"Info"}}`, ErrMalformed, "", false},
		{"ball push without ball", `{"data":{"matchkey":"m","match_push_kind":"Ball","ts":1}}`, ErrMalformed, "", false},
		{"trailing data", `{"data":{"matchkey":"m","match_push_kind":"Info","ts":1}} {}`, ErrMalformed, "", false},
		{"ball without key", `{"data":{"matchkey":"m","match_push_kind":"Ball","ts":1,"ball":{"over":1}}}`, ErrMalformed, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePush([]byte(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			if p.MatchPushKind != tc.kind || p.IsBall() != tc.ball || string(p.Raw) != tc.body {
				t.Fatalf("got %+v", p)
			}
		})
	}
	p, err := ParsePush([]byte(docBallPush))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1733148686, 425609000).UTC(); !p.TS.Equal(want) || p.TSText != "1733148686.425609" {
		t.Fatalf("ts %v %q, want %v exactly", p.TS, p.TSText, want)
	}
	d := p.Ball.Detail
	if p.Ball.BallKey != "524352" || d.Batsman.Runs != 4 || !d.Batsman.IsFour || d.Repr != "b4" || d.Overs[1] != 1 || d.UpdatedTimeText != "1733148685.812" {
		t.Fatalf("ball %+v detail %+v", p.Ball, d)
	}
}

// TestParsePushOfEverySimulatedStep parses every push of a simulated
// match (the simulator checks its pushes against the documents on its
// own, without this parser).
func TestParsePushOfEverySimulatedStep(t *testing.T) {
	tl := timeline(1, 2)
	for i := range tl.Steps("m1") {
		p, err := ParsePush(tl.PushBody("m1", i))
		if err != nil {
			t.Fatalf("step %d: the simulator's push does not parse: %v", i, err)
		}
		if p.MatchKey != "m1" || (p.MatchPushKind == "Ball") != (p.Ball != nil) {
			t.Fatalf("step %d: %+v", i, p)
		}
	}
}

func TestIdentity(t *testing.T) {
	base, _ := ParsePush([]byte(docBallPush))
	for _, tc := range []struct {
		name string
		body string
		same bool
	}{
		{"same push, other whitespace", `{ "data": {"matchkey":"match_key","ball":{"ball_key":524352,"detail":{"updated_time":1733148685.812}},"push_reason":"NewOrLast","match_push_kind":"Ball","ts":1733148686.425609}}`, true},
		{"correction (updated_time)", `{"data":{"matchkey":"match_key","ball":{"ball_key":524352,"detail":{"updated_time":1733148699.1}},"push_reason":"Update","match_push_kind":"Ball","ts":1733148700}}`, false},
		{"delete", `{"data":{"matchkey":"match_key","ball":{"ball_key":524352,"is_delete":true,"detail":{"updated_time":1733148685.812}},"push_reason":"NewOrLast","match_push_kind":"Ball","ts":1733148686.425609}}`, false},
		{"other match", `{"data":{"matchkey":"other","ball":{"ball_key":524352,"detail":{"updated_time":1733148685.812}},"push_reason":"NewOrLast","match_push_kind":"Ball","ts":1733148686.425609}}`, false},
	} {
		p, err := ParsePush([]byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if (p.Identity() == base.Identity()) != tc.same {
			t.Fatalf("%s: same identity = %v, want %v", tc.name, !tc.same, tc.same)
		}
	}
}

func TestIdentitiesBoundedAndRoundTrip(t *testing.T) {
	s := newIdentities(4)
	for i := uint64(1); i <= 6; i++ {
		s.add(i)
	}
	if s.has(1) || s.has(2) || !s.has(6) || len(s.order) != 4 {
		t.Fatalf("window of 4 holds %v", s.order)
	}
	back, err := decodeIdentities(s.encode(), 4)
	if err != nil || len(back.order) != 4 || !back.has(3) {
		t.Fatalf("round trip: %v %v", back.order, err)
	}
	if _, err := decodeIdentities([]byte{1, 2, 3}, 4); err == nil {
		t.Fatal("a 3-byte set decoded")
	}
}

func FuzzDecodeAndParsePush(f *testing.F) {
	f.Add([]byte(docBallPush), "")
	f.Add(gzipBytes([]byte(docBallPush)), "gzip")
	f.Add([]byte(`{"data":{"matchkey":"m","match_push_kind":"Ball","ts":1e3,"ball":{"ball_key":"x","detail":{"wicket":{"player_key":1}}}}}`), "")
	f.Add(roanuzsim.GzipBomb(1<<16), "gzip")
	f.Fuzz(func(t *testing.T, body []byte, enc string) {
		out, err := DecodeBody(body, enc, 1<<15)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(out) > 1<<15 {
			t.Fatalf("inflated %d bytes past the cap", len(out))
		}
		p, err := ParsePush(out)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if p.MatchKey == "" || p.MatchPushKind == "" {
			t.Fatalf("accepted push without match or kind: %+v", p)
		}
		_ = p.Identity()
	})
}

func TestEventTime(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name     string
		provider time.Time
		want     time.Time
	}{
		{"plausible provider time", now.Add(-2 * time.Second), now.Add(-2 * time.Second)},
		{"unset", time.Time{}, now},
		{"in the future", now.Add(time.Minute), now},
		{"replayed timeline", time.Date(2024, 12, 2, 14, 9, 37, 0, time.UTC), now},
	} {
		if got := eventTime(tc.provider, now); !got.Equal(tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
