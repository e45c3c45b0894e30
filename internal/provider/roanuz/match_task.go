package roanuz

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/socketio"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// MatchPlugin returns the roanuz.match plugin description.
func MatchPlugin() connector.Plugin {
	return connector.Plugin{
		Class: ClassMatch,
		Doc:   "Roanuz cricket match stream over Socket.IO: match documents and their new balls",
		Spec:  MatchSpec(),
		New:   func(log *zap.Logger) connector.Connector { return &MatchConnector{log: log} },
		Topics: func(cfg connector.Config) []string {
			set := connector.ParseSettings(cfg)
			return append([]string{set.Topic(TopicMatches), set.Topic(TopicBalls), set.Topic(TopicSubscriptions)},
				live.ParseConfig(cfg).TopicNames()...)
		},
	}
}

// MatchConnector deals the match buckets to its tasks (see bucketOf).
type MatchConnector struct {
	log                             *zap.Logger
	cfg                             connector.Config
	parsed                          matchConfig
	matchTopic, ballTopic, subTopic string
	live                            live.Config
}

// Start implements connector.Connector.
func (c *MatchConnector) Start(_ context.Context, cfg connector.Config) error {
	mc, err := parseMatchConfig(cfg)
	if err != nil {
		return err
	}
	set := connector.ParseSettings(cfg)
	c.cfg, c.parsed = cfg, mc
	c.matchTopic, c.ballTopic, c.subTopic = set.Topic(TopicMatches), set.Topic(TopicBalls), set.Topic(TopicSubscriptions)
	c.live = live.ParseConfig(cfg)
	return nil
}

// Topics implements connector.Connector.
func (c *MatchConnector) Topics() []connector.TopicSpec {
	return append([]connector.TopicSpec{{Name: c.matchTopic, Schema: MatchSchema, Compact: true}, {Name: c.ballTopic, Schema: BallSchema},
		{Name: c.subTopic, Schema: SubscriptionSchema, Compact: true}}, c.live.Topics()...)
}

// TaskConfigs implements connector.Connector: every task gets the whole
// config and takes the buckets assignBuckets deals it (the worker adds
// task.index and task.count).
func (c *MatchConnector) TaskConfigs(maxTasks int) ([]connector.Config, error) {
	out := make([]connector.Config, taskCount(c.parsed, maxTasks))
	for i := range out {
		out[i] = c.cfg.Clone()
	}
	return out, nil
}

// NewTask implements connector.Connector.
func (c *MatchConnector) NewTask() connector.SourceTask {
	t := &MatchTask{matchTopic: c.matchTopic, ballTopic: c.ballTopic, subTopic: c.subTopic}
	t.live = live.NewWriter(c.live, t.liveMapped)
	return t
}

// Stop implements connector.Connector.
func (c *MatchConnector) Stop() error { return nil }

// Offset keys of a match partition of the stream (MatchPartition).
const (
	offsetEtag     = "etag"
	offsetHash     = "hash"
	offsetBalls    = "balls"
	offsetDocs     = "docs"
	offsetBallKeys = "ball_keys"
	offsetPlay     = "play_status" // of the last written document (for its normalized event, live.go)

	// OffsetCompleted is true once the match's completed document is written.
	OffsetCompleted = "completed"
	// OffsetUpdates counts the match documents written.
	OffsetUpdates = "updates"
)

var invalidStream = connector.NewPartition(map[string]any{"stream": "invalid"})

// MatchPartition returns the source partition of match m.
func MatchPartition(m string) connector.Partition {
	return connector.NewPartition(map[string]any{"match": m})
}

// streamMsg is one match document (or an undecodable update) on its way to Poll.
type streamMsg struct {
	doc, raw []byte
	source   string // sourceSocket or sourceREST
	err      error
	received time.Time
	// seq is a socket update's receipt number; for a REST answer, the
	// receipt number of the last socket update queued when its request
	// was sent (matchQueue).
	seq  uint64
	size int // bytes held in the queue
}

// matchState is what Poll knows of one match: the last written content.
type matchState struct {
	p          connector.Partition
	key        []byte
	etag, hash string
	balls      *identities // recent balls written (key and content)
	ballKeys   *identities // recent ball keys written, in any version
	docs       *identities // recent content hashes written
	completed  bool
	updates    int64
	progress   progress // of the last written document (match_order.go)
	play       string   // play_status of the last written document ("" unknown)
	sockSeq    uint64   // receipt number of the last socket update of the match seen
}

// MatchTask follows the matches of its buckets over Socket.IO: the
// configured ones, and with discovery the listed ones. A manager goroutine
// (match_roster.go) decides what is followed; connections (match_conn.go)
// carry up to roanuz.matches.per.connection matches each; Poll turns
// documents into records and roster changes into subscription records.
type MatchTask struct {
	matchTopic, ballTopic, subTopic string
	cfg                             matchConfig
	tc                              *connector.TaskContext
	log                             *zap.Logger
	client                          *Client
	metrics                         connector.TaskMetrics
	index                           int
	buckets                         []int    // the buckets this task owns
	static                          []string // configured matches of those buckets
	budget                          int      // connections this task may hold
	startRoster                     []string // subscribed matches of the buckets, as committed

	q           *matchQueue
	stale       staleCounts // stale documents dropped (match_order.go)
	ctrl        chan *rosterChange
	states      map[string]*matchState                  // Poll only
	rosters     map[int][]string                        // Poll only: bucket -> subscribed matches
	rosterParts map[int]connector.Partition             // bucket -> roster partition
	live        *live.Writer                            // normalized records; nil when disabled; Poll only
	liveNotes   map[*connector.SourceRecord]live.Mapped // the runner goroutine only (Poll, the batch's Then): the events of the batch (live.go)

	// subMu orders the provider's subscribe and unsubscribe calls with
	// the placement they depend on: a connection subscribes a match only
	// while it is followed, and a release unplaces it before
	// unsubscribing, so a release is never undone by a connection that
	// was starting meanwhile.
	subMu sync.Mutex

	mu        sync.Mutex
	followed  map[string]*slot // followed matches and their connection
	completed map[string]bool
	slots     []*slot
	doneQ     []string      // completed matches for the manager to release
	wake      chan struct{} // tells the manager doneQ grew
	eio       socketio.Version
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
	t.cfg, t.tc, t.log, t.metrics = cfg, tc, tc.Logger, tc.Metrics
	count := max(int(tc.Config.Int(connector.KeyTaskCount)), 1)
	t.index = min(max(int(tc.Config.Int(connector.KeyTaskIndex)), 0), count-1)
	t.buckets = assignBuckets(cfg.matches, count)[t.index]
	t.budget = max(1, cfg.connsMax/count)
	for _, m := range cfg.matches {
		if t.owns(m) {
			t.static = append(t.static, m)
		}
	}
	t.client = NewClient(cfg.apiURL, cfg.project, cfg.apiKey, nil, t.log)
	t.q = newMatchQueue(cfg.queue, cfg.queueBytes)
	t.ctrl = make(chan *rosterChange, 16)
	t.states, t.rosters, t.rosterParts = map[string]*matchState{}, map[int][]string{}, map[int]connector.Partition{}
	t.followed, t.completed, t.wake, t.eio = map[string]*slot{}, map[string]bool{}, make(chan struct{}, 1), cfg.engineIO
	for _, b := range t.buckets {
		t.rosterParts[b] = rosterPartition(b)
		if o, ok := tc.Offset(t.rosterParts[b]); ok {
			t.rosters[b] = offsetList(o[offsetRoster])
			t.startRoster = append(t.startRoster, t.rosters[b]...)
		}
	}
	if _, err := t.client.Token(ctx); err != nil {
		if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrProjectInactive) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound) {
			return connector.Permanent(fmt.Errorf("roanuz auth: %w", err))
		}
		return err
	}
	t.live.Restore(ctx, tc, t.log)
	t.ctx, t.cancel = context.WithCancel(context.WithoutCancel(ctx))
	t.wg.Add(1)
	go t.manage()
	t.log.Info("roanuz match task started", zap.Int("configured", len(t.static)), zap.Int("subscribed", len(t.startRoster)),
		zap.Ints("buckets", t.buckets), zap.Int("connections", t.budget), zap.Bool("discover", cfg.discover))
	return nil
}

// owns reports whether match m is in one of the task's buckets.
func (t *MatchTask) owns(m string) bool { return slices.Contains(t.buckets, bucketOf(m)) }

// enqueue hands msg to Poll (backpressure when the queue is full).
func (t *MatchTask) enqueue(ctx context.Context, msg streamMsg) {
	t.q.put(ctx, msg)
}

func (t *MatchTask) isCompleted(m string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.completed[m]
}

// subscribeIfFollowed subscribes m at the provider if it is still followed.
func (t *MatchTask) subscribeIfFollowed(ctx context.Context, m string) error {
	t.subMu.Lock()
	defer t.subMu.Unlock()
	if !t.isFollowed(m) || t.isCompleted(m) {
		return nil
	}
	return t.client.Subscribe(ctx, m)
}

func (t *MatchTask) isFollowed(m string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.followed[m]
	return ok
}

// committedCompleted reports whether m's committed offset says completed.
func (t *MatchTask) committedCompleted(m string) bool {
	o, ok := t.tc.Offset(MatchPartition(m))
	done, _ := o[OffsetCompleted].(bool)
	return ok && done
}

// state returns the state of match m, loading its committed offset once.
func (t *MatchTask) state(m string) *matchState {
	if st := t.states[m]; st != nil {
		return st
	}
	st := &matchState{p: MatchPartition(m), key: []byte(m), balls: newIdentities(512), ballKeys: newIdentities(64), docs: newIdentities(64),
		progress: unknownProgress}
	if o, ok := t.tc.Offset(st.p); ok {
		if s, _ := o.OffsetString(offsetProgress); s != "" {
			st.progress = parseProgress(s)
		}
		st.etag, _ = o.OffsetString(offsetEtag)
		st.hash, _ = o.OffsetString(offsetHash)
		st.play, _ = o.OffsetString(offsetPlay)
		st.completed, _ = o[OffsetCompleted].(bool)
		st.updates, _ = o.OffsetInt(OffsetUpdates)
		st.docs = offsetIdentities(o, offsetDocs, 64)
		st.balls = offsetIdentities(o, offsetBalls, 512)
		st.ballKeys = offsetIdentities(o, offsetBallKeys, 64)
	}
	t.states[m] = st
	return st
}

// offsetIdentities decodes the identity set under key (empty if unreadable).
func offsetIdentities(o connector.Offset, key string, max int) *identities {
	if s, _ := o.OffsetString(key); s != "" {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			if ids, err := decodeIdentities(b, max); err == nil {
				return ids
			}
		}
	}
	return newIdentities(max)
}

// Poll implements connector.SourceTask.
func (t *MatchTask) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	// The previous batch was written (its events mapped) before this Poll;
	// what is left are the notes of records an abort never got to.
	clear(t.liveNotes)
	var out []*connector.SourceRecord
	select {
	case msg := <-t.q.ch:
		t.q.taken(msg)
		out = t.handle(msg, out)
	case ch := <-t.ctrl:
		out = append(out, t.rosterRecord(ch))
	case <-ctx.Done():
		return nil, nil
	}
	for len(out) < t.cfg.batch {
		select {
		case msg := <-t.q.ch:
			t.q.taken(msg)
			out = t.handle(msg, out)
		case ch := <-t.ctrl:
			out = append(out, t.rosterRecord(ch))
		default:
			return t.appendLive(out), nil
		}
	}
	return t.appendLive(out), nil
}

// handle turns one document into its new balls and the match record,
// unless its content equals the last written one, it is stale (the order
// rule of match_order.go), or the match is not followed (any more).
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
	if !t.isFollowed(m.Key) {
		t.log.Debug("roanuz update of a match not followed; dropped", zap.String("match", m.Key))
		return out
	}
	st := t.state(m.Key)
	if msg.source == sourceSocket {
		st.sockSeq = max(st.sockSeq, msg.seq)
	}
	docID := fnv.New64a()
	docID.Write([]byte(m.ContentHash))
	did := docID.Sum64()
	if m.ContentHash == st.hash || (m.Etag != "" && m.Etag == st.etag) {
		return out // the last written state again
	}
	headers := connector.SourceHeaders(KeyProvider, m.Etag, msg.received)
	if reason := staleReason(st, msg, doc, did); reason != "" {
		t.dropStale(m, msg, doc.progress, reason, st)
		// Its balls never written in any version are still news: the
		// newer document's 12 balls may have left them behind.
		recs := t.ballRecords(st, doc, msg, headers, true)
		for _, r := range recs {
			r.Offset = st.offset()
		}
		t.noteLive(docLive{doc: doc, balls: recs})
		return append(out, recs...)
	}
	st.docs.add(did)
	prev, prevPlay := st.progress, st.play
	st.etag, st.hash, st.updates, st.progress, st.play = m.Etag, m.ContentHash, st.updates+1, doc.progress, m.PlayStatus
	st.completed = m.Status == "completed"
	recs := t.ballRecords(st, doc, msg, headers, false)
	key, completed, received := m.Key, st.completed, msg.received
	mrec := &connector.SourceRecord{Partition: st.p, Topic: t.matchTopic, Key: st.key, Value: m, Schema: MatchSchema, Raw: msg.doc, Headers: headers,
		OnCommit: func(err error) {
			if err != nil {
				return
			}
			t.metrics.CommitLag(key, time.Since(received))
			if completed {
				t.completeLater(key)
			}
		}}
	t.noteLive(docLive{doc: doc, prev: prev, prevPlay: prevPlay, balls: recs, mrec: mrec})
	recs = append(recs, mrec)
	off := st.offset()
	for _, r := range recs {
		r.Offset = off
	}
	return append(out, recs...)
}

// ballRecords returns the records of doc's balls not written yet (by key
// and content), or with unseenKeys only those whose key was never written
// in any version, and notes them in st.
func (t *MatchTask) ballRecords(st *matchState, doc *matchDocument, msg streamMsg, headers []kgo.RecordHeader, unseenKeys bool) []*connector.SourceRecord {
	var recs []*connector.SourceRecord
	for _, b := range doc.balls {
		h := fnv.New64a()
		h.Write([]byte(b.key))
		kid := h.Sum64()
		h.Write([]byte{0})
		h.Write(b.raw)
		id := h.Sum64()
		if st.balls.has(id) || (unseenKeys && st.ballKeys.has(kid)) {
			continue
		}
		st.balls.add(id)
		st.ballKeys.add(kid)
		d, err := parseBall(b.raw)
		rec := &connector.SourceRecord{Partition: st.p, Topic: t.ballTopic, Key: st.key, Raw: b.raw, Headers: headers}
		if err != nil {
			rec.DeadLetter = &connector.DeadLetter{Raw: b.raw, Err: err, Stage: connector.StageTaskPoll}
		} else {
			rec.Value, rec.Schema = &Ball{MatchKey: doc.match.Key, BallKey: b.key, Detail: *d, ReceivedAt: msg.received, Raw: string(b.raw)}, BallSchema
		}
		recs = append(recs, rec)
	}
	return recs
}

// offset returns the source offset of st's match.
func (st *matchState) offset() connector.Offset {
	return connector.Offset{offsetEtag: st.etag, offsetHash: st.hash, OffsetCompleted: st.completed, OffsetUpdates: st.updates,
		offsetProgress: st.progress.String(), offsetPlay: st.play,
		offsetBalls:    base64.StdEncoding.EncodeToString(st.balls.encode()),
		offsetBallKeys: base64.StdEncoding.EncodeToString(st.ballKeys.encode()),
		offsetDocs:     base64.StdEncoding.EncodeToString(st.docs.encode())}
}

// completeLater marks m completed (its completed document committed) and
// has the manager release it. It does not block (it runs in OnCommit).
func (t *MatchTask) completeLater(m string) {
	t.mu.Lock()
	already := t.completed[m]
	t.completed[m] = true
	if !already {
		t.doneQ = append(t.doneQ, m)
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Stop implements connector.SourceTask.
func (t *MatchTask) Stop() error {
	if t.cancel != nil {
		t.cancel()
		t.wg.Wait()
	}
	return nil
}
