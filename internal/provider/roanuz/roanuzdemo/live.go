package roanuzdemo

import (
	"context"
	"fmt"
	"slices"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/live/livecheck"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The read-back checks of the normalized topics against the simulator's
// own account of each match (roanuzsim.Truth). They restate the mapping
// table of roanuz's doc.go for the simulator's vocabulary, independently
// of the connector's code: one event per mapped provider record, matched
// by its position and source id, none missing or repeated, in the order
// of its provider topic, of the kind the table says; and each match's
// last state counting them, with the timeline's last status and score.

// liveConfig returns the normalized topics of a connector config.
func liveConfig(cfg connector.Config, spec connector.ConfigSpec) (live.Config, error) {
	full, err := connector.CommonSpec().Merge(spec).Validate(cfg)
	if err != nil {
		return live.Config{}, err
	}
	return live.ParseConfig(full), nil
}

// wantBallKind is the kind of a simulated ball; corrected when the record
// is a corrected version of it.
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

// wantPushKind is the kind of the push of step s.
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

// position is a record's sc.source.position header.
func (r backRecord) position() string { return r.headers[connector.HeaderPosition] }

// sameOrder checks that the events of one match from topic are, in order,
// the provider records recs of that match (by position and source id).
func sameOrder(id, topic string, evs []live.Event, want []string) error {
	var got []string
	for _, e := range evs {
		if e.SourceTopic == topic {
			got = append(got, e.Position+"/"+e.SourceID)
		}
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s: %d events from %s, want %d, one per record in its order (first difference at %d)", id, len(got), topic, len(want), firstDiff(got, want))
	}
	return nil
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// checkWebhookLive checks the webhook's normalized records against the
// pushes of sim's timelines and their records read back (by topic): one
// event per push, keyed roanuz.webhook:cricket:<match>, with the push's
// identity as position, the ball key as source id (the position for the
// other pushes), the kind its step says; no score; each match's state
// finished and completed.
func checkWebhookLive(ctx context.Context, kafka []kgo.Opt, registry string, lv live.Config, sim *roanuzsim.Simulator,
	pushes []*roanuzsim.PushResult, provider map[string][]backRecord) (*livecheck.Topics, error) {
	got, err := livecheck.Read(ctx, kafka, registry, lv.EventsTopic, lv.MatchesTopic, roanuz.LiveMatchID(roanuz.ClassWebhook, ""))
	if err != nil {
		return nil, err
	}
	type pushAt struct {
		match string
		step  int
	}
	at := map[string]pushAt{}
	count := map[string]int{}
	for _, pr := range pushes {
		p, err := roanuz.ParsePush(pr.Body)
		if err != nil {
			return nil, err
		}
		at[p.Position()] = pushAt{pr.Match, pr.Step}
		count[roanuz.LiveMatchID(roanuz.ClassWebhook, pr.Match)]++
	}
	for id, evs := range got.Events {
		if len(evs) != count[id] {
			return nil, fmt.Errorf("%s: %d normalized events, %d pushes", id, len(evs), count[id])
		}
		seen := map[string]bool{}
		for _, e := range evs {
			pa, ok := at[e.Position]
			if !ok || e.ProviderMatchID != pa.match || seen[e.Position] {
				return nil, fmt.Errorf("%s: event at position %s is no push of the match, or repeats one (seen %v)", id, e.Position, seen[e.Position])
			}
			seen[e.Position] = true
			tr := sim.Truth(pa.match)
			st := tr.Steps[pa.step]
			wantID := e.Position
			if st.Kind == "Ball" {
				wantID = st.BallKey
			}
			if want := wantPushKind(tr, pa.step); e.Kind != want || e.SourceID != wantID {
				return nil, fmt.Errorf("%s: the push of step %d (%s %s) is %s %q, want %s %q", id, pa.step, st.Kind, st.Reason, e.Kind, e.SourceID, want, wantID)
			}
		}
		m := got.Matches[id]
		if !m.Finished || m.Status == nil || *m.Status != "completed" || m.Score != nil {
			return nil, fmt.Errorf("%s: last state %+v: want finished, completed and no score (a push tells none)", id, m)
		}
	}
	if len(got.Events) != len(count) {
		return nil, fmt.Errorf("%d matches on %s, %d pushed", len(got.Events), lv.EventsTopic, len(count))
	}
	for topic, recs := range provider {
		want := map[string][]string{}
		for _, r := range recs {
			id := roanuz.LiveMatchID(roanuz.ClassWebhook, r.key)
			src := r.position()
			if bk, ok := r.value["ball_key"].(string); ok {
				src = bk
			}
			want[id] = append(want[id], r.position()+"/"+src)
		}
		for id, evs := range got.Events {
			if err := sameOrder(id, topic, evs, want[id]); err != nil {
				return nil, err
			}
		}
	}
	return got, got.CheckStates()
}
