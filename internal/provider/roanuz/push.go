package roanuz

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"time"
)

// Push is one parsed match-detail-update of the webhook.
type Push struct {
	Sport, DataKind string
	MatchKey        string
	PushReason      string
	MatchPushKind   string
	TS              time.Time
	TSText          string
	Ball            *PushBall // nil unless the push carries a ball
	Raw             []byte    // the inflated body, byte-exact
}

// PushBall is the ball of a Ball push.
type PushBall struct {
	BallKey      string
	Over         int32
	BattingOrder int32
	IsDelete     bool
	Detail       *BallDetail
}

// IsBall reports whether the push goes to the ball-updates topic.
func (p *Push) IsBall() bool { return p.Ball != nil || p.MatchPushKind == "Ball" }

// Identity is the push's dedup identity: a 64-bit hash of (match, ball_key,
// updated_time, match_push_kind, push_reason, ts, is_delete). A provider
// retry of the same push has the same identity.
func (p *Push) Identity() uint64 {
	h := fnv.New64a()
	w := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	w(p.MatchKey)
	w(p.MatchPushKind)
	w(p.PushReason)
	w(p.TSText)
	if b := p.Ball; b != nil {
		w(b.BallKey)
		if b.Detail != nil {
			w(b.Detail.UpdatedTimeText)
		}
		if b.IsDelete {
			w("delete")
		}
	}
	return h.Sum64()
}

// Position is the push's position as its record's sc.source.position
// header holds it: its identity in hex.
func (p *Push) Position() string { return strconv.FormatUint(p.Identity(), 16) }

// wire shapes of the push.
type wirePush struct {
	Sport    string    `json:"sport"`
	DataKind string    `json:"data_kind"`
	Data     *wireData `json:"data"`
}

type wireData struct {
	MatchKey      string      `json:"matchkey"`
	Ball          *wireBall   `json:"ball"`
	PushReason    string      `json:"push_reason"`
	MatchPushKind string      `json:"match_push_kind"`
	TS            json.Number `json:"ts"`
}

type wireBall struct {
	BallKey      json.RawMessage `json:"ball_key"`
	Over         int32           `json:"over"`
	BattingOrder int32           `json:"batting_order"`
	IsDelete     bool            `json:"is_delete"`
	Detail       *wireDetail     `json:"detail"`
}

type wireDetail struct {
	Key            json.RawMessage   `json:"key"`
	BallType       string            `json:"ball_type"`
	BattingTeam    string            `json:"batting_team"`
	Comment        string            `json:"comment"`
	Innings        string            `json:"innings"`
	Overs          []int32           `json:"overs"`
	Batsman        *Batsman          `json:"batsman"`
	Bowler         *Bowler           `json:"bowler"`
	TeamScore      *TeamScore        `json:"team_score"`
	Fielders       []json.RawMessage `json:"fielders"`
	Wicket         json.RawMessage   `json:"wicket"`
	NonStrikerKey  string            `json:"non_striker_key"`
	EntryTime      json.Number       `json:"entry_time"`
	BallPlayStatus string            `json:"ball_play_status"`
	BallTags       []string          `json:"ball_tags"`
	UpdatedTime    json.Number       `json:"updated_time"`
	Repr           string            `json:"repr"`
}

// ParsePush parses an inflated push body. An error (wrapping ErrMalformed)
// means the body can never be valid.
func ParsePush(body []byte) (*Push, error) {
	var w wirePush
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: push is not JSON: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the push object", ErrMalformed)
	}
	d := w.Data
	switch {
	case d == nil:
		return nil, fmt.Errorf("%w: push without data", ErrMalformed)
	case d.MatchKey == "":
		return nil, fmt.Errorf("%w: push without data.matchkey", ErrMalformed)
	case d.MatchPushKind == "":
		return nil, fmt.Errorf("%w: push without data.match_push_kind", ErrMalformed)
	}
	ts, err := parseUnix(d.TS)
	if err != nil {
		return nil, fmt.Errorf("%w: data.ts: %v", ErrMalformed, err)
	}
	p := &Push{Sport: w.Sport, DataKind: w.DataKind, MatchKey: d.MatchKey, PushReason: d.PushReason,
		MatchPushKind: d.MatchPushKind, TS: ts, TSText: d.TS.String(), Raw: body}
	if d.Ball != nil {
		b, err := d.Ball.typed()
		if err != nil {
			return nil, err
		}
		p.Ball = b
	} else if d.MatchPushKind == "Ball" {
		return nil, fmt.Errorf("%w: Ball push without data.ball", ErrMalformed)
	}
	return p, nil
}

func (b *wireBall) typed() (*PushBall, error) {
	key := scalarText(b.BallKey)
	if key == "" {
		return nil, fmt.Errorf("%w: ball without ball_key", ErrMalformed)
	}
	out := &PushBall{BallKey: key, Over: b.Over, BattingOrder: b.BattingOrder, IsDelete: b.IsDelete}
	if b.Detail != nil {
		d, err := b.Detail.typed()
		if err != nil {
			return nil, err
		}
		out.Detail = d
	}
	return out, nil
}

func (d *wireDetail) typed() (*BallDetail, error) {
	out := &BallDetail{Key: scalarText(d.Key), BallType: d.BallType, BattingTeam: d.BattingTeam, Comment: d.Comment,
		Innings: d.Innings, Overs: d.Overs, Batsman: d.Batsman, Bowler: d.Bowler, TeamScore: d.TeamScore,
		NonStrikerKey: d.NonStrikerKey, BallPlayStatus: d.BallPlayStatus, BallTags: d.BallTags,
		UpdatedTimeText: d.UpdatedTime.String(), Repr: d.Repr, Fielders: []Fielder{}}
	if out.Overs == nil {
		out.Overs = []int32{}
	}
	if out.BallTags == nil {
		out.BallTags = []string{}
	}
	for _, f := range d.Fielders {
		var k struct {
			PlayerKey string `json:"player_key"`
		}
		if json.Unmarshal(f, &k) != nil {
			// A bare string names the player.
			_ = json.Unmarshal(f, &k.PlayerKey)
		}
		out.Fielders = append(out.Fielders, Fielder{PlayerKey: k.PlayerKey, JSON: string(f)})
	}
	if w := bytes.TrimSpace(d.Wicket); len(w) > 0 && !bytes.Equal(w, []byte("null")) {
		var k struct {
			PlayerKey  string `json:"player_key"`
			WicketType string `json:"wicket_type"`
		}
		if err := json.Unmarshal(w, &k); err != nil {
			return nil, fmt.Errorf("%w: ball detail wicket: %v", ErrMalformed, err)
		}
		out.Wicket = &Wicket{PlayerKey: k.PlayerKey, WicketType: k.WicketType, JSON: string(w)}
	}
	for _, t := range []struct {
		n   json.Number
		dst **time.Time
	}{{d.EntryTime, &out.EntryTime}, {d.UpdatedTime, &out.UpdatedTime}} {
		if t.n == "" {
			continue
		}
		v, err := parseUnix(t.n)
		if err != nil {
			return nil, fmt.Errorf("%w: ball detail time: %v", ErrMalformed, err)
		}
		*t.dst = &v
	}
	return out, nil
}

// scalarText returns a JSON string or number as text ("" for null/absent).
func scalarText(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return ""
	}
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return ""
}

// parseUnix parses seconds since the epoch, possibly fractional, exactly
// (no float rounding beyond nanoseconds).
func parseUnix(n json.Number) (time.Time, error) {
	s := string(n)
	if s == "" {
		return time.Time{}, errors.New("missing")
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, err
		}
		return time.Unix(0, int64(f*1e9)).UTC(), nil
	}
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || sec < 0 || sec > 1<<40 {
		return time.Time{}, fmt.Errorf("%q is not a unix time", s)
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	var nsec int64
	if frac != "" {
		ns, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil || ns < 0 {
			return time.Time{}, fmt.Errorf("%q is not a unix time", s)
		}
		nsec = ns
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// gzipMagic opens every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}

// DecodeBody returns the JSON of a push body: gunzipped when it is gzip
// (by its magic bytes, or Content-Encoding: gzip), as is when it is plain
// JSON. The inflated size is capped at max bytes: a larger body is
// ErrTooLarge, read no further than max+1 bytes.
func DecodeBody(body []byte, contentEncoding string, max int64) ([]byte, error) {
	gz := bytes.HasPrefix(body, gzipMagic)
	if !gz && strings.EqualFold(strings.TrimSpace(contentEncoding), "gzip") {
		return nil, fmt.Errorf("%w: Content-Encoding gzip but the body is not gzip", ErrMalformed)
	}
	if !gz {
		t := bytes.TrimLeft(body, " \t\r\n")
		if len(t) == 0 || t[0] != '{' {
			return nil, fmt.Errorf("%w: body is neither gzip nor a JSON object", ErrMalformed)
		}
		if int64(len(body)) > max {
			return nil, fmt.Errorf("%w: body over %d bytes", ErrTooLarge, max)
		}
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: bad gzip header: %v", ErrMalformed, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: corrupt gzip: %v", ErrMalformed, err)
	}
	if int64(len(out)) > max {
		return nil, fmt.Errorf("%w: inflated body over %d bytes", ErrTooLarge, max)
	}
	return out, nil
}

// identities is a bounded FIFO set of push identities, encoded in the
// source offset as 8 bytes each.
type identities struct {
	max   int
	order []uint64
	set   map[uint64]struct{}
}

func newIdentities(max int) *identities {
	return &identities{max: max, set: make(map[uint64]struct{}, max)}
}

func (s *identities) has(id uint64) bool { _, ok := s.set[id]; return ok }

// add adds id, evicting the oldest beyond max.
func (s *identities) add(id uint64) {
	if s.has(id) {
		return
	}
	s.order = append(s.order, id)
	s.set[id] = struct{}{}
	for len(s.order) > s.max {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
}

// remove forgets id (a push whose transaction aborted).
func (s *identities) remove(id uint64) {
	if !s.has(id) {
		return
	}
	delete(s.set, id)
	for i, v := range s.order {
		if v == id {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			break
		}
	}
}

// encode returns the identities, oldest first, as 8 big-endian bytes each.
func (s *identities) encode() []byte {
	b := make([]byte, 0, 8*len(s.order))
	for _, id := range s.order {
		b = binary.BigEndian.AppendUint64(b, id)
	}
	return b
}

// decodeIdentities reverses encode.
func decodeIdentities(b []byte, max int) (*identities, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("identity set of %d bytes is not a multiple of 8", len(b))
	}
	s := newIdentities(max)
	for i := 0; i+8 <= len(b); i += 8 {
		s.add(binary.BigEndian.Uint64(b[i:]))
	}
	return s, nil
}

// maxEventAge bounds how far behind the receive time a provider's event
// time may be and still be taken as the start of the commit lag.
const maxEventAge = time.Hour

// eventTime returns the provider's event time for the commit lag: its own
// timestamp when it is plausible (not after receipt, at most maxEventAge
// before it), else the receive time. A provider clock off by hours (or
// the simulator's replayed timeline) would otherwise turn the lag series
// into clock skew.
func eventTime(provider, received time.Time) time.Time {
	if provider.IsZero() || provider.After(received) || received.Sub(provider) > maxEventAge {
		return received
	}
	return provider
}
