package imgarena

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/backoff"
	"go.uber.org/zap"
)

// counters are a task's protocol counters, shared by its fixture streams.
type counters struct {
	connects, reconnects, seqErrors, silences, authFailures, serverErrors, malformed, actions, statuses, finished atomic.Int64
	live, liveness, replayed, repeats, brokenFilled                                                               atomic.Int64
}

// fixtureStream follows one fixture's actions WebSocket: it connects with
// startPosition = the last position handed on, authenticates, checks
// fixtureSeqNum, hands records on, and reconnects with backoff. Its
// resume state (position, seq, last, since, before) is what the offset of
// each record holds (see offset).
type fixtureStream struct {
	t        *Task
	fixture  string
	part     connector.Partition
	key      []byte
	position int64 // last event handed on
	seq      int64 // its fixtureSeqNum
	// lastKey and lastActionID identify the event at position (actionKey
	// or brokenEventKey, and its actionId if it had one): a server that
	// reads startPosition as 1-based sends it again first.
	lastKey, lastActionID string
	// since holds the keys (packetKey) of the status and dead-letter packets
	// handed on after event position, in order. They go into the offset, so
	// a connection resuming at position skips them when the server sends
	// them again before the next event: exactly once, like the events.
	since []string
	// before holds since as it was when event position was handed on: the
	// packets between the event before it and it, which a server reading
	// startPosition as 1-based sends again before repeating that event.
	before []string
	// suspect is the gap, seen on an earlier connection, that broken action
	// frames without a readable fixtureSeqNum stood in (see fillGap).
	suspect *brokenSlots
	log     *zap.Logger
}

// run follows the fixture until it finishes (nil) or ctx ends.
func (f *fixtureStream) run(ctx context.Context) error {
	cfg := &f.t.cfg
	delay := backoff.New(cfg.backoffInitial, cfg.backoffMax)
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			f.t.stats.reconnects.Add(1)
			f.t.metrics.Reconnected()
		}
		f.t.stats.connects.Add(1)
		progressed, err := f.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrFinished) {
			// FixtureDone comes with the commit of the finishing record
			// (actionRecord), after the last lag sample: called here, the
			// lag series of the records still in flight would come back.
			f.t.stats.finished.Add(1)
			f.log.Info("fixture finished; connection closed", zap.Int64("position", f.position))
			return nil
		}
		// A connection that delivered something is no failure: its wait,
		// and the next one, start over from the initial delay; each
		// connection that delivered nothing doubles the next wait.
		if progressed {
			delay.Reset()
		}
		wait := delay.Next()
		if progressed {
			delay.Reset()
		}
		lvl, msg := zap.InfoLevel, "reconnecting"
		switch {
		case errors.Is(err, ErrUnauthorized):
			// The operator has to act: say so plainly, name the fixture
			// (the logger carries it) and never the token.
			f.t.stats.authFailures.Add(1)
			lvl, msg = zap.ErrorLevel, "imgarena refused the auth token for this fixture; check imgarena.auth.token (retrying with backoff)"
		case errors.Is(err, ErrSequence):
			f.t.stats.seqErrors.Add(1)
			f.t.metrics.SequenceGap(0) // the gap's size is in the error; a reorder has none
			lvl = zap.WarnLevel
		case errors.Is(err, ErrSilence):
			f.t.stats.silences.Add(1)
			lvl = zap.WarnLevel
		case errors.Is(err, ErrServerError):
			f.t.stats.serverErrors.Add(1)
			lvl = zap.WarnLevel
		}
		if ce := f.log.Check(lvl, msg); ce != nil {
			ce.Write(zap.Error(err), zap.Int64("start_position", f.position), zap.Duration("backoff", wait))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// session runs one connection. It reports whether any action or status
// packet arrived, and why the connection ended.
func (f *fixtureStream) session(ctx context.Context) (progressed bool, err error) {
	cfg := &f.t.cfg
	u := cfg.streamURL(f.fixture, f.position)
	conn, resp, err := f.t.dialer.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return false, fmt.Errorf("%w (fixture %s): dialing %s: HTTP %d", ErrUnauthorized, f.fixture, u, resp.StatusCode)
		}
		return false, fmt.Errorf("dialing %s: %w", u, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	conn.SetReadLimit(cfg.frameMax)
	auth, _ := json.Marshal(map[string]string{"authToken": cfg.token})
	_ = conn.SetWriteDeadline(time.Now().Add(cfg.silence))
	if err := conn.WriteMessage(websocket.TextMessage, auth); err != nil {
		return false, fmt.Errorf("sending the auth token: %w", err)
	}
	cs := f.newConnSeq()
	authorised := false
	authorise := func() {
		if !authorised {
			authorised = true
			f.t.stats.live.Add(1)
		}
	}
	defer func() {
		if authorised {
			f.t.stats.live.Add(-1)
		}
	}()
	for {
		_ = conn.SetReadDeadline(time.Now().Add(cfg.silence))
		msg, err := f.t.readFrame(conn)
		if err != nil {
			return progressed, f.readError(err, authorised)
		}
		received := time.Now()
		p, perr := parsePacket(msg)
		if perr != nil {
			f.t.stats.malformed.Add(1)
			if n, from, to, ok := seqSpan(msg); ok { // an event, if a broken one
				err = f.event(ctx, cs, event{seq: n, key: brokenEventKey(msg, from, to), raw: msg, broken: perr}, received)
			} else {
				err = f.brokenFrame(ctx, cs, p.kind, msg, perr, received)
			}
			if err != nil {
				return progressed, err
			}
			continue
		}
		switch p.kind {
		case kindLiveness:
			authorise()
			f.t.stats.liveness.Add(1)
		case kindError:
			reason := redact(p.errMsg, cfg.token) // a server may echo what it refused
			if p.isAuthError(authorised) {
				return progressed, fmt.Errorf("%w (fixture %s): %s", ErrUnauthorized, f.fixture, reason)
			}
			return progressed, fmt.Errorf("%w (fixture %s): %s", ErrServerError, f.fixture, reason)
		case kindStatus:
			authorise()
			key := packetKey(msg)
			if cs.replay(key) {
				f.t.stats.replayed.Add(1)
				continue
			}
			progressed = true
			f.remember(key)
			f.t.stats.statuses.Add(1)
			if err := f.emit(ctx, f.statusRecord(p.status, msg, received)); err != nil {
				return progressed, err
			}
		case kindAction:
			authorise()
			progressed = true
			ev := event{seq: p.seq, key: actionKey(p.action), actionID: p.action.FixtureAction.ActionID.s, raw: msg, p: &p}
			if err := f.event(ctx, cs, ev, received); err != nil {
				return progressed, err
			}
		}
	}
}

// readError names why reading ended.
func (f *fixtureStream) readError(err error, authorised bool) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: no packet for %s", ErrSilence, f.t.cfg.silence)
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		l, text := strings.ToLower(ce.Text), redact(ce.Text, f.t.cfg.token)
		if ce.Code == websocket.ClosePolicyViolation || ce.Code == 4001 || ce.Code == 4003 ||
			strings.Contains(l, "token") || strings.Contains(l, "unauthori") {
			return fmt.Errorf("%w (fixture %s): server closed the connection (%d %s)", ErrUnauthorized, f.fixture, ce.Code, text)
		}
		return fmt.Errorf("server closed the connection (%d %s)", ce.Code, text)
	}
	if !authorised {
		return fmt.Errorf("connection closed before the server answered the auth token: %w", err)
	}
	return fmt.Errorf("reading: %w", err)
}

// packetKey identifies a packet by its bytes: a server replaying a status
// to a resumed connection sends the same packet, timestamp included.
func packetKey(msg []byte) string {
	h := fnv.New64a()
	h.Write(bytes.TrimSpace(msg))
	return strconv.FormatUint(h.Sum64(), 16)
}

// redact removes secret from text that came from the server.
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// actionRecord is the record of action p at position pos, the stream's
// resume state already advanced to it.
func (f *fixtureStream) actionRecord(p packet, pos int64, raw []byte, received time.Time) *connector.SourceRecord {
	o := f.offset()
	if p.finished {
		o["finished"] = true
	}
	a := newAction(f.fixture, f.t.cfg.sport, pos, p.action, raw, received)
	rec := &connector.SourceRecord{
		Partition: f.part, Offset: o, Topic: f.t.actionsTopic, Key: f.key,
		Value:   a,
		Schema:  f.t.actionSchema,
		Raw:     raw,
		Headers: connector.SourceHeaders(Class, strconv.FormatInt(pos, 10), received), Timestamp: received,
	}
	m, fixture, finished := f.t.metrics, f.fixture, p.finished
	var at *time.Time
	if a.EventTime != nil {
		at = a.EventTime // provider event time to commit, per fixture (the lag histogram)
	}
	if at != nil || finished {
		rec.OnCommit = func(err error) {
			if err != nil {
				return
			}
			if at != nil {
				m.CommitLag(fixture, time.Since(*at))
			}
			if finished {
				m.FixtureDone(fixture) // after its last lag sample: the series goes for good
			}
		}
	}
	return rec
}

func (f *fixtureStream) statusRecord(st *wireStatus, raw []byte, received time.Time) *connector.SourceRecord {
	return &connector.SourceRecord{
		Partition: f.part, Offset: f.offset(), Topic: f.t.statusTopic, Key: f.key,
		Value:   newStatus(f.fixture, f.t.cfg.sport, f.position, st, raw, received),
		Schema:  f.t.statusSchema,
		Raw:     raw,
		Headers: connector.SourceHeaders(Class, strconv.FormatInt(f.position, 10), received), Timestamp: received,
	}
}

func (f *fixtureStream) deadLetter(raw []byte, err error, received time.Time) *connector.SourceRecord {
	return &connector.SourceRecord{
		Partition: f.part, Offset: f.offset(), Topic: f.t.actionsTopic, Key: f.key, Raw: raw,
		Headers: connector.SourceHeaders(Class, strconv.FormatInt(f.position, 10), received), Timestamp: received,
		DeadLetter: &connector.DeadLetter{Raw: raw, Err: fmt.Errorf("fixture %s: %w", f.fixture, err), Stage: connector.StageTaskPoll},
	}
}

// maxFixturesBody caps the Fixtures REST API response.
const maxFixturesBody = 16 << 20

// fetchFixtures asks the Fixtures REST API for the live, subscribed fixtures.
func fetchFixtures(ctx context.Context, hc *http.Client, cfg *config) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.fixturesURL(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: building request: %w", ErrFixturesAPI, err)
	}
	req.Header.Set("Authorization", "Bearer "+cfg.token)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrFixturesAPI, cfg.fixturesURL(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFixturesBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %w", ErrFixturesAPI, cfg.fixturesURL(), err)
	}
	if len(body) > maxFixturesBody {
		return nil, fmt.Errorf("%w: response of %s larger than %d bytes", ErrFixturesAPI, cfg.fixturesURL(), maxFixturesBody)
	}
	snippet := redact(string(body[:min(len(body), 200)]), cfg.token)
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%w: GET %s: HTTP %d: %s", ErrUnauthorized, cfg.fixturesURL(), resp.StatusCode, snippet)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("%w: GET %s: HTTP %d: %s", ErrFixturesAPI, cfg.fixturesURL(), resp.StatusCode, snippet)
	}
	ids, err := parseFixtures(body)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrFixturesAPI, cfg.fixturesURL(), err)
	}
	return ids, nil
}

// parseFixtures reads fixture ids from an array of fixture objects, or an
// object holding one under fixtures, data, items or content.
func parseFixtures(body []byte) ([]string, error) {
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		var obj map[string]json.RawMessage
		if err2 := json.Unmarshal(body, &obj); err2 != nil {
			return nil, fmt.Errorf("%w: fixtures response is neither an array nor an object: %v", ErrMalformed, err)
		}
		found := false
		for _, k := range []string{"fixtures", "data", "items", "content"} {
			if v, ok := obj[k]; ok && json.Unmarshal(v, &list) == nil {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%w: fixtures response object has no fixtures array", ErrMalformed)
		}
	}
	ids := make([]string, 0, len(list))
	for i, fx := range list {
		var id flexString
		if err := json.Unmarshal(fx["id"], &id); err != nil || !id.ok || id.s == "" || strings.ContainsAny(id.s, "/?#{}[] ") {
			return nil, fmt.Errorf("%w: fixture %d has no usable id", ErrMalformed, i)
		}
		ids = append(ids, id.s)
	}
	return ids, nil
}

// maxPooledFrame is the largest read buffer that goes back to the task's
// pool; one grown by a larger frame (up to imgarena.frame.max.bytes) is
// dropped.
const maxPooledFrame = 64 << 10

// readFrame reads the next message whole, as conn.ReadMessage does, into a
// buffer of the task's pool, and returns a copy of its exact size: the
// io.ReadAll under ReadMessage grows a new slice from 512 bytes for every
// frame, which cost as much CPU as the rest of reading it. The copy is
// the frame's own (sharedString's invariant).
func (t *Task) readFrame(conn *websocket.Conn) ([]byte, error) {
	_, r, err := conn.NextReader()
	if err != nil {
		return nil, err
	}
	buf, _ := t.frames.Get().(*bytes.Buffer)
	if buf == nil {
		buf = &bytes.Buffer{}
	}
	buf.Reset()
	var msg []byte
	if _, err = buf.ReadFrom(r); err == nil {
		msg = append([]byte{}, buf.Bytes()...)
	}
	if buf.Cap() <= maxPooledFrame {
		t.frames.Put(buf)
	}
	return msg, err
}
