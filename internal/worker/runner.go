package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/backoff"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// offsetsStallAfter is how long a task's offsets read waits on open
// transactions before it looks for zombies among them to fence; live
// tasks' transactions end within their interval and are never fenced.
const offsetsStallAfter = 500 * time.Millisecond

// offsetsReadSlack is added to the transaction timeout to bound the offsets
// read: by then the broker has aborted every transaction open when the read
// began (it checks every 10 s by default).
const offsetsReadSlack = 15 * time.Second

// producerMetadataMinAge bounds how often a task's producer may refresh
// metadata. kgo's default, 5 s, is also how long a first produce to a
// partition whose leader the first answer lacked waits for the next look:
// on a fresh topic that was a 5 s stall of the first transaction.
const producerMetadataMinAge = 100 * time.Millisecond

// taskRunner runs one task: a loop of Poll, produce, and commit, with the
// task's records and their source offsets in one transaction.
//
// Invariants:
//   - Only the runner's goroutine touches the task and the producer.
//   - An offset is written only in the transaction of the records it covers,
//     so a read_committed reader sees both or neither.
//   - After any abort the task is stopped and started again from the offsets
//     in Kafka: nothing produced in the aborted transaction is assumed.
//   - A fenced producer ends the runner; it never writes again.
type taskRunner struct {
	w     *Worker
	cr    *connectorRun
	id    int
	cfg   connector.Config
	set   connector.Settings
	log   *zap.Logger
	txnID string
	obs   TaskObserver // set at each session start (observer.go)

	batchMax int             // the producer's ProducerBatchMaxBytes; set at each session start
	restore  map[string]bool // the connector's Restore topics; set at each session start
	connName []byte          // the connector's name, the value of the header on Restore topics
	// lastEnd is when the last transaction ended; with the adaptive
	// boundary the next commit waits until settle has passed since.
	lastEnd time.Time

	mu        sync.Mutex
	state     State
	trace     string
	committed map[string]connector.Offset

	written, bytes, deadLetters, commits, aborts, restarts atomic.Int64
	lastCommit                                             atomic.Int64 // unix nanos
}

func newTaskRunner(w *Worker, cr *connectorRun, id int, cfg connector.Config) *taskRunner {
	return &taskRunner{
		w: w, cr: cr, id: id, cfg: cfg, set: cr.settings,
		log:       w.log.With(zap.String("connector", cr.name), zap.Int("task", id)),
		connName:  []byte(cr.name),
		txnID:     TransactionalID(w.cfg.groupID, cr.name, id),
		state:     StateUnassigned,
		committed: map[string]connector.Offset{},
	}
}

func (r *taskRunner) setState(s State, trace string) {
	r.mu.Lock()
	r.state, r.trace = s, trace
	r.mu.Unlock()
}

func (r *taskRunner) status() TaskStatus {
	r.mu.Lock()
	st := TaskStatus{ID: r.id, State: r.state, Trace: r.trace}
	st.Stats.Committed = make(map[string]connector.Offset, len(r.committed))
	for k, v := range r.committed {
		st.Stats.Committed[k] = v
	}
	r.mu.Unlock()
	st.Stats.RecordsWritten = r.written.Load()
	st.Stats.BytesWritten = r.bytes.Load()
	st.Stats.DeadLetters = r.deadLetters.Load()
	st.Stats.Commits = r.commits.Load()
	st.Stats.Aborts = r.aborts.Load()
	st.Stats.Restarts = r.restarts.Load()
	if n := r.lastCommit.Load(); n != 0 {
		st.Stats.LastCommit = time.Unix(0, n)
	}
	return st
}

// run runs sessions until ctx ends, the task fails for good, or it is fenced.
func (r *taskRunner) run(ctx context.Context) {
	// hard ends every Kafka call: it is cancelled shutdownTimeout after ctx,
	// which bounds how long a stop may take.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(r.w.cfg.shutdownTimeout, cancelHard)
		<-hard.Done()
		t.Stop()
	})
	defer stop()

	var failingSince time.Time
	wait := backoff.New(100*time.Millisecond, r.set.RetryDelayMax)
	for {
		r.setState(StateRunning, "")
		committedBefore := r.commits.Load()
		err := r.session(ctx, hard)
		if err == nil {
			r.setState(StateStopped, "")
			r.log.Info("task stopped")
			return
		}
		switch {
		case isFenced(err):
			if !errors.Is(err, ErrFenced) {
				err = fmt.Errorf("%w: %w", ErrFenced, err)
			}
			r.fail(err)
			return
		case connector.IsPermanent(err):
			r.fail(err)
			return
		case ctx.Err() != nil:
			r.setState(StateStopped, "")
			r.log.Warn("task stopped with an error during shutdown", zap.Error(err))
			return
		}
		if r.commits.Load() > committedBefore || failingSince.IsZero() {
			failingSince = time.Now()
			wait.Reset()
		}
		if r.set.RetryTimeout >= 0 && time.Since(failingSince) >= r.set.RetryTimeout {
			r.fail(fmt.Errorf("giving up after %s of restarts (errors.retry.timeout): %w", r.set.RetryTimeout, err))
			return
		}
		r.restarts.Add(1)
		r.setState(StateRestarting, err.Error())
		r.log.Warn("task restarting from its committed offsets", zap.Error(err))
		if wait.Wait(ctx) != nil {
			r.setState(StateStopped, "")
			return
		}
	}
}

func (r *taskRunner) fail(err error) {
	r.setState(StateFailed, err.Error())
	r.log.Error("task failed", zap.Error(err))
}

// session opens the producer (fencing any previous owner), reads the
// committed offsets, starts the task and loops until ctx ends or an error.
// It returns nil only for a clean stop.
func (r *taskRunner) session(ctx, hard context.Context) (err error) {
	r.obs = r.w.taskObserver(r.cr.name, r.id)
	opts := append(append(r.w.KafkaOpts(), r.w.cfg.producer...),
		kgo.TransactionalID(r.txnID),
		kgo.TransactionTimeout(r.w.cfg.txnTimeout),
		kgo.MetadataMinAge(producerMetadataMinAge),
	)
	if r.set.Boundary == connector.BoundaryAdaptive {
		// Records produced while the previous commit settles wait in the
		// client, and go out in one request when the commit flushes.
		opts = append(opts, kgo.ProducerLinger(r.set.BoundarySettle))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return connector.Permanent(fmt.Errorf("creating producer %s: %w", r.txnID, err))
	}
	defer cl.Close()
	// Loading the producer id bumps the epoch of r.txnID: the previous
	// owner is fenced and its open transaction aborted, so the offsets read
	// next are final.
	if _, _, err := cl.ProducerID(ctx); err != nil {
		if errors.Is(err, kerr.InvalidTransactionTimeout) {
			return connector.Permanent(fmt.Errorf("initialising transactional producer %s: %s=%d is more than the broker's transaction.max.timeout.ms allows: %w",
				r.txnID, WKeyTxnTimeoutMs, r.w.cfg.txnTimeout.Milliseconds(), err))
		}
		return fmt.Errorf("initialising transactional producer %s: %w", r.txnID, err)
	}
	if v, ok := cl.OptValue(kgo.ProducerBatchMaxBytes).(int32); ok {
		r.batchMax = int(v)
	}
	r.restore = restoreTopics(r.cr.conn.Topics())
	col := newRestoreCollector(r.cr.name, r.restore)
	offs, err := r.readOffsets(ctx, col.also())
	if err != nil {
		return err
	}
	restored := col.records(r.w.cfg.serializer.Decode)
	r.mu.Lock()
	r.committed = make(map[string]connector.Offset, len(offs.Offsets))
	for k, o := range offs.Offsets {
		r.committed[k] = o
	}
	r.mu.Unlock()

	task := r.cr.conn.NewTask()
	tc := connector.NewTaskContext(r.cr.name, r.id, r.cfg, r.log, r.obs, offs.Offsets)
	if restored != nil {
		tc = tc.WithRestored(restored)
	}
	if err := task.Start(ctx, tc); err != nil {
		return fmt.Errorf("starting task: %w", err)
	}
	r.log.Info("task started", zap.String("transactional.id", r.txnID), zap.Int("committed_partitions", len(offs.Offsets)),
		zap.Int("restored_keys", restoredKeys(restored)))
	tc.ReleaseRestored() // the task took what it needs in Start
	defer func() {
		if serr := task.Stop(); serr != nil {
			r.log.Warn("stopping task", zap.Error(serr))
		}
	}()

	t := &txn{dirty: map[string]dirtyOffset{}}
	for {
		if ctx.Err() != nil {
			// Graceful stop: commit what was produced, within the shutdown timeout.
			return r.commit(hard, cl, t)
		}
		if r.cr.gate.isPaused() {
			if err := r.pause(ctx, hard, cl, t); err != nil {
				return err
			}
			continue
		}
		pollCtx, cancel := context.WithDeadline(ctx, r.pollDeadline(t))
		recs, perr := task.Poll(pollCtx)
		cancel()
		if len(recs) > 0 {
			r.obs.Polled(len(recs))
			if err := r.produce(hard, cl, t, recs); err != nil {
				return r.abort(hard, cl, t, err)
			}
		}
		if perr != nil && ctx.Err() == nil && !errors.Is(perr, context.DeadlineExceeded) {
			return r.abort(hard, cl, t, fmt.Errorf("task poll: %w", perr))
		}
		if t.open && r.due(t) {
			if err := r.commit(hard, cl, t); err != nil {
				return err
			}
		}
	}
}

// readOffsets reads the connector's committed offsets, and in the same
// pass the topics of also (its Restore topics). The read waits for
// every transaction open on the offsets topic when it began (so a commit of
// this task made after another task's transaction began is seen); after
// offsetsStallAfter it fences those that no task of this worker runs, and
// the whole wait is bounded by the transaction timeout plus the broker's
// abort check, after which it fails and the task restarts.
func (r *taskRunner) readOffsets(ctx context.Context, also alsoRead) (*CommittedOffsets, error) {
	ctx, cancel := context.WithTimeout(ctx, r.w.cfg.txnTimeout+offsetsReadSlack)
	defer cancel()
	return readOffsetsAlso(ctx, r.w.cfg.kafka, r.w.cfg.offsetsTopic, r.cr.name, true, also,
		readback.OnStall(offsetsStallAfter, func(ctx context.Context, waiting []readback.Waiting) {
			r.w.fenceBlocking(ctx, r.log, waiting)
		}))
}

// pollDeadline is when the next Poll must return: at most pollMax away,
// and no later than the open transaction's interval boundary.
func (r *taskRunner) pollDeadline(t *txn) time.Time {
	d := time.Now().Add(r.w.cfg.pollMax)
	if !t.open {
		return d
	}
	var b time.Time
	switch r.set.Boundary {
	case connector.BoundaryInterval:
		b = t.started.Add(r.set.BoundaryInterval)
	case connector.BoundaryAdaptive:
		b = r.lastEnd.Add(r.set.BoundarySettle)
	default:
		return d
	}
	if b.Before(d) {
		return b
	}
	return d
}

// due reports whether the open transaction is to be committed now.
func (r *taskRunner) due(t *txn) bool {
	switch r.set.Boundary {
	case connector.BoundaryInterval:
		return time.Since(t.started) >= r.set.BoundaryInterval
	case connector.BoundaryAdaptive:
		return time.Since(r.lastEnd) >= r.set.BoundarySettle
	}
	return true
}

// produce sends recs in the open transaction (beginning one if needed).
func (r *taskRunner) produce(ctx context.Context, cl *kgo.Client, t *txn, recs []*connector.SourceRecord) error {
	if !t.open {
		if err := cl.BeginTransaction(); err != nil {
			return fmt.Errorf("beginning transaction: %w", err)
		}
		t.open, t.started = true, time.Now()
	}
	for i, rec := range recs {
		// The batch is the worker's once Poll returned (connector.SourceTask):
		// dropping each record as it is produced lets the collector take it
		// while the rest are encoded, so a batch as large as a provider's
		// whole snapshot is not held twice, decoded and encoded.
		recs[i] = nil
		if err := r.produceOne(ctx, cl, t, rec); err != nil {
			return err
		}
		if rec.Then == nil {
			continue
		}
		// Built now, after rec was handed on: see SourceRecord.Then.
		then := rec.Then()
		if len(then) > 0 {
			r.obs.Polled(len(then))
		}
		for _, x := range then {
			if x.Then != nil {
				return connector.Permanent(fmt.Errorf("a record for topic %s that Then returned has Then set (one level only)", x.Topic))
			}
			if err := r.produceOne(ctx, cl, t, x); err != nil {
				return err
			}
		}
	}
	return nil
}

// produceOne encodes rec and hands it to the producer, or writes it as a
// dead letter; its offset becomes the partition's dirty offset.
func (r *taskRunner) produceOne(ctx context.Context, cl *kgo.Client, t *txn, rec *connector.SourceRecord) error {
	if rec.Partition.IsZero() {
		return connector.Permanent(fmt.Errorf("task returned a record for topic %s without a source partition", rec.Topic))
	}
	t.dirty[rec.Partition.String()] = dirtyOffset{p: rec.Partition, o: rec.Offset}
	if rec.OnCommit != nil {
		t.callbacks = append(t.callbacks, rec.OnCommit)
	}
	if rec.DeadLetter != nil {
		return r.deadLetter(ctx, cl, t, rec, rec.DeadLetter)
	}
	var value []byte
	if rec.Schema != nil || rec.Value != nil {
		var err error
		value, err = r.w.cfg.serializer.AppendEncode(nil, rec.Topic, rec.Schema, rec.Value)
		if err != nil {
			dl := &connector.DeadLetter{Raw: rec.Raw, Err: fmt.Errorf("encoding value for %s: %w", rec.Topic, err), Stage: connector.StageValueConverter}
			return r.deadLetter(ctx, cl, t, rec, dl)
		}
	}
	if size, limit := recordSize(rec.Key, value, rec.Headers), r.recordLimit(rec.Topic); size > limit {
		dl := &connector.DeadLetter{Raw: rec.Raw, Err: oversized(rec, size, limit), Stage: connector.StageValueConverter}
		return r.deadLetter(ctx, cl, t, rec, dl)
	}
	headers := rec.Headers
	if r.restore[rec.Topic] {
		headers = withConnectorHeader(headers, r.connName)
	}
	t.produce(ctx, cl, &kgo.Record{Topic: rec.Topic, Key: rec.Key, Value: value, Headers: headers, Timestamp: rec.Timestamp})
	t.records++
	t.bytes += int64(len(value))
	return nil
}

// commit writes the dirty offsets and commits; on any failure it aborts.
func (r *taskRunner) commit(ctx context.Context, cl *kgo.Client, t *txn) error {
	if !t.open {
		return nil
	}
	start := time.Now()
	for _, d := range t.dirty {
		v, err := OffsetValue(d.o)
		if err != nil {
			return r.abort(ctx, cl, t, connector.Permanent(err))
		}
		t.produce(ctx, cl, &kgo.Record{Topic: r.w.cfg.offsetsTopic, Key: OffsetKey(r.cr.name, d.p), Value: v})
	}
	if err := r.flush(ctx, cl, t); err != nil {
		return r.abort(ctx, cl, t, err)
	}
	if err := t.firstErr(); err != nil {
		return r.abort(ctx, cl, t, fmt.Errorf("producing: %w", err))
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return r.abort(ctx, cl, t, fmt.Errorf("committing transaction: %w", err))
	}
	r.lastEnd = time.Now()
	r.written.Add(t.records)
	r.bytes.Add(t.bytes)
	r.deadLetters.Add(t.dead)
	r.commits.Add(1)
	r.lastCommit.Store(time.Now().UnixNano())
	r.mu.Lock()
	for k, d := range t.dirty {
		r.committed[k] = d.o
	}
	r.mu.Unlock()
	r.obs.Committed(Commit{Records: t.records, Bytes: t.bytes, DeadLetters: t.dead, Partitions: len(t.dirty), Took: time.Since(start)})
	for _, cb := range t.callbacks {
		cb(nil)
	}
	if ce := r.log.Check(zap.DebugLevel, "transaction committed"); ce != nil {
		ce.Write(zap.Int64("records", t.records), zap.Int("partitions", len(t.dirty)), zap.Duration("took", time.Since(start)))
	}
	t.reset()
	return nil
}

// flush waits until every record of t has its outcome, at most
// flushTimeout. A fenced producer's records fail at once, as a rule; once a
// takeover left one task's flush waiting on kgo for a whole minute, so the
// wait is bounded, and the abort that follows asks the coordinator whether
// another producer has the id now (takenOver): fenced, or only stalled.
func (r *taskRunner) flush(ctx context.Context, cl *kgo.Client, t *txn) error {
	fctx, cancel := context.WithTimeout(ctx, r.flushTimeout())
	defer cancel()
	err := cl.Flush(fctx)
	if err == nil {
		err = t.settle(fctx)
	}
	if err != nil && fctx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("flushing transaction: %w: no outcome for its records within %s: %w", errFlushStalled, r.flushTimeout(), err)
	}
	if err != nil {
		return fmt.Errorf("flushing transaction: %w", err)
	}
	return nil
}

// flushTimeout bounds a commit's flush and an abort's steps: a quarter of
// the transaction timeout, so the transaction is still within it when the
// abort asks the coordinator (a refused epoch then proves another owner).
func (r *taskRunner) flushTimeout() time.Duration { return r.w.cfg.txnTimeout / 4 }

// abort aborts the open transaction, tells the records' callbacks, and
// returns cause wrapped as ErrTransactionAborted (keeping a fenced cause
// recognisable).
func (r *taskRunner) abort(ctx context.Context, cl *kgo.Client, t *txn, cause error) error {
	if t.open && isFenced(cause) {
		cause = r.fencedOrTimedOut(ctx, time.Since(t.started), cause)
	}
	if t.open && errors.Is(cause, errFlushStalled) {
		switch over, err := r.takenOver(ctx, cl); {
		case err != nil:
			r.log.Warn("could not tell whether another producer took this task's transactional id during the stalled flush", zap.Error(err))
		case over:
			cause = fmt.Errorf("%w: another producer took %s while this one's flush stalled: %w", ErrFenced, r.txnID, cause)
		}
	}
	if t.open {
		r.aborts.Add(1)
		// Each step is bounded: a stalled broker must not hold the task.
		step := func(f func(context.Context) error) error {
			sctx, cancel := context.WithTimeout(ctx, r.flushTimeout())
			defer cancel()
			return f(sctx)
		}
		if err := step(cl.AbortBufferedRecords); err != nil {
			r.log.Warn("aborting buffered records", zap.Error(err))
		}
		if err := step(t.settle); err != nil {
			r.log.Warn("aborting transaction", zap.Error(err))
		}
		err := step(func(ctx context.Context) error { return cl.EndTransaction(ctx, kgo.TryAbort) })
		if err != nil && !isFenced(cause) && !errors.Is(cause, ErrTransactionTimedOut) {
			r.log.Warn("aborting transaction", zap.Error(err))
		}
	}
	for _, cb := range t.callbacks {
		cb(cause)
	}
	t.reset()
	if connector.IsPermanent(cause) {
		return cause
	}
	return fmt.Errorf("%w: %w", ErrTransactionAborted, cause)
}
