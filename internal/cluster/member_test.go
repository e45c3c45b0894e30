package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"
)

// worker is a test member: it holds the items it was assigned.
type worker struct {
	name string
	m    *Member
	mu   sync.Mutex
	held []string
	gens []int32
	stop context.CancelFunc
	done chan struct{} // closed when Run returned
}

// halt stops the member and waits for Run to return.
func (w *worker) halt() {
	w.stop()
	<-w.done
}

func (w *worker) items() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.held)
}

// stickyAssign spreads items over the members, keeping each item where it
// is held now when its holder stays and holds no more than its share.
func stickyAssign(items []string) func(context.Context, string, []Joined) (map[string][]byte, error) {
	return func(_ context.Context, _ string, members []Joined) (map[string][]byte, error) {
		sort.Slice(members, func(i, j int) bool { return members[i].MemberID < members[j].MemberID })
		share := (len(items) + len(members) - 1) / len(members)
		out := map[string][]string{}
		taken := map[string]bool{}
		for _, m := range members {
			var held []string
			_ = json.Unmarshal(m.Metadata, &held)
			for _, it := range held {
				if slices.Contains(items, it) && !taken[it] && len(out[m.MemberID]) < share {
					out[m.MemberID] = append(out[m.MemberID], it)
					taken[it] = true
				}
			}
		}
		for _, it := range items {
			if taken[it] {
				continue
			}
			least := members[0].MemberID
			for _, m := range members {
				if len(out[m.MemberID]) < len(out[least]) {
					least = m.MemberID
				}
			}
			out[least] = append(out[least], it)
		}
		plan := map[string][]byte{}
		for _, m := range members {
			plan[m.MemberID], _ = json.Marshal(out[m.MemberID])
		}
		return plan, nil
	}
}

func startWorker(t *testing.T, group, name string, items []string) *worker {
	t.Helper()
	w := &worker{name: name, done: make(chan struct{})}
	m, err := New(Config{
		Group: group, Kafka: []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)},
		SessionTimeout: 6 * time.Second, HeartbeatInterval: 500 * time.Millisecond, RebalanceTimeout: 10 * time.Second,
		Log: zaptest.NewLogger(t).Named(name),
		Metadata: func() []byte {
			b, _ := json.Marshal(w.items())
			return b
		},
		Assign: stickyAssign(items),
		Assigned: func(_ context.Context, g Generation, a []byte) {
			var got []string
			_ = json.Unmarshal(a, &got)
			sort.Strings(got)
			w.mu.Lock()
			w.held = got
			w.gens = append(w.gens, g.ID)
			w.mu.Unlock()
		},
		Lost: func(context.Context, error) {
			w.mu.Lock()
			w.held = nil
			w.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	w.m = m
	ctx, cancel := context.WithCancel(context.Background())
	w.stop = cancel
	go func() {
		defer close(w.done)
		if err := m.Run(ctx); err != context.Canceled {
			t.Errorf("%s: Run: %v", name, err)
		}
	}()
	t.Cleanup(w.halt)
	return w
}

// covered waits until the workers together hold every item exactly once
// and returns how long that took.
func covered(t *testing.T, items []string, ws ...*worker) time.Duration {
	return coveredAnd(t, items, func() bool { return true }, ws...)
}

// coveredAnd is covered, and also waits for cond.
func coveredAnd(t *testing.T, items []string, cond func() bool, ws ...*worker) time.Duration {
	t.Helper()
	start := time.Now()
	for deadline := start.Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var all []string
		for _, w := range ws {
			all = append(all, w.items()...)
		}
		sort.Strings(all)
		if slices.Equal(all, items) && cond() {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("items held %v, want %v", all, items)
		}
	}
}

// TestMembershipOnRealBroker: three members share ten items through the
// coordinator; the leader's sticky assignment moves only what it must when
// a member leaves (at once) or vanishes without leaving (after the session
// timeout), and a new member gets a share without the others dropping theirs.
func TestMembershipOnRealBroker(t *testing.T) {
	group := testenv.UniqueName(t, "cluster-")
	var items []string
	for i := range 10 {
		items = append(items, fmt.Sprintf("item-%02d", i))
	}
	a, b, c := startWorker(t, group, "a", items), startWorker(t, group, "b", items), startWorker(t, group, "c", items)
	// The first generation may hold only the first member to join; the
	// others join in the next ones.
	coveredAnd(t, items, func() bool {
		for _, w := range []*worker{a, b, c} {
			if n := len(w.items()); n < 3 || n > 4 {
				return false
			}
		}
		return true
	}, a, b, c)
	bBefore := b.items()

	// c leaves: a and b take its items, b keeps what it had.
	c.halt()
	took := covered(t, items, a, b)
	if !isSubset(bBefore, b.items()) {
		t.Fatalf("b held %v, now %v: a leave moved b's items", bBefore, b.items())
	}
	t.Logf("after a graceful leave the items were covered again in %s", took.Round(time.Millisecond))

	// b vanishes (a SIGKILL): a takes everything after the session timeout.
	b.m.vanish = true
	b.halt()
	began := time.Now()
	covered(t, items, a)
	t.Logf("after a vanished member the items moved in %s (session timeout 6s)", time.Since(began).Round(time.Millisecond))

	// d joins: it gets a share; a keeps the rest.
	aBefore := a.items()
	d := startWorker(t, group, "d", items)
	coveredAnd(t, items, func() bool { return len(d.items()) > 0 }, a, d)
	if len(d.items()) != 5 || !isSubset(a.items(), aBefore) {
		t.Fatalf("after a join: a %v, d %v", a.items(), d.items())
	}
	if g := a.m.Generation(); g.ID < 3 {
		t.Fatalf("a's generation %d after three membership changes", g.ID)
	}
}

func isSubset(small, big []string) bool {
	for _, s := range small {
		if !slices.Contains(big, s) {
			return false
		}
	}
	return true
}
