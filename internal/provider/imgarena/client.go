package imgarena

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"go.uber.org/zap"
)

// counters are a task's protocol counters, shared by its fixture streams.
type counters struct {
	connects, reconnects, seqErrors, silences, authFailures, serverErrors, malformed, actions, statuses, finished atomic.Int64
}

// fixtureStream follows one fixture's actions WebSocket: it connects with
// startPosition = the last position handed on, authenticates, checks
// fixtureSeqNum, hands records on, and reconnects with backoff.
type fixtureStream struct {
	t        *Task
	fixture  string
	part     connector.Partition
	key      []byte
	position int64 // last event handed on
	seq      int64 // its fixtureSeqNum
	log      *zap.Logger
}

// run follows the fixture until it finishes (nil) or ctx ends.
func (f *fixtureStream) run(ctx context.Context) error {
	cfg := &f.t.cfg
	backoff := cfg.backoffInitial
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			f.t.stats.reconnects.Add(1)
		}
		f.t.stats.connects.Add(1)
		progressed, err := f.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrFinished) {
			f.t.stats.finished.Add(1)
			f.log.Info("fixture finished; connection closed", zap.Int64("position", f.position))
			return nil
		}
		if progressed {
			backoff = cfg.backoffInitial
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		lvl := zap.InfoLevel
		switch {
		case errors.Is(err, ErrUnauthorized):
			f.t.stats.authFailures.Add(1)
			lvl = zap.ErrorLevel
		case errors.Is(err, ErrSequence):
			f.t.stats.seqErrors.Add(1)
			lvl = zap.WarnLevel
		case errors.Is(err, ErrSilence):
			f.t.stats.silences.Add(1)
			lvl = zap.WarnLevel
		case errors.Is(err, ErrServerError):
			f.t.stats.serverErrors.Add(1)
			lvl = zap.WarnLevel
		}
		if ce := f.log.Check(lvl, "reconnecting"); ce != nil {
			ce.Write(zap.Error(err), zap.Int64("start_position", f.position), zap.Duration("backoff", wait))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		if !progressed {
			backoff = min(backoff*2, cfg.backoffMax)
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
			return false, fmt.Errorf("%w: dialing %s: HTTP %d", ErrUnauthorized, u, resp.StatusCode)
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
	start := f.position
	var lastSeq int64
	authorised := false
	malformedPending := int64(0)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(cfg.silence))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return progressed, f.readError(err, authorised)
		}
		received := time.Now()
		p, perr := parsePacket(msg)
		if perr != nil {
			f.t.stats.malformed.Add(1)
			if n, ok := scanSeq(msg); ok && n == lastSeq+1 {
				lastSeq, f.position, f.seq = n, start+n, n
			} else {
				malformedPending++
			}
			f.log.Warn("malformed packet sent to the dead-letter path", zap.Error(perr), zap.Int("bytes", len(msg)), zap.Int64("position", f.position))
			if err := f.emit(ctx, f.deadLetter(msg, perr, received)); err != nil {
				return progressed, err
			}
			continue
		}
		switch p.kind {
		case kindLiveness:
			authorised = true
		case kindError:
			if p.isAuthError(authorised) {
				return progressed, fmt.Errorf("%w (fixture %s): %s", ErrUnauthorized, f.fixture, p.errMsg)
			}
			return progressed, fmt.Errorf("%w (fixture %s): %s", ErrServerError, f.fixture, p.errMsg)
		case kindStatus:
			authorised, progressed = true, true
			f.t.stats.statuses.Add(1)
			if err := f.emit(ctx, f.statusRecord(p.status, msg, received)); err != nil {
				return progressed, err
			}
		case kindAction:
			authorised, progressed = true, true
			want := lastSeq + 1
			if p.seq != want {
				if p.seq < want || p.seq-want > malformedPending {
					return progressed, fmt.Errorf("%w: fixture %s: got fixtureSeqNum %d, want %d; resuming from position %d",
						ErrSequence, f.fixture, p.seq, want, f.position)
				}
			}
			malformedPending = 0
			lastSeq = p.seq
			f.t.stats.actions.Add(1)
			rec := f.actionRecord(p, start+p.seq, msg, received)
			if err := f.emit(ctx, rec); err != nil {
				return progressed, err
			}
			f.position, f.seq = start+p.seq, p.seq
			if p.finished {
				return progressed, ErrFinished
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
		l := strings.ToLower(ce.Text)
		if ce.Code == websocket.ClosePolicyViolation || ce.Code == 4001 || ce.Code == 4003 ||
			strings.Contains(l, "token") || strings.Contains(l, "unauthori") {
			return fmt.Errorf("%w: server closed the connection (%d %s)", ErrUnauthorized, ce.Code, ce.Text)
		}
		return fmt.Errorf("server closed the connection (%d %s)", ce.Code, ce.Text)
	}
	if !authorised {
		return fmt.Errorf("connection closed before the server answered the auth token: %w", err)
	}
	return fmt.Errorf("reading: %w", err)
}

func (f *fixtureStream) emit(ctx context.Context, rec *connector.SourceRecord) error {
	select {
	case f.t.out <- rec:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fixtureStream) offset(finished bool) connector.Offset {
	o := connector.Offset{"position": f.position, "seq": f.seq}
	if finished {
		o["finished"] = true
	}
	return o
}

func (f *fixtureStream) actionRecord(p packet, pos int64, raw []byte, received time.Time) *connector.SourceRecord {
	o := connector.Offset{"position": pos, "seq": p.seq}
	if p.finished {
		o["finished"] = true
	}
	return &connector.SourceRecord{
		Partition: f.part, Offset: o, Topic: f.t.actionsTopic, Key: f.key,
		Value:   newAction(f.fixture, f.t.cfg.sport, pos, p.action, raw, received),
		Schema:  f.t.actionSchema,
		Raw:     raw,
		Headers: connector.SourceHeaders(Class, strconv.FormatInt(pos, 10), received), Timestamp: received,
	}
}

func (f *fixtureStream) statusRecord(st *wireStatus, raw []byte, received time.Time) *connector.SourceRecord {
	return &connector.SourceRecord{
		Partition: f.part, Offset: f.offset(false), Topic: f.t.statusTopic, Key: f.key,
		Value:   newStatus(f.fixture, f.t.cfg.sport, f.position, st, raw, received),
		Schema:  f.t.statusSchema,
		Raw:     raw,
		Headers: connector.SourceHeaders(Class, strconv.FormatInt(f.position, 10), received), Timestamp: received,
	}
}

func (f *fixtureStream) deadLetter(raw []byte, err error, received time.Time) *connector.SourceRecord {
	return &connector.SourceRecord{
		Partition: f.part, Offset: f.offset(false), Topic: f.t.actionsTopic, Key: f.key, Raw: raw,
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
	snippet := string(body[:min(len(body), 200)])
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
