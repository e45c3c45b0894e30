package live

import (
	"context"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"go.uber.org/zap"
)

// Mapped is what a Mapper makes of one provider record.
type Mapped struct {
	// Event is the normalized event. The Writer fills SourceTopic (when
	// empty) and completes Score and Competitors from the match's state.
	Event Event
	// Finished is true when the provider says the match is over.
	Finished bool
}

// Mapper turns one provider record into its normalized event; ok is false
// for records that say nothing about a match. It runs on the Poll
// goroutine and must not block.
type Mapper func(rec *connector.SourceRecord) (m Mapped, ok bool)

// Writer appends the normalized records to a task's batches. It is owned
// by the task's Poll goroutine; a nil *Writer (live.events.enabled=false)
// appends nothing.
//
// Memory: one Match per match the connector has written (a few hundred
// bytes each), kept for the task's life so a late correction still knows
// the score.
type Writer struct {
	cfg         Config
	mapper      Mapper
	eventSchema avro.Schema
	matchSchema avro.Schema
	matches     map[string]*Match
}

// NewWriter returns the writer of a task, or nil when cfg is disabled.
func NewWriter(cfg Config, m Mapper) *Writer {
	if !cfg.Enabled {
		return nil
	}
	return &Writer{cfg: cfg, mapper: m, eventSchema: EventSchema(), matchSchema: MatchSchema(), matches: map[string]*Match{}}
}

// Restore loads the match states the worker read back from the matches
// topic (tc.Restored). A state that does not decode is logged and
// skipped: that match's view starts again from its next event.
func (w *Writer) Restore(ctx context.Context, tc *connector.TaskContext, log *zap.Logger) {
	if w == nil {
		return
	}
	for _, r := range tc.Restored(w.cfg.MatchesTopic) {
		var m Match
		if err := r.Decode(ctx, &m); err != nil {
			log.Warn("a restored match state does not decode; its view restarts from its next event",
				zap.String("topic", w.cfg.MatchesTopic), zap.ByteString("match_id", r.Key), zap.Error(err))
			continue
		}
		w.matches[string(r.Key)] = &m
	}
}

// EachMatch calls fn with every match state the writer holds (restored or
// written since); fn must neither keep nor change m. A task calls it in
// Start, after Restore, when its mapper needs to know the restored matches.
func (w *Writer) EachMatch(fn func(m *Match)) {
	if w == nil {
		return
	}
	for _, m := range w.matches {
		fn(m)
	}
}

// Matches returns how many match states the writer holds.
func (w *Writer) Matches() int {
	if w == nil {
		return 0
	}
	return len(w.matches)
}

// Append returns batch with, after each provider record its Mapper maps,
// that record's normalized event, and at the end one state record per
// match the batch changed. They are built when the worker writes them
// (connector.SourceRecord.Then): the Mapper runs then, in batch order, so
// a batch as large as a provider's snapshot never holds all its events.
// The batch's slice is returned as it is; each record's Then is set,
// composed with one the task set: the records that one builds (the rest
// of a large message, SourceRecord.Then) are mapped as they come, each
// followed by its event.
//
// Invariant: every appended record carries a source partition and offset
// the batch already holds (a record a task's Then builds carries its batch
// record's, as SourceRecord.Then requires), and a match state carries the
// latest offset of its partition in the batch, so the offsets the runner
// commits never move back (it keeps the last offset of each partition it
// is given).
func (w *Writer) Append(batch []*connector.SourceRecord) []*connector.SourceRecord {
	if w == nil || len(batch) == 0 {
		return batch
	}
	b := &appendBatch{w: w, latest: map[string]connector.Offset{}, changed: map[string]connector.Partition{}}
	for _, rec := range batch {
		b.latest[rec.Partition.String()] = rec.Offset
		b.follow(rec)
	}
	last := batch[len(batch)-1]
	if prev := last.Then; prev != nil {
		last.Then = func() []*connector.SourceRecord { return append(prev(), b.states()...) }
	} else {
		last.Then = b.states
	}
	return batch
}

// follow sets rec.Then to build rec's event, then what the task's own
// rec.Then builds (the rest of a large message, built as it is written),
// each record followed by its event.
func (b *appendBatch) follow(rec *connector.SourceRecord) {
	own := rec.Then
	if own == nil {
		if rec.DeadLetter != nil || rec.Value == nil {
			return
		}
		rec.Then = func() []*connector.SourceRecord { return b.event(rec) }
		return
	}
	rec.Then = func() []*connector.SourceRecord {
		out := b.event(rec)
		for _, x := range own() {
			out = append(out, x)
			out = append(out, b.event(x)...)
		}
		return out
	}
}

// appendBatch is what one Append call's events share while they are built.
type appendBatch struct {
	w       *Writer
	latest  map[string]connector.Offset    // by partition: its last offset in the batch
	changed map[string]connector.Partition // by match id: the partition of its last event
	order   []string                       // match ids in the order first changed
}

// event maps rec and folds its event into its match's state; a dead
// letter or a tombstone has none.
func (b *appendBatch) event(rec *connector.SourceRecord) []*connector.SourceRecord {
	if rec.DeadLetter != nil || rec.Value == nil {
		return nil
	}
	w := b.w
	mp, ok := w.mapper(rec)
	if !ok {
		return nil
	}
	ev := mp.Event
	if ev.SourceTopic == "" {
		ev.SourceTopic = rec.Topic
	}
	m := w.matches[ev.MatchID]
	if m == nil {
		m = &Match{}
		w.matches[ev.MatchID] = m
	}
	ev = m.apply(ev, mp.Finished)
	if _, seen := b.changed[ev.MatchID]; !seen {
		b.order = append(b.order, ev.MatchID)
	}
	b.changed[ev.MatchID] = rec.Partition
	return []*connector.SourceRecord{{
		Partition: rec.Partition, Offset: rec.Offset,
		Topic: w.cfg.EventsTopic, Key: []byte(ev.MatchID), Value: &ev, Schema: w.eventSchema,
		Headers: rec.Headers, Timestamp: rec.Timestamp,
	}}
}

// states returns the state record of every match the batch changed.
func (b *appendBatch) states() []*connector.SourceRecord {
	out := make([]*connector.SourceRecord, 0, len(b.order))
	for _, id := range b.order {
		p := b.changed[id]
		state := *b.w.matches[id]
		out = append(out, &connector.SourceRecord{
			Partition: p, Offset: b.latest[p.String()],
			Topic: b.w.cfg.MatchesTopic, Key: []byte(id), Value: &state, Schema: b.w.matchSchema,
		})
	}
	return out
}
