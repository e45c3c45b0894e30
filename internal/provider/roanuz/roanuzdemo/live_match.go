package roanuzdemo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/live/livecheck"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/twmb/franz-go/pkg/kgo"
)

// streamRead is what the match stream wrote, read back: its match
// documents and its balls, with their topics.
type streamRead struct {
	matchTopic, ballTopic string
	docs, balls           []backRecord
}

// checkMatchLive checks the match stream's normalized records against
// the timelines of keys: one event per ball record (its kind, and the
// score right after it when it was written with its document), one per
// match document that tells what its balls do not (first of the match,
// status, play status, innings end or start, toss, squads, or a score no
// ball brought), each in its topic's order; and each match's last state
// finished, completed, with the final score and both teams.
func checkMatchLive(ctx context.Context, kafka []kgo.Opt, registry string, lv live.Config, sim *roanuzsim.Simulator, keys []string, rd streamRead) (*livecheck.Topics, error) {
	got, err := livecheck.Read(ctx, kafka, registry, lv.EventsTopic, lv.MatchesTopic, roanuz.LiveMatchID(roanuz.ClassMatch, ""))
	if err != nil {
		return nil, err
	}
	if len(got.Events) != len(keys) {
		return nil, fmt.Errorf("%d matches on %s, want %d", len(got.Events), lv.EventsTopic, len(keys))
	}
	for _, k := range keys {
		if err := checkMatchEvents(sim, k, rd, got); err != nil {
			return nil, err
		}
	}
	return got, got.CheckStates()
}

// checkMatchEvents checks the normalized records of match k.
func checkMatchEvents(sim *roanuzsim.Simulator, k string, rd streamRead, got *livecheck.Topics) error {
	id, tr := roanuz.LiveMatchID(roanuz.ClassMatch, k), sim.Truth(k)
	steps, err := docSteps(sim, k)
	if err != nil {
		return err
	}
	type want struct {
		kind  live.Kind
		score *roanuzsim.Score // nil: not checked
	}
	wants := map[string]want{} // by position/source id
	// A document and the balls written with it share their headers (the
	// etag and the receive time); a ball of a stale document dropped has
	// its own document's, which may be the etag of a document written
	// later (the same state, received again).
	written := map[string]bool{} // by writeOf
	for _, r := range rd.docs {
		if r.key == k {
			written[writeOf(r)] = true
		}
	}
	var wantBalls, wantDocs []string
	ballsAt := map[string][]backRecord{}
	for _, r := range rd.balls {
		if r.key != k {
			continue
		}
		key, _ := r.value["ball_key"].(string)
		b := tr.Balls[key]
		if b == nil {
			return fmt.Errorf("%s: ball %s is no ball of the timeline", id, key)
		}
		w := want{kind: wantBallKind(b, corrected(r))}
		if written[writeOf(r)] && !corrected(r) {
			w.score = &b.After
		}
		wants[r.position()+"/"+key] = w
		wantBalls = append(wantBalls, r.position()+"/"+key)
		ballsAt[writeOf(r)] = append(ballsAt[writeOf(r)], r)
	}
	prev := -1
	for _, r := range rd.docs {
		if r.key != k {
			continue
		}
		s, ok := steps[fmt.Sprint(r.value["content_hash"])]
		if !ok {
			return fmt.Errorf("%s: a written document is no state of the timeline", id)
		}
		if kind, ok := wantDocKind(tr, prev, s, ballsAt[writeOf(r)]); ok {
			src := r.position() + "/" + fmt.Sprint(r.value["etag"])
			wants[src] = want{kind: kind, score: &tr.Steps[s].Score}
			wantDocs = append(wantDocs, src)
		}
		prev = s
	}
	evs := got.Events[id]
	if len(evs) != len(wantBalls)+len(wantDocs) {
		return fmt.Errorf("%s: %d normalized events, want %d (%d balls, %d documents)", id, len(evs), len(wantBalls)+len(wantDocs), len(wantBalls), len(wantDocs))
	}
	for topic, w := range map[string][]string{rd.ballTopic: wantBalls, rd.matchTopic: wantDocs} {
		if err := sameOrder(id, topic, evs, w); err != nil {
			return err
		}
	}
	for _, e := range evs {
		w := wants[e.Position+"/"+e.SourceID]
		if e.Kind != w.kind {
			return fmt.Errorf("%s: event %s/%s (%s) is %s, want %s", id, e.Position, e.SourceID, e.ProviderType, e.Kind, w.kind)
		}
		if w.score != nil {
			if err := scoreErr(e.Score, *w.score); err != nil {
				return fmt.Errorf("%s: event %s/%s (%s): %w", id, e.Position, e.SourceID, e.Kind, err)
			}
		}
	}
	m, last := got.Matches[id], tr.Steps[len(tr.Steps)-1]
	if !m.Finished || m.Status == nil || *m.Status != last.Status || len(m.Competitors) != 2 {
		return fmt.Errorf("%s: last state %+v, want finished, %s, two teams", id, m, last.Status)
	}
	if err := scoreErr(m.Score, last.Score); err != nil {
		return fmt.Errorf("%s: last state: %w", id, err)
	}
	return nil
}

// wantDocKind is the kind of the document of step s written after that
// of step prev (-1: none), with the balls bs written with it; false when
// the document is no event (its balls tell its change).
func wantDocKind(tr *roanuzsim.Truth, prev, s int, bs []backRecord) (live.Kind, bool) {
	if prev < 0 {
		return live.KindMatchStatus, true
	}
	t, q := tr.Steps[s], tr.Steps[prev]
	switch {
	case t.Status != q.Status:
		return live.KindMatchStatus, true
	case t.InningsDone > q.InningsDone:
		return live.KindPeriodEnd, true
	case t.Innings > q.Innings:
		return live.KindPeriodStart, true
	case t.PlayStatus != q.PlayStatus:
		return live.KindMatchStatus, true
	case t.Toss && !q.Toss, t.Squads && !q.Squads:
		return live.KindOther, true
	}
	if n := len(bs); n > 0 && (corrected(bs[n-1]) || bs[n-1].value["ball_key"] == t.LastBall) {
		return "", false
	}
	return live.KindOther, true
}

// writeOf is the write a stream record belongs to: its document's etag
// and receive time.
func writeOf(r backRecord) string {
	return r.position() + "@" + r.headers[connector.HeaderReceivedAt]
}

// corrected reports whether a ball record is a version the simulator
// corrected (it tags those).
func corrected(r backRecord) bool {
	d, _ := r.value["detail"].(map[string]any)
	tags, _ := d["ball_tags"].([]any)
	return slices.Contains(tags, any("corrected"))
}

// docSteps maps each distinct document of match k's timeline (by
// content hash, as the connector computes it) to the first step
// rendering it.
func docSteps(sim *roanuzsim.Simulator, k string) (map[string]int, error) {
	out := map[string]int{}
	for i := range sim.Steps(k) {
		d, err := roanuz.ParseMatch(sim.Document(k, i), "check", time.Time{})
		if err != nil {
			return nil, err
		}
		if _, ok := out[d.Match().ContentHash]; !ok {
			out[d.Match().ContentHash] = i
		}
	}
	return out, nil
}

// scoreErr compares a normalized score with the simulator's: the runs of
// each team that batted, none for one that did not yet.
func scoreErr(got *live.Score, want roanuzsim.Score) error {
	if !want.Started[0] && !want.Started[1] {
		if got != nil {
			return fmt.Errorf("score %+v before any innings", got)
		}
		return nil
	}
	if got == nil {
		return fmt.Errorf("no score, want runs %v", want.Runs)
	}
	for side, p := range []*int32{got.Home, got.Away} {
		switch {
		case !want.Started[side] && p != nil:
			return fmt.Errorf("team %c has runs %d before it batted", 'a'+side, *p)
		case want.Started[side] && (p == nil || int(*p) != want.Runs[side]):
			return fmt.Errorf("team %c runs %v, want %d (score %v)", 'a'+side, p, want.Runs[side], got.Summary)
		}
	}
	return nil
}
