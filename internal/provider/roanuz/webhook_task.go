package roanuz

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// WebhookPlugin returns the roanuz.webhook plugin description.
func WebhookPlugin() connector.Plugin {
	return connector.Plugin{
		Class: ClassWebhook,
		Doc:   "Roanuz cricket ball-by-ball detail push: an HTTP receiver answering 2xx once the push is committed",
		Spec:  WebhookSpec(),
		New:   func(log *zap.Logger) connector.Connector { return &WebhookConnector{log: log} },
		// One task, one listener: in distributed mode the other workers
		// answer 503 at this address until the task runs there.
		PushAddress: func(cfg connector.Config) string { return cfg.String(KeyListen) },
		Topics: func(cfg connector.Config) []string {
			set := connector.ParseSettings(cfg)
			return append([]string{set.Topic(TopicBallUpdates), set.Topic(TopicMatchEvents)}, live.ParseConfig(cfg).TopicNames()...)
		},
	}
}

// Offset keys of a match partition of the webhook.
const (
	offsetIDs = "ids" // base64 of the recent push identities, 8 bytes each, oldest first
	// OffsetPushes counts the pushes written for the match.
	OffsetPushes = "pushes"
)

// invalidPartition is the source partition of dead-lettered bodies (they
// have no trustworthy match key).
var invalidPartition = connector.NewPartition(map[string]any{"webhook": "invalid"})

// WebhookConnector runs one task: one HTTP listener.
type WebhookConnector struct {
	log                *zap.Logger
	cfg                connector.Config
	ballTopic, evTopic string
	live               live.Config
}

// Start implements connector.Connector.
func (c *WebhookConnector) Start(_ context.Context, cfg connector.Config) error {
	if _, err := parseWebhookConfig(cfg); err != nil {
		return err
	}
	set := connector.ParseSettings(cfg)
	c.cfg, c.ballTopic, c.evTopic = cfg, set.Topic(TopicBallUpdates), set.Topic(TopicMatchEvents)
	c.live = live.ParseConfig(cfg)
	return nil
}

// Topics implements connector.Connector.
func (c *WebhookConnector) Topics() []connector.TopicSpec {
	return append([]connector.TopicSpec{{Name: c.ballTopic, Schema: BallUpdateSchema}, {Name: c.evTopic, Schema: MatchEventSchema}},
		c.live.Topics()...)
}

// TaskConfigs implements connector.Connector: one listener, one task.
func (c *WebhookConnector) TaskConfigs(int) ([]connector.Config, error) {
	return []connector.Config{c.cfg.Clone()}, nil
}

// NewTask implements connector.Connector.
func (c *WebhookConnector) NewTask() connector.SourceTask {
	return &WebhookTask{ballTopic: c.ballTopic, evTopic: c.evTopic, live: live.NewWriter(c.live, webhookLive)}
}

// Stop implements connector.Connector.
func (c *WebhookConnector) Stop() error { return nil }

// WebhookTask receives pushes and decides, in Poll only, whether each is new
// or a repeat.
type WebhookTask struct {
	ballTopic, evTopic string
	cfg                webhookConfig
	tc                 *connector.TaskContext
	log                *zap.Logger
	rc                 *receiver
	metrics            connector.TaskMetrics
	live               *live.Writer // normalized records; nil when disabled; Poll only

	mu      sync.Mutex // guards matches (OnCommit may run outside Poll)
	matches map[string]*matchDedup
	invalid int64
}

// matchDedup is the dedup state of one match: ids holds the committed and
// the pending identities (FIFO, bounded); pending the requests waiting for
// the commit of each identity still in an open transaction.
type matchDedup struct {
	p       connector.Partition
	key     []byte
	ids     *identities
	pending map[uint64][]*pushReq
	pushes  int64
}

// Start implements connector.SourceTask: subscribe the configured matches
// and start listening.
func (t *WebhookTask) Start(ctx context.Context, tc *connector.TaskContext) error {
	cfg, err := parseWebhookConfig(tc.Config)
	if err != nil {
		return err
	}
	t.cfg, t.tc, t.log, t.matches = cfg, tc, tc.Logger, map[string]*matchDedup{}
	t.metrics = tc.Metrics
	if cfg.subscribe && len(cfg.matches) > 0 {
		cl := NewClient(cfg.apiURL, cfg.project, cfg.apiKey, nil, t.log)
		for _, m := range cfg.matches {
			if err := cl.SubscribeUpdates(ctx, m); err != nil {
				if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrProjectInactive) || errors.Is(err, ErrForbidden) {
					return connector.Permanent(fmt.Errorf("subscribing %s to the detail push: %w", m, err))
				}
				return fmt.Errorf("subscribing %s to the detail push: %w", m, err)
			}
			t.log.Info("roanuz detail push subscribed", zap.String("match", m))
		}
	}
	t.live.Restore(ctx, tc, t.log)
	t.rc = newReceiver(cfg, t.log)
	return t.rc.start()
}

// Addr returns the receiver's listen address (useful with port 0).
func (t *WebhookTask) Addr() string { return t.rc.addr() }

// Poll implements connector.SourceTask.
func (t *WebhookTask) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	var out []*connector.SourceRecord
	select {
	case req := <-t.rc.queue:
		out = t.handle(req, out)
	case <-ctx.Done():
		return nil, nil
	}
	for len(out) < t.cfg.batch {
		select {
		case req := <-t.rc.queue:
			out = t.handle(req, out)
		default:
			return t.live.Append(out), nil
		}
	}
	return t.live.Append(out), nil
}

// handle turns one request into at most one record.
func (t *WebhookTask) handle(req *pushReq, out []*connector.SourceRecord) []*connector.SourceRecord {
	if req.err != nil {
		t.invalid++
		t.log.Warn("roanuz push can never be valid; dead-lettering it", zap.Error(req.err), zap.Int("bytes", len(req.raw)))
		status, msg := req.status, req.err.Error()
		headers := append(connector.SourceHeaders(KeyProvider, "", req.received),
			kgo.RecordHeader{Key: HeaderRemoteAddr, Value: []byte(req.remote)},
			kgo.RecordHeader{Key: HeaderEncoding, Value: []byte(req.encoding)})
		if req.truncated != nil {
			headers = append(headers, req.truncated.headers()...)
		}
		return append(out, &connector.SourceRecord{
			Partition:  invalidPartition,
			Offset:     connector.Offset{"last": req.received.UnixNano()},
			Topic:      t.evTopic,
			Raw:        req.raw,
			Headers:    headers,
			Timestamp:  req.received,
			DeadLetter: &connector.DeadLetter{Raw: req.raw, Err: req.err, Stage: connector.StageTaskPoll},
			OnCommit: func(err error) {
				if err != nil {
					req.reply(http.StatusServiceUnavailable, "not durable: "+err.Error())
					return
				}
				req.reply(status, msg)
			},
		})
	}
	p := req.push
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.match(p.MatchKey)
	id := p.Identity()
	if waiters, ok := m.pending[id]; ok {
		// A repeat of a push whose transaction is still open: answer with it.
		m.pending[id] = append(waiters, req)
		return out
	}
	if m.ids.has(id) {
		req.reply(http.StatusOK, "duplicate; already written")
		return out
	}
	m.ids.add(id)
	m.pushes++
	m.pending[id] = []*pushReq{req}
	rec := &connector.SourceRecord{
		Partition: m.p,
		Offset:    connector.Offset{offsetIDs: base64.StdEncoding.EncodeToString(m.ids.encode()), OffsetPushes: m.pushes},
		Key:       m.key,
		Raw:       p.Raw,
		Headers:   connector.SourceHeaders(KeyProvider, p.Position(), req.received),
		// The Kafka timestamp is the receive time, never the provider's ts
		// (kept in the value): the broker rolls segments and applies
		// retention.ms by record timestamps, so a provider clock (or a
		// replayed timeline) days behind would get the records deleted at
		// the next retention check.
		Timestamp: req.received,
		OnCommit: func(err error) {
			if err == nil {
				t.metrics.CommitLag(p.MatchKey, time.Since(eventTime(p.TS, req.received)))
			}
			t.committed(m, id, err)
		},
	}
	if p.IsBall() {
		v := &BallUpdate{MatchKey: p.MatchKey, PushReason: p.PushReason, MatchPushKind: p.MatchPushKind, TS: p.TS, TSText: p.TSText,
			TSMicros: p.TS.UnixMicro(), ReceivedAt: req.received, Raw: string(p.Raw)}
		if b := p.Ball; b != nil {
			v.BallKey, v.Over, v.BattingOrder, v.IsDelete, v.Detail = b.BallKey, b.Over, b.BattingOrder, b.IsDelete, b.Detail
		}
		rec.Topic, rec.Value, rec.Schema = t.ballTopic, v, BallUpdateSchema
	} else {
		rec.Topic, rec.Schema = t.evTopic, MatchEventSchema
		rec.Value = &MatchEvent{MatchKey: p.MatchKey, PushReason: p.PushReason, MatchPushKind: p.MatchPushKind, TS: p.TS,
			TSText: p.TSText, TSMicros: p.TS.UnixMicro(), Sport: p.Sport, DataKind: p.DataKind, ReceivedAt: req.received, Raw: string(p.Raw)}
	}
	return append(out, rec)
}

// committed answers every request waiting for identity id of m.
func (t *WebhookTask) committed(m *matchDedup, id uint64, err error) {
	t.mu.Lock()
	waiters := m.pending[id]
	delete(m.pending, id)
	if err != nil {
		// Not written: a retry must be written (the worker also restarts
		// the task from the committed offsets after an abort).
		m.ids.remove(id)
		m.pushes--
	}
	t.mu.Unlock()
	for _, r := range waiters {
		if err != nil {
			r.reply(http.StatusServiceUnavailable, "not durable: "+err.Error())
		} else {
			r.reply(http.StatusOK, "ok")
		}
	}
}

// match returns the dedup state of key, loading its committed offset the
// first time. Called with t.mu held.
func (t *WebhookTask) match(key string) *matchDedup {
	if m := t.matches[key]; m != nil {
		return m
	}
	m := &matchDedup{p: connector.NewPartition(map[string]any{"match": key}), key: []byte(key),
		ids: newIdentities(t.cfg.window), pending: map[uint64][]*pushReq{}}
	if o, ok := t.tc.Offset(m.p); ok {
		s, _ := o.OffsetString(offsetIDs)
		b, err := base64.StdEncoding.DecodeString(s)
		if err == nil {
			m.ids, err = decodeIdentities(b, t.cfg.window)
		}
		if err != nil {
			t.log.Warn("roanuz committed dedup set unreadable; starting empty", zap.String("match", key), zap.Error(err))
			m.ids = newIdentities(t.cfg.window)
		}
		m.pushes, _ = o.OffsetInt(OffsetPushes)
	}
	t.matches[key] = m
	return m
}

// Stop implements connector.SourceTask: waiting pushes are answered 503.
func (t *WebhookTask) Stop() error {
	if t.rc != nil {
		t.rc.stop()
	}
	t.mu.Lock()
	for _, m := range t.matches {
		for id, ws := range m.pending {
			for _, r := range ws {
				r.reply(http.StatusServiceUnavailable, "task stopped; retry")
			}
			delete(m.pending, id)
		}
	}
	t.mu.Unlock()
	return nil
}
