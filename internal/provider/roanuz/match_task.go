package roanuz

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/socketio"
	"go.uber.org/zap"
)

// MatchPlugin returns the roanuz.match plugin description.
func MatchPlugin() connector.Plugin {
	return connector.Plugin{
		Class: ClassMatch,
		Doc:   "Roanuz cricket match stream over Socket.IO: match documents and their new balls",
		Spec:  MatchSpec(),
		New:   func(log *zap.Logger) connector.Connector { return &MatchConnector{log: log} },
	}
}

// MatchConnector splits the configured matches over tasks.
type MatchConnector struct {
	log                   *zap.Logger
	cfg                   connector.Config
	matches               []string
	matchTopic, ballTopic string
}

// Start implements connector.Connector.
func (c *MatchConnector) Start(_ context.Context, cfg connector.Config) error {
	mc, err := parseMatchConfig(cfg)
	if err != nil {
		return err
	}
	set := connector.ParseSettings(cfg)
	c.cfg, c.matches, c.matchTopic, c.ballTopic = cfg, mc.matches, set.Topic(TopicMatches), set.Topic(TopicBalls)
	return nil
}

// Topics implements connector.Connector.
func (c *MatchConnector) Topics() []connector.TopicSpec {
	return []connector.TopicSpec{{Name: c.matchTopic, Schema: MatchSchema, Compact: true}, {Name: c.ballTopic, Schema: BallSchema}}
}

// TaskConfigs implements connector.Connector: matches dealt round-robin.
func (c *MatchConnector) TaskConfigs(maxTasks int) ([]connector.Config, error) {
	n := min(maxTasks, len(c.matches))
	out := make([]connector.Config, n)
	shares := make([][]string, n)
	for i, m := range c.matches {
		shares[i%n] = append(shares[i%n], m)
	}
	for i := range out {
		out[i] = c.cfg.Clone()
		out[i][KeyMatches] = strings.Join(shares[i], ",")
	}
	return out, nil
}

// NewTask implements connector.Connector.
func (c *MatchConnector) NewTask() connector.SourceTask {
	return &MatchTask{matchTopic: c.matchTopic, ballTopic: c.ballTopic}
}

// Stop implements connector.Connector.
func (c *MatchConnector) Stop() error { return nil }

// Offset keys of a match partition of the stream.
const (
	offsetEtag      = "etag"
	offsetHash      = "hash"
	offsetBalls     = "balls"
	offsetCompleted = "completed"
	offsetUpdates   = "updates"
	offsetDocs      = "docs"
)

var invalidStream = connector.NewPartition(map[string]any{"stream": "invalid"})

// streamMsg is one match document (or an undecodable update) on its way to Poll.
type streamMsg struct {
	doc, raw []byte
	source   string
	err      error
	received time.Time
}

// matchState is what Poll knows of one match: the last written content.
type matchState struct {
	p          connector.Partition
	key        []byte
	etag, hash string
	balls      *identities
	docs       *identities // recent content hashes written
	completed  bool
	updates    int64
}

// MatchTask follows its matches over Socket.IO.
type MatchTask struct {
	matchTopic, ballTopic string
	cfg                   matchConfig
	tc                    *connector.TaskContext
	log                   *zap.Logger
	client                *Client
	queue                 chan streamMsg
	states                map[string]*matchState // Poll only

	mu        sync.Mutex
	completed map[string]bool // shared with the connections
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// Start implements connector.SourceTask.
func (t *MatchTask) Start(ctx context.Context, tc *connector.TaskContext) error {
	cfg, err := parseMatchConfig(tc.Config)
	if err != nil {
		return err
	}
	t.cfg, t.tc, t.log = cfg, tc, tc.Logger
	t.client = NewClient(cfg.apiURL, cfg.project, cfg.apiKey, nil, t.log)
	t.queue = make(chan streamMsg, cfg.queue)
	t.states, t.completed = map[string]*matchState{}, map[string]bool{}
	if _, err := t.client.Token(ctx); err != nil {
		if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrProjectInactive) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound) {
			return connector.Permanent(fmt.Errorf("roanuz auth: %w", err))
		}
		return err
	}
	var open, done []string
	for _, m := range cfg.matches {
		if st := t.state(m); st.completed {
			done = append(done, m)
			continue
		}
		open = append(open, m)
	}
	t.ctx, t.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, m := range done {
		t.complete(m) // a crash may have come between the commit and the unsubscribe
	}
	for i := 0; i < len(open); i += cfg.perConn {
		group := open[i:min(i+cfg.perConn, len(open))]
		t.wg.Add(1)
		go t.connection(group)
	}
	t.log.Info("roanuz match task started", zap.Int("matches", len(cfg.matches)), zap.Int("open", len(open)),
		zap.Int("connections", (len(open)+cfg.perConn-1)/cfg.perConn))
	return nil
}

// connection keeps one Socket.IO connection for group, reconnecting with
// exponential backoff and jitter, one log line per reconnect.
func (t *MatchTask) connection(group []string) {
	defer t.wg.Done()
	delay := t.cfg.backoffInitial
	for t.ctx.Err() == nil {
		began := time.Now()
		err := t.session(group)
		if t.ctx.Err() != nil {
			return
		}
		if time.Since(began) > 10*time.Second {
			delay = t.cfg.backoffInitial
		}
		wait := delay/2 + rand.N(delay/2+1)
		t.log.Warn("roanuz socket reconnecting", zap.Strings("match", group), zap.Error(err), zap.Duration("backoff", wait))
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(wait):
		}
		delay = min(2*delay, t.cfg.backoffMax)
	}
}

var errRenew = errors.New("token renewal due: re-joining with a fresh token")

// session runs one connection: subscribe, dial, join, fetch over REST, then
// wait for its end.
func (t *MatchTask) session(group []string) error {
	ctx := t.ctx
	tok, err := t.client.Token(ctx)
	if err != nil {
		return err
	}
	var active []string
	for _, m := range group {
		if !t.isCompleted(m) {
			active = append(active, m)
		}
	}
	if len(active) == 0 {
		<-ctx.Done()
		return nil
	}
	for _, m := range active {
		if err := t.client.Subscribe(ctx, m); err != nil {
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
	var c *socketio.Client
	resubscribed := map[string]bool{}
	onError := func(args []socketio.Arg) {
		var s string
		var e struct {
			Error    string `json:"error"`
			MatchKey string `json:"match_key"`
		}
		if len(args) > 0 {
			if args[0].Decode(&s) == nil {
				_ = json.Unmarshal([]byte(s), &e)
			} else {
				_ = args[0].Decode(&e)
			}
		}
		switch {
		case strings.Contains(e.Error, "subscribed") && e.MatchKey != "" && !resubscribed[e.MatchKey] && !t.isCompleted(e.MatchKey):
			resubscribed[e.MatchKey] = true
			t.log.Warn("roanuz match not subscribed; subscribing and joining again", zap.String("match", e.MatchKey))
			if err := t.client.Subscribe(ctx, e.MatchKey); err != nil {
				end(fmt.Errorf("re-subscribing %s: %w", e.MatchKey, err))
				return
			}
			_ = c.Emit(ctx, "connect_to_match", map[string]string{"token": tok, "match_key": e.MatchKey})
		case strings.Contains(e.Error, "token"):
			t.client.invalidate(tok)
			end(fmt.Errorf("%w: on_error %s", ErrUnauthorized, e.Error))
		default:
			end(fmt.Errorf("roanuz on_error: %s", firstNonEmpty(s, e.Error)))
		}
	}
	onUpdate := func(args []socketio.Arg) {
		msg := streamMsg{source: "socket", received: time.Now()}
		if len(args) == 0 {
			msg.err = fmt.Errorf("%w: on_match_update without argument", ErrMalformed)
		} else {
			msg.raw = args[0].JSON
			if args[0].IsBinary() {
				msg.raw = args[0].Binary
			}
			msg.doc, msg.err = DecodeUpdate(args[0], t.cfg.updateMax)
		}
		t.enqueue(msg)
	}
	c, err = socketio.Dial(ctx, t.cfg.socketURL, socketio.WithPath("/v5/websocket"), socketio.WithNamespace("/cricket"),
		socketio.WithLogger(t.log), socketio.WithMaxPayload(int(t.cfg.updateMax)),
		socketio.WithHandler("on_match_update", onUpdate), socketio.WithHandler("on_error", onError))
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", t.cfg.socketURL, err)
	}
	defer c.Close()
	for _, m := range active {
		if err := c.Emit(ctx, "connect_to_match", map[string]string{"token": tok, "match_key": m}); err != nil {
			return fmt.Errorf("joining %s: %w", m, err)
		}
	}
	// An update missed while disconnected is still written: fetch each match over REST.
	for _, m := range active {
		doc, err := t.client.Match(ctx, m)
		if err != nil {
			return fmt.Errorf("fetching %s over REST: %w", m, err)
		}
		t.enqueue(streamMsg{doc: doc, raw: doc, source: "rest", received: time.Now()})
	}
	renew := time.NewTimer(max(time.Second, time.Until(t.client.TokenExpires())*8/10))
	defer renew.Stop()
	select {
	case <-ctx.Done():
		return nil
	case <-c.Done():
		return fmt.Errorf("connection ended: %w", c.Err())
	case err := <-ended:
		return err
	case <-renew.C:
		return errRenew
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// enqueue hands msg to Poll (backpressure when the queue is full).
func (t *MatchTask) enqueue(msg streamMsg) {
	select {
	case t.queue <- msg:
	case <-t.ctx.Done():
	}
}

func (t *MatchTask) isCompleted(m string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.completed[m]
}

// state returns the state of match m, loading its committed offset once.
func (t *MatchTask) state(m string) *matchState {
	if st := t.states[m]; st != nil {
		return st
	}
	st := &matchState{p: connector.NewPartition(map[string]any{"match": m}), key: []byte(m), balls: newIdentities(512), docs: newIdentities(64)}
	if o, ok := t.tc.Offset(st.p); ok {
		st.etag, _ = o.OffsetString(offsetEtag)
		st.hash, _ = o.OffsetString(offsetHash)
		st.completed, _ = o[offsetCompleted].(bool)
		st.updates, _ = o.OffsetInt(offsetUpdates)
		if s, _ := o.OffsetString(offsetDocs); s != "" {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				if ids, err := decodeIdentities(b, 64); err == nil {
					st.docs = ids
				}
			}
		}
		if s, _ := o.OffsetString(offsetBalls); s != "" {
			if b, err := base64.StdEncoding.DecodeString(s); err == nil {
				if ids, err := decodeIdentities(b, 512); err == nil {
					st.balls = ids
				}
			}
		}
	}
	t.states[m] = st
	return st
}

// Poll implements connector.SourceTask.
func (t *MatchTask) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	var out []*connector.SourceRecord
	select {
	case msg := <-t.queue:
		out = t.handle(msg, out)
	case <-ctx.Done():
		return nil, nil
	}
	for len(out) < t.cfg.batch {
		select {
		case msg := <-t.queue:
			out = t.handle(msg, out)
		default:
			return out, nil
		}
	}
	return out, nil
}

// handle turns one document into its new balls and the match record,
// unless its content equals the last written one.
func (t *MatchTask) handle(msg streamMsg, out []*connector.SourceRecord) []*connector.SourceRecord {
	var doc *matchDocument
	err := msg.err
	if err == nil {
		doc, err = ParseMatch(msg.doc, msg.source, msg.received)
	}
	if err != nil {
		t.log.Warn("roanuz match update undecodable; dead-lettering it", zap.Error(err), zap.Int("bytes", len(msg.raw)))
		return append(out, &connector.SourceRecord{Partition: invalidStream, Offset: connector.Offset{"last": msg.received.UnixNano()},
			Topic: t.matchTopic, Raw: msg.raw, DeadLetter: &connector.DeadLetter{Raw: msg.raw, Err: err, Stage: connector.StageTaskPoll}})
	}
	m := doc.match
	st := t.state(m.Key)
	docID := fnv.New64a()
	docID.Write([]byte(m.ContentHash))
	did := docID.Sum64()
	// Already written (the last one, or a recent one arriving late from a
	// dropped connection), or a stale in-play state after the result.
	if m.ContentHash == st.hash || (m.Etag != "" && m.Etag == st.etag) || st.docs.has(did) || (st.completed && m.Status != "completed") {
		return out
	}
	st.docs.add(did)
	st.etag, st.hash, st.updates = m.Etag, m.ContentHash, st.updates+1
	st.completed = m.Status == "completed"
	var recs []*connector.SourceRecord
	headers := connector.SourceHeaders(KeyProvider, m.Etag, msg.received)
	for _, b := range doc.balls {
		h := fnv.New64a()
		h.Write([]byte(b.key))
		h.Write([]byte{0})
		h.Write(b.raw)
		id := h.Sum64()
		if st.balls.has(id) {
			continue
		}
		st.balls.add(id)
		d, err := parseBall(b.raw)
		rec := &connector.SourceRecord{Partition: st.p, Topic: t.ballTopic, Key: st.key, Raw: b.raw, Headers: headers}
		if err != nil {
			rec.DeadLetter = &connector.DeadLetter{Raw: b.raw, Err: err, Stage: connector.StageTaskPoll}
		} else {
			rec.Value, rec.Schema = &Ball{MatchKey: m.Key, BallKey: b.key, Detail: *d, ReceivedAt: msg.received, Raw: string(b.raw)}, BallSchema
		}
		recs = append(recs, rec)
	}
	mrec := &connector.SourceRecord{Partition: st.p, Topic: t.matchTopic, Key: st.key, Value: m, Schema: MatchSchema, Raw: msg.doc, Headers: headers}
	if st.completed {
		key := m.Key
		mrec.OnCommit = func(err error) {
			if err == nil {
				t.complete(key)
			}
		}
	}
	recs = append(recs, mrec)
	off := connector.Offset{offsetEtag: st.etag, offsetHash: st.hash, offsetCompleted: st.completed, offsetUpdates: st.updates,
		offsetBalls: base64.StdEncoding.EncodeToString(st.balls.encode()),
		offsetDocs:  base64.StdEncoding.EncodeToString(st.docs.encode())}
	for _, r := range recs {
		r.Offset = off
	}
	return append(out, recs...)
}

// complete marks m completed and unsubscribes it (in the background).
func (t *MatchTask) complete(m string) {
	t.mu.Lock()
	already := t.completed[m]
	t.completed[m] = true
	t.mu.Unlock()
	if already || t.ctx.Err() != nil {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
		defer cancel()
		if err := t.client.Unsubscribe(ctx, m); err != nil {
			t.log.Warn("roanuz unsubscribe of a completed match failed", zap.String("match", m), zap.Error(err))
			return
		}
		t.log.Info("roanuz match completed; unsubscribed", zap.String("match", m))
	}()
}

// Stop implements connector.SourceTask.
func (t *MatchTask) Stop() error {
	if t.cancel != nil {
		t.cancel()
		t.wg.Wait()
	}
	return nil
}
