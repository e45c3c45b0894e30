package imgarena

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// packetKind is what a packet is to the client.
type packetKind int

const (
	kindLiveness packetKind = iota // anything else: authorised reply, heartbeat, ...
	kindAction                     // has fixtureAction
	kindStatus                     // has eventElementType
	kindError                      // an error or refusal shape
)

func (k packetKind) String() string {
	switch k {
	case kindAction:
		return "action"
	case kindStatus:
		return "status"
	case kindError:
		return "error"
	}
	return "liveness"
}

// packet is one parsed message.
type packet struct {
	kind     packetKind
	action   *wirePacket // kindAction
	status   *wireStatus // kindStatus
	errMsg   string      // kindError
	errCode  int64       // kindError: statusCode if given
	seq      int64       // kindAction: fixtureSeqNum
	finished bool        // kindAction
}

// wirePacket is an action packet as the documents describe it.
type wirePacket struct {
	TraceID        flexString   `json:"traceId"`
	Version        flexString   `json:"version"`
	Finished       flexBool     `json:"finished"`
	FixtureAction  *wireAction  `json:"fixtureAction"`
	FixtureSummary *wireSummary `json:"fixtureSummary"`
}

type wireAction struct {
	Period               flexString      `json:"period"`
	ActionID             flexString      `json:"actionId"`
	SendType             flexString      `json:"sendType"`
	SendTypeID           flexInt         `json:"sendTypeId"`
	ClockTime            flexString      `json:"clockTime"`
	FixtureID            flexString      `json:"fixtureId"`
	Timestamp            flexString      `json:"timestamp"`
	FixtureSeqNum        flexInt         `json:"fixtureSeqNum"`
	TimelineSequence     flexInt         `json:"timelineSequence"`
	FixtureActionType    flexString      `json:"fixtureActionType"`
	FixtureActionTypeID  flexInt         `json:"fixtureActionTypeId"`
	FixtureActionSubType flexString      `json:"fixtureActionSubType"`
	Team                 *wireTeam       `json:"team"`
	Metadata             json.RawMessage `json:"metadata"`
	Related              []flexString    `json:"relatedFixtureActionIds"`
}

type wireTeam struct {
	ID   flexString `json:"id"`
	Name flexString `json:"name"`
}

type wireSummary struct {
	Periods          json.RawMessage `json:"periods"`
	CurrentPeriod    flexString      `json:"currentPeriod"`
	CurrentStatus    flexString      `json:"currentStatus"`
	HomeTeamScore    flexInt         `json:"homeTeamScore"`
	AwayTeamScore    flexInt         `json:"awayTeamScore"`
	CurrentClockTime flexString      `json:"currentClockTime"`
}

// wireStatus is a ConnectionStateChanged (or other eventElementType) packet.
type wireStatus struct {
	EventElementType flexString `json:"eventElementType"`
	State            flexString `json:"state"`
	Timestamp        flexString `json:"timestamp"`
}

// parsePacket classifies and decodes one WebSocket message. A message that
// is not a JSON value, or an action or status whose fields do not decode,
// is ErrMalformed. A JSON value that is neither an action, a status nor an
// error is liveness only.
//
// Action packets, nearly all of the traffic, are decoded in one pass;
// anything that does not decode that way takes parseGeneral, which gives
// the same answer for actions (FuzzParsePacket checks it).
func parsePacket(b []byte) (packet, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' && bytes.Contains(b, []byte(`"fixtureAction"`)) {
		var w wirePacket
		if json.Unmarshal(b, &w) == nil && w.FixtureAction != nil {
			return actionPacket(&w)
		}
	}
	return parseGeneral(b)
}

// actionPacket checks a decoded action packet's fixtureSeqNum.
func actionPacket(w *wirePacket) (packet, error) {
	if !w.FixtureAction.FixtureSeqNum.ok || w.FixtureAction.FixtureSeqNum.n < 1 {
		return packet{}, fmt.Errorf("%w: action packet without a positive integer fixtureSeqNum", ErrMalformed)
	}
	return packet{kind: kindAction, action: w, seq: w.FixtureAction.FixtureSeqNum.n, finished: w.Finished.b}, nil
}

// parseGeneral classifies any message by its top-level keys (b is trimmed).
func parseGeneral(b []byte) (packet, error) {
	if len(b) == 0 || b[0] != '{' {
		if !json.Valid(b) {
			return packet{}, fmt.Errorf("%w: not JSON", ErrMalformed)
		}
		return packet{kind: kindLiveness}, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return packet{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	// Keys match as encoding/json matches struct fields (case-insensitively,
	// the last one winning), so this path and parsePacket's agree.
	var probe struct {
		FixtureAction json.RawMessage `json:"fixtureAction"`
	}
	_ = json.Unmarshal(b, &probe) // b is a valid object: it decoded into top
	if !isNull(probe.FixtureAction) {
		var w wirePacket
		if err := json.Unmarshal(b, &w); err != nil {
			return packet{}, fmt.Errorf("%w: action packet: %v", ErrMalformed, err)
		}
		if w.FixtureAction == nil {
			return packet{}, fmt.Errorf("%w: action packet without a fixtureAction object", ErrMalformed)
		}
		return actionPacket(&w)
	}
	if et, ok := top["eventElementType"]; ok && !isNull(et) {
		var st wireStatus
		if err := json.Unmarshal(b, &st); err != nil {
			return packet{}, fmt.Errorf("%w: status packet: %v", ErrMalformed, err)
		}
		if !st.EventElementType.ok {
			return packet{}, fmt.Errorf("%w: status packet with an empty eventElementType", ErrMalformed)
		}
		return packet{kind: kindStatus, status: &st}, nil
	}
	if msg, code, ok := errorShape(top); ok {
		return packet{kind: kindError, errMsg: msg, errCode: code}, nil
	}
	return packet{kind: kindLiveness}, nil
}

// errorShape recognises the error and refusal shapes: a statusCode/code/
// status of 400 or more, a non-empty "error", authorised: false, or a
// type/status naming an error.
func errorShape(top map[string]json.RawMessage) (msg string, code int64, ok bool) {
	for _, k := range []string{"statusCode", "code", "status"} {
		var n flexInt
		if v, has := top[k]; has && json.Unmarshal(v, &n) == nil && n.ok && n.n >= 400 && n.n < 600 {
			code, ok = n.n, true
		}
	}
	if v, has := top["error"]; has && !isNull(v) && string(v) != "false" && string(v) != `""` {
		ok = true
	}
	for _, k := range []string{"authorised", "authorized", "success"} {
		if string(top[k]) == "false" {
			ok, code = true, 401 // an explicit refusal of the token
		}
	}
	for _, k := range []string{"type", "status", "messageType"} {
		var s flexString
		if v, has := top[k]; has && json.Unmarshal(v, &s) == nil {
			switch strings.ToLower(s.s) {
			case "error", "unauthorized", "unauthorised", "forbidden", "failed", "failure", "denied", "invalid":
				ok = true
			}
		}
	}
	if !ok {
		return "", 0, false
	}
	var parts []string
	for _, k := range []string{"error", "message", "reason", "detail"} {
		var s flexString
		if v, has := top[k]; has && json.Unmarshal(v, &s) == nil && s.ok && s.s != "true" {
			parts = append(parts, s.s)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no reason given")
	}
	return strings.Join(parts, ": "), code, true
}

// isAuthError reports whether an error packet is a token refusal.
func (p packet) isAuthError(authorised bool) bool {
	if p.errCode == 401 || p.errCode == 403 {
		return true
	}
	l := strings.ToLower(p.errMsg)
	return !authorised || strings.Contains(l, "token") || strings.Contains(l, "unauthori") || strings.Contains(l, "forbidden")
}

// scanSeq finds "fixtureSeqNum": N in a message that does not parse.
func scanSeq(b []byte) (int64, bool) {
	i := bytes.Index(b, []byte(`"fixtureSeqNum"`))
	if i < 0 {
		return 0, false
	}
	rest := bytes.TrimLeft(b[i+len(`"fixtureSeqNum"`):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return 0, false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n\"")
	j := 0
	for j < len(rest) && j < 19 && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil || n < 1 || j == len(rest) {
		return 0, false
	}
	return n, true
}

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// flexString holds a JSON string, number or bool as its text (numbers keep
// their exact digits); null or absent leaves ok false.
type flexString struct {
	s  string
	ok bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*f = flexString{}
	case len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b[1:len(b)-1], '\\') < 0 && utf8.Valid(b[1:len(b)-1]):
		// Nothing to unescape (encoding/json has validated the text).
		*f = flexString{s: string(b[1 : len(b)-1]), ok: true}
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString{s: s, ok: true}
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		*f = flexString{s: string(b), ok: true} // kept as JSON text
	default:
		*f = flexString{s: string(b), ok: true}
	}
	return nil
}

func (f flexString) ptr() *string {
	if !f.ok {
		return nil
	}
	s := f.s
	return &s
}

// flexInt holds an integer sent as a number or a quoted string; anything
// else leaves ok false (the raw packet keeps it).
type flexInt struct {
	n  int64
	ok bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	*f = flexInt{n: n, ok: err == nil}
	return nil
}

func (f flexInt) ptr() *int64 {
	if !f.ok {
		return nil
	}
	n := f.n
	return &n
}

// flexBool holds true or "true"; anything else is false.
type flexBool struct{ b bool }

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	f.b = strings.EqualFold(strings.Trim(string(b), `"`), "true")
	return nil
}

// parseTimestamp reads an IMG timestamp: epoch seconds, milliseconds or
// microseconds (by magnitude, possibly quoted, possibly with a fraction),
// or RFC 3339.
func parseTimestamp(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return time.Time{}, false
	}
	switch {
	case f < 1e11: // seconds
		return time.UnixMicro(int64(f * 1e6)).UTC(), true
	case f < 1e14: // milliseconds
		return time.UnixMicro(int64(f * 1e3)).UTC(), true
	case f < 1e17: // microseconds
		return time.UnixMicro(int64(f)).UTC(), true
	}
	return time.Time{}, false
}
