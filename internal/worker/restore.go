package worker

import (
	"bytes"
	"context"
	"sort"

	"github.com/seed-474f70f7/sportsconnect/connector"
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

// restoreCollector gathers, while the offsets are read, the state a task
// resumes with: per Restore topic, the latest value of every key the
// connector wrote (a tombstone deletes the key).
//
// Invariant: it is filled by the runner's offsets read, after the
// producer's epoch bump and in the same read_committed pass up to the ends
// the topics had when it began, after every transaction open then has
// ended; so it holds exactly the state committed with the offsets the task
// resumes from. It keeps one copy of each key's latest value: its memory
// follows the connector's keys, not the topic's history.
type restoreCollector struct {
	conn   []byte
	latest map[string]map[string][]byte // by topic, then key
}

func newRestoreCollector(conn string, topics map[string]bool) *restoreCollector {
	c := &restoreCollector{conn: []byte(conn), latest: make(map[string]map[string][]byte, len(topics))}
	for t := range topics {
		c.latest[t] = map[string][]byte{}
	}
	return c
}

// also returns the topics to read beside the offsets; nil when none.
func (c *restoreCollector) also() alsoRead {
	if len(c.latest) == 0 {
		return nil
	}
	out := make(alsoRead, len(c.latest))
	for t := range c.latest {
		out[t] = c.add
	}
	return out
}

// add keeps rec if the connector wrote it.
func (c *restoreCollector) add(rec *kgo.Record) {
	if !writtenBy(rec, c.conn) {
		return
	}
	if rec.Value == nil {
		delete(c.latest[rec.Topic], string(rec.Key))
		return
	}
	c.latest[rec.Topic][string(rec.Key)] = bytes.Clone(rec.Value)
}

// records returns what was gathered, each topic's keys sorted, decoded
// on demand with decode; nil when the connector has no Restore topic.
func (c *restoreCollector) records(decode func(ctx context.Context, b []byte, v any) error) map[string][]connector.RestoredRecord {
	if len(c.latest) == 0 {
		return nil
	}
	out := make(map[string][]connector.RestoredRecord, len(c.latest))
	for t, byKey := range c.latest {
		recs := make([]connector.RestoredRecord, 0, len(byKey))
		for k, v := range byKey {
			recs = append(recs, connector.NewRestoredRecord([]byte(k), v, decode))
		}
		sort.Slice(recs, func(i, j int) bool { return bytes.Compare(recs[i].Key, recs[j].Key) < 0 })
		out[t] = recs
	}
	return out
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
