package saba

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// This file checks what reached Kafka against a Simulator's timeline, for
// the demo (Demo.Verify) and the tests.

// obs is one record as observed downstream (in-process or read from Kafka).
type obs struct {
	stream string // streamName: endpoint + " " + query
	msgID  string
	topic  string // "events" or "markets"
	op     string
	status int32
	dead   bool
}

// readBack reads both saba topics of prefix, and the dead-letter topic dlq
// if not empty, with read_committed, decoding through the registry, and
// returns the observations of each stream in the simulator's timeline order
// (Kafka orders only within a partition), after checking that within every
// partition a stream's updates never go back. It also returns the number of
// records read (tombstones excluded).
func readBack(ctx context.Context, sim *Simulator, kafka []kgo.Opt, registry, prefix, dlq string) (map[string][]obs, int, error) {
	topics := []string{prefix + ".saba.events", prefix + ".saba.markets"}
	if dlq != "" {
		topics = append(topics, dlq)
	}
	srcl, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		return nil, 0, err
	}
	dec := avroreg.NewDecoder(srcl)
	type item struct {
		o        obs
		idx      int64
		snapshot bool
		seq      int // order of arrival within its partition
	}
	var items []item
	lastIdx := map[string]int64{} // stream/topic/partition -> last update index
	err = readback.Committed(ctx, kafka, topics, func(r *kgo.Record) error {
		if r.Value == nil {
			return nil // a tombstone
		}
		var o obs
		switch r.Topic {
		case dlq:
			o = obs{stream: header(r, HeaderStream), msgID: header(r, connector.HeaderPosition), dead: true}
		case topics[0]:
			var v EventRecord
			if err := dec.Decode(ctx, r.Value, &v); err != nil {
				return err
			}
			o = obs{stream: streamName(StreamSpec{v.Endpoint, v.Query}), msgID: v.MessageID, topic: "events", op: v.Op, status: v.Status}
		default:
			var v MarketRecord
			if err := dec.Decode(ctx, r.Value, &v); err != nil {
				return err
			}
			o = obs{stream: streamName(StreamSpec{v.Endpoint, v.Query}), msgID: v.MessageID, topic: "markets", op: v.Op, status: v.Status}
		}
		idx, ok := sim.lookup(o.msgID)
		if !ok {
			return fmt.Errorf("record with unknown message id %q", o.msgID)
		}
		snap := o.status == StatusInitialData || o.status == StatusReset
		if !snap && !o.dead {
			pk := fmt.Sprintf("%s/%s/%d", o.stream, r.Topic, r.Partition)
			if idx < lastIdx[pk] {
				return fmt.Errorf("%s: update %d after update %d", pk, idx, lastIdx[pk])
			}
			lastIdx[pk] = idx
		}
		items = append(items, item{o: o, idx: idx, snapshot: snap, seq: len(items)})
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	// Timeline order: by update index; at one index the delta before the
	// snapshot taken after it; reset markers first within a snapshot.
	slices.SortStableFunc(items, func(a, b item) int {
		switch {
		case a.o.stream != b.o.stream:
			return cmp.Compare(a.o.stream, b.o.stream)
		case a.idx != b.idx:
			return cmp.Compare(a.idx, b.idx)
		case a.snapshot != b.snapshot:
			return b2i(a.snapshot) - b2i(b.snapshot)
		case (a.o.op == OpReset) != (b.o.op == OpReset):
			return b2i(b.o.op == OpReset) - b2i(a.o.op == OpReset)
		}
		return a.seq - b.seq
	})
	out := map[string][]obs{}
	for _, it := range items {
		out[it.o.stream] = append(out[it.o.stream], it.o)
	}
	return out, len(items), nil
}

// checkTimeline checks the records of one stream against the simulator's
// timeline: every snapshot starts with its reset markers and holds only
// adds; after a snapshot at update k, the deltas are exactly the next
// non-empty updates k+1, k+2, ... each once, in order, with the counts the
// timeline gives; up to the update with id lastID. It returns the number of
// updates seen and snapshots seen.
func checkTimeline(sim *Simulator, sp StreamSpec, includeMarkets string, recs []obs, lastID string) (updates, snapshots int, err error) {
	timeline := sim.Updates()
	byIndex := map[int64]Update{}
	for _, u := range timeline {
		byIndex[u.Index] = u
	}
	last, ok := sim.lookup(lastID)
	if !ok {
		return 0, 0, fmt.Errorf("last id %q is not the simulator's", lastID)
	}
	// group consecutive records by message id
	type group struct {
		id   string
		recs []obs
	}
	var groups []group
	for _, r := range recs {
		if len(groups) == 0 || groups[len(groups)-1].id != r.msgID {
			groups = append(groups, group{id: r.msgID})
		}
		g := &groups[len(groups)-1]
		g.recs = append(g.recs, r)
	}
	pos := int64(-1) // index of the last update applied
	nextNonEmpty := func(from int64) (int64, Counts, error) {
		for i := from + 1; i <= last; i++ {
			u, ok := byIndex[i]
			if !ok {
				return 0, Counts{}, fmt.Errorf("update %d not recorded", i)
			}
			c, err := sim.CountsOf(sp.Endpoint, sp.Query, includeMarkets, u)
			if err != nil {
				return 0, Counts{}, err
			}
			if c.Total() > 0 || u.Malformed {
				return i, c, nil
			}
		}
		return -1, Counts{}, nil
	}
	for gi, g := range groups {
		idx, ok := sim.lookup(g.id)
		if !ok {
			return updates, snapshots, fmt.Errorf("group %d: id %q unknown", gi, g.id)
		}
		first := g.recs[0]
		if first.status == StatusInitialData || first.status == StatusReset {
			if first.op != OpReset {
				return updates, snapshots, fmt.Errorf("snapshot %s does not start with a reset marker", g.id)
			}
			for _, r := range g.recs {
				if r.op != OpReset && r.op != OpAdd {
					return updates, snapshots, fmt.Errorf("snapshot %s holds op %s", g.id, r.op)
				}
			}
			if idx < pos {
				return updates, snapshots, fmt.Errorf("snapshot %s (update %d) goes back before update %d", g.id, idx, pos)
			}
			if pos >= 0 && first.status == StatusInitialData {
				return updates, snapshots, fmt.Errorf("status 1 snapshot %s after data: a resumed stream must get a replay or status 3", g.id)
			}
			pos = idx
			snapshots++
			continue
		}
		if pos < 0 {
			return updates, snapshots, fmt.Errorf("update %s before any snapshot", g.id)
		}
		want, c, err := nextNonEmpty(pos)
		if err != nil {
			return updates, snapshots, err
		}
		if idx != want {
			if idx <= pos {
				return updates, snapshots, fmt.Errorf("update %d (%s) duplicated: already at update %d", idx, g.id, pos)
			}
			return updates, snapshots, fmt.Errorf("update %d missing: next record is update %d (%s)", want, idx, g.id)
		}
		var got Counts
		dead := 0
		for _, r := range g.recs {
			switch {
			case r.dead:
				dead++
			case r.topic == "events" && r.op == OpAdd:
				got.EventsAdd++
			case r.topic == "events" && r.op == OpChange:
				got.EventsChange++
			case r.topic == "events" && r.op == OpRemove:
				got.EventsRemove++
			case r.topic == "markets" && r.op == OpAdd:
				got.MarketsAdd++
			case r.topic == "markets" && r.op == OpChange:
				got.MarketsChange++
			case r.topic == "markets" && r.op == OpRemove:
				got.MarketsRemove++
			}
		}
		if byIndex[idx].Malformed {
			if dead != 1 || got.Total() != 0 {
				return updates, snapshots, fmt.Errorf("malformed update %d: %d dead letters, %d records", idx, dead, got.Total())
			}
		} else if got != c {
			return updates, snapshots, fmt.Errorf("update %d (%s): records %+v, timeline %+v", idx, g.id, got, c)
		}
		pos = idx
		updates++
	}
	if want, _, _ := nextNonEmpty(pos); want != -1 {
		return updates, snapshots, fmt.Errorf("stream %s ends at update %d; update %d (up to %d) missing", sp.Endpoint, pos, want, last)
	}
	return updates, snapshots, nil
}

// header returns the value of the record's header key.
func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// lastRelevant returns the index and id of the latest recorded update the
// stream's view holds (the id its committed offset ends at once it caught
// up), or 0 and the snapshot id "<epoch>-0" if none.
func (s *Simulator) lastRelevant(sp StreamSpec) (int64, string, error) {
	us := s.Updates()
	for i := len(us) - 1; i >= 0; i-- {
		c, err := s.CountsOf(sp.Endpoint, sp.Query, "", us[i])
		if err != nil {
			return 0, "", err
		}
		if c.Total() > 0 || us[i].Malformed {
			return us[i].Index, us[i].ID, nil
		}
	}
	return 0, s.idOf(0), nil
}
