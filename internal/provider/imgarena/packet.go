package imgarena

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
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

// packet is one parsed message. With ErrMalformed, kind says what the
// broken message names itself: kindAction (a fixtureAction or
// fixtureSeqNum key) or kindStatus (an eventElementType key).
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

// parsePacket classifies and decodes one WebSocket message. An action or
// status that does not decode (broken JSON that names an action or status
// key, or fields of the wrong shape) is ErrMalformed. Anything else that
// is neither an action, a status nor an error is liveness only: a JSON
// value of another shape, an empty frame, text or bytes that are not JSON
// (heartbeats of any shape).
//
// Action packets, nearly all of the traffic, are decoded in one pass, by
// decodeAction where it can; anything that does not decode that way takes
// parseGeneral, which gives
// the same answer for actions (FuzzParsePacket checks it).
func parsePacket(b []byte) (packet, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' && bytes.Contains(b, []byte(`"fixtureAction"`)) {
		w, ok := decodeAction(b)
		if !ok {
			w = &wirePacket{}
			if json.Unmarshal(b, w) != nil {
				w = nil
			}
		}
		if w != nil && w.FixtureAction != nil {
			return actionPacket(w)
		}
	}
	return parseGeneral(b)
}

// actionPacket checks a decoded action packet's fixtureSeqNum.
func actionPacket(w *wirePacket) (packet, error) {
	if !w.FixtureAction.FixtureSeqNum.ok || w.FixtureAction.FixtureSeqNum.n < 1 {
		return packet{kind: kindAction}, fmt.Errorf("%w: action packet without a positive integer fixtureSeqNum", ErrMalformed)
	}
	return packet{kind: kindAction, action: w, seq: w.FixtureAction.FixtureSeqNum.n, finished: w.Finished.b}, nil
}

// parseGeneral classifies any message by its top-level keys (b is trimmed).
func parseGeneral(b []byte) (packet, error) {
	if len(b) == 0 || b[0] != '{' {
		if len(b) == 0 || !json.Valid(b) {
			return notJSON(b, "not JSON")
		}
		return packet{kind: kindLiveness}, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return notJSON(b, err.Error())
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
			return packet{kind: kindAction}, fmt.Errorf("%w: action packet: %v", ErrMalformed, err)
		}
		if w.FixtureAction == nil {
			return packet{kind: kindAction}, fmt.Errorf("%w: action packet without a fixtureAction object", ErrMalformed)
		}
		return actionPacket(&w)
	}
	if et, ok := top["eventElementType"]; ok && !isNull(et) {
		var st wireStatus
		if err := json.Unmarshal(b, &st); err != nil {
			return packet{kind: kindStatus}, fmt.Errorf("%w: status packet: %v", ErrMalformed, err)
		}
		if !st.EventElementType.ok {
			return packet{kind: kindStatus}, fmt.Errorf("%w: status packet with an empty eventElementType", ErrMalformed)
		}
		return packet{kind: kindStatus, status: &st}, nil
	}
	if msg, code, ok := errorShape(top); ok {
		return packet{kind: kindError, errMsg: msg, errCode: code}, nil
	}
	return packet{kind: kindLiveness}, nil
}

// Keys a broken message is recognised by (lower case, quoted as in JSON).
var (
	actionKeys = [][]byte{[]byte(`"fixtureaction"`), []byte(`"fixtureseqnum"`)}
	statusKey  = []byte(`"eventelementtype"`)
)

// notJSON classifies a message that is not JSON (b is trimmed). One that
// names an action key is a broken action, one that names eventElementType
// a broken status: both ErrMalformed. Anything else (an empty frame, text,
// bytes, a broken object naming neither) is a heartbeat of some shape.
func notJSON(b []byte, why string) (packet, error) {
	l := bytes.ToLower(b)
	for _, k := range actionKeys {
		if bytes.Contains(l, k) {
			return packet{kind: kindAction}, fmt.Errorf("%w: broken action packet: %s", ErrMalformed, why)
		}
	}
	if bytes.Contains(l, statusKey) {
		return packet{kind: kindStatus}, fmt.Errorf("%w: broken status packet: %s", ErrMalformed, why)
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
	n, _, _, ok := seqSpan(b)
	return n, ok
}

// seqSpan finds "fixtureSeqNum": N in a message that does not parse, and
// where N's digits are: b[from:to]. Digits running to the end of b may be
// cut short, so they are not read.
func seqSpan(b []byte) (n int64, from, to int, ok bool) {
	i := bytes.Index(b, []byte(`"fixtureSeqNum"`))
	if i < 0 {
		return 0, 0, 0, false
	}
	from = i + len(`"fixtureSeqNum"`)
	for from < len(b) && isSpace(b[from]) {
		from++
	}
	if from == len(b) || b[from] != ':' {
		return 0, 0, 0, false
	}
	from++
	for from < len(b) && (isSpace(b[from]) || b[from] == '"') {
		from++
	}
	to = from
	for to < len(b) && to-from < 19 && b[to] >= '0' && b[to] <= '9' {
		to++
	}
	n, err := strconv.ParseInt(string(b[from:to]), 10, 64)
	if err != nil || n < 1 || to == len(b) {
		return 0, 0, 0, false
	}
	return n, from, to, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// brokenEventKey identifies a broken event whose fixtureSeqNum can be read
// by its bytes without the digits of that number, which differ from one
// connection to the next: FNV-64a, in hex.
func brokenEventKey(b []byte, from, to int) string {
	h := fnv.New64a()
	h.Write(b[:from])
	h.Write(b[to:])
	return "b" + strconv.FormatUint(h.Sum64(), 16)
}

// actionKey identifies an action by what it says, not by how it was
// framed: FNV-64a, in hex, of fixtureAction's fields other than
// fixtureSeqNum (which differs from one connection to the next) and of
// finished. A server sending an event again sends the same key; an
// update of an action (same actionId, another sendType, time or content)
// has another.
func actionKey(w *wirePacket) string {
	a := w.FixtureAction
	b := make([]byte, 0, 256)
	for _, f := range [...]flexString{a.Period, a.ActionID, a.SendType, a.ClockTime, a.FixtureID, a.Timestamp, a.FixtureActionType, a.FixtureActionSubType} {
		b = appendFlex(b, f)
	}
	for _, f := range [...]flexInt{a.SendTypeID, a.TimelineSequence, a.FixtureActionTypeID} {
		b = appendFlexInt(b, f)
	}
	if a.Team != nil {
		b = appendFlex(appendFlex(append(b, 't'), a.Team.ID), a.Team.Name)
	}
	b = append(append(b, a.Metadata...), 0)
	for _, r := range a.Related {
		b = appendFlex(b, r)
	}
	if w.Finished.b {
		b = append(b, 'f')
	}
	h := fnv.New64a()
	h.Write(b)
	return "a" + strconv.FormatUint(h.Sum64(), 16)
}

func appendFlex(b []byte, f flexString) []byte {
	if f.ok {
		b = append(append(b, 1), f.s...)
	}
	return append(b, 0)
}

func appendFlexInt(b []byte, f flexInt) []byte {
	if f.ok {
		b = strconv.AppendInt(append(b, 1), f.n, 10)
	}
	return append(b, 0)
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

// flexInt holds an integer sent as a number or a quoted string; anything
// else leaves ok false (the raw packet keeps it).
type flexInt struct {
	n  int64
	ok bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	*f = flexIntOf(string(b))
	return nil
}

// flexIntOf reads a JSON value's text as a flexInt (decodeAction reads
// it here too).
func flexIntOf(text string) flexInt {
	n, err := strconv.ParseInt(strings.Trim(text, `"`), 10, 64)
	return flexInt{n: n, ok: err == nil}
}

// flexBool holds true or "true"; anything else is false.
type flexBool struct{ b bool }

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	*f = flexBoolOf(string(b))
	return nil
}

// flexBoolOf reads a JSON value's text as a flexBool.
func flexBoolOf(text string) flexBool {
	return flexBool{b: strings.EqualFold(strings.Trim(text, `"`), "true")}
}

// parseTimestamp reads an IMG timestamp: epoch seconds, milliseconds or
// microseconds (by magnitude, possibly quoted, possibly with a fraction),
// or RFC 3339.
func parseTimestamp(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	// Only text with a '-' after four digits' room can be RFC 3339; the
	// epoch numbers the servers send skip the parse, and its error value.
	if len(s) > 4 && s[4] == '-' {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), true
		}
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
