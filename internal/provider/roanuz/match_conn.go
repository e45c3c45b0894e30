package roanuz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/backoff"
	"github.com/seed-474f70f7/sportsconnect/internal/socketio"
	"go.uber.org/zap"
)

// slot is one Socket.IO connection of the task and the matches it carries
// (at most roanuz.matches.per.connection).
type slot struct {
	id      int
	matches []string      // guarded by MatchTask.mu
	restart chan struct{} // a match was added: rejoin with the new set
}

// place follows m on the first connection with room, opening a new one
// within the task's budget; false when there is no room.
func (t *MatchTask) place(m string) bool {
	t.mu.Lock()
	if _, ok := t.followed[m]; ok {
		t.mu.Unlock()
		return true
	}
	var s *slot
	for _, x := range t.slots {
		if len(x.matches) < t.cfg.perConn {
			s = x
			break
		}
	}
	opened := false
	if s == nil {
		if len(t.slots) >= t.budget {
			t.mu.Unlock()
			return false
		}
		s = &slot{id: len(t.slots), restart: make(chan struct{}, 1)}
		t.slots = append(t.slots, s)
		opened = true
	}
	s.matches = append(s.matches, m)
	t.followed[m] = s
	t.mu.Unlock()
	if opened {
		t.wg.Add(1)
		go t.connection(s)
		return true
	}
	select {
	case s.restart <- struct{}{}:
	default:
	}
	return true
}

// unplace stops following m. Its connection is not reopened for that: the
// server stops sending once m is unsubscribed, Poll drops what still comes,
// and the next session does not join it.
func (t *MatchTask) unplace(m string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.followed[m]
	if s == nil {
		return
	}
	delete(t.followed, m)
	s.matches = slices.DeleteFunc(s.matches, func(x string) bool { return x == m })
}

// roomFor reports whether n more matches can be followed.
func (t *MatchTask) roomFor(n int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.followed)+n <= t.budget*t.cfg.perConn
}

// group returns the matches s should join now: followed, not completed.
func (t *MatchTask) group(s *slot) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, m := range s.matches {
		if !t.completed[m] {
			out = append(out, m)
		}
	}
	return out
}

// connection keeps slot s's Socket.IO connection while it has matches,
// reconnecting with exponential backoff and jitter after a drop (one log
// line per reconnect, with its cause), at once after a deliberate rejoin.
// The backoff starts over after a session that lasted more than 10 s.
func (t *MatchTask) connection(s *slot) {
	defer t.wg.Done()
	bo := backoff.New(t.cfg.backoffInitial, t.cfg.backoffMax)
	dropped := false
	for t.ctx.Err() == nil {
		group := t.group(s)
		if len(group) == 0 {
			select {
			case <-t.ctx.Done():
				return
			case <-s.restart:
				continue
			}
		}
		sctx, cancel := context.WithCancel(t.ctx)
		restarted := make(chan struct{})
		go func() {
			select {
			case <-s.restart:
				close(restarted)
				cancel()
			case <-sctx.Done():
			}
		}()
		began := time.Now()
		err := t.session(sctx, group, dropped)
		cancel()
		if t.ctx.Err() != nil {
			return
		}
		select {
		case <-restarted:
			err = errRejoin
		default:
			select {
			case <-s.restart: // the new set is joined next anyway
			default:
			}
		}
		if errors.Is(err, errRejoin) {
			t.log.Info("roanuz socket rejoining", zap.Int("connection", s.id), zap.Strings("match", t.group(s)), zap.String("why", err.Error()))
			dropped = false
			continue
		}
		dropped = true
		if time.Since(began) > 10*time.Second {
			bo.Reset()
		}
		wait := bo.Next()
		t.log.Warn("roanuz socket reconnecting", zap.Int("connection", s.id), zap.Strings("match", group), zap.Error(err), zap.Duration("backoff", wait))
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

var errRejoin = errors.New("matches added: re-joining with the new set")

// version returns the Engine.IO version to dial: the configured one, or
// with auto the one that worked last.
func (t *MatchTask) version() socketio.Version {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.eio
}

// setVersion remembers the version that worked (auto only); V == Auto forgets it.
func (t *MatchTask) setVersion(v socketio.Version) {
	if t.cfg.engineIO != socketio.Auto {
		return
	}
	t.mu.Lock()
	t.eio = v
	t.mu.Unlock()
}

// session runs one connection: subscribe, dial, join, fetch over REST, then
// wait for its end, renewing the token on the open connection when due.
// reconnect says the previous session of the slot dropped.
func (t *MatchTask) session(ctx context.Context, group []string, reconnect bool) error {
	first, err := t.client.Token(ctx)
	if err != nil {
		return err
	}
	tok := &sessionToken{v: first}
	for _, m := range group {
		if err := t.subscribeIfFollowed(ctx, m); err != nil {
			return fmt.Errorf("subscribing %s: %w", m, err)
		}
	}
	ended := make(chan error, 1)
	end := func(err error) {
		select {
		case ended <- err:
		default:
		}
	}
	// The handlers may run before Dial returns: they reach the client
	// through conn, which waits for it.
	var c *socketio.Client
	ready := make(chan struct{})
	conn := func() *socketio.Client {
		select {
		case <-ready:
			return c
		case <-ctx.Done():
			return nil
		}
	}
	resubscribed := map[string]bool{} // the dispatcher's only
	onError := func(args []socketio.Arg) {
		s, e := decodeOnError(args)
		switch {
		case e.MatchKey != "" && !slices.Contains(group, e.MatchKey):
			t.log.Debug("roanuz on_error for a match not joined here; ignored", zap.String("match", e.MatchKey), zap.String("error", e.Error))
		case e.MatchKey != "" && (!t.isFollowed(e.MatchKey) || t.isCompleted(e.MatchKey)):
			t.log.Debug("roanuz on_error for a released match; ignored", zap.String("match", e.MatchKey), zap.String("error", e.Error))
		case strings.Contains(e.Error, "subscribed") && e.MatchKey != "" && !resubscribed[e.MatchKey]:
			resubscribed[e.MatchKey] = true
			t.log.Warn("roanuz match not subscribed; subscribing and joining again", zap.String("match", e.MatchKey))
			if err := t.subscribeIfFollowed(ctx, e.MatchKey); err != nil {
				end(fmt.Errorf("re-subscribing %s: %w", e.MatchKey, err))
				return
			}
			if c := conn(); c != nil {
				_ = c.Emit(ctx, "connect_to_match", map[string]string{"token": tok.get(), "match_key": e.MatchKey})
			}
		case strings.Contains(e.Error, "token"):
			t.client.invalidate(tok.get())
			end(fmt.Errorf("%w: on_error %s", ErrUnauthorized, e.Error))
		default:
			end(fmt.Errorf("roanuz on_error: %s", firstNonEmpty(s, e.Error)))
		}
	}
	onUpdate := func(args []socketio.Arg) {
		msg := streamMsg{source: sourceSocket, received: time.Now()}
		if len(args) == 0 {
			msg.err = fmt.Errorf("%w: on_match_update without argument", ErrMalformed)
		} else {
			msg.raw = args[0].JSON
			if args[0].IsBinary() {
				msg.raw = args[0].Binary
			}
			msg.doc, msg.err = DecodeUpdate(args[0], t.cfg.updateMax)
		}
		t.enqueue(ctx, msg)
	}
	version := t.version()
	c, err = socketio.Dial(ctx, t.cfg.socketURL, socketio.WithPath("/v5/websocket"), socketio.WithNamespace("/cricket"),
		socketio.WithVersion(version), socketio.WithLogger(t.log), socketio.WithMaxPayload(int(t.cfg.updateMax)),
		socketio.WithHandler("on_match_update", onUpdate), socketio.WithHandler("on_error", onError))
	if err != nil {
		if version != t.cfg.engineIO {
			t.setVersion(socketio.Auto) // the server may have changed: try both again
		}
		return fmt.Errorf("connecting to %s: %w", t.cfg.socketURL, err)
	}
	close(ready)
	defer c.Close()
	t.setVersion(c.Version())
	if reconnect {
		t.metrics.Reconnected()
	}
	if err := t.join(ctx, c, group, tok.get()); err != nil {
		return err
	}
	// An update missed while disconnected is still written: fetch each
	// match over REST. Poll writes the answer only if no socket update of
	// the match was received after the request was sent (match_order.go).
	for _, m := range group {
		sent := t.q.received()
		doc, err := t.client.Match(ctx, m)
		if err != nil {
			return fmt.Errorf("fetching %s over REST: %w", m, err)
		}
		t.enqueue(ctx, streamMsg{doc: doc, raw: doc, source: sourceREST, received: time.Now(), seq: sent})
	}
	renew := time.NewTimer(renewIn(t.client.TokenExpires()))
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.Done():
			return fmt.Errorf("connection ended: %w", c.Err())
		case err := <-ended:
			return err
		case <-renew.C:
			// connect_to_match is how a token reaches the server: joining
			// again with a fresh one keeps the connection, and with it
			// every update (no catch-up needed). A server that refuses it
			// answers on_error, which ends the session as before.
			t.client.invalidate(tok.get())
			fresh, err := t.client.Token(ctx)
			if err != nil {
				return fmt.Errorf("renewing the token: %w", err)
			}
			tok.set(fresh)
			joined := t.joinable(group)
			if err := t.join(ctx, c, joined, fresh); err != nil {
				return err
			}
			exp := t.client.TokenExpires()
			t.log.Info("roanuz token renewed on the open connection", zap.Strings("match", joined), zap.Time("expires", exp))
			renew.Reset(renewIn(exp))
		}
	}
}

// join emits connect_to_match for each of ms with tok.
func (t *MatchTask) join(ctx context.Context, c *socketio.Client, ms []string, tok string) error {
	for _, m := range ms {
		if err := c.Emit(ctx, "connect_to_match", map[string]string{"token": tok, "match_key": m}); err != nil {
			return fmt.Errorf("joining %s: %w", m, err)
		}
	}
	return nil
}

// joinable returns the matches of group still followed and not completed.
func (t *MatchTask) joinable(group []string) []string {
	var out []string
	for _, m := range group {
		if t.isFollowed(m) && !t.isCompleted(m) {
			out = append(out, m)
		}
	}
	return out
}

// renewIn returns when to renew a token expiring at exp: after 80% of its
// remaining life (the client's Token renews after 80% of its life).
func renewIn(exp time.Time) time.Duration {
	return max(200*time.Millisecond, time.Until(exp)*8/10)
}

// sessionToken is the token a session joined with, renewed while the
// handlers read it.
type sessionToken struct {
	mu sync.Mutex
	v  string
}

func (s *sessionToken) get() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v
}

func (s *sessionToken) set(v string) {
	s.mu.Lock()
	s.v = v
	s.mu.Unlock()
}

// onErrorArg is the argument of on_error: a JSON string holding an object
// (as Roanuz documents it), or the object itself.
type onErrorArg struct {
	Error    string `json:"error"`
	MatchKey string `json:"match_key"`
}

func decodeOnError(args []socketio.Arg) (string, onErrorArg) {
	var s string
	var e onErrorArg
	if len(args) > 0 {
		if args[0].Decode(&s) == nil {
			_ = json.Unmarshal([]byte(s), &e)
		} else {
			_ = args[0].Decode(&e)
		}
	}
	return s, e
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
