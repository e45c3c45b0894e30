package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// A running standalone worker is a member of the Kafka group named by its
// group.id, with protocol type PresenceProtocol. Nothing is assigned
// through it; it exists so that tools can tell from the broker alone that a
// worker of the group is alive (the offsets command refuses to fence the
// tasks of a running worker, even an idle one that has no transaction
// open), and so that the coordinator refuses, with
// INCONSISTENT_GROUP_PROTOCOL, a worker of another kind on the same
// group.id. A SIGKILLed worker stays a member for presenceSession.

// PresenceProtocol is the group protocol type of a standalone worker's
// membership in its group.
const PresenceProtocol = "sportsconnect-standalone"

// presenceSession is the session timeout of the membership.
const presenceSession = 10 * time.Second

// presenceClientID is the client id members show in the group.
const presenceClientID = "sportsconnect-worker"

// joinPresence makes the worker a member of its group. The member consumes
// nothing: the offsets topic is subscribed (a group member needs a topic)
// and paused before any fetch.
func (w *Worker) joinPresence() error {
	cl, err := kgo.NewClient(append(w.KafkaOpts(),
		kgo.ClientID(presenceClientID),
		kgo.ConsumerGroup(w.cfg.groupID),
		kgo.GroupProtocol(PresenceProtocol),
		kgo.ConsumeTopics(w.cfg.offsetsTopic),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(presenceSession),
	)...)
	if err != nil {
		return fmt.Errorf("joining worker group %s: %w", w.cfg.groupID, err)
	}
	cl.PauseFetchTopics(w.cfg.offsetsTopic)
	w.mu.Lock()
	w.presence = cl
	w.mu.Unlock()
	w.log.Info("worker joined its group", zap.String("group.id", w.cfg.groupID), zap.String("protocol", PresenceProtocol))
	return nil
}

// leavePresence leaves the group (at Close).
func (w *Worker) leavePresence() {
	w.mu.Lock()
	cl := w.presence
	w.presence = nil
	w.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}

// ErrWorkerRunning means a worker of the group is alive, so a change that
// fences the group's task ids would fail its running tasks.
var ErrWorkerRunning = errors.New("a worker of the group is running")

// RunningWorkers returns "client-id@host" of each live member of group:
// the workers running now (or SIGKILLed less than a session timeout ago).
func RunningWorkers(ctx context.Context, opts []kgo.Opt, group string) ([]string, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("describing worker group %s: %w", group, err)
	}
	defer cl.Close()
	gs, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("describing worker group %s: %w", group, err)
	}
	g, ok := gs[group]
	if !ok {
		return nil, nil
	}
	if g.Err != nil && !errors.Is(g.Err, kerr.GroupIDNotFound) {
		return nil, fmt.Errorf("describing worker group %s: %w", group, g.Err)
	}
	var out []string
	for _, m := range g.Members {
		out = append(out, m.ClientID+"@"+m.ClientHost)
	}
	slices.Sort(out)
	return out, nil
}
