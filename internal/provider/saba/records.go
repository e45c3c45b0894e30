package saba

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/sse"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// buildChunk is how many items of a message are built into records at a
// time once the message holds more than that (a snapshot): the records of
// a chunk's first item are built at once, the rest of the chunk when the
// worker writes them (connector.SourceRecord.Then). A 22 MB snapshot of
// 54,000 items held about 35 MB of built records beside its own bytes.
// Task.chunk, when set, replaces it (tests).
const buildChunk = 256

// records builds the records of one SSE message. A *StatusError is
// returned for a message carrying an error status. A message repeating the
// id of the message before it (a server replaying the Last-Event-Id it was
// sent, or sending a frame twice) is skipped unless it is a snapshot: SSE
// ids are opaque, but no two messages share one. n counts the records the
// message makes, those built later included (one an item: a removal's
// tombstone is not counted).
func (r *streamRun) records(ev sse.Event, received time.Time) (out []*connector.SourceRecord, n int, err error) {
	t := r.t
	m, err := parseMessage(ev.Data)
	if repeat := ev.HasID && ev.ID == r.lastID && ev.ID != ""; repeat && (err != nil || m.Status == StatusSuccess) {
		t.log.Info("repeated message skipped", zap.String("stream", r.name), zap.String("id", ev.ID))
		return nil, 0, nil
	}
	if ev.HasID {
		r.lastID = ev.ID
	}
	b := &msgBuilder{r: r, id: ev.ID, off: connector.Offset{OffsetKey: ev.ID}, hdr: connector.SourceHeaders(Class, ev.ID, received), received: received}
	if err != nil {
		return []*connector.SourceRecord{b.dead(t.eventsTopic, ev.Data, err)}, 1, nil
	}
	if m.Status >= StatusInvalidEncoding {
		return nil, 0, &StatusError{Status: m.Status, Message: m.text()}
	}
	b.status = int32(m.Status)
	snapshot := m.Status == StatusInitialData || m.Status == StatusReset
	size := buildChunk
	if t.chunk > 0 {
		size = t.chunk
	}
	whole := m.Payload.Events.len()+m.Payload.Markets.len() <= size
	items := b.items(m, snapshot, !whole)
	if !snapshot && len(items) == 0 {
		return nil, 0, nil // keep-alive, or an update with nothing for us
	}
	out = make([]*connector.SourceRecord, 0, min(len(items), size)+2)
	if snapshot {
		raw := []byte(m.markerRaw())
		if r.carriesEvents(m) {
			out = append(out, b.record(t.eventsTopic, []byte{}, raw, b.event(OpReset, raw), t.eventSchema))
		}
		if r.carriesMarkets(m) {
			out = append(out, b.record(t.marketsTopic, []byte{}, raw, b.market(OpReset, raw), t.marketSchema))
		}
	}
	n = len(out) + len(items)
	if whole {
		for i := range items {
			out = append(out, b.build(&items[i])...)
		}
		return out, n, nil
	}
	for start := 0; start < len(items); start += size {
		chunk := items[start:min(start+size, len(items))]
		first := b.build(&chunk[0])
		out = append(out, first[0])
		rest := first[1:] // a removed event's tombstone
		first[0].Then = func() []*connector.SourceRecord {
			recs := slices.Clone(rest)
			for i := range chunk[1:] {
				recs = append(recs, b.build(&chunk[1+i])...)
			}
			return recs
		}
	}
	return out, n, nil
}

// itemKind says what an item is and how it is written.
type itemKind uint8

const (
	eventItem itemKind = iota
	eventRemove
	marketItem
	marketRemove
)

// item is one event or market of a message, in the order its records are
// written. For a market, learned says that what the market→event map
// said of it is kept in event and hasEvent: the map moves on with the next
// message while the item may be built later.
type item struct {
	kind     itemKind
	op       string
	raw      json.RawMessage
	event    int64
	hasEvent bool
	learned  bool
}

// msgBuilder builds the records of one message; what it holds is shared by
// every record of it.
type msgBuilder struct {
	r        *streamRun
	id       string
	off      connector.Offset
	hdr      []kgo.RecordHeader
	received time.Time
	status   int32
}

// items lists the message's items in the order their records are
// written. A snapshot restarts the market→event map. With learn, the map
// is read here, in message order, for every market (see learn): a large
// message's items are built later, on Poll's goroutine, and must not
// touch the map, which moves on with the next message. Without learn each
// market reads the map as it is built, which is at once, in order.
func (b *msgBuilder) items(m *message, snapshot, learn bool) []item {
	if snapshot {
		clear(b.r.marketEvent)
	}
	out := make([]item, 0, m.Payload.Events.len()+m.Payload.Markets.len())
	out = appendItems(out, m.Payload.Events, eventItem, eventRemove)
	out = appendItems(out, m.Payload.Markets, marketItem, marketRemove)
	if learn {
		for i := range out {
			if it := &out[i]; it.kind == marketItem {
				// Decoded to learn from, and again when built: a
				// snapshot's decoded markets are not held.
				var v MarketRecord
				if decodeMarket(it.raw, &v) == nil {
					b.learn(it, *v.MarketID, v.EventID)
				}
				it.learned = true // one that does not decode is a dead letter when built
			} else if it.kind == marketRemove {
				b.learnRemove(it)
			}
		}
	}
	return out
}

// appendItems appends the items of s (nil: none) in the order they are
// written: its additions and changes as kind, its removals as remove.
func appendItems(out []item, s *itemSet, kind, remove itemKind) []item {
	if s == nil {
		return out
	}
	for _, raw := range s.Add {
		out = append(out, item{kind: kind, op: OpAdd, raw: raw})
	}
	for _, raw := range s.Change {
		out = append(out, item{kind: kind, op: OpChange, raw: raw})
	}
	for _, raw := range s.Remove {
		out = append(out, item{kind: remove, op: OpRemove, raw: raw})
	}
	return out
}

// learn reads and moves the market→event map for a market that decoded:
// one with an eventId teaches the map, one without takes its event from
// it.
func (b *msgBuilder) learn(it *item, market int64, event *int64) {
	if event != nil {
		b.r.marketEvent[market] = *event
	}
	it.event, it.hasEvent = b.r.marketEvent[market]
	it.learned = true
}

// learnRemove reads the event of a removed market, which then leaves the
// map.
func (b *msgBuilder) learnRemove(it *item) {
	if id, ok, err := jsonInt(it.raw); err == nil && ok {
		it.event, it.hasEvent = b.r.marketEvent[id]
		delete(b.r.marketEvent, id)
	}
	it.learned = true
}

// build returns the records of one item: its record, or a dead letter, and
// a tombstone after a removed event when saba.tombstones is set.
func (b *msgBuilder) build(it *item) []*connector.SourceRecord {
	t := b.r.t
	switch it.kind {
	case eventItem:
		v := b.event(it.op, it.raw)
		if err := decodeEvent(it.raw, &v); err != nil {
			return []*connector.SourceRecord{b.dead(t.eventsTopic, it.raw, err)}
		}
		return []*connector.SourceRecord{b.record(t.eventsTopic, []byte(strconv.FormatInt(*v.EventID, 10)), it.raw, v, t.eventSchema)}
	case eventRemove:
		id, ok, err := jsonInt(it.raw)
		if err != nil || !ok {
			return []*connector.SourceRecord{b.dead(t.eventsTopic, it.raw, fmt.Errorf("%w: removed event id %.40q is not an integer", ErrBadMessage, it.raw))}
		}
		v := b.event(OpRemove, it.raw)
		v.EventID = &id
		key := []byte(strconv.FormatInt(id, 10))
		out := []*connector.SourceRecord{b.record(t.eventsTopic, key, it.raw, v, t.eventSchema)}
		if t.set.tombstones {
			out = append(out, b.record(t.eventsTopic, key, it.raw, nil, nil))
		}
		return out
	case marketItem:
		v := b.market(it.op, it.raw)
		if err := decodeMarket(it.raw, &v); err != nil {
			return []*connector.SourceRecord{b.dead(t.marketsTopic, it.raw, err)}
		}
		if !it.learned {
			b.learn(it, *v.MarketID, v.EventID)
		}
		if v.EventID == nil && it.hasEvent { // a change without eventId: take it from what we saw
			v.EventID = &it.event
		}
		return []*connector.SourceRecord{b.record(t.marketsTopic, b.marketKey(*v.MarketID, v.EventID), it.raw, v, t.marketSchema)}
	default: // marketRemove
		if !it.learned {
			b.learnRemove(it)
		}
		id, ok, err := jsonInt(it.raw)
		if err != nil || !ok {
			return []*connector.SourceRecord{b.dead(t.marketsTopic, it.raw, fmt.Errorf("%w: removed market id %.40q is not an integer", ErrBadMessage, it.raw))}
		}
		v := b.market(OpRemove, it.raw)
		v.MarketID = &id
		if it.hasEvent {
			v.EventID = &it.event
		}
		return []*connector.SourceRecord{b.record(t.marketsTopic, b.marketKey(id, v.EventID), it.raw, v, t.marketSchema)}
	}
}

// marketKey is a market record's key: its event's id, or "market:<id>"
// while its event is unknown.
func (b *msgBuilder) marketKey(market int64, event *int64) []byte {
	if event != nil {
		return []byte(strconv.FormatInt(*event, 10))
	}
	return []byte("market:" + strconv.FormatInt(market, 10))
}

// record is a record of the message; a nil value makes a tombstone.
func (b *msgBuilder) record(topic string, key, raw []byte, value any, schema avro.Schema) *connector.SourceRecord {
	rec := &connector.SourceRecord{Partition: b.r.part, Offset: b.off, Topic: topic, Key: key, Raw: raw, Headers: b.hdr, Timestamp: b.received}
	if value != nil {
		rec.Value, rec.Schema = value, schema
	}
	return rec
}

// dead is a dead-letter record of the message.
func (b *msgBuilder) dead(topic string, raw []byte, err error) *connector.SourceRecord {
	rec := b.record(topic, nil, raw, nil, nil)
	rec.Headers = b.r.deadHeaders(b.hdr)
	rec.DeadLetter = &connector.DeadLetter{Raw: raw, Err: fmt.Errorf("stream %s message %s: %w", b.r.spec.Endpoint, b.id, err), Stage: connector.StageTaskPoll}
	return rec
}

func (b *msgBuilder) event(op string, raw []byte) EventRecord {
	return EventRecord{Op: op, Status: b.status, MessageID: b.id, Endpoint: b.r.spec.Endpoint, Query: b.r.spec.Query, ReceivedAt: b.received, Raw: rawText(raw)}
}

func (b *msgBuilder) market(op string, raw []byte) MarketRecord {
	return MarketRecord{Op: op, Status: b.status, MessageID: b.id, Endpoint: b.r.spec.Endpoint, Query: b.r.spec.Query, ReceivedAt: b.received, Raw: rawText(raw)}
}

// HeaderStream names, on a dead-letter record, the stream (endpoint and
// query) the message came from.
const HeaderStream = "sc.saba.stream"

// deadHeaders returns the headers of a dead-letter record: hdr and the stream.
func (r *streamRun) deadHeaders(hdr []kgo.RecordHeader) []kgo.RecordHeader {
	return append(slices.Clip(hdr), kgo.RecordHeader{Key: HeaderStream, Value: []byte(r.name)})
}

func (r *streamRun) carriesEvents(m *message) bool {
	return m.Payload.Events != nil || r.spec.Endpoint == "GetEvents"
}

func (r *streamRun) carriesMarkets(m *message) bool {
	return m.Payload.Markets != nil || r.spec.Endpoint == "GetMarkets" || (r.spec.Endpoint == "GetEvents" && r.t.set.includeMarkets != "none")
}
