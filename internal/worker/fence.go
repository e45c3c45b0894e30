package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Fencing ends the open transactions of task ids nobody runs any more, so
// that they cannot hold back a read_committed reader (the offsets read of a
// starting task, a consumer of the data topics) until the broker's
// transaction timeout.
//
// The worker group owns every transactional id <group.id>-<connector>-<task>.
// A task fences its own id when it starts; what is fenced here is what no
// starting task would fence:
//   - when a connector starts, every id of the connector with a transaction
//     open: the tasks of a previous, larger task set (tasks.max lowered, work
//     moved) and the zombies of a crashed process;
//   - when a task's offsets read waits on transactions open on the offsets
//     topic, those among them whose id is in the group's namespace and that
//     no task of this worker runs (a connector removed since the crash, or
//     started later by the same process).

// stateOngoing is the transaction state whose records hold the last stable
// offset until someone ends it; Prepare* states end on their own.
const stateOngoing = "Ongoing"

// TaskTxn is one transactional id of a connector's task as the broker lists it.
type TaskTxn struct {
	ID    string // <group>-<connector>-<task>
	Task  int
	State string // Empty, Ongoing, PrepareCommit, CompleteCommit, ...
}

// ConnectorTransactions lists the transactional ids the broker knows for
// the tasks of connector in group, with their states, sorted by task.
func ConnectorTransactions(ctx context.Context, opts []kgo.Opt, group, conn string) ([]TaskTxn, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("listing transactions of %s: creating client: %w", conn, err)
	}
	defer cl.Close()
	txns, err := kadm.NewClient(cl).ListTransactions(ctx, nil, nil)
	if err != nil && len(txns) == 0 {
		return nil, fmt.Errorf("listing transactions of %s: %w", conn, err)
	}
	var out []TaskTxn
	for _, t := range txns.Sorted() {
		if task, ok := taskOf(t.TxnID, group, conn); ok {
			out = append(out, TaskTxn{ID: t.TxnID, Task: task, State: t.State})
		}
	}
	slices.SortFunc(out, func(a, b TaskTxn) int { return a.Task - b.Task })
	return out, nil
}

// taskOf returns the task number of id when id is TransactionalID(group,
// connector, task). The suffix must be a plain number, so connector "a"
// never claims the ids of connector "a-1".
func taskOf(id, group, conn string) (int, bool) {
	rest, ok := strings.CutPrefix(id, group+"-"+conn+"-")
	if !ok || rest == "" || strings.TrimLeft(rest, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

// FenceTransactionalIDs fences each id: it loads the id's producer, which
// bumps its epoch and aborts its open transaction. A process still using the
// id fails its next write as fenced.
func FenceTransactionalIDs(ctx context.Context, opts []kgo.Opt, ids ...string) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fenceOne(ctx, opts, id); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// FenceConnector fences every task id of conn in group: tasks 0..tasks-1
// and every id the broker knows for the connector, but those in except.
// Afterwards no earlier owner of any of them can write again.
func FenceConnector(ctx context.Context, opts []kgo.Opt, group, conn string, tasks int, except ...string) error {
	ids := map[string]bool{}
	for i := range tasks {
		ids[TransactionalID(group, conn, i)] = true
	}
	known, err := ConnectorTransactions(ctx, opts, group, conn)
	if err != nil {
		return err
	}
	for _, t := range known {
		ids[t.ID] = true
	}
	for _, id := range except {
		delete(ids, id)
	}
	return FenceTransactionalIDs(ctx, opts, slices.Sorted(maps.Keys(ids))...)
}

func fenceOne(ctx context.Context, opts []kgo.Opt, id string) error {
	cl, err := kgo.NewClient(append(slices.Clone(opts), kgo.TransactionalID(id))...)
	if err != nil {
		return fmt.Errorf("fencing %s: %w", id, err)
	}
	defer cl.Close()
	if _, _, err := cl.ProducerID(ctx); err != nil {
		return fmt.Errorf("fencing %s: %w", id, err)
	}
	return nil
}

// fenceConnector fences every id of connector with a transaction open. It
// runs before the connector's tasks start, so none of them is live here.
func (w *Worker) fenceConnector(ctx context.Context, conn string) error {
	txns, err := ConnectorTransactions(ctx, w.cfg.kafka, w.cfg.groupID, conn)
	if err != nil {
		return err
	}
	var ids []string
	for _, t := range txns {
		if t.State == stateOngoing {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	w.log.Info("fencing task ids with a transaction open before starting the connector's tasks",
		zap.String("connector", conn), zap.Strings("transactional.ids", ids))
	return FenceTransactionalIDs(ctx, w.cfg.kafka, ids...)
}

// fenceBlocking is the offsets read's OnStall: it finds the transactions
// open on the waited-for partitions of the offsets topic and fences those
// whose id is in the group's namespace and not run by this worker. A live
// task of another connector of this worker is never fenced: its
// transaction ends within its boundary interval.
func (w *Worker) fenceBlocking(ctx context.Context, log *zap.Logger, waiting []readback.Waiting) {
	ids, err := w.blockingIDs(ctx, waiting)
	if err != nil {
		log.Warn("offsets read waits on open transactions; could not find them to fence (waiting for the broker's transaction timeout)", zap.Error(err))
		return
	}
	if len(ids) == 0 {
		log.Info("offsets read waits on open transactions of live tasks or outside the worker group", zap.Int("partitions", len(waiting)))
		return
	}
	log.Info("offsets read waits on open transactions no task of this worker runs: fencing them", zap.Strings("transactional.ids", ids))
	if err := FenceTransactionalIDs(ctx, w.cfg.kafka, ids...); err != nil {
		log.Warn("fencing transactions that hold the offsets read", zap.Error(err))
	}
}

// blockingIDs returns the transactional ids of the transactions open on the
// waited-for partitions that are in the group's namespace and not live here.
func (w *Worker) blockingIDs(ctx context.Context, waiting []readback.Waiting) ([]string, error) {
	cl, err := kgo.NewClient(w.cfg.kafka...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	set := kadm.TopicsSet{}
	for _, wt := range waiting {
		set.Add(wt.Topic, wt.Partition)
	}
	prods, err := adm.DescribeProducers(ctx, set)
	if err != nil && len(prods) == 0 {
		return nil, fmt.Errorf("describing producers: %w", err)
	}
	var pids []int64
	prods.EachProducer(func(p kadm.DescribedProducer) {
		if p.CurrentTxnStartOffset >= 0 && !slices.Contains(pids, p.ProducerID) {
			pids = append(pids, p.ProducerID)
		}
	})
	if len(pids) == 0 {
		return nil, nil
	}
	txns, err := adm.ListTransactions(ctx, pids, []string{stateOngoing})
	if err != nil && len(txns) == 0 {
		return nil, fmt.Errorf("listing transactions: %w", err)
	}
	live := w.liveTxnIDs()
	var ids []string
	for _, t := range txns.Sorted() {
		if strings.HasPrefix(t.TxnID, w.cfg.groupID+"-") && !live[t.TxnID] {
			ids = append(ids, t.TxnID)
		}
	}
	return ids, nil
}

// liveTxnIDs returns the transactional ids of every task this worker runs,
// and in distributed mode of every task the cluster runs.
func (w *Worker) liveTxnIDs() map[string]bool {
	out := map[string]bool{}
	if w.cfg.clusterIDs != nil { // outside mu: the herder's callback takes its own lock
		for id := range w.cfg.clusterIDs() {
			out[id] = true
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, rec := range w.connectors {
		if rec.run == nil {
			continue
		}
		for _, t := range rec.run.tasks {
			out[t.txnID] = true
		}
	}
	return out
}

// fencedOrTimedOut tells the two reasons the broker refuses this producer's
// epoch. A transaction open for less than the transaction timeout cannot
// have been aborted by the broker's timeout: another owner fenced this id,
// and cause stays a fencing. An older one most likely was timed out (a
// leader outage, a stalled poll) unless the id shows another owner's
// transaction in progress now; then it becomes ErrTransactionTimedOut,
// which restarts the task from its committed offsets instead of failing it.
func (r *taskRunner) fencedOrTimedOut(ctx context.Context, age time.Duration, cause error) error {
	if age < r.w.cfg.txnTimeout {
		return cause
	}
	if owner, err := r.otherOwnerActive(ctx, age); err != nil {
		r.log.Warn("could not describe this task's transactional id; taking the refusal for a timeout", zap.Error(err))
	} else if owner {
		return cause
	}
	return &timedOutError{age: age, timeout: r.w.cfg.txnTimeout, cause: cause}
}

// otherOwnerActive reports whether the task's transactional id has a
// transaction in progress that began after this task's (which was open for age).
func (r *taskRunner) otherOwnerActive(ctx context.Context, age time.Duration) (bool, error) {
	d, err := r.describeTxn(ctx)
	if err != nil {
		return false, err
	}
	ours := time.Now().Add(-age).UnixMilli()
	return d.State == "Ongoing" && d.StartTimestamp > ours, nil
}

// takenOver reports whether another producer holds the task's transactional
// id: the coordinator shows another producer id, or a later epoch than cl's.
// Called within the transaction timeout, when nothing but a new owner moves
// the epoch on (the broker's own abort of a timed-out transaction would).
func (r *taskRunner) takenOver(ctx context.Context, cl *kgo.Client) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id, epoch, err := cl.ProducerID(ctx)
	if isFenced(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading this producer's id: %w", err)
	}
	d, err := r.describeTxn(ctx)
	if err != nil {
		return false, err
	}
	return d.ProducerID != id || d.ProducerEpoch > epoch, nil
}

// describeTxn describes the task's transactional id on its coordinator.
func (r *taskRunner) describeTxn(ctx context.Context) (kadm.DescribedTransaction, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(r.w.cfg.kafka...)
	if err != nil {
		return kadm.DescribedTransaction{}, err
	}
	defer cl.Close()
	ds, err := kadm.NewClient(cl).DescribeTransactions(ctx, r.txnID)
	if err != nil {
		return kadm.DescribedTransaction{}, err
	}
	d, ok := ds[r.txnID]
	if !ok || d.Err != nil {
		return kadm.DescribedTransaction{}, fmt.Errorf("describing %s: %v", r.txnID, d.Err)
	}
	return d, nil
}
