package imgarena

import (
	"strconv"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
)

// IMG Arena's sendType values: a Pending action is announced before the
// data collector confirms it; Confirmed is the fact.
const (
	sendPending   = "Pending"
	sendConfirmed = "Confirmed"
)

// kindOf maps a confirmed fixtureActionType to the shared vocabulary;
// types not listed (Shot, Corner, Foul, DangerousAttack, FreeKick, …) are
// live.KindOther. The mapping table in doc.go lists the same.
func kindOf(actionType string) live.Kind {
	switch actionType {
	case "KickOff", "PeriodStart":
		return live.KindPeriodStart
	case "HalfTime", "PeriodEnd":
		return live.KindPeriodEnd
	case "FixtureEnd":
		return live.KindMatchStatus
	case "Goal":
		return live.KindGoal
	case "Card", "YellowCard", "RedCard":
		return live.KindCard
	case "Penalty", "PenaltyAwarded":
		return live.KindPenalty
	case "Substitution":
		return live.KindSubstitution
	case "ScoreAdjustment":
		return live.KindScoreChange
	}
	return live.KindOther
}

// liveKind returns the normalized kind of an action: Pending actions are
// OTHER (not yet a fact; their Confirmed follows with the same actionId),
// a sendType other than Pending and Confirmed (an amendment or a deletion)
// is a CORRECTION, and a Confirmed one is its type's kind.
func liveKind(a *Action) live.Kind {
	send := strOf(a.SendType)
	switch {
	case send == sendPending:
		return live.KindOther
	case send != "" && send != sendConfirmed:
		return live.KindCorrection
	}
	return kindOf(strOf(a.ActionType))
}

// liveMapper maps action records to normalized events; status records
// (the connection's own state, not the match's) are not mapped.
func liveMapper(rec *connector.SourceRecord) (live.Mapped, bool) {
	a, ok := rec.Value.(*Action)
	if !ok {
		return live.Mapped{}, false
	}
	ev := live.Event{
		MatchID: live.MatchID(Class, a.Sport, a.Fixture), Provider: Class, Sport: a.Sport, ProviderMatchID: a.Fixture,
		Kind: liveKind(a), ProviderType: providerType(a),
		EventTime: a.EventTime, ReceivedAt: a.ReceivedAt,
		Period: a.Period, Clock: a.ClockTime,
		Position: strconv.FormatInt(a.Position, 10), SourceID: strOf(a.ActionID),
	}
	if ev.SourceID == "" {
		ev.SourceID = ev.Position
	}
	if s := a.Summary; s != nil {
		ev.Status = s.CurrentStatus
		if s.CurrentPeriod != nil {
			ev.Period = s.CurrentPeriod
		}
		if s.HomeTeamScore != nil || s.AwayTeamScore != nil {
			ev.Score = &live.Score{Home: int32p(s.HomeTeamScore), Away: int32p(s.AwayTeamScore)}
		}
	}
	return live.Mapped{Event: ev, Finished: a.Finished}, true
}

// providerType is the action's type as IMG Arena names it, with its sub
// type and a sendType other than Confirmed: "Goal/Penalty", "Card/Yellow
// (Pending)".
func providerType(a *Action) string {
	s := strOf(a.ActionType)
	if a.ActionSubType != nil && *a.ActionSubType != "" {
		s += "/" + *a.ActionSubType
	}
	if send := strOf(a.SendType); send != "" && send != sendConfirmed {
		s += " (" + send + ")"
	}
	return s
}

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func int32p(n *int64) *int32 {
	if n == nil {
		return nil
	}
	v := int32(*n)
	return &v
}
