package roanuz

import (
	"slices"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
)

// streamRecords builds the records the match stream writes for the
// document of step: the balls of its related_balls for which write says
// so, and the document's record unless stale.
func streamRecords(t testing.TB, sim *roanuzsim.Simulator, step int, write func(key string) bool, stale bool) (*matchDocument, []*connector.SourceRecord, *connector.SourceRecord) {
	t.Helper()
	received := time.Unix(1733150000, 0).UTC()
	doc, err := ParseMatch(sim.Document("m1", step), sourceSocket, received)
	if err != nil {
		t.Fatal(err)
	}
	headers := connector.SourceHeaders(KeyProvider, doc.match.Etag, received)
	var balls []*connector.SourceRecord
	for _, b := range doc.balls {
		if !write(b.key) {
			continue
		}
		d, err := parseBall(b.raw)
		if err != nil {
			t.Fatal(err)
		}
		balls = append(balls, &connector.SourceRecord{Value: &Ball{MatchKey: "m1", BallKey: b.key, Detail: *d, ReceivedAt: received}, Headers: headers})
	}
	if stale {
		return doc, balls, nil
	}
	return doc, balls, &connector.SourceRecord{Value: doc.match, Headers: headers}
}

// TestStreamLive maps the records of the match stream's documents (the
// simulator's, at the steps that matter) against the last written one:
// document → its kind or no event; each ball → its kind and score.
func TestStreamLive(t *testing.T) {
	sim := timeline(5, 3)
	tr := sim.Truth("m1")
	find := func(from int, ok func(roanuzsim.StepTruth) bool) int {
		for i := from; i < len(tr.Steps); i++ {
			if ok(tr.Steps[i]) {
				return i
			}
		}
		t.Fatal("no such step")
		return -1
	}
	kind := func(k string) func(roanuzsim.StepTruth) bool {
		return func(s roanuzsim.StepTruth) bool { return s.Kind == k && !s.Correction }
	}
	firstBall := find(0, kind("Ball"))
	plainBall := find(firstBall+2, kind("Ball")) // a ball right after another ball
	for tr.Steps[plainBall-1].Kind != "Ball" || tr.Steps[plainBall-1].Correction {
		plainBall = find(plainBall+1, kind("Ball"))
	}
	correction := find(0, func(s roanuzsim.StepTruth) bool { return s.Correction })
	inningsBreak := find(firstBall, kind("Play"))
	secondInnings := find(inningsBreak, kind("Ball"))
	result := find(0, kind("Result"))
	latest := func(step int) func(string) bool {
		return func(k string) bool { return k == tr.Steps[step].LastBall }
	}
	none := func(string) bool { return false }
	for _, tc := range []struct {
		name      string
		prev      int // -1: no document written before
		step      int
		write     func(key string) bool
		stale     bool
		docKind   live.Kind // "" the document is no event
		ballKinds int       // ball events
	}{
		{"first document", -1, 1, none, false, live.KindMatchStatus, 0},
		{"toss", 0, 1, none, false, live.KindOther, 0},
		{"squads", 1, 2, none, false, live.KindOther, 0},
		{"play", 2, 3, none, false, live.KindMatchStatus, 0},
		{"first ball", firstBall - 1, firstBall, latest(firstBall), false, live.KindPeriodStart, 1},
		{"a ball", plainBall - 1, plainBall, latest(plainBall), false, "", 1},
		{"a correction", correction - 1, correction, func(k string) bool { return k == tr.Steps[correction].BallKey }, false, "", 1},
		{"innings break", inningsBreak - 1, inningsBreak, none, false, live.KindPeriodEnd, 0},
		{"second innings", secondInnings - 1, secondInnings, latest(secondInnings), false, live.KindPeriodStart, 1},
		{"result", result - 1, result, none, false, live.KindMatchStatus, 0},
		{"catch-up whose balls were written", plainBall - 2, plainBall, none, false, live.KindOther, 0},
		{"stale document", plainBall, plainBall - 1, latest(plainBall - 1), true, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, balls, mrec := streamRecords(t, sim, tc.step, tc.write, tc.stale)
			d := docLive{doc: doc, prev: unknownProgress, balls: balls, mrec: mrec}
			if tc.prev >= 0 {
				p := mustParse(t, sim.Document("m1", tc.prev))
				d.prev, d.prevPlay = p.progress, p.match.PlayStatus
			}
			got := streamLive(d)
			de, mapped := got[mrec]
			if mapped != (tc.docKind != "") || (mapped && de.Event.Kind != tc.docKind) {
				t.Fatalf("document: mapped %v kind %q, want %q", mapped, de.Event.Kind, tc.docKind)
			}
			st := tr.Steps[tc.step]
			if mapped {
				ev := de.Event
				if err := sameScore(ev.Score, st.Score); err != nil {
					t.Fatalf("document event: %v", err)
				}
				if deref(ev.Status) != st.Status || de.Finished != (st.Status == "completed") || ev.ProviderType != st.Status+"/"+st.PlayStatus ||
					ev.Position != doc.match.Etag || ev.SourceID != doc.match.Etag || len(ev.Competitors) != 2 || deref(ev.Competitors[0].ID) != "a" {
					t.Fatalf("document event %+v finished %v; want status %s/%s", ev, de.Finished, st.Status, st.PlayStatus)
				}
			}
			if len(got)-btoi(mapped) != tc.ballKinds {
				t.Fatalf("%d events, want %d for balls", len(got)-btoi(mapped), tc.ballKinds)
			}
			for _, r := range balls {
				b := r.Value.(*Ball)
				ev := got[r].Event
				bt := tr.Balls[b.BallKey]
				want := wantBallKind(bt, st.Correction && b.BallKey == st.BallKey)
				if ev.Kind != want || ev.SourceID != b.BallKey || ev.Position != doc.match.Etag || deref(ev.Period) != b.Detail.Innings ||
					deref(ev.Clock) != ballClock(&b.Detail) || ev.ProviderType != "Ball/"+b.Detail.Repr {
					t.Fatalf("ball %s: %+v, want kind %s", b.BallKey, ev, want)
				}
				wantScore := bt.After
				switch {
				case tc.stale:
					if ev.Score != nil {
						t.Fatalf("a ball of a stale document carries the score %+v", ev.Score)
					}
					continue
				case want == live.KindCorrection:
					wantScore = st.Score
				}
				if err := sameScore(ev.Score, wantScore); err != nil {
					t.Fatalf("ball %s: %v", b.BallKey, err)
				}
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// wantBallKind restates ballKind for the simulator's account of a ball.
func wantBallKind(b *roanuzsim.BallTruth, corrected bool) live.Kind {
	switch {
	case corrected:
		return live.KindCorrection
	case b.Wicket:
		return live.KindWicket
	case b.Four || b.Six:
		return live.KindBoundary
	case b.Runs > 0:
		return live.KindPoint
	}
	return live.KindOther
}

// TestLiveEventsFollowTheStream runs the match stream with dropped
// connections and checks the normalized records: each ball record is
// followed by its event, each match's events are counted by its last
// state, which holds the final score, status completed and the teams.
func TestLiveEventsFollowTheStream(t *testing.T) {
	sim := startSim(t, roanuzsim.WithMatches("m1", "m2"), roanuzsim.WithOvers(2), roanuzsim.WithStepInterval(15*time.Millisecond),
		roanuzsim.WithSockDropEvery(25), roanuzsim.WithPingInterval(500*time.Millisecond))
	r, _ := startMatch(t, matchConfigFor(t, sim, nil))
	pollMatches(t, r, 60*time.Second, completedAll("m1", "m2"))
	waitUnsubscribed(t, sim, "m1", "m2")
	r.close()
	all := r.allRecords()
	events, kinds := map[string]int{}, map[live.Kind]int{}
	states := map[string]*live.Match{}
	for i, rec := range all {
		switch v := rec.Value.(type) {
		case *Ball:
			ev, ok := nextEvent(all, i)
			if !ok || ev.SourceID != v.BallKey || ev.MatchID != "roanuz.match:cricket:"+v.MatchKey {
				t.Fatalf("ball %s/%s: next record %+v, want its event", v.MatchKey, v.BallKey, ev)
			}
			// The simulator tags the balls it corrected.
			if want := wantBallKind(sim.Truth(v.MatchKey).Balls[v.BallKey], slices.Contains(v.Detail.BallTags, "corrected")); ev.Kind != want {
				t.Fatalf("ball %s/%s: kind %s, want %s", v.MatchKey, v.BallKey, ev.Kind, want)
			}
		case *Subscription:
			if _, ok := nextEvent(all, i); ok {
				t.Fatalf("a subscription record of %s has a normalized event", v.MatchKey)
			}
		case *live.Event:
			events[v.MatchID]++
			kinds[v.Kind]++
		case *live.Match:
			states[v.MatchID] = v
		}
	}
	for _, k := range []string{"m1", "m2"} {
		id := LiveMatchID(ClassMatch, k)
		m, tr := states[id], sim.Truth(k)
		last := tr.Steps[len(tr.Steps)-1]
		if m == nil || m.Events != int64(events[id]) || !m.Finished || deref(m.Status) != "completed" || len(m.Competitors) != 2 {
			t.Fatalf("%s: %d events, last state %+v", id, events[id], m)
		}
		if err := sameScore(m.Score, last.Score); err != nil {
			t.Fatalf("%s: final state: %v", id, err)
		}
	}
	for _, k := range []live.Kind{live.KindMatchStatus, live.KindPeriodStart, live.KindPeriodEnd, live.KindBoundary, live.KindPoint, live.KindCorrection} {
		if kinds[k] == 0 {
			t.Fatalf("no %s event: kinds %v", k, kinds)
		}
	}
	t.Logf("%d records, events %v, kinds %v", len(all), events, kinds)
}

// nextEvent returns the record after all[i] if it is a normalized event.
func nextEvent(all []*connector.SourceRecord, i int) (*live.Event, bool) {
	if i+1 >= len(all) {
		return nil, false
	}
	ev, ok := all[i+1].Value.(*live.Event)
	return ev, ok
}

// TestLiveEventsFollowThePushes pushes two matches with duplicates and
// reordering: every push is one event right after its record, with the
// push's identity as position and the kind its step says; each match's
// last state counts them, is finished and completed, with no score.
func TestLiveEventsFollowThePushes(t *testing.T) {
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches("m1", "m2"), roanuzsim.WithOvers(3), roanuzsim.WithSeed(7))
	r, url := startWebhook(t, webhookConfigFor(t, nil), nil)
	p := sim.NewPusher(roanuzsim.PushOptions{URL: url, SecretHeader: "X-Roanuz-Secret", Secret: "s3cret-value", Senders: 4,
		Seed: 3, Duplicates: 0.3, Reorder: 0.2})
	pushes, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	r.close()
	step := map[string]int{} // by position
	for _, pr := range pushes {
		pp, _ := ParsePush(pr.Body)
		step[pp.MatchKey+"/"+pp.Position()] = pr.Step
	}
	all := r.allRecords()
	events := map[string][]string{}
	states := map[string]*live.Match{}
	for i, rec := range all {
		switch v := rec.Value.(type) {
		case *BallUpdate, *MatchEvent:
			ev, ok := nextEvent(all, i)
			pos := headerValue(rec.Headers, connector.HeaderPosition)
			if !ok || ev.Position != pos || ev.SourceTopic != rec.Topic {
				t.Fatalf("%T at %s: next record %+v, want its event", v, pos, ev)
			}
			s, known := step[ev.ProviderMatchID+"/"+pos]
			if !known {
				t.Fatalf("event at position %s of no push", pos)
			}
			tr := sim.Truth(ev.ProviderMatchID)
			if want := wantPushKind(tr, s); ev.Kind != want {
				t.Fatalf("%s step %d (%s): kind %s, want %s", ev.ProviderMatchID, s, tr.Steps[s].Kind, ev.Kind, want)
			}
			events[ev.MatchID] = append(events[ev.MatchID], pos)
		case *live.Match:
			states[v.MatchID] = v
		}
	}
	for _, k := range []string{"m1", "m2"} {
		id := LiveMatchID(ClassWebhook, k)
		m := states[id]
		if len(events[id]) != sim.Steps(k) || m == nil || m.Events != int64(sim.Steps(k)) || !m.Finished || deref(m.Status) != "completed" ||
			m.Score != nil || m.LastPosition != events[id][len(events[id])-1] {
			t.Fatalf("%s: %d events for %d pushes; last state %+v", id, len(events[id]), sim.Steps(k), m)
		}
		if distinct := slices.Compact(slices.Sorted(slices.Values(events[id]))); len(distinct) != sim.Steps(k) {
			t.Fatalf("%s: %d distinct positions among %d events", id, len(distinct), len(events[id]))
		}
	}
}

// wantPushKind restates the webhook's mapping for step s of a timeline.
func wantPushKind(tr *roanuzsim.Truth, s int) live.Kind {
	st := tr.Steps[s]
	switch st.Kind {
	case "Ball":
		return wantBallKind(tr.Balls[st.BallKey], st.Correction)
	case "Play", "Result":
		return live.KindMatchStatus
	}
	return live.KindOther
}
