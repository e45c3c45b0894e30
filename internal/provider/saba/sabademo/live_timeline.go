package sabademo

import (
	"fmt"
	"strconv"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
)

// eventView is what a stream could know of one event by the end of the
// timeline.
type eventView struct {
	final
	// stale: the event was removed while its stream was away (absent from
	// the status 3 snapshot the stream came back to), so nothing told the
	// connector; its state stays as last seen.
	stale bool
}

// snapKey names the snapshot a stream got at an update.
func snapKey(stream string, idx int64) string { return stream + "@" + strconv.FormatInt(idx, 10) }

// walkTimeline replays the simulator's timeline as each GetEvents stream of
// specs saw it: its first snapshot, then the updates it got (deltas:
// update index -> the streams with records of it; not the malformed ones,
// dead letters, nor those a status 3 Reset skipped), each later snapshot
// (snaps, likewise) restating the events the timeline holds then. It
// checks every snapshot held exactly the stream's live events (inSnap, by
// snapKey: the eventIds the snapshot's records added) and
// returns, by eventId, what the stream could know of each event it was
// told of.
func walkTimeline(sim *sabasim.Simulator, specs []saba.StreamSpec, snaps, deltas map[int64]map[string]bool, inSnap map[string]map[int64]bool) (map[int64]*eventView, error) {
	var streams []saba.StreamSpec
	for _, sp := range specs {
		if sp.Endpoint == "GetEvents" {
			streams = append(streams, sp)
		}
	}
	members := map[string]bool{}
	member := func(sp saba.StreamSpec, id int64) (bool, error) {
		k := snapKey(sp.Name(), id)
		if v, ok := members[k]; ok {
			return v, nil
		}
		// The stream's view, by the simulator's own filter.
		c, err := sim.CountsOf(sp.Endpoint, sp.Query, "none", sabasim.Update{EventsRemove: []int64{id}})
		members[k] = c.EventsRemove == 1
		return members[k], err
	}
	truth := map[int64]*final{}
	for _, e := range sim.InitialEvents() {
		truth[e.EventID] = added(e)
	}
	seen := map[string]map[int64]*eventView{} // by stream, from its first snapshot
	snapshot := func(idx int64) error {
		for _, sp := range streams {
			name := sp.Name()
			if !snaps[idx][name] {
				continue
			}
			if seen[name] == nil {
				seen[name] = map[int64]*eventView{}
			}
			held := 0
			for id, f := range truth {
				if ok, err := member(sp, id); err != nil || !ok || f.removed {
					if err != nil {
						return err
					}
					continue
				}
				if !inSnap[snapKey(name, idx)][id] {
					return fmt.Errorf("stream %s: the snapshot of update %d lacks event %d", name, idx, id)
				}
				held++
				seen[name][id] = &eventView{final: *f}
			}
			if n := len(inSnap[snapKey(name, idx)]); n != held {
				return fmt.Errorf("stream %s: the snapshot of update %d holds %d events, the timeline %d", name, idx, n, held)
			}
			for id, v := range seen[name] {
				if truth[id].removed && !v.finished {
					v.stale = true
				}
			}
		}
		return nil
	}
	if err := snapshot(0); err != nil {
		return nil, err
	}
	for _, u := range sim.Updates() {
		for _, e := range u.EventsAdd {
			truth[e.EventID] = added(e)
		}
		for _, c := range u.EventsChange {
			if f := truth[c.EventID]; f != nil {
				changed(f, c)
			}
		}
		for _, id := range u.EventsRemove {
			if f := truth[id]; f != nil {
				f.finished, f.removed = true, true
			}
		}
		for _, sp := range streams {
			v := seen[sp.Name()]
			if v == nil || !deltas[u.Index][sp.Name()] {
				continue // not connected yet, a dead letter, skipped by a Reset, or nothing for the stream
			}
			for _, e := range u.EventsAdd {
				if ok, err := member(sp, e.EventID); err != nil {
					return nil, err
				} else if ok {
					v[e.EventID] = &eventView{final: *added(e)}
				}
			}
			for _, c := range u.EventsChange {
				if ev := v[c.EventID]; ev != nil {
					changed(&ev.final, c)
				}
			}
			for _, id := range u.EventsRemove {
				if ev := v[id]; ev != nil {
					ev.finished, ev.removed = true, true
				}
			}
		}
		if err := snapshot(u.Index); err != nil {
			return nil, err
		}
	}
	out := map[int64]*eventView{}
	for name, v := range seen {
		for id, ev := range v {
			if _, dup := out[id]; dup {
				return nil, fmt.Errorf("event %d is in two GetEvents streams (%s and another): the check assumes streams that do not overlap", id, name)
			}
			out[id] = ev
		}
	}
	return out, nil
}

// added is the state of an event as added.
func added(e sabasim.SimEvent) *final {
	return &final{status: &e.EventStatus, home: i32(e.GameInfo.LiveHomeScore), away: i32(e.GameInfo.LiveAwayScore),
		finished: e.EventStatus == "closed" || e.EventStatus == "deleted"}
}

// changed applies an EventChange to f.
func changed(f *final, c sabasim.SimEventChange) {
	if c.EventStatus != "" {
		f.status = &c.EventStatus
		f.finished = f.finished || c.EventStatus == "closed" || c.EventStatus == "deleted"
	}
	if c.GameInfo != nil {
		f.home, f.away = i32(c.GameInfo.LiveHomeScore), i32(c.GameInfo.LiveAwayScore)
	}
}
