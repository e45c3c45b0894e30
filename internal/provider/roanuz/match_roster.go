package roanuz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"go.uber.org/zap"
)

// The roster: which matches are subscribed. Roanuz keeps a subscription
// until it is unsubscribed, and the worker gives a task only the committed
// offset of a partition it names, so a task could not otherwise find, after
// a restart, a match it subscribed that is no longer configured or listed.
// Each bucket (bucketOf) has a roster partition {"roster": b} whose offset
// lists the bucket's subscribed matches. A match joins the roster, in a
// committed transaction, before it is subscribed, and leaves it after it
// was unsubscribed; each change is also a Subscription record on
// <prefix>.roanuz.cricket.subscriptions. A crash between the two steps
// leaves the match in the roster, and the next start unsubscribes it
// again (unsubscribing twice is harmless).

// offsetRoster is the offset key of a roster partition: the match keys.
const offsetRoster = "matches"

// Subscription actions and reasons.
const (
	ActionFollow  = "follow"
	ActionRelease = "release"

	ReasonConfigured = "configured" // in roanuz.matches
	ReasonListed     = "listed"     // in the featured list
	ReasonCompleted  = "completed"  // its completed document was written
	ReasonRemoved    = "removed"    // no longer configured or listed
)

// rosterPartition returns the roster partition of bucket b.
func rosterPartition(b int) connector.Partition {
	return connector.NewPartition(map[string]any{"roster": strconv.Itoa(b)})
}

// offsetList reads a list of strings from a committed offset value
// ([]any when read back from Kafka).
func offsetList(v any) []string {
	var out []string
	switch l := v.(type) {
	case []string:
		out = append(out, l...)
	case []any:
		for _, x := range l {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// rosterChange is a roster change on its way to Poll; done gets the
// outcome of the transaction that holds it.
type rosterChange struct {
	match, action, reason, status string
	raw                           []byte
	done                          chan error
}

// rosterRecord applies ch to the roster (Poll only) and returns the
// Subscription record carrying the bucket's new roster as its offset.
func (t *MatchTask) rosterRecord(ch *rosterChange) *connector.SourceRecord {
	b := bucketOf(ch.match)
	list := slices.DeleteFunc(slices.Clone(t.rosters[b]), func(m string) bool { return m == ch.match })
	if ch.action == ActionFollow {
		list = append(list, ch.match)
	}
	sort.Strings(list)
	t.rosters[b] = list
	p, ok := t.rosterParts[b]
	if !ok {
		p = rosterPartition(b)
	}
	now := time.Now()
	return &connector.SourceRecord{Partition: p, Offset: connector.Offset{offsetRoster: slices.Clone(list)},
		Topic: t.subTopic, Key: []byte(ch.match), Schema: SubscriptionSchema, Raw: ch.raw,
		Value: &Subscription{MatchKey: ch.match, Action: ch.action, Reason: ch.reason, ListedStatus: ch.status,
			Task: int32(t.index), At: now, Raw: string(ch.raw)},
		Headers:  connector.SourceHeaders(KeyProvider, ch.action, now),
		OnCommit: func(err error) { ch.done <- err }}
}

// rosterWrite has Poll write the change and waits for its commit.
func (t *MatchTask) rosterWrite(ctx context.Context, ch *rosterChange) error {
	ch.done = make(chan error, 1)
	select {
	case t.ctrl <- ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-ch.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// manage decides what the task follows: at start the configured matches
// and the roster, then the completed matches (released) and, with
// discovery, the featured list at every interval.
func (t *MatchTask) manage() {
	defer t.wg.Done()
	ctx := t.ctx
	pending := map[string]string{} // releases to retry: match -> reason
	for _, m := range t.startRoster {
		switch {
		case t.committedCompleted(m):
			// Completed, but the crash came before it left the roster.
			t.markCompleted(m)
			pending[m] = ReasonCompleted
		case slices.Contains(t.static, m):
		case t.cfg.discover:
			// Listed when subscribed: followed until the list says otherwise.
			t.followPlaced(m)
		default:
			pending[m] = ReasonRemoved
		}
	}
	var configured []*rosterChange
	for _, m := range t.static {
		switch {
		case t.committedCompleted(m):
			t.markCompleted(m)
		case slices.Contains(t.startRoster, m):
			t.followPlaced(m)
		default:
			configured = append(configured, &rosterChange{match: m, reason: ReasonConfigured})
		}
	}
	t.follow(ctx, configured)
	every := t.cfg.discoverEvery
	if !t.cfg.discover {
		every = max(t.cfg.backoffMax, time.Second) // only retries
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for m, reason := range pending {
			if t.release(ctx, m, reason) {
				delete(pending, m)
			}
		}
		if t.cfg.discover {
			for m, reason := range t.discover(ctx) {
				if !t.release(ctx, m, reason) {
					pending[m] = reason
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		case <-tick.C:
		}
		t.mu.Lock()
		done := t.doneQ
		t.doneQ = nil
		t.mu.Unlock()
		for _, m := range done {
			pending[m] = ReasonCompleted
		}
	}
}

// markCompleted records that m's completed document is committed.
func (t *MatchTask) markCompleted(m string) {
	t.mu.Lock()
	t.completed[m] = true
	t.mu.Unlock()
}

// followPlaced follows m, already in the roster.
func (t *MatchTask) followPlaced(m string) {
	if !t.place(m) {
		t.log.Error("roanuz match not followed: no room on this task's connections; raise roanuz.matches.per.connection or roanuz.connections.max",
			zap.String("match", m), zap.Int("connections", t.budget), zap.Int("per_connection", t.cfg.perConn))
	}
}

// follow writes the matches into the roster (the changes are sent
// together, so they share transactions), then follows each one whose
// change committed (its connection subscribes it).
func (t *MatchTask) follow(ctx context.Context, ms []*rosterChange) {
	var sent []*rosterChange
	for _, ch := range ms {
		if !t.roomFor(len(sent) + 1) {
			t.log.Error("roanuz match not followed: no room on this task's connections; raise roanuz.matches.per.connection or roanuz.connections.max",
				zap.String("match", ch.match), zap.String("reason", ch.reason))
			continue
		}
		ch.action, ch.done = ActionFollow, make(chan error, 1)
		select {
		case t.ctrl <- ch:
			sent = append(sent, ch)
		case <-ctx.Done():
			return
		}
	}
	for _, ch := range sent {
		var err error
		select {
		case err = <-ch.done:
		case <-ctx.Done():
			return
		}
		if err != nil {
			t.log.Warn("roanuz match not followed: its roster entry was not committed", zap.String("match", ch.match), zap.Error(err))
			continue
		}
		t.log.Info("roanuz match followed", zap.String("match", ch.match), zap.String("reason", ch.reason), zap.String("listed_status", ch.status))
		t.followPlaced(ch.match)
	}
}

// release stops following m, unsubscribes it and takes it out of the
// roster; false means it should be retried.
func (t *MatchTask) release(ctx context.Context, m, reason string) bool {
	t.subMu.Lock()
	t.unplace(m)
	answer, err := t.client.Unsubscribe(ctx, m)
	t.subMu.Unlock()
	if err != nil && !errors.Is(err, ErrNotFound) {
		if ctx.Err() == nil {
			t.log.Warn("roanuz unsubscribe failed; retrying later", zap.String("match", m), zap.String("reason", reason), zap.Error(err))
		}
		return false
	}
	if err := t.rosterWrite(ctx, &rosterChange{match: m, action: ActionRelease, reason: reason, raw: answer}); err != nil {
		if ctx.Err() == nil {
			t.log.Warn("roanuz release not committed; retrying later", zap.String("match", m), zap.Error(err))
		}
		return false
	}
	t.metrics.FixtureDone(m)
	t.log.Info("roanuz match released; unsubscribed", zap.String("match", m), zap.String("reason", reason))
	return true
}

// discover reads the featured list once: it follows the listed matches of
// the task's buckets whose status is wanted, and returns the followed
// matches that are neither configured nor listed any more, to release.
func (t *MatchTask) discover(ctx context.Context) map[string]string {
	list, err := t.client.FeaturedMatches(ctx)
	if err != nil {
		if ctx.Err() == nil {
			t.log.Warn("roanuz featured list unavailable; keeping the followed matches", zap.Error(err))
		}
		return nil
	}
	listed := map[string]bool{}
	var follow []*rosterChange
	for _, lm := range list {
		if !t.owns(lm.Key) || listed[lm.Key] {
			continue
		}
		listed[lm.Key] = true
		if t.isFollowed(lm.Key) || t.isCompleted(lm.Key) || !slices.Contains(t.cfg.discoverStatus, lm.Status) {
			continue
		}
		if t.committedCompleted(lm.Key) {
			t.markCompleted(lm.Key)
			continue
		}
		follow = append(follow, &rosterChange{match: lm.Key, reason: ReasonListed, status: lm.Status, raw: lm.Raw})
	}
	t.follow(ctx, follow)
	gone := map[string]string{}
	t.mu.Lock()
	for m := range t.followed {
		if !listed[m] && !slices.Contains(t.static, m) && !t.completed[m] {
			gone[m] = ReasonRemoved
		}
	}
	t.mu.Unlock()
	if len(gone) > 0 {
		t.log.Info("roanuz matches gone from the featured list", zap.Int("matches", len(gone)), zap.String("list", fmt.Sprint(len(list))))
	}
	return gone
}
