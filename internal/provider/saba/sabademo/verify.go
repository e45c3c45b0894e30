package sabademo

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// This file checks what reached Kafka against a Simulator's timeline, for
// the demo (Demo.Verify) and the tests.

// Obs is one record as observed downstream (in-process or read from Kafka).
type Obs struct {
	Stream string // the stream's saba.StreamSpec.Name: endpoint + " " + query
	MsgID  string // the SSE id of the message the record came from
	Topic  string // "events" or "markets"; empty for a dead letter
	Op     string // saba.OpAdd, OpChange, OpRemove or OpReset
	Status int32  // the message's Saba status
	Dead   bool   // a dead letter
}

// ReadBack reads both saba topics of prefix, and the dead-letter topic dlq
// if not empty, with read_committed, decoding through the registry, and
// returns the observations of each stream in the simulator's timeline order
// (Kafka orders only within a partition), after checking that within every
// partition a stream's updates never go back. It also returns the number of
// records read (tombstones excluded).
func ReadBack(ctx context.Context, sim *sabasim.Simulator, kafka []kgo.Opt, registry, prefix, dlq string) (map[string][]Obs, int, error) {
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
		o        Obs
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
		var o Obs
		switch r.Topic {
		case dlq:
			o = Obs{Stream: header(r, saba.HeaderStream), MsgID: header(r, connector.HeaderPosition), Dead: true}
		case topics[0]:
			var v saba.EventRecord
			if err := dec.Decode(ctx, r.Value, &v); err != nil {
				return err
			}
			o = Obs{Stream: saba.StreamSpec{Endpoint: v.Endpoint, Query: v.Query}.Name(), MsgID: v.MessageID, Topic: "events", Op: v.Op, Status: v.Status}
		default:
			var v saba.MarketRecord
			if err := dec.Decode(ctx, r.Value, &v); err != nil {
				return err
			}
			o = Obs{Stream: saba.StreamSpec{Endpoint: v.Endpoint, Query: v.Query}.Name(), MsgID: v.MessageID, Topic: "markets", Op: v.Op, Status: v.Status}
		}
		idx, ok := sim.Lookup(o.MsgID)
		if !ok {
			return fmt.Errorf("record with unknown message id %q", o.MsgID)
		}
		snap := o.Status == saba.StatusInitialData || o.Status == saba.StatusReset
		if !snap && !o.Dead {
			pk := fmt.Sprintf("%s/%s/%d", o.Stream, r.Topic, r.Partition)
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
		case a.o.Stream != b.o.Stream:
			return cmp.Compare(a.o.Stream, b.o.Stream)
		case a.idx != b.idx:
			return cmp.Compare(a.idx, b.idx)
		case a.snapshot != b.snapshot:
			return b2i(a.snapshot) - b2i(b.snapshot)
		case (a.o.Op == saba.OpReset) != (b.o.Op == saba.OpReset):
			return b2i(b.o.Op == saba.OpReset) - b2i(a.o.Op == saba.OpReset)
		}
		return a.seq - b.seq
	})
	out := map[string][]Obs{}
	for _, it := range items {
		out[it.o.Stream] = append(out[it.o.Stream], it.o)
	}
	return out, len(items), nil
}

// CheckTimeline checks the records of one stream against the simulator's
// timeline: every snapshot starts with its reset markers and holds only
// adds; after a snapshot at update k, the deltas are exactly the next
// non-empty updates k+1, k+2, ... each once, in order, with the counts the
// timeline gives; up to the update with id lastID. It returns the number of
// updates seen and snapshots seen.
func CheckTimeline(sim *sabasim.Simulator, sp saba.StreamSpec, includeMarkets string, recs []Obs, lastID string) (updates, snapshots int, err error) {
	timeline := sim.Updates()
	byIndex := map[int64]sabasim.Update{}
	for _, u := range timeline {
		byIndex[u.Index] = u
	}
	last, ok := sim.Lookup(lastID)
	if !ok {
		return 0, 0, fmt.Errorf("last id %q is not the simulator's", lastID)
	}
	// group consecutive records by message id
	type group struct {
		id   string
		recs []Obs
	}
	var groups []group
	for _, r := range recs {
		if len(groups) == 0 || groups[len(groups)-1].id != r.MsgID {
			groups = append(groups, group{id: r.MsgID})
		}
		g := &groups[len(groups)-1]
		g.recs = append(g.recs, r)
	}
	pos := int64(-1) // index of the last update applied
	nextNonEmpty := func(from int64) (int64, sabasim.Counts, error) {
		for i := from + 1; i <= last; i++ {
			u, ok := byIndex[i]
			if !ok {
				return 0, sabasim.Counts{}, fmt.Errorf("update %d not recorded", i)
			}
			c, err := sim.CountsOf(sp.Endpoint, sp.Query, includeMarkets, u)
			if err != nil {
				return 0, sabasim.Counts{}, err
			}
			if c.Total() > 0 || u.Malformed {
				return i, c, nil
			}
		}
		return -1, sabasim.Counts{}, nil
	}
	for gi, g := range groups {
		idx, ok := sim.Lookup(g.id)
		if !ok {
			return updates, snapshots, fmt.Errorf("group %d: id %q unknown", gi, g.id)
		}
		first := g.recs[0]
		if first.Status == saba.StatusInitialData || first.Status == saba.StatusReset {
			if first.Op != saba.OpReset {
				return updates, snapshots, fmt.Errorf("snapshot %s does not start with a reset marker", g.id)
			}
			for _, r := range g.recs {
				if r.Op != saba.OpReset && r.Op != saba.OpAdd {
					return updates, snapshots, fmt.Errorf("snapshot %s holds op %s", g.id, r.Op)
				}
			}
			if idx < pos {
				return updates, snapshots, fmt.Errorf("snapshot %s (update %d) goes back before update %d", g.id, idx, pos)
			}
			if pos >= 0 && first.Status == saba.StatusInitialData {
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
		var got sabasim.Counts
		dead := 0
		for _, r := range g.recs {
			switch {
			case r.Dead:
				dead++
			case r.Topic == "events" && r.Op == saba.OpAdd:
				got.EventsAdd++
			case r.Topic == "events" && r.Op == saba.OpChange:
				got.EventsChange++
			case r.Topic == "events" && r.Op == saba.OpRemove:
				got.EventsRemove++
			case r.Topic == "markets" && r.Op == saba.OpAdd:
				got.MarketsAdd++
			case r.Topic == "markets" && r.Op == saba.OpChange:
				got.MarketsChange++
			case r.Topic == "markets" && r.Op == saba.OpRemove:
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

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
