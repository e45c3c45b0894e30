package imgarena

// decodeAction decodes an action packet in the shape the documents and the
// servers use, without reflection: several times faster than encoding/json
// on a typical packet, whose decoding was the largest part of the
// connector's CPU on an unpaced feed. It gives up (ok false) on anything
// outside that shape where encoding/json's answer takes more than a plain
// reading:
//   - a key that matches a field only case-insensitively, or a field twice;
//   - an escape or a byte that is not ASCII in a key;
//   - an escape or invalid UTF-8 in a string read into a field;
//   - a value of the wrong type for an object or array field;
//   - nesting deeper than maxFastDepth, or JSON that is not valid.
//
// Then parsePacket asks encoding/json. Where it answers, the answer is
// encoding/json's (FuzzDecodeAction checks it field by field).
//
// Invariant: the strings and raw values it returns share b's bytes, as
// sharedString does, so a field kept keeps its whole frame; nothing writes
// to b while they live (parsePacket's frames are each their own slice,
// from readFrame, never written).
func decodeAction(b []byte) (*wirePacket, bool) {
	if len(b) == 0 {
		return nil, false
	}
	d := newFastDecoder(b)
	w := &wirePacket{}
	names := packetFields()
	d.space()
	if !d.fields(names[:], func(i int) bool { return d.packetField(w, i) }) {
		return nil, false
	}
	d.space()
	return w, d.i == len(d.b)
}

// maxFastDepth is how deep decodeAction follows the values it skips or
// keeps raw; deeper ones go to encoding/json.
const maxFastDepth = 64

// The fields decodeAction reads, in the order of the switches below, named
// as their json tags name them (arrays, built on the stack: no table of
// the package's that anything could change).
func packetFields() [5]string {
	return [...]string{"traceId", "version", "finished", "fixtureAction", "fixtureSummary"}
}

func actionFields() [15]string {
	return [...]string{"period", "actionId", "sendType", "sendTypeId", "clockTime", "fixtureId", "timestamp", "fixtureSeqNum",
		"timelineSequence", "fixtureActionType", "fixtureActionTypeId", "fixtureActionSubType", "team", "metadata", "relatedFixtureActionIds"}
}

func teamFields() [2]string { return [...]string{"id", "name"} }

func summaryFields() [6]string {
	return [...]string{"periods", "currentPeriod", "currentStatus", "homeTeamScore", "awayTeamScore", "currentClockTime"}
}

func (d *fastDecoder) packetField(w *wirePacket, i int) bool {
	switch i {
	case 0:
		return d.flexString(&w.TraceID)
	case 1:
		return d.flexString(&w.Version)
	case 2:
		return d.flexBool(&w.Finished)
	case 3:
		return d.nullOrObject(func() bool {
			a := &wireAction{}
			w.FixtureAction = a
			names := actionFields()
			return d.fields(names[:], func(i int) bool { return d.actionField(a, i) })
		})
	default:
		return d.nullOrObject(func() bool {
			s := &wireSummary{}
			w.FixtureSummary = s
			names := summaryFields()
			return d.fields(names[:], func(i int) bool { return d.summaryField(s, i) })
		})
	}
}

func (d *fastDecoder) actionField(a *wireAction, i int) bool {
	switch i {
	case 0:
		return d.flexString(&a.Period)
	case 1:
		return d.flexString(&a.ActionID)
	case 2:
		return d.flexString(&a.SendType)
	case 3:
		return d.flexInt(&a.SendTypeID)
	case 4:
		return d.flexString(&a.ClockTime)
	case 5:
		return d.flexString(&a.FixtureID)
	case 6:
		return d.flexString(&a.Timestamp)
	case 7:
		return d.flexInt(&a.FixtureSeqNum)
	case 8:
		return d.flexInt(&a.TimelineSequence)
	case 9:
		return d.flexString(&a.FixtureActionType)
	case 10:
		return d.flexInt(&a.FixtureActionTypeID)
	case 11:
		return d.flexString(&a.FixtureActionSubType)
	case 12:
		return d.nullOrObject(func() bool {
			t := &wireTeam{}
			a.Team = t
			names := teamFields()
			return d.fields(names[:], func(i int) bool {
				if i == 0 {
					return d.flexString(&t.ID)
				}
				return d.flexString(&t.Name)
			})
		})
	case 13:
		return d.raw(&a.Metadata)
	default:
		return d.flexStrings(&a.Related)
	}
}

func (d *fastDecoder) summaryField(s *wireSummary, i int) bool {
	switch i {
	case 0:
		return d.raw(&s.Periods)
	case 1:
		return d.flexString(&s.CurrentPeriod)
	case 2:
		return d.flexString(&s.CurrentStatus)
	case 3:
		return d.flexInt(&s.HomeTeamScore)
	case 4:
		return d.flexInt(&s.AwayTeamScore)
	default:
		return d.flexString(&s.CurrentClockTime)
	}
}
