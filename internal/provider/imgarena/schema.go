package imgarena

import (
	"time"
	"unsafe"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/schemas"
)

// Schema file names.
const (
	ActionSchemaFile = "imgarena_action.avsc"
	StatusSchemaFile = "imgarena_status.avsc"
)

// ActionSchema returns the parsed schema of action records.
func ActionSchema() avro.Schema { return schemas.MustParse(ActionSchemaFile) }

// StatusSchema returns the parsed schema of status records.
func StatusSchema() avro.Schema { return schemas.MustParse(StatusSchemaFile) }

// Action is the value of an action record (schemas/imgarena_action.avsc).
type Action struct {
	Fixture          string     `avro:"fixture_id"`
	Sport            string     `avro:"sport"`
	Position         int64      `avro:"position"`
	Seq              int64      `avro:"fixture_seq_num"`
	TraceID          *string    `avro:"trace_id"`
	Version          *string    `avro:"version"`
	Finished         bool       `avro:"finished"`
	Period           *string    `avro:"period"`
	ActionID         *string    `avro:"action_id"`
	SendType         *string    `avro:"send_type"`
	SendTypeID       *int64     `avro:"send_type_id"`
	ClockTime        *string    `avro:"clock_time"`
	ActionFixtureID  *string    `avro:"action_fixture_id"`
	Timestamp        *string    `avro:"timestamp"`
	EventTime        *time.Time `avro:"event_time"`
	TimelineSequence *int64     `avro:"timeline_sequence"`
	ActionType       *string    `avro:"action_type"`
	ActionTypeID     *int64     `avro:"action_type_id"`
	ActionSubType    *string    `avro:"action_sub_type"`
	Team             *Team      `avro:"team"`
	Metadata         *string    `avro:"metadata"`
	RelatedActionIDs []string   `avro:"related_action_ids"`
	Summary          *Summary   `avro:"summary"`
	ReceivedAt       time.Time  `avro:"received_at"`
	Raw              string     `avro:"raw"`
}

// Team is fixtureAction.team.
type Team struct {
	ID   *string `avro:"id"`
	Name *string `avro:"name"`
}

// Summary is fixtureSummary.
type Summary struct {
	Periods          *string `avro:"periods"`
	CurrentPeriod    *string `avro:"current_period"`
	CurrentStatus    *string `avro:"current_status"`
	HomeTeamScore    *int64  `avro:"home_team_score"`
	AwayTeamScore    *int64  `avro:"away_team_score"`
	CurrentClockTime *string `avro:"current_clock_time"`
}

// Status is the value of a status record (schemas/imgarena_status.avsc).
type Status struct {
	Fixture          string     `avro:"fixture_id"`
	Sport            string     `avro:"sport"`
	EventElementType string     `avro:"event_element_type"`
	State            *string    `avro:"state"`
	Timestamp        *string    `avro:"timestamp"`
	EventTime        *time.Time `avro:"event_time"`
	Position         int64      `avro:"position"`
	ReceivedAt       time.Time  `avro:"received_at"`
	Raw              string     `avro:"raw"`
}

// newAction builds the record value of an action packet that is event
// position of fixture.
func newAction(fixture, sport string, position int64, p *wirePacket, raw []byte, received time.Time) *Action {
	fa := p.FixtureAction
	a := &Action{
		Fixture: fixture, Sport: sport, Position: position, Seq: fa.FixtureSeqNum.n,
		TraceID: p.TraceID.ptr(), Version: p.Version.ptr(), Finished: p.Finished.b,
		Period: fa.Period.ptr(), ActionID: fa.ActionID.ptr(), SendType: fa.SendType.ptr(), SendTypeID: fa.SendTypeID.ptr(),
		ClockTime: fa.ClockTime.ptr(), ActionFixtureID: fa.FixtureID.ptr(), Timestamp: fa.Timestamp.ptr(),
		TimelineSequence: fa.TimelineSequence.ptr(), ActionType: fa.FixtureActionType.ptr(),
		ActionTypeID: fa.FixtureActionTypeID.ptr(), ActionSubType: fa.FixtureActionSubType.ptr(),
		RelatedActionIDs: make([]string, 0, len(fa.Related)),
		ReceivedAt:       received, Raw: sharedString(raw),
	}
	if t, ok := parseTimestamp(fa.Timestamp.s); ok {
		a.EventTime = &t
	}
	if fa.Team != nil {
		a.Team = &Team{ID: fa.Team.ID.ptr(), Name: fa.Team.Name.ptr()}
	}
	if !isNull(fa.Metadata) {
		m := string(fa.Metadata)
		a.Metadata = &m
	}
	for _, r := range fa.Related {
		if r.ok {
			a.RelatedActionIDs = append(a.RelatedActionIDs, r.s)
		}
	}
	if s := p.FixtureSummary; s != nil {
		a.Summary = &Summary{CurrentPeriod: s.CurrentPeriod.ptr(), CurrentStatus: s.CurrentStatus.ptr(),
			HomeTeamScore: s.HomeTeamScore.ptr(), AwayTeamScore: s.AwayTeamScore.ptr(), CurrentClockTime: s.CurrentClockTime.ptr()}
		if !isNull(s.Periods) {
			ps := string(s.Periods)
			a.Summary.Periods = &ps
		}
	}
	return a
}

// newStatus builds the record value of a status packet.
func newStatus(fixture, sport string, position int64, st *wireStatus, raw []byte, received time.Time) *Status {
	s := &Status{Fixture: fixture, Sport: sport, EventElementType: st.EventElementType.s, State: st.State.ptr(),
		Timestamp: st.Timestamp.ptr(), Position: position, ReceivedAt: received, Raw: sharedString(raw)}
	if t, ok := parseTimestamp(st.Timestamp.s); ok {
		s.EventTime = &t
	}
	return s
}

// sharedString returns raw as a string sharing its bytes. A record holds
// its frame twice otherwise (SourceRecord.Raw and the value's raw field),
// which doubled what a full queue holds.
//
// Invariant: raw is the frame conn.ReadMessage returned for this packet
// (a slice of its own) and nothing writes to it afterwards.
func sharedString(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	return unsafe.String(&raw[0], len(raw))
}
