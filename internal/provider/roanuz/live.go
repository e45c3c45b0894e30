package roanuz

import (
	"fmt"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/twmb/franz-go/pkg/kgo"
)

// LiveSport is the sport of every Roanuz match in the normalized records.
const LiveSport = "cricket"

// LiveMatchID returns the normalized match id of match key as written by
// the connector class (ClassWebhook or ClassMatch): the class is the
// provider part, so the two classes, often run side by side for the same
// match, never write the same live.matches state.
func LiveMatchID(class, key string) string { return live.MatchID(class, LiveSport, key) }

// Push kinds (match_push_kind) and reasons (push_reason) the mapping names.
const (
	pushKindBall   = "Ball"
	pushKindPlay   = "Play"
	pushKindResult = "Result"
	reasonNewBall  = "NewOrLast"
	reasonOther    = "Other"
	statusDone     = "completed"
)

// webhookLive maps a webhook record: every push, a ball or any other
// kind, is one normalized event; dead letters are not (the Writer skips
// them). A push tells what a ball added, not the match's score: its
// events carry no score and no competitors.
func webhookLive(rec *connector.SourceRecord) (live.Mapped, bool) {
	pos := headerValue(rec.Headers, connector.HeaderPosition)
	switch v := rec.Value.(type) {
	case *BallUpdate:
		ev := newLiveEvent(ClassWebhook, v.MatchKey, v.ReceivedAt, pos)
		ev.Kind = ballKind(v.Detail, v.IsDelete)
		ev.ProviderType = pushType(v.MatchPushKind, v.PushReason, v.Detail, v.IsDelete)
		ev.SourceID = v.BallKey
		ballFields(&ev, v.Detail)
		if ev.EventTime == nil && !v.TS.IsZero() {
			ev.EventTime = live.Ptr(v.TS)
		}
		return live.Mapped{Event: ev}, true
	case *MatchEvent:
		ev := newLiveEvent(ClassWebhook, v.MatchKey, v.ReceivedAt, pos)
		ev.ProviderType = pushType(v.MatchPushKind, v.PushReason, nil, false)
		ev.SourceID = pos
		if !v.TS.IsZero() {
			ev.EventTime = live.Ptr(v.TS)
		}
		finished := false
		switch v.MatchPushKind {
		case pushKindPlay:
			ev.Kind = live.KindMatchStatus // the play status changed; the push does not say to what
		case pushKindResult:
			ev.Kind, ev.Status, finished = live.KindMatchStatus, live.Ptr(statusDone), true
		default:
			ev.Kind = live.KindOther
		}
		return live.Mapped{Event: ev, Finished: finished}, true
	}
	return live.Mapped{}, false
}

// newLiveEvent returns an event of match key with the fields every event has.
func newLiveEvent(class, key string, received time.Time, pos string) live.Event {
	return live.Event{MatchID: LiveMatchID(class, key), Provider: class, Sport: LiveSport, ProviderMatchID: key,
		ReceivedAt: received, Position: pos}
}

// ballKind is the kind of a delivery: CORRECTION for a deleted ball or a
// revised one (its updated_time later than its entry_time: the provider
// changed it after entering it), then WICKET, BOUNDARY (a four or a six),
// POINT (it added runs, extras included) and OTHER (a dot ball).
func ballKind(d *BallDetail, deleted bool) live.Kind {
	switch {
	case deleted || revised(d):
		return live.KindCorrection
	case d == nil:
		return live.KindOther
	case d.Wicket != nil || (d.TeamScore != nil && d.TeamScore.IsWicket):
		return live.KindWicket
	case d.Batsman != nil && (d.Batsman.IsFour || d.Batsman.IsSix):
		return live.KindBoundary
	case ballRuns(d) > 0:
		return live.KindPoint
	}
	return live.KindOther
}

// revised reports whether a ball's detail says it was changed after it
// was entered.
func revised(d *BallDetail) bool {
	return d != nil && d.EntryTime != nil && d.UpdatedTime != nil && d.UpdatedTime.After(*d.EntryTime)
}

// ballRuns is what a ball added to the batting team, extras included.
func ballRuns(d *BallDetail) int32 {
	switch {
	case d.TeamScore != nil:
		return d.TeamScore.Runs
	case d.Batsman != nil && d.Bowler != nil:
		return d.Batsman.Runs + d.Bowler.Extras
	case d.Batsman != nil:
		return d.Batsman.Runs
	}
	return 0
}

// ballFields sets what a ball's detail tells: the innings (period), the
// ball as "over.ball" (clock) and when it was entered or last changed.
func ballFields(ev *live.Event, d *BallDetail) {
	if d == nil {
		return
	}
	if d.Innings != "" {
		ev.Period = live.Ptr(d.Innings)
	}
	if c := ballClock(d); c != "" {
		ev.Clock = live.Ptr(c)
	}
	switch {
	case d.UpdatedTime != nil:
		ev.EventTime = live.Ptr(*d.UpdatedTime)
	case d.EntryTime != nil:
		ev.EventTime = live.Ptr(*d.EntryTime)
	}
}

// ballClock is the ball's overs [over, ball] as "over.ball" ("" unknown).
func ballClock(d *BallDetail) string {
	if d == nil || len(d.Overs) != 2 {
		return ""
	}
	return fmt.Sprintf("%d.%d", d.Overs[0], d.Overs[1])
}

// pushType is the push as Roanuz names it: match_push_kind, the ball's
// repr for a ball ("Ball/b4"), a push_reason other than NewOrLast and
// Other ("Ball/1 (Update)"), and "(deleted)" for is_delete.
func pushType(kind, reason string, d *BallDetail, deleted bool) string {
	s := kind
	if d != nil && d.Repr != "" {
		s += "/" + d.Repr
	}
	if reason != "" && reason != reasonNewBall && reason != reasonOther {
		s += " (" + reason + ")"
	}
	if deleted {
		s += " (deleted)"
	}
	return s
}

func headerValue(hs []kgo.RecordHeader, key string) string {
	for _, h := range hs {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// docLive is what the match stream's normalized events of one document
// need: the document, what was written before it and the records written
// for it.
type docLive struct {
	doc      *matchDocument
	prev     progress // of the match's last written document
	prevPlay string   // its play_status ("" unknown)
	balls    []*connector.SourceRecord
	mrec     *connector.SourceRecord // the document's record; nil when it was dropped as stale
}

// streamLive returns the normalized events of the records the match
// stream wrote for one document, by record:
//
//   - each ball is an event of its own (ballKind). A new ball written with
//     its document carries the score right after it (the document's
//     innings totals less what its later related balls added); a revised
//     one carries the document's score when no new ball follows it; a
//     ball of a dropped stale document carries none (the Writer completes
//     it with the match's current score, which never goes back).
//   - the document is an event when it tells what its balls do not: the
//     first document written of the match, a change of status, of
//     play_status, an innings completed or started, the toss or the
//     squads (matchDocKind), or a score its last ball event does not end
//     at (then OTHER). A document whose change is its balls is none.
func streamLive(d docLive) map[*connector.SourceRecord]live.Mapped {
	m := d.doc.match
	pos := ""
	if d.mrec != nil {
		pos = headerValue(d.mrec.Headers, connector.HeaderPosition)
	}
	sc := scoreBalls(d.doc)
	comps := competitors(m)
	out := map[*connector.SourceRecord]live.Mapped{}
	var last *Ball
	for i, r := range d.balls {
		b, ok := r.Value.(*Ball)
		if !ok {
			continue
		}
		ev := newLiveEvent(ClassMatch, b.MatchKey, b.ReceivedAt, headerValue(r.Headers, connector.HeaderPosition))
		ev.Kind, ev.ProviderType, ev.SourceID, ev.Competitors = ballKind(&b.Detail, false), pushKindBall+"/"+b.Detail.Repr, b.BallKey, comps
		ballFields(&ev, &b.Detail)
		switch {
		case d.mrec == nil:
		case !revised(&b.Detail):
			ev.Score = sc.after[b.BallKey]
		case !newBallAfter(d.balls[i+1:]):
			ev.Score = sc.current
		}
		out[r] = live.Mapped{Event: ev}
		last = b
	}
	if d.mrec == nil {
		return out
	}
	kind, ok := matchDocKind(d.prev, d.doc.progress, d.prevPlay, m.PlayStatus)
	covered := last != nil && (revised(&last.Detail) || last.BallKey == sc.latest)
	if !ok && covered {
		return out
	}
	if !ok {
		kind = live.KindOther
	}
	ev := newLiveEvent(ClassMatch, m.Key, m.ReceivedAt, pos)
	ev.Kind, ev.ProviderType, ev.SourceID, ev.Competitors, ev.Score = kind, m.Status+"/"+m.PlayStatus, m.Etag, comps, sc.current
	if ev.SourceID == "" {
		ev.SourceID = m.ContentHash
	}
	if m.Status != "" {
		ev.Status = live.Ptr(m.Status)
	}
	switch {
	case m.Live != nil && m.Live.Innings != "":
		ev.Period = live.Ptr(m.Live.Innings)
	case len(m.Innings) > 0:
		ev.Period = live.Ptr(m.Innings[len(m.Innings)-1].Key)
	}
	if sc.clock != "" {
		ev.Clock = live.Ptr(sc.clock)
	}
	out[d.mrec] = live.Mapped{Event: ev, Finished: m.Status == statusDone}
	return out
}

// newBallAfter reports whether recs hold a ball that is not revised.
func newBallAfter(recs []*connector.SourceRecord) bool {
	for _, r := range recs {
		if b, ok := r.Value.(*Ball); ok && !revised(&b.Detail) {
			return true
		}
	}
	return false
}

// matchDocKind is the kind of a written match document against the last
// written one (prev, prevPlay), if it tells a change of the match beyond
// its balls: MATCH_STATUS for the first document of the match, a new
// status or a new play_status, PERIOD_END for an innings completed,
// PERIOD_START for an innings started, OTHER for the toss or the squads.
func matchDocKind(prev, next progress, prevPlay, play string) (live.Kind, bool) {
	switch {
	case prev == unknownProgress:
		return live.KindMatchStatus, true
	case next.status >= 0 && next.status != prev.status:
		return live.KindMatchStatus, true
	case next.inningsDone > prev.inningsDone:
		return live.KindPeriodEnd, true
	case next.innings > prev.innings:
		return live.KindPeriodStart, true
	case prevPlay != "" && play != prevPlay:
		return live.KindMatchStatus, true
	case next.toss > prev.toss || next.squads > prev.squads:
		return live.KindOther, true
	}
	return "", false
}

// competitors are team a (home) and team b (away) of a match document.
func competitors(m *Match) []live.Competitor {
	var out []live.Competitor
	for _, t := range []struct {
		side string
		team *Team
	}{{live.SideHome, m.TeamA}, {live.SideAway, m.TeamB}} {
		if t.team == nil {
			continue
		}
		c := live.Competitor{Side: t.side}
		if t.team.Key != "" {
			c.ID = live.Ptr(t.team.Key)
		}
		if t.team.Name != "" {
			c.Name = live.Ptr(t.team.Name)
		}
		out = append(out, c)
	}
	return out
}

// noteLive computes the normalized events of one document's records for
// the batch being built (MatchTask.handle; Poll only).
func (t *MatchTask) noteLive(d docLive) {
	if t.live == nil {
		return
	}
	if t.liveNotes == nil {
		t.liveNotes = map[*connector.SourceRecord]live.Mapped{}
	}
	for r, m := range streamLive(d) {
		t.liveNotes[r] = m
	}
}

// liveMapped is the match stream's live.Mapper: the event noteLive
// computed for the record, if any (subscription records and dead letters
// have none). The Writer maps a record once, when the worker writes the
// batch (before the next Poll), so the note goes then.
func (t *MatchTask) liveMapped(rec *connector.SourceRecord) (live.Mapped, bool) {
	m, ok := t.liveNotes[rec]
	delete(t.liveNotes, rec)
	return m, ok
}

// appendLive appends the normalized records to a batch Poll returns (Poll
// clears the notes an aborted batch left).
func (t *MatchTask) appendLive(batch []*connector.SourceRecord) []*connector.SourceRecord {
	return t.live.Append(batch)
}
