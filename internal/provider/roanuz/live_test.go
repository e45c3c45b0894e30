package roanuz

import (
	"fmt"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
)

// testBall returns a ball's detail: runs off the bat, extras, a four or a
// six, a wicket, entered at entered and last changed at updated.
func testBall(repr string, runs, extras int32, four, six, wicket bool, entered, updated time.Time) *BallDetail {
	d := &BallDetail{Key: "524352", BallType: "normal", BattingTeam: "b", Innings: "b_1", Overs: []int32{3, 4}, Repr: repr,
		Batsman:   &Batsman{Runs: runs, IsFour: four, IsSix: six, IsDotBall: runs+extras == 0 && !wicket, BallCount: 1},
		Bowler:    &Bowler{Runs: runs + extras, Extras: extras, IsWicket: wicket, BallCount: 1},
		TeamScore: &TeamScore{Runs: runs + extras, Extras: extras, IsWicket: wicket, BallCount: 1},
		EntryTime: &entered, UpdatedTime: &updated}
	if wicket {
		d.Wicket = &Wicket{PlayerKey: "p1", WicketType: "bowled"}
	}
	if extras > 0 {
		d.BallType, d.Batsman.BallCount, d.TeamScore.BallCount = "wide", 0, 0
	}
	return d
}

// TestWebhookLiveMapping maps each kind of push (webhook record → kind,
// provider type, source id, innings, ball, status, finished, event time).
func TestWebhookLiveMapping(t *testing.T) {
	entered := time.UnixMilli(1733148685812).UTC()
	later, ts := entered.Add(40*time.Second), time.UnixMicro(1733148686425609).UTC()
	received := ts.Add(time.Second)
	ball := func(reason string, d *BallDetail, deleted bool) *BallUpdate {
		return &BallUpdate{MatchKey: "m1", PushReason: reason, MatchPushKind: "Ball", TS: ts, BallKey: "524352", Over: 3, BattingOrder: 2,
			IsDelete: deleted, Detail: d, ReceivedAt: received}
	}
	event := func(kind string) *MatchEvent {
		return &MatchEvent{MatchKey: "m1", PushReason: "Other", MatchPushKind: kind, TS: ts, Sport: "cricket", DataKind: "match-detail-update", ReceivedAt: received}
	}
	const pos = "9f3a"
	for _, tc := range []struct {
		name     string
		value    any
		kind     live.Kind
		provType string
		sourceID string
		clock    string // "" none; the innings is b_1 whenever there is a clock
		status   string
		finished bool
		at       time.Time
	}{
		{"four", ball("NewOrLast", testBall("b4", 4, 0, true, false, false, entered, entered), false), live.KindBoundary, "Ball/b4", "524352", "3.4", "", false, entered},
		{"six", ball("NewOrLast", testBall("b6", 6, 0, false, true, false, entered, entered), false), live.KindBoundary, "Ball/b6", "524352", "3.4", "", false, entered},
		{"wicket", ball("NewOrLast", testBall("w", 0, 0, false, false, true, entered, entered), false), live.KindWicket, "Ball/w", "524352", "3.4", "", false, entered},
		{"single", ball("NewOrLast", testBall("1", 1, 0, false, false, false, entered, entered), false), live.KindPoint, "Ball/1", "524352", "3.4", "", false, entered},
		{"wide is a run", ball("NewOrLast", testBall("wd", 0, 1, false, false, false, entered, entered), false), live.KindPoint, "Ball/wd", "524352", "3.4", "", false, entered},
		{"dot ball", ball("NewOrLast", testBall("0", 0, 0, false, false, false, entered, entered), false), live.KindOther, "Ball/0", "524352", "3.4", "", false, entered},
		{"revised ball", ball("Update", testBall("b4", 4, 0, true, false, false, entered, later), false), live.KindCorrection, "Ball/b4 (Update)", "524352", "3.4", "", false, later},
		{"revised last ball", ball("NewOrLast", testBall("w", 0, 0, false, false, true, entered, later), false), live.KindCorrection, "Ball/w", "524352", "3.4", "", false, later},
		{"deleted ball", ball("NewOrLast", nil, true), live.KindCorrection, "Ball (deleted)", "524352", "", "", false, ts},
		{"play", event("Play"), live.KindMatchStatus, "Play", pos, "", "", false, ts},
		{"result", event("Result"), live.KindMatchStatus, "Result", pos, "", "completed", true, ts},
		{"toss", event("Toss"), live.KindOther, "Toss", pos, "", "", false, ts},
		{"squad", event("Squad"), live.KindOther, "Squad", pos, "", "", false, ts},
		{"review", event("Review"), live.KindOther, "Review", pos, "", "", false, ts},
		{"reward", event("Reward"), live.KindOther, "Reward", pos, "", "", false, ts},
		{"info", event("Info"), live.KindOther, "Info", pos, "", "", false, ts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := webhookLive(&connector.SourceRecord{Value: tc.value, Headers: connector.SourceHeaders(KeyProvider, pos, received)})
			if !ok {
				t.Fatal("push not mapped")
			}
			ev := m.Event
			if ev.Kind != tc.kind || ev.ProviderType != tc.provType || ev.SourceID != tc.sourceID || m.Finished != tc.finished {
				t.Fatalf("kind %s type %q source %q finished %v; want %s %q %q %v", ev.Kind, ev.ProviderType, ev.SourceID, m.Finished,
					tc.kind, tc.provType, tc.sourceID, tc.finished)
			}
			if ev.MatchID != "roanuz.webhook:cricket:m1" || ev.Provider != ClassWebhook || ev.Sport != "cricket" || ev.ProviderMatchID != "m1" ||
				ev.Position != pos {
				t.Fatalf("ids %q %q %q %q position %q", ev.MatchID, ev.Provider, ev.Sport, ev.ProviderMatchID, ev.Position)
			}
			if got, want := fmt.Sprint(deref(ev.Clock), deref(ev.Period), deref(ev.Status)), fmt.Sprint(tc.clock, map[bool]string{true: "b_1"}[tc.clock != ""], tc.status); got != want {
				t.Fatalf("clock, period, status %q, want %q", got, want)
			}
			if ev.EventTime == nil || !ev.EventTime.Equal(tc.at) || !ev.ReceivedAt.Equal(received) {
				t.Fatalf("event time %v received %v; want %v %v", ev.EventTime, ev.ReceivedAt, tc.at, received)
			}
			if ev.Score != nil || len(ev.Competitors) > 0 {
				t.Fatalf("a push tells no score nor teams; got %+v %+v", ev.Score, ev.Competitors)
			}
		})
	}
	for _, v := range []any{&Subscription{MatchKey: "m1"}, &Ball{MatchKey: "m1"}, &Match{Key: "m1"}} {
		if _, ok := webhookLive(&connector.SourceRecord{Value: v}); ok {
			t.Fatalf("%T mapped by the webhook's mapper", v)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestMatchDocKind names what a written document tells beyond its balls,
// against the last written one.
func TestMatchDocKind(t *testing.T) {
	base := progress{status: 1, toss: 1, squads: 2, innings: 1, inningsDone: 0, balls: 30, lastBall: 100, updated: 5}
	with := func(f func(*progress)) progress { p := base; f(&p); return p }
	for _, tc := range []struct {
		name            string
		prev, next      progress
		prevPlay, play  string
		kind            live.Kind
		tellsMoreThanIt bool
	}{
		{"first document", unknownProgress, with(func(p *progress) { p.status = 0 }), "", "scheduled", live.KindMatchStatus, true},
		{"started", with(func(p *progress) { p.status = 0 }), base, "scheduled", "in_play", live.KindMatchStatus, true},
		{"completed", base, with(func(p *progress) { p.status, p.inningsDone = 2, 1 }), "in_play", "result", live.KindMatchStatus, true},
		{"innings break", base, with(func(p *progress) { p.inningsDone = 1 }), "in_play", "innings_break", live.KindPeriodEnd, true},
		{"innings started", with(func(p *progress) { p.inningsDone = 1 }), with(func(p *progress) { p.inningsDone, p.innings, p.balls = 1, 2, 31 }), "innings_break", "in_play", live.KindPeriodStart, true},
		{"play status", base, base, "in_play", "rain_delay", live.KindMatchStatus, true},
		{"play status unknown before", base, base, "", "in_play", "", false},
		{"toss", with(func(p *progress) { p.status, p.toss, p.squads, p.innings = 0, 0, 0, 0 }), with(func(p *progress) { p.status, p.squads, p.innings = 0, 0, 0 }), "scheduled", "scheduled", live.KindOther, true},
		{"squads", with(func(p *progress) { p.status, p.squads, p.innings = 0, 0, 0 }), with(func(p *progress) { p.status, p.innings = 0, 0 }), "scheduled", "scheduled", live.KindOther, true},
		{"a ball", base, with(func(p *progress) { p.balls, p.lastBall = 31, 101 }), "in_play", "in_play", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind, ok := matchDocKind(tc.prev, tc.next, tc.prevPlay, tc.play)
			if kind != tc.kind || ok != tc.tellsMoreThanIt {
				t.Fatalf("%q %v, want %q %v", kind, ok, tc.kind, tc.tellsMoreThanIt)
			}
		})
	}
}

// TestScoreBalls checks the score of every document of a timeline, and
// the score right after each of its related balls, against the
// simulator's account of the match.
func TestScoreBalls(t *testing.T) {
	sim := timeline(5, 3)
	tr := sim.Truth("m1")
	checked := 0
	for i, st := range tr.Steps {
		doc, err := ParseMatch(sim.Document("m1", i), "test", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		sc := scoreBalls(doc)
		if err := sameScore(sc.current, st.Score); err != nil {
			t.Fatalf("step %d: document score: %v", i, err)
		}
		if sc.latest != st.LastBall {
			t.Fatalf("step %d: latest ball %q, want %q", i, sc.latest, st.LastBall)
		}
		for _, b := range doc.balls {
			if err := sameScore(sc.after[b.key], tr.Balls[b.key].After); err != nil {
				t.Fatalf("step %d: after ball %s: %v", i, b.key, err)
			}
			checked++
		}
	}
	final := scoreBalls(mustParse(t, sim.Document("m1", sim.Steps("m1")-1)))
	last := tr.Steps[len(tr.Steps)-1].Score
	want := fmt.Sprintf("TA %d/%d (%d.%d), TB %d/%d (%d.%d)", last.Runs[0], last.Wickets[0], last.Legal[0]/6, last.Legal[0]%6,
		last.Runs[1], last.Wickets[1], last.Legal[1]/6, last.Legal[1]%6)
	if got := deref(final.current.Summary); got != want {
		t.Fatalf("final summary %q, want %q", got, want)
	}
	t.Logf("%d ball scores checked over %d documents; final %s", checked, len(tr.Steps), want)
}

func mustParse(t testing.TB, doc []byte) *matchDocument {
	t.Helper()
	d, err := ParseMatch(doc, "test", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sameScore compares a normalized score with the simulator's: runs of
// each team that batted (nil for one that did not yet).
func sameScore(got *live.Score, want roanuzsim.Score) error {
	if !want.Started[0] && !want.Started[1] {
		if got != nil {
			return fmt.Errorf("score %+v before any innings", got)
		}
		return nil
	}
	if got == nil {
		return fmt.Errorf("no score, want %v", want.Runs)
	}
	for side, p := range []*int32{got.Home, got.Away} {
		switch {
		case !want.Started[side] && p != nil:
			return fmt.Errorf("team %d has runs %d before it batted", side, *p)
		case want.Started[side] && (p == nil || int(*p) != want.Runs[side]):
			return fmt.Errorf("team %d runs %v, want %d (%s)", side, p, want.Runs[side], deref(got.Summary))
		}
	}
	return nil
}
