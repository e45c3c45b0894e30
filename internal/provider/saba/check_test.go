package saba

import (
	"fmt"
	"strings"
)

// obs is one record as observed downstream (in-process or read from Kafka).
type obs struct {
	stream string // endpoint + " " + query
	msgID  string
	topic  string // "events" or "markets"
	op     string
	status int32
	dead   bool
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

func streamName(sp StreamSpec) string { return strings.TrimSpace(sp.Endpoint + " " + sp.Query) }
