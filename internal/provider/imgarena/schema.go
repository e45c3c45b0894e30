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
	// One allocation for all the optional strings and one for the
	// integers, where each field's pointer was an allocation of its own.
	fs := fieldStore{strs: make([]string, 0, 17), ints: make([]int64, 0, 5)}
	a := &Action{
		Fixture: fixture, Sport: sport, Position: position, Seq: fa.FixtureSeqNum.n,
		TraceID: fs.str(p.TraceID), Version: fs.str(p.Version), Finished: p.Finished.b,
		Period: fs.str(fa.Period), ActionID: fs.str(fa.ActionID), SendType: fs.str(fa.SendType), SendTypeID: fs.int(fa.SendTypeID),
		ClockTime: fs.str(fa.ClockTime), ActionFixtureID: fs.str(fa.FixtureID), Timestamp: fs.str(fa.Timestamp),
		TimelineSequence: fs.int(fa.TimelineSequence), ActionType: fs.str(fa.FixtureActionType),
		ActionTypeID: fs.int(fa.FixtureActionTypeID), ActionSubType: fs.str(fa.FixtureActionSubType),
		RelatedActionIDs: make([]string, 0, len(fa.Related)),
		ReceivedAt:       received, Raw: sharedString(raw),
	}
	if t, ok := parseTimestamp(fa.Timestamp.s); ok {
		a.EventTime = &t
	}
	if fa.Team != nil {
		a.Team = &Team{ID: fs.str(fa.Team.ID), Name: fs.str(fa.Team.Name)}
	}
	if !isNull(fa.Metadata) {
		a.Metadata = fs.str(flexString{s: sharedString(fa.Metadata), ok: true})
	}
	for _, r := range fa.Related {
		if r.ok {
			a.RelatedActionIDs = append(a.RelatedActionIDs, r.s)
		}
	}
	if s := p.FixtureSummary; s != nil {
		a.Summary = &Summary{CurrentPeriod: fs.str(s.CurrentPeriod), CurrentStatus: fs.str(s.CurrentStatus),
			HomeTeamScore: fs.int(s.HomeTeamScore), AwayTeamScore: fs.int(s.AwayTeamScore), CurrentClockTime: fs.str(s.CurrentClockTime)}
		if !isNull(s.Periods) {
			a.Summary.Periods = fs.str(flexString{s: sharedString(s.Periods), ok: true})
		}
	}
	return a
}

// fieldStore backs the optional fields of one record: each pointer it
// returns points into one of two slices. A slice that grows past its
// capacity moves on to a new array, and the pointers already given keep
// the old one alive, so every pointer stays valid.
type fieldStore struct {
	strs []string
	ints []int64
}

func (fs *fieldStore) str(f flexString) *string {
	if !f.ok {
		return nil
	}
	fs.strs = append(fs.strs, f.s)
	return &fs.strs[len(fs.strs)-1]
}

func (fs *fieldStore) int(f flexInt) *int64 {
	if !f.ok {
		return nil
	}
	fs.ints = append(fs.ints, f.n)
	return &fs.ints[len(fs.ints)-1]
}

// newStatus builds the record value of a status packet.
func newStatus(fixture, sport string, position int64, st *wireStatus, raw []byte, received time.Time) *Status {
	fs := fieldStore{strs: make([]string, 0, 2)}
	s := &Status{Fixture: fixture, Sport: sport, EventElementType: st.EventElementType.s, State: fs.str(st.State),
		Timestamp: fs.str(st.Timestamp), Position: position, ReceivedAt: received, Raw: sharedString(raw)}
	if t, ok := parseTimestamp(st.Timestamp.s); ok {
		s.EventTime = &t
	}
	return s
}

// sharedString returns raw as a string sharing its bytes. A record holds
// its frame twice otherwise (SourceRecord.Raw and the value's raw field),
// which doubled what a full queue holds.
//
// Invariant: raw is a frame readFrame returned (a slice of its own), part
// of one, or a copy encoding/json made of part of one, and nothing writes
// to it afterwards.
func sharedString(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	return unsafe.String(&raw[0], len(raw))
}
