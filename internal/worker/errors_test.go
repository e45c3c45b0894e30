package worker

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestIsFenced: every code a zombie producer can see after another owner
// took its id is a fencing; a timed-out transaction, once explained, is not.
func TestIsFenced(t *testing.T) {
	for _, tc := range []struct {
		err    error
		fenced bool
	}{
		{kerr.ProducerFenced, true},
		{kerr.InvalidProducerEpoch, true},
		{fmt.Errorf("committing transaction: %w", kerr.InvalidTxnState), true},
		{kerr.TransactionalIDAuthorizationFailed, true},
		{fmt.Errorf("x: %w", ErrFenced), true},
		{kerr.NotLeaderForPartition, false},
		{&timedOutError{age: time.Minute, timeout: time.Minute, cause: kerr.InvalidProducerEpoch}, false},
	} {
		if got := isFenced(tc.err); got != tc.fenced {
			t.Errorf("isFenced(%v) = %v, want %v", tc.err, got, tc.fenced)
		}
	}
}
