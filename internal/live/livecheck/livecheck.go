// Package livecheck reads the normalized topics back for demos and tests:
// every committed live.events record of one provider, per match in order,
// and the latest live.matches state of each of its matches. Production
// code does not import it.
package livecheck

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// Topics is what was read back for one provider.
type Topics struct {
	Events  map[string][]live.Event // by match id, in topic order
	Matches map[string]live.Match   // by match id: the latest committed state
}

// Read reads eventsTopic and matchesTopic from the start to their
// read_committed end and keeps the records whose match id starts with
// idPrefix (e.g. "imgarena:soccer:"). A record whose key is not its
// value's match id is an error.
func Read(ctx context.Context, kafka []kgo.Opt, registry, eventsTopic, matchesTopic, idPrefix string) (*Topics, error) {
	src, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		return nil, err
	}
	dec := avroreg.NewDecoder(src)
	out := &Topics{Events: map[string][]live.Event{}, Matches: map[string]live.Match{}}
	err = readback.Committed(ctx, kafka, []string{eventsTopic, matchesTopic}, func(r *kgo.Record) error {
		if !strings.HasPrefix(string(r.Key), idPrefix) {
			return nil
		}
		if r.Topic == matchesTopic {
			if r.Value == nil {
				delete(out.Matches, string(r.Key))
				return nil
			}
			var m live.Match
			if err := dec.Decode(ctx, r.Value, &m); err != nil {
				return fmt.Errorf("decoding %s offset %d: %w", r.Topic, r.Offset, err)
			}
			if m.MatchID != string(r.Key) {
				return fmt.Errorf("%s offset %d: key %q holds match %s", r.Topic, r.Offset, r.Key, m.MatchID)
			}
			out.Matches[m.MatchID] = m
			return nil
		}
		var ev live.Event
		if err := dec.Decode(ctx, r.Value, &ev); err != nil {
			return fmt.Errorf("decoding %s offset %d: %w", r.Topic, r.Offset, err)
		}
		if ev.MatchID != string(r.Key) {
			return fmt.Errorf("%s offset %d: key %q holds an event of match %s", r.Topic, r.Offset, r.Key, ev.MatchID)
		}
		out.Events[ev.MatchID] = append(out.Events[ev.MatchID], ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s and %s back: %w", eventsTopic, matchesTopic, err)
	}
	return out, nil
}

// CheckStates checks that every match with events has a state counting
// exactly its events, whose last position is its last event's.
func (t *Topics) CheckStates() error {
	for id, evs := range t.Events {
		m, ok := t.Matches[id]
		if !ok {
			return fmt.Errorf("match %s: %d events on live.events but no state on live.matches", id, len(evs))
		}
		if m.Events != int64(len(evs)) {
			return fmt.Errorf("match %s: live.matches counts %d events, live.events holds %d", id, m.Events, len(evs))
		}
		if last := evs[len(evs)-1]; m.LastPosition != last.Position || m.LastKind != last.Kind {
			return fmt.Errorf("match %s: state's last event is %s at position %s, live.events' last is %s at %s",
				id, m.LastKind, m.LastPosition, last.Kind, last.Position)
		}
	}
	for id := range t.Matches {
		if len(t.Events[id]) == 0 {
			return fmt.Errorf("match %s has a state on live.matches but no event on live.events", id)
		}
	}
	return nil
}

// Kinds counts the events by kind.
func (t *Topics) Kinds() map[live.Kind]int {
	out := map[live.Kind]int{}
	for _, evs := range t.Events {
		for _, e := range evs {
			out[e.Kind]++
		}
	}
	return out
}

// Summary is one line for a demo: events, kinds (most frequent first),
// matches.
func (t *Topics) Summary() string {
	kinds := t.Kinds()
	names := make([]string, 0, len(kinds))
	total := 0
	for k, n := range kinds {
		names = append(names, k)
		total += n
	}
	sort.Slice(names, func(i, j int) bool {
		if kinds[names[i]] != kinds[names[j]] {
			return kinds[names[i]] > kinds[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, kinds[k])
	}
	return fmt.Sprintf("%d normalized events (%s), %d match states", total, strings.Join(parts, ", "), len(t.Matches))
}
