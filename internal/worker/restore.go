package worker

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kgo"
)

// restoreTopics returns the names of the connector's Restore topics (see
// connector.TopicSpec.Restore); nil when it has none.
func restoreTopics(specs []connector.TopicSpec) map[string]bool {
	var out map[string]bool
	for _, s := range specs {
		if s.Restore {
			if out == nil {
				out = map[string]bool{}
			}
			out[s.Name] = true
		}
	}
	return out
}

// withConnectorHeader returns hs plus the header naming the connector that
// wrote a record of a Restore topic. hs belongs to the task (several
// records may share it), so it is never appended to in place.
func withConnectorHeader(hs []kgo.RecordHeader, conn []byte) []kgo.RecordHeader {
	out := make([]kgo.RecordHeader, len(hs), len(hs)+1)
	copy(out, hs)
	return append(out, kgo.RecordHeader{Key: connector.HeaderConnector, Value: conn})
}

// readRestored reads the Restore topics back for a task about to start:
// the latest value of every key the connector wrote (a tombstone deletes
// the key), read_committed up to the end the topics had when the read
// began, after every transaction open then has ended.
//
// Invariant: it runs after the producer's epoch bump and the offsets read,
// so no transaction of a previous owner is still open and what it returns
// is exactly the state committed with the offsets the task resumes from.
// It keeps one copy of each key's latest value, so its memory follows the
// connector's keys, not the topic's history.
func (r *taskRunner) readRestored(ctx context.Context, topics map[string]bool) (map[string][]connector.RestoredRecord, error) {
	if len(topics) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	sort.Strings(names)
	latest := make(map[string]map[string][]byte, len(names))
	for _, t := range names {
		latest[t] = map[string][]byte{}
	}
	conn := []byte(r.cr.name)
	each := func(rec *kgo.Record) error {
		if !writtenBy(rec, conn) {
			return nil
		}
		if rec.Value == nil {
			delete(latest[rec.Topic], string(rec.Key))
			return nil
		}
		latest[rec.Topic][string(rec.Key)] = bytes.Clone(rec.Value)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.w.cfg.txnTimeout+offsetsReadSlack)
	defer cancel()
	err := readback.Committed(ctx, r.w.cfg.kafka, names, each,
		readback.OnStall(offsetsStallAfter, func(ctx context.Context, waiting []readback.Waiting) {
			r.w.fenceBlocking(ctx, r.log, waiting)
		}))
	if err != nil {
		return nil, fmt.Errorf("restoring the state topics %v: %w", names, err)
	}
	out := make(map[string][]connector.RestoredRecord, len(latest))
	decode := r.w.cfg.serializer.Decode
	for t, byKey := range latest {
		recs := make([]connector.RestoredRecord, 0, len(byKey))
		for k, v := range byKey {
			recs = append(recs, connector.NewRestoredRecord([]byte(k), v, decode))
		}
		sort.Slice(recs, func(i, j int) bool { return bytes.Compare(recs[i].Key, recs[j].Key) < 0 })
		out[t] = recs
	}
	return out, nil
}

// writtenBy reports whether rec carries the connector header naming conn.
func writtenBy(rec *kgo.Record, conn []byte) bool {
	for _, h := range rec.Headers {
		if h.Key == connector.HeaderConnector {
			return bytes.Equal(h.Value, conn)
		}
	}
	return false
}

// restoredKeys counts the keys in recs, for the task's start log line.
func restoredKeys(recs map[string][]connector.RestoredRecord) int {
	n := 0
	for _, rs := range recs {
		n += len(rs)
	}
	return n
}
