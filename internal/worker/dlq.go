package worker

import (
	"context"
	"fmt"
	"strconv"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Dead-letter context headers, with Kafka Connect's names.
const (
	HeaderErrTopic        = "__connect.errors.topic"
	HeaderErrConnector    = "__connect.errors.connector.name"
	HeaderErrTask         = "__connect.errors.task.id"
	HeaderErrStage        = "__connect.errors.stage"
	HeaderErrClass        = "__connect.errors.class.name"
	HeaderErrExcClass     = "__connect.errors.exception.class.name"
	HeaderErrExcMessage   = "__connect.errors.exception.message"
	HeaderErrExcTrace     = "__connect.errors.exception.stacktrace"
	HeaderErrSourceOffset = "__connect.errors.source.offset" // ours: the source offset the bad message advanced to

	// HeaderRawTruncated ("true") marks a dead letter whose raw bytes were
	// cut to fit the dead-letter topic's max.message.bytes;
	// HeaderRawBytes then holds the length of the whole message.
	HeaderRawTruncated = "sc.dlq.raw.truncated"
	HeaderRawBytes     = "sc.dlq.raw.bytes"
)

// deadLetter handles a record that cannot be written: with
// errors.tolerance=none it fails the task; otherwise it writes the raw bytes
// to the dead-letter topic in the open transaction, or, without a dead-letter
// topic, logs and counts the drop.
func (r *taskRunner) deadLetter(ctx context.Context, cl *kgo.Client, t *txn, rec *connector.SourceRecord, dl *connector.DeadLetter) error {
	if !r.set.TolerateAll {
		return connector.Permanent(fmt.Errorf("%w: %s: %w (set errors.tolerance=all and errors.deadletterqueue.topic.name to route such messages aside)", ErrDeadLetter, dl.Stage, dl.Err))
	}
	if dl.Err == nil {
		dl.Err = fmt.Errorf("unspecified error")
	}
	t.dead++
	r.log.Warn("message sent to dead-letter topic",
		zap.String("dlq", r.set.DLQTopic), zap.String("topic", rec.Topic), zap.ByteString("key", rec.Key),
		zap.String("stage", dl.Stage), zap.Error(dl.Err), zap.Int("raw_bytes", len(dl.Raw)))
	if r.set.DLQTopic == "" {
		return nil
	}
	hs := append([]kgo.RecordHeader(nil), rec.Headers...)
	if r.set.DLQHeaders {
		off, _ := OffsetValue(rec.Offset)
		errType := fmt.Sprintf("%T", dl.Err)
		hs = append(hs,
			kgo.RecordHeader{Key: HeaderErrTopic, Value: []byte(rec.Topic)},
			kgo.RecordHeader{Key: HeaderErrConnector, Value: []byte(r.cr.name)},
			kgo.RecordHeader{Key: HeaderErrTask, Value: []byte(strconv.Itoa(r.id))},
			kgo.RecordHeader{Key: HeaderErrStage, Value: []byte(dl.Stage)},
			kgo.RecordHeader{Key: HeaderErrClass, Value: []byte(r.set.Class)},
			kgo.RecordHeader{Key: HeaderErrExcClass, Value: []byte(errType)},
			kgo.RecordHeader{Key: HeaderErrExcMessage, Value: []byte(dl.Err.Error())},
			kgo.RecordHeader{Key: HeaderErrExcTrace, Value: []byte(fmt.Sprintf("%+v", dl.Err))},
			kgo.RecordHeader{Key: HeaderErrSourceOffset, Value: off},
		)
	}
	raw := dl.Raw
	if limit := r.recordLimit(r.set.DLQTopic); recordSize(rec.Key, raw, hs) > limit {
		// Keep what fits, so the dead letter itself never loops the task.
		hs = append(hs,
			kgo.RecordHeader{Key: HeaderRawTruncated, Value: []byte("true")},
			kgo.RecordHeader{Key: HeaderRawBytes, Value: []byte(strconv.Itoa(len(raw)))})
		raw = raw[:max(0, min(len(raw), limit-recordSize(rec.Key, nil, hs)))]
	}
	t.produce(ctx, cl, &kgo.Record{Topic: r.set.DLQTopic, Key: rec.Key, Value: raw, Headers: hs, Timestamp: rec.Timestamp})
	return nil
}
