package imgarenademo

import (
	"context"
	"fmt"
	"strconv"

	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/live/livecheck"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/twmb/franz-go/pkg/kgo"
)

// wantKind is the kind a simulated action must map to. It restates the
// mapping table of imgarena's doc.go for the simulator's vocabulary,
// independently of the connector's code.
func wantKind(te imgarenasim.TimelineEvent) live.Kind {
	if te.SendType == "Pending" {
		return live.KindOther
	}
	switch te.ActionType {
	case "KickOff":
		return live.KindPeriodStart
	case "FixtureEnd":
		return live.KindMatchStatus
	case "Goal":
		return live.KindGoal
	case "Card":
		return live.KindCard
	case "Substitution":
		return live.KindSubstitution
	}
	return live.KindOther
}

// VerifyLive checks the normalized topics against the simulator: each
// fixture has exactly one live event per action, positions 1..events in
// order, each with the timeline's action id, kind and score; its
// live.matches state counts them all, is finished when the feed finished,
// and holds the final score. It returns livecheck's read for a summary.
func VerifyLive(ctx context.Context, kafka []kgo.Opt, registry, eventsTopic, matchesTopic string, sim *imgarenasim.Simulator, sport string, events int64) (*livecheck.Topics, error) {
	got, err := livecheck.Read(ctx, kafka, registry, eventsTopic, matchesTopic, live.MatchID(imgarena.Class, sport, ""))
	if err != nil {
		return nil, err
	}
	for _, f := range sim.Fixtures() {
		id := live.MatchID(imgarena.Class, sport, f)
		evs, tl := got.Events[id], sim.Timeline(f)
		if int64(len(evs)) != events {
			return nil, fmt.Errorf("%s: %d normalized events on %s, want %d (one per action)", id, len(evs), eventsTopic, events)
		}
		for i, ev := range evs {
			te := tl[i]
			if ev.Position != strconv.FormatInt(te.Position, 10) || ev.SourceID != te.ActionID || ev.Kind != wantKind(te) {
				return nil, fmt.Errorf("%s: normalized event %d is position %s (%s, %s), want position %d (%s, %s)",
					id, i, ev.Position, ev.SourceID, ev.Kind, te.Position, te.ActionID, wantKind(te))
			}
			if ev.Score == nil || ev.Score.Home == nil || ev.Score.Away == nil || int(*ev.Score.Home) != te.Home || int(*ev.Score.Away) != te.Away {
				return nil, fmt.Errorf("%s: normalized event at position %d has score %+v, want %d-%d", id, te.Position, ev.Score, te.Home, te.Away)
			}
		}
		m, last := got.Matches[id], tl[len(tl)-1]
		if m.Finished != last.Finished || m.Score == nil || int(*m.Score.Home) != last.Home || int(*m.Score.Away) != last.Away {
			return nil, fmt.Errorf("%s: final state %+v, want finished=%v and score %d-%d", id, m, last.Finished, last.Home, last.Away)
		}
	}
	if err := got.CheckStates(); err != nil {
		return nil, err
	}
	return got, nil
}
