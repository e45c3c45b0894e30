package imgarena

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"go.uber.org/zap"
)

// maxSince caps how many status and dead-letter packets after one event
// the offset remembers (see fixtureStream.since), and how many broken
// action frames in a row can stand in a sequence gap (see fillGap).
const maxSince = 64

// connSeq is one connection's view of the fixture's sequence.
type connSeq struct {
	start   int64 // the startPosition asked for
	base    int64 // event position = base + fixtureSeqNum
	lastSeq int64 // fixtureSeqNum of the last event on this connection
	first   bool  // no event has come on this connection yet
	// handedOn: an event was handed on, so what comes next is new; until
	// then, packets whose keys are in replayed were handed on before.
	handedOn bool
	replayed map[string]bool
	// broken holds the keys of the broken action frames without a
	// readable fixtureSeqNum since the last event, in order; overflow is
	// set when there were more than maxSince.
	broken   []string
	overflow bool
}

// brokenSlots is a sequence gap that broken action frames stood in: the
// first missing position and the frames' keys.
type brokenSlots struct {
	slot int64
	keys []string
}

// event is an action, or a broken action whose fixtureSeqNum can be read.
type event struct {
	seq      int64
	key      string // actionKey or brokenEventKey
	actionID string
	raw      []byte
	p        *packet // the action; nil when broken
	broken   error   // why it is broken
}

// newConnSeq starts a connection at the stream's position.
func (f *fixtureStream) newConnSeq() *connSeq {
	cs := &connSeq{start: f.position, base: f.position, first: true, replayed: make(map[string]bool, len(f.since)+len(f.before))}
	for _, k := range f.since {
		cs.replayed[k] = true
	}
	for _, k := range f.before {
		cs.replayed[k] = true
	}
	return cs
}

// replay reports whether a status or seq-less packet with key was handed
// on before and is now sent again to a resumed connection.
func (cs *connSeq) replay(key string) bool { return !cs.handedOn && cs.replayed[key] }

// event checks an event's fixtureSeqNum and hands it on. The first event
// of a resumed connection that repeats the last one written (a server
// reading startPosition as 1-based) is dropped, and the connection's
// positions shift by one. A gap is an error (the caller reconnects),
// unless fillGap finds broken frames proven to stand in it.
func (f *fixtureStream) event(ctx context.Context, cs *connSeq, ev event, received time.Time) error {
	if cs.first {
		cs.first = false
		if cs.start > 0 && f.lastKey != "" && ev.seq == 1 {
			repeat := ev.key == f.lastKey && ev.actionID == f.lastActionID
			f.t.noteReading(repeat, f.log, cs.start, f.lastActionID)
			if repeat {
				cs.base, cs.lastSeq = cs.start-1, ev.seq
				cs.broken, cs.overflow = nil, false
				f.t.stats.repeats.Add(1)
				return nil
			}
		}
	}
	if want := cs.lastSeq + 1; ev.seq != want {
		if err := f.fillGap(cs, ev.seq); err != nil {
			return err
		}
	}
	cs.broken, cs.overflow = nil, false
	cs.lastSeq, cs.handedOn = ev.seq, true
	pos := cs.base + ev.seq
	f.position, f.seq = pos, ev.seq
	f.lastKey, f.lastActionID = ev.key, ev.actionID
	f.before, f.since = f.since, nil
	if f.suspect != nil && pos >= f.suspect.slot {
		f.suspect = nil
	}
	var rec *connector.SourceRecord
	if ev.p == nil {
		f.log.Warn("malformed event sent to the dead-letter path", zap.Error(ev.broken), zap.Int("bytes", len(ev.raw)), zap.Int64("position", pos))
		rec = f.deadLetter(ev.raw, ev.broken, received)
	} else {
		f.t.stats.actions.Add(1)
		rec = f.actionRecord(*ev.p, pos, ev.raw, received)
	}
	if err := f.emit(ctx, rec); err != nil {
		return err
	}
	if ev.p != nil && ev.p.finished {
		return ErrFinished
	}
	return nil
}

// fillGap decides a gap before fixtureSeqNum seq. A gap is never accepted
// on the connection that shows it: the missing events are fetched again by
// reconnecting. The one exception is a gap exactly as long as the broken
// action frames without a readable fixtureSeqNum that stood in it, when an
// earlier connection saw the same frames (by bytes) stand in the same gap:
// then the server's list holds those events broken, they were handed on
// as dead letters, and they take the gap's positions.
func (f *fixtureStream) fillGap(cs *connSeq, seq int64) error {
	want := cs.lastSeq + 1
	if seq > want && !cs.overflow && int64(len(cs.broken)) == seq-want {
		slot := cs.base + want
		if f.suspect != nil && f.suspect.slot == slot && slices.Equal(f.suspect.keys, cs.broken) {
			f.log.Warn("broken action frames take the positions of a sequence gap: a second connection sent the same frames there",
				zap.Int64("from_position", slot), zap.Int("frames", len(cs.broken)))
			f.t.stats.brokenFilled.Add(int64(len(cs.broken)))
			f.suspect = nil
			return nil
		}
		f.suspect = &brokenSlots{slot: slot, keys: slices.Clone(cs.broken)}
		return fmt.Errorf("%w: fixture %s: got fixtureSeqNum %d, want %d, after %d broken action frame(s) that may be the missing events; "+
			"resuming from position %d to see whether the server sends them there again", ErrSequence, f.fixture, seq, want, len(cs.broken), f.position)
	}
	return fmt.Errorf("%w: fixture %s: got fixtureSeqNum %d, want %d; resuming from position %d", ErrSequence, f.fixture, seq, want, f.position)
}

// brokenFrame hands on a broken packet whose fixtureSeqNum cannot be read
// as a dead letter, unless it was handed on before. It is not an event:
// it does not advance the position. A broken action is noted as one that
// may stand in a gap (see fillGap).
func (f *fixtureStream) brokenFrame(ctx context.Context, cs *connSeq, kind packetKind, msg []byte, perr error, received time.Time) error {
	key := packetKey(msg)
	if kind == kindAction {
		if len(cs.broken) < maxSince {
			cs.broken = append(cs.broken, key)
		} else {
			cs.overflow = true
		}
	}
	if cs.replay(key) {
		f.t.stats.replayed.Add(1)
		return nil
	}
	f.remember(key)
	f.log.Warn("malformed packet sent to the dead-letter path", zap.Error(perr), zap.Int("bytes", len(msg)), zap.Int64("position", f.position))
	return f.emit(ctx, f.deadLetter(msg, perr, received))
}

// emit hands a record to Poll, within the task's byte budget.
func (f *fixtureStream) emit(ctx context.Context, rec *connector.SourceRecord) error {
	n := len(rec.Raw)
	if err := f.t.budget.Acquire(ctx, n); err != nil {
		return err
	}
	select {
	case f.t.out <- rec:
		return nil
	case <-ctx.Done():
		f.t.budget.Release(n)
		return ctx.Err()
	}
}

// offset is the resume point after the last record handed on: the event
// position, what identifies that event, and the keys of the status and
// dead-letter packets around it.
func (f *fixtureStream) offset() connector.Offset {
	o := connector.Offset{"position": f.position, "seq": f.seq}
	if f.lastKey != "" {
		o["event"] = f.lastKey
	}
	if f.lastActionID != "" {
		o["actionId"] = f.lastActionID
	}
	if len(f.since) > 0 {
		o["since"] = slices.Clone(f.since)
	}
	if len(f.before) > 0 {
		o["before"] = slices.Clone(f.before)
	}
	return o
}

// restore takes the resume state from a committed offset.
func (f *fixtureStream) restore(o connector.Offset) {
	f.seq, _ = o.OffsetInt("seq")
	f.lastKey, _ = o["event"].(string)
	f.lastActionID, _ = o["actionId"].(string)
	f.since = offsetKeys(o["since"])
	f.before = offsetKeys(o["before"])
}

// remember adds a handed-on status or dead-letter packet to since.
func (f *fixtureStream) remember(key string) {
	if len(f.since) >= maxSince {
		f.since = slices.Clone(f.since[1:])
	}
	f.since = append(f.since, key)
}
