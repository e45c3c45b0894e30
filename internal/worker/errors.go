package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Sentinel errors of the runtime. Wrapped errors returned by this package
// match them with errors.Is.
var (
	// ErrFenced means another worker took over a task's transactional id.
	// The fenced task stops for good: it never writes again.
	ErrFenced = errors.New("producer fenced: another worker owns this task's transactional id")

	// ErrUnknownConnector means a request named a connector that is not running.
	ErrUnknownConnector = errors.New("unknown connector")

	// ErrConnectorExists means a connector with the same name already runs.
	ErrConnectorExists = errors.New("connector already exists")

	// ErrTaskFailed means a task stopped because of an error it could not recover from.
	ErrTaskFailed = errors.New("task failed")

	// ErrDeadLetter means a record could not be converted or was marked bad by
	// its task, and errors.tolerance=none forbids skipping it.
	ErrDeadLetter = errors.New("record could not be converted and errors.tolerance=none")

	// ErrRecordTooLarge means a record, encoded, is larger than its topic's
	// max.message.bytes: a conversion error, never a produce to retry.
	ErrRecordTooLarge = errors.New("record too large for its topic")

	// ErrOffsetsNotCompacted means the offsets topic exists with a cleanup
	// policy that deletes: the worker refuses to start on it.
	ErrOffsetsNotCompacted = errors.New("the offsets topic is not compacted")

	// ErrTransactionTimedOut means the broker aborted a transaction that
	// stayed open longer than producer.transaction.timeout.ms (a partition
	// leader outage, a stalled poll) and refused the producer's epoch. It is
	// not a fencing: the task restarts from its committed offsets.
	ErrTransactionTimedOut = errors.New("transaction ran past producer.transaction.timeout.ms and the broker aborted it")

	// ErrTransactionAborted means a transaction had to be aborted (a record
	// failed to produce, or the commit failed); the task restarts from its
	// last committed offsets.
	ErrTransactionAborted = errors.New("transaction aborted")
)

// errFlushStalled marks a commit whose records had no outcome within the
// flush bound: aborted, and checked for a new owner of the id (takenOver).
var errFlushStalled = errors.New("flush stalled")

// isFenced reports whether err means this producer lost its transactional id
// to a newer owner. Under KIP-890 part 2 (Kafka 4) a zombie sees
// PRODUCER_FENCED or INVALID_PRODUCER_EPOCH, and a commit that reaches the
// coordinator while the new owner's initialisation is aborting the old
// transaction gets INVALID_TXN_STATE; none is retried. The runner then
// asks fencedOrTimedOut whether a transaction timeout explains it instead.
func isFenced(err error) bool {
	return errors.Is(err, ErrFenced) ||
		errors.Is(err, kerr.ProducerFenced) ||
		errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.InvalidTxnState) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// timedOutError is a refused epoch that a transaction timeout explains. It
// unwraps to ErrTransactionTimedOut only, so isFenced does not see the
// broker's fencing code in it; the code stays in the message.
type timedOutError struct {
	age, timeout time.Duration
	cause        error
}

func (e *timedOutError) Error() string {
	return fmt.Sprintf("%v: the transaction was open %s (timeout %s): %v", ErrTransactionTimedOut, e.age.Round(time.Millisecond), e.timeout, e.cause)
}

func (e *timedOutError) Unwrap() error { return ErrTransactionTimedOut }

// ForwardError means this worker cannot do a request itself: another
// worker of the cluster must (the leader for config writes, a task's owner
// for its restart). The REST API forwards the request to URL, as Kafka
// Connect's workers do. An empty URL means no such worker is known yet (a
// rebalance is under way): the request is answered 409, to be retried.
type ForwardError struct {
	URL    string // the base URL of the worker to ask, e.g. http://10.0.0.5:8083
	Reason string // what only that worker may do
}

func (e *ForwardError) Error() string {
	if e.URL == "" {
		return "cannot complete the request during a worker group rebalance (" + e.Reason + "); retry"
	}
	return e.Reason + ": forwarded to " + e.URL
}

// IsFenced reports whether err means a transactional producer was fenced
// (another instance initialised its id).
func IsFenced(err error) bool { return isFenced(err) }
