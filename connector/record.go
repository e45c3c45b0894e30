package connector

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Partition is a source partition: the unit a provider resumes by, such as
// {"sport":"soccer","fixture":"123"}. Its canonical JSON is computed once, so
// a task builds each Partition once and reuses it for every record.
type Partition struct {
	fields map[string]any
	key    string // canonical JSON of fields (object keys sorted)
}

// NewPartition returns the partition with the given fields. Values must be
// JSON-encodable (strings, numbers, bools); anything else is a programming
// error and panics.
func NewPartition(fields map[string]any) Partition {
	b, err := json.Marshal(fields)
	if err != nil {
		panic(fmt.Sprintf("connector: partition %v is not JSON-encodable: %v", fields, err))
	}
	return Partition{fields: fields, key: string(b)}
}

// Fields returns the partition's fields. Callers must not modify the map.
func (p Partition) Fields() map[string]any { return p.fields }

// String returns the partition's canonical JSON, e.g. {"fixture":"123"}.
func (p Partition) String() string { return p.key }

// IsZero reports whether p was never set.
func (p Partition) IsZero() bool { return p.key == "" }

// Offset is a source offset: the position reached in a source partition, as
// JSON-encodable values, e.g. {"position":5123}. Offsets read back from Kafka
// hold numbers as json.Number; use OffsetInt and OffsetString to read them.
type Offset map[string]any

// OffsetInt returns the integer under key, accepting any JSON number form.
func (o Offset) OffsetInt(key string) (int64, bool) {
	switch v := o[key].(type) {
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case int64:
		return v, true
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case float64:
		return int64(v), float64(int64(v)) == v
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// OffsetString returns the string under key.
func (o Offset) OffsetString(key string) (string, bool) {
	s, ok := o[key].(string)
	return s, ok
}

// SourceRecord is one record produced by a task: the value to write, and the
// source position reached once it is written.
type SourceRecord struct {
	// Partition and Offset are the source position this record advances.
	// The worker commits the latest Offset of each Partition in the same
	// transaction as the record.
	Partition Partition
	Offset    Offset

	// Topic is the destination topic. Key is the match/fixture/event id as
	// UTF-8, so all of a match's records share one Kafka partition.
	Topic string
	Key   []byte

	// Value is encoded with Schema (an Avro record schema from package
	// schemas) into Confluent wire format. A nil Value with a nil Schema
	// writes a tombstone.
	Value  any
	Schema avro.Schema

	// Raw is the provider's message as received, written to the dead-letter
	// topic if Value cannot be encoded. Optional.
	Raw []byte

	// Headers are written as they are; see SourceHeaders.
	Headers []kgo.RecordHeader

	// Timestamp is the Kafka record timestamp; zero means now.
	Timestamp time.Time

	// DeadLetter, when set, marks a message the task could not decode: the
	// worker writes it to the dead-letter topic (errors.tolerance=all) or
	// fails the task (errors.tolerance=none). Value and Schema are ignored;
	// Partition and Offset still advance so a restart does not read it again.
	DeadLetter *DeadLetter

	// OnCommit, if set, is called once the transaction holding this record
	// ended: nil after a commit, the error after an abort or a failure.
	// It must not block.
	OnCommit func(err error)

	// Then, if set, returns records derived from this one and the batch's
	// earlier ones, built only when they are written: the worker calls it
	// once, right after it handed this record on, and writes what it
	// returns next, in the same transaction. A batch as large as a
	// provider's snapshot then never holds its derived records (the
	// normalized live events) all at once, nor all of its own (a task may
	// return one record per chunk of a large message, whose Then builds the
	// rest of the chunk). Then runs on the goroutine that calls Poll,
	// before the next Poll; the records it returns carry this record's
	// Partition and Offset and must not have Then set. Flatten builds a
	// batch's records at once.
	Then func() []*SourceRecord
}

// Flatten returns batch with the records each Then returns in place, built
// now (and Then cleared): what the worker writes, for a reader of a batch
// other than the worker (a test, a tool).
func Flatten(batch []*SourceRecord) []*SourceRecord {
	out := make([]*SourceRecord, 0, len(batch))
	for _, r := range batch {
		out = append(out, r)
		if then := r.Then; then != nil {
			r.Then = nil
			out = append(out, then()...)
		}
	}
	return out
}

// DeadLetter describes a message that could not be turned into a record.
type DeadLetter struct {
	Raw   []byte // the message as received, byte-exact
	Err   error  // why it could not be converted
	Stage string // where it failed: one of the Stage constants
}

// Standard header names carried by every provider record.
const (
	HeaderProvider   = "sc.provider"
	HeaderPosition   = "sc.source.position"
	HeaderReceivedAt = "sc.received.at"
)

// SourceHeaders returns the standard headers: provider name, source position
// (as the provider spells it: sequence number, event count, SSE id) and the
// receive time in RFC 3339 with nanoseconds.
func SourceHeaders(provider, position string, received time.Time) []kgo.RecordHeader {
	// The three values share one buffer: a header per record is on every
	// record's path.
	b := make([]byte, 0, len(provider)+len(position)+len(time.RFC3339Nano))
	b = append(append(b, provider...), position...)
	b = received.UTC().AppendFormat(b, time.RFC3339Nano)
	p, q := len(provider), len(provider)+len(position)
	return []kgo.RecordHeader{
		{Key: HeaderProvider, Value: b[:p:p]},
		{Key: HeaderPosition, Value: b[p:q:q]},
		{Key: HeaderReceivedAt, Value: b[q:]},
	}
}

// Stages at which a record can fail, as Kafka Connect names them in the
// __connect.errors.stage header.
const (
	StageTaskPoll       = "TASK_POLL"       // the task could not decode the provider's message
	StageValueConverter = "VALUE_CONVERTER" // the value could not be encoded with its schema
)
