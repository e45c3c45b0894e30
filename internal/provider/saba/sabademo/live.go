package sabademo

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/live/livecheck"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// This file checks the normalized topics (live.events, live.matches) of a
// saba run against its provider records and the simulator's timeline, for
// the demo and the tests. The provider records themselves are checked
// against the timeline by CheckTimeline.

// ProviderRecord is one saba record as the normalized check reads it.
type ProviderRecord struct {
	Value     any   // saba.EventRecord or saba.MarketRecord
	Partition int32 // its Kafka partition (in-process: 0)
	Seq       int64 // its order within its topic and partition (the Kafka offset)
}

// LiveStats is what CheckLive counted.
type LiveStats struct {
	Mapped      int // provider records with a normalized event
	Unmapped    int // provider records without (reset markers, GetMarkets, market removes)
	Matches     int
	Corrections int // events of status 3 Reset snapshots
	Stale       int // matches removed while a stream was away (not in its Reset snapshot): left as last seen
}

// wantKind restates the mapping table of package saba's doc.go for one
// provider record: its kind, and false when the record has no normalized
// event (the match's sport aside, which the caller checks).
func wantKind(v any) (live.Kind, bool) {
	switch r := v.(type) {
	case saba.EventRecord:
		if r.Endpoint != "GetEvents" || r.EventID == nil {
			return "", false
		}
		switch {
		case r.Op == saba.OpAdd && r.Status == saba.StatusReset:
			return live.KindCorrection, true
		case r.Op == saba.OpAdd || r.Op == saba.OpRemove:
			return live.KindMatchStatus, true
		case r.Op != saba.OpChange:
			return "", false
		case r.EventStatus != nil:
			return live.KindMatchStatus, true
		case r.LiveHomeScore != nil || r.LiveAwayScore != nil:
			return live.KindScoreChange, true
		}
		return live.KindOther, true
	case saba.MarketRecord:
		if r.Endpoint != "GetEvents" || r.EventID == nil || (r.Op != saba.OpAdd && r.Op != saba.OpChange) {
			return "", false
		}
		st := ""
		if r.MarketStatus != nil {
			st = *r.MarketStatus
		}
		switch {
		case r.Op == saba.OpAdd && r.Status == saba.StatusReset:
			return live.KindCorrection, true
		case st == "suspend" || st == "closePrice" || st == "closed":
			return live.KindMarketSuspended, true
		case st == "running" && r.Op == saba.OpChange:
			return live.KindMarketReopened, true
		case st == "running" || (st == "" && (r.Op == saba.OpAdd || r.Selections != nil)):
			return live.KindOddsChange, true
		}
		return live.KindOther, true
	}
	return "", false
}

// wantProviderType restates doc.go's provider_type.
func wantProviderType(set, op string, status *string, msgStatus int32) string {
	s := set + "." + op
	if status != nil && *status != "" {
		s += "/" + *status
	}
	switch msgStatus {
	case saba.StatusInitialData:
		s += " (InitialData)"
	case saba.StatusReset:
		s += " (Reset)"
	}
	return s
}

// liveItem is a mapped provider record in its match's order.
type liveItem struct {
	want     live.Event // identity and kind; Score is filled by the fold
	home     *int32     // the live score the record names
	away     *int32
	finished bool
	stream   string
	idx      int64 // the update index of its message
	snapshot bool
	received time.Time
	topic    int // 0 events, 1 markets: a message's event records precede its market records
	seq      int64
	eventID  int64
}

// fields returns the common fields of a record.
func fields(v any) (stream, msgID string, status int32, received time.Time, topic int) {
	switch r := v.(type) {
	case saba.EventRecord:
		return saba.StreamSpec{Endpoint: r.Endpoint, Query: r.Query}.Name(), r.MessageID, r.Status, r.ReceivedAt, 0
	case saba.MarketRecord:
		return saba.StreamSpec{Endpoint: r.Endpoint, Query: r.Query}.Name(), r.MessageID, r.Status, r.ReceivedAt, 1
	}
	return "", "", 0, time.Time{}, 0
}

// final is a match's state at the end: what its records say, or the timeline.
type final struct {
	status     *string
	home, away *int32
	finished   bool
	removed    bool // by the timeline
}

// CheckLive checks got, the normalized records of a run read back, against
// recs, the run's provider records: every record the mapping maps has
// exactly one normalized event on its match, in the order the task wrote
// the records (a message's event records before its market records), with
// the mapped kind, provider type, position (SSE id), source id (eventId
// or marketId), the event status the record names, and the match's score
// after it; nothing else is there; each match's state counts its events
// and ends at the last (livecheck.CheckStates) with the score, status and
// finished flag the records leave. When the run covered the whole
// recorded timeline of sim (complete), walkTimeline also checks every
// snapshot the streams got against the timeline, every match state equals
// what the timeline leaves its event in as far as its stream could know,
// and every event its stream knew of has a state.
func CheckLive(sim *sabasim.Simulator, specs []saba.StreamSpec, recs []ProviderRecord, got *livecheck.Topics, complete bool) (LiveStats, error) {
	var st LiveStats
	sports := map[int64]string{}
	for _, r := range recs {
		if e, ok := r.Value.(saba.EventRecord); ok && e.Op == saba.OpAdd && e.EventID != nil && e.SportType != nil {
			sports[*e.EventID] = saba.Sport(*e.SportType)
		}
	}
	byMatch := map[string][]liveItem{}
	snaps := map[int64]map[string]bool{}  // update index -> the streams with a snapshot taken there
	deltas := map[int64]map[string]bool{} // update index -> the streams that got the update
	inSnap := map[string]map[int64]bool{} // by snapKey: the events of that snapshot
	for _, r := range recs {
		stream, msgID, status, received, topic := fields(r.Value)
		idx, ok := sim.Lookup(msgID)
		if !ok {
			return st, fmt.Errorf("provider record of unknown message %q", msgID)
		}
		snapshot := status == saba.StatusInitialData || status == saba.StatusReset
		at := snaps
		if !snapshot {
			at = deltas
		}
		if at[idx] == nil {
			at[idx] = map[string]bool{}
		}
		at[idx][stream] = true
		kind, mapped := wantKind(r.Value)
		var eventID int64
		it := liveItem{stream: stream, idx: idx, snapshot: snapshot, received: received, topic: topic, seq: r.Seq}
		switch v := r.Value.(type) {
		case saba.EventRecord:
			if v.EventID != nil {
				eventID = *v.EventID
			}
			it.want = live.Event{ProviderType: wantProviderType("events", v.Op, v.EventStatus, status), SourceID: strconv.FormatInt(eventID, 10), Status: v.EventStatus}
			it.home, it.away = v.LiveHomeScore, v.LiveAwayScore
			it.finished = v.Op == saba.OpRemove || (v.EventStatus != nil && (*v.EventStatus == "closed" || *v.EventStatus == "deleted"))
			if snapshot && v.Op == saba.OpAdd {
				k := snapKey(stream, idx)
				if inSnap[k] == nil {
					inSnap[k] = map[int64]bool{}
				}
				inSnap[k][eventID] = true
			}
		case saba.MarketRecord:
			if v.EventID != nil {
				eventID = *v.EventID
			}
			mid := int64(0)
			if v.MarketID != nil {
				mid = *v.MarketID
			}
			it.want = live.Event{ProviderType: wantProviderType("markets", v.Op, v.MarketStatus, status), SourceID: strconv.FormatInt(mid, 10)}
		}
		sport, known := sports[eventID]
		if !mapped || !known {
			st.Unmapped++
			continue
		}
		st.Mapped++
		if kind == live.KindCorrection {
			st.Corrections++
		}
		it.eventID = eventID
		it.want.MatchID = live.MatchID(saba.Class, sport, strconv.FormatInt(eventID, 10))
		it.want.Kind, it.want.Position = kind, msgID
		byMatch[it.want.MatchID] = append(byMatch[it.want.MatchID], it)
	}
	var views map[int64]*eventView
	if complete {
		var err error
		if views, err = walkTimeline(sim, specs, snaps, deltas, inSnap); err != nil {
			return st, err
		}
		for eventID := range views {
			if _, ok := sports[eventID]; !ok {
				return st, fmt.Errorf("event %d: the connector was told of it, but it has no normalized event", eventID)
			}
		}
	}
	for id, items := range byMatch {
		// The order the task wrote them in: message by message (a snapshot
		// after the update it was taken at; two snapshots of one update in
		// the order received), event records before market records.
		slices.SortStableFunc(items, func(a, b liveItem) int {
			return cmp.Or(cmp.Compare(a.idx, b.idx), cmp.Compare(b2i(a.snapshot), b2i(b.snapshot)),
				a.received.Compare(b.received), cmp.Compare(a.topic, b.topic), cmp.Compare(a.seq, b.seq))
		})
		evs := got.Events[id]
		if len(evs) != len(items) {
			return st, fmt.Errorf("match %s: %d normalized events, want %d (one per mapped provider record)%s", id, len(evs), len(items), firstDiff(evs, items))
		}
		var f final
		for i, it := range items {
			f.home, f.away = cmp.Or(it.home, f.home), cmp.Or(it.away, f.away)
			if it.want.Status != nil {
				f.status = it.want.Status
			}
			f.finished = f.finished || it.finished
			g, w := evs[i], it.want
			if g.MatchID != w.MatchID || g.Kind != w.Kind || g.ProviderType != w.ProviderType || g.Position != w.Position || g.SourceID != w.SourceID {
				return st, fmt.Errorf("match %s, normalized event %d: %s %q at %s (source %s), want %s %q at %s (source %s)",
					id, i, g.Kind, g.ProviderType, g.Position, g.SourceID, w.Kind, w.ProviderType, w.Position, w.SourceID)
			}
			if str(g.Status) != str(w.Status) || !sameScore(g.Score, f.home, f.away) {
				return st, fmt.Errorf("match %s, normalized event %d (%s at %s): status %s score %s, want status %s score %s",
					id, i, g.ProviderType, g.Position, str(g.Status), scoreText(g.Score), str(w.Status), pairText(f.home, f.away))
			}
		}
		m, ok := got.Matches[id]
		if !ok {
			return st, fmt.Errorf("match %s: no state on live.matches", id)
		}
		if str(m.Status) != str(f.status) || !sameScore(m.Score, f.home, f.away) || m.Finished != f.finished {
			return st, fmt.Errorf("match %s: state status %s score %s finished %v, its records leave %s %s %v",
				id, str(m.Status), scoreText(m.Score), m.Finished, str(f.status), pairText(f.home, f.away), f.finished)
		}
		if !complete {
			continue
		}
		v, ok := views[items[0].eventID]
		if !ok {
			return st, fmt.Errorf("match %s: no stream of %v could know of its event", id, specs)
		}
		if v.stale {
			st.Stale++
			continue
		}
		if str(m.Status) != str(v.status) || !sameScore(m.Score, v.home, v.away) || m.Finished != v.finished {
			return st, fmt.Errorf("match %s: state status %s score %s finished %v, the timeline ends at %s %s %v",
				id, str(m.Status), scoreText(m.Score), m.Finished, str(v.status), pairText(v.home, v.away), v.finished)
		}
	}
	for id, evs := range got.Events {
		if _, ok := byMatch[id]; !ok {
			return st, fmt.Errorf("match %s: %d normalized events, but no provider record maps to it", id, len(evs))
		}
	}
	if err := got.CheckStates(); err != nil {
		return st, err
	}
	st.Matches = len(byMatch)
	return st, nil
}

// firstDiff describes where a match's normalized events first differ from
// the records', for an error.
func firstDiff(evs []live.Event, items []liveItem) string {
	for i := range min(len(evs), len(items)) {
		if g, w := evs[i], items[i].want; g.Position != w.Position || g.SourceID != w.SourceID || g.ProviderType != w.ProviderType {
			return fmt.Sprintf("; first difference at %d: %s %s source %s, want %s %s source %s", i, g.ProviderType, g.Position, g.SourceID, w.ProviderType, w.Position, w.SourceID)
		}
	}
	return ""
}

func i32(n int) *int32 {
	v := int32(n)
	return &v
}

func str(p *string) string {
	if p == nil {
		return "-"
	}
	return *p
}

func sameScore(s *live.Score, home, away *int32) bool {
	if s == nil {
		return home == nil && away == nil
	}
	eq := func(a, b *int32) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return eq(s.Home, home) && eq(s.Away, away)
}

func scoreText(s *live.Score) string {
	if s == nil {
		return "-"
	}
	return pairText(s.Home, s.Away)
}

func pairText(home, away *int32) string {
	num := func(p *int32) string {
		if p == nil {
			return "?"
		}
		return strconv.Itoa(int(*p))
	}
	if home == nil && away == nil {
		return "-"
	}
	return num(home) + ":" + num(away)
}

// LiveSamples returns one line for the first event (by match id) of each
// kind of kinds that got holds, for a demo.
func LiveSamples(got *livecheck.Topics, kinds ...live.Kind) []string {
	ids := slices.Sorted(maps.Keys(got.Events))
	var out []string
	for _, k := range kinds {
	match:
		for _, id := range ids {
			for _, e := range got.Events[id] {
				if e.Kind == k {
					out = append(out, fmt.Sprintf("normalized %s: %s %q at %s (source %s), status %s, score %s",
						e.Kind, e.MatchID, e.ProviderType, e.Position, e.SourceID, str(e.Status), scoreText(e.Score)))
					break match
				}
			}
		}
	}
	return out
}

// ReadProviderRecords reads both saba topics of prefix back read_committed
// and decodes every record but tombstones.
func ReadProviderRecords(ctx context.Context, kafka []kgo.Opt, registry, prefix string) ([]ProviderRecord, error) {
	srcl, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		return nil, err
	}
	dec := avroreg.NewDecoder(srcl)
	events := prefix + ".saba.events"
	var out []ProviderRecord
	err = readback.Committed(ctx, kafka, []string{events, prefix + ".saba.markets"}, func(r *kgo.Record) error {
		if r.Value == nil {
			return nil
		}
		pr := ProviderRecord{Partition: r.Partition, Seq: r.Offset}
		if r.Topic == events {
			var v saba.EventRecord
			if err := dec.Decode(ctx, r.Value, &v); err != nil {
				return fmt.Errorf("decoding %s offset %d: %w", r.Topic, r.Offset, err)
			}
			pr.Value = v
		} else {
			var v saba.MarketRecord
			if err := dec.Decode(ctx, r.Value, &v); err != nil {
				return fmt.Errorf("decoding %s offset %d: %w", r.Topic, r.Offset, err)
			}
			pr.Value = v
		}
		out = append(out, pr)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the saba topics of %s back: %w", prefix, err)
	}
	return out, nil
}

// VerifyLive reads a run's provider records (prefix) and its normalized
// topics back read_committed and checks them with CheckLive. It returns
// livecheck's read, for a summary.
func VerifyLive(ctx context.Context, kafka []kgo.Opt, registry, prefix, eventsTopic, matchesTopic string, sim *sabasim.Simulator, specs []saba.StreamSpec, complete bool) (*livecheck.Topics, LiveStats, error) {
	recs, err := ReadProviderRecords(ctx, kafka, registry, prefix)
	if err != nil {
		return nil, LiveStats{}, err
	}
	got, err := livecheck.Read(ctx, kafka, registry, eventsTopic, matchesTopic, saba.Class+":")
	if err != nil {
		return nil, LiveStats{}, err
	}
	st, err := CheckLive(sim, specs, recs, got, complete)
	if err != nil {
		return nil, st, fmt.Errorf("%s and %s: %w", eventsTopic, matchesTopic, err)
	}
	return got, st, nil
}
