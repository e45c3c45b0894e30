package flinktest

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/schemas"
)

// A Feed writes the job's input: live.events records (schemas/
// live_event.avsc, Confluent wire format, key = match_id), in Kafka
// transactions, while the job runs. syntheticFeed is this package's; the
// connector running the provider simulators can stand in for it.
type Feed interface {
	// Start begins writing to topic (created and empty; the feed
	// registers its value schema) and returns at once.
	Start(ctx context.Context, topic string) error
	// Progress reports how many records the feed has committed so far and
	// whether it has finished.
	Progress() (committed int, done bool)
	// Wait blocks until the feed has finished and returns its error.
	Wait() error
	// Committed returns the events the feed committed, in the order it
	// wrote them, for checking what the test reads back from the topic;
	// nil when the feed cannot tell.
	Committed() []Event
}

// Event, Competitor and Score are the live.events value types
// (schemas/live_event.avsc) the feeds write and the test reads back.
type (
	Event      = live.Event
	Competitor = live.Competitor
	Score      = live.Score
)

// syntheticFeed writes a seeded, made-up timeline of a few soccer and
// cricket matches: events advance a simulated clock (received_at) by 0.2 to
// 1.5 s each, so a few thousand events span tens of minutes and many
// (match, minute) windows; event_time is missing or far behind now and
// then, as providers do. Every abortEvery-th transaction is aborted: its
// records must never be counted.
type syntheticFeed struct {
	t          testing.TB
	events     int           // committed events in all
	perTxn     int           // events per transaction
	abortEvery int           // every n-th transaction is aborted
	pause      time.Duration // between transactions
	seed       int64

	committed atomic.Int64
	aborted   atomic.Int64 // records in aborted transactions
	done      atomic.Bool
	finished  chan struct{}
	err       error

	mu  sync.Mutex
	log []Event // committed, in write order
}

func newSyntheticFeed(t testing.TB, events int) *syntheticFeed {
	return &syntheticFeed{
		t: t, events: events, perTxn: 25, abortEvery: 6, pause: 40 * time.Millisecond,
		seed: 15, finished: make(chan struct{}),
	}
}

func (f *syntheticFeed) Progress() (int, bool) { return int(f.committed.Load()), f.done.Load() }

func (f *syntheticFeed) Wait() error {
	<-f.finished
	return f.err
}

func (f *syntheticFeed) Committed() []Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Event(nil), f.log...)
}

func (f *syntheticFeed) Start(ctx context.Context, topic string) error {
	schema, err := schemas.Parse("live_event.avsc")
	if err != nil {
		return err
	}
	src, err := sr.NewClient(sr.URLs(testenv.Registry(f.t)))
	if err != nil {
		return err
	}
	ser := avroreg.NewSerializer(src)
	if err := ser.Register(ctx, topic, schema); err != nil {
		return err
	}
	cl := testenv.Client(f.t,
		kgo.TransactionalID(testenv.UniqueName(f.t, "flink-feed-")),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), // murmur2 of the key, as the Java clients
	)
	go func() {
		defer close(f.finished)
		defer f.done.Store(true)
		f.err = f.run(ctx, cl, ser, topic)
	}()
	return nil
}

func (f *syntheticFeed) run(ctx context.Context, cl *kgo.Client, ser *avroreg.Serializer, topic string) error {
	tl := newTimeline(f.seed)
	for txn := 1; int(f.committed.Load()) < f.events; txn++ {
		commit := txn%f.abortEvery != 0
		n := f.perTxn
		if left := f.events - int(f.committed.Load()); commit && n > left {
			n = left
		}
		batch := make([]Event, n)
		for i := range batch {
			batch[i] = tl.next(!commit)
		}
		if err := cl.BeginTransaction(); err != nil {
			return fmt.Errorf("begin transaction %d: %w", txn, err)
		}
		var produceErr error
		var once sync.Once
		for _, e := range batch {
			v, err := ser.AppendEncode(nil, topic, nil, e)
			if err != nil {
				return err
			}
			cl.Produce(ctx, &kgo.Record{Key: []byte(e.MatchID), Value: v}, func(_ *kgo.Record, err error) {
				if err != nil {
					once.Do(func() { produceErr = err })
				}
			})
		}
		if err := cl.Flush(ctx); err != nil {
			return fmt.Errorf("transaction %d: flush: %w", txn, err)
		}
		if produceErr != nil {
			return fmt.Errorf("transaction %d: produce: %w", txn, produceErr)
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			return fmt.Errorf("end transaction %d (commit %v): %w", txn, commit, err)
		}
		if commit {
			f.mu.Lock()
			f.log = append(f.log, batch...)
			f.mu.Unlock()
			f.committed.Add(int64(n))
		} else {
			f.aborted.Add(int64(n))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(f.pause):
		}
	}
	return nil
}

// timeline makes the synthetic events.
type timeline struct {
	rng     *rand.Rand
	clock   time.Time
	matches []*simMatch
	aborted int
}

type simMatch struct {
	provider, sport, id, topic string
	cricket                    bool
	home, away, wickets, balls int32
	seq                        int
	lastEventTime              time.Time
}

func newTimeline(seed int64) *timeline {
	tl := &timeline{
		rng:   rand.New(rand.NewSource(seed)),
		clock: time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC),
	}
	for _, m := range []simMatch{
		{provider: "imgarena", sport: "soccer", id: "1001", topic: "sc.imgarena.actions"},
		{provider: "imgarena", sport: "soccer", id: "1002", topic: "sc.imgarena.actions"},
		{provider: "imgarena", sport: "soccer", id: "1003", topic: "sc.imgarena.actions"},
		{provider: "saba", sport: "sport-1", id: "77001", topic: "sc.saba.events"},
		{provider: "saba", sport: "sport-1", id: "77002", topic: "sc.saba.events"},
		{provider: "roanuz", sport: "cricket", id: "c-ind-aus", topic: "sc.roanuz.balls", cricket: true},
		{provider: "roanuz", sport: "cricket", id: "c-eng-nz", topic: "sc.roanuz.balls", cricket: true},
	} {
		m := m
		tl.matches = append(tl.matches, &m)
	}
	return tl
}

func ptr[T any](v T) *T { return &v }

// next returns the next event. An event for an aborted transaction changes
// no match state (it never happened), but takes the clock along as a
// zombie's write would.
func (tl *timeline) next(aborted bool) Event {
	r := tl.rng
	tl.clock = tl.clock.Add(time.Duration(200+r.Intn(1300)) * time.Millisecond)
	m := tl.matches[r.Intn(len(tl.matches))]
	st := *m
	if aborted {
		m = &st // a copy: the state change is thrown away
	}
	m.seq++
	e := Event{
		MatchID:         m.provider + ":" + m.sport + ":" + m.id,
		Provider:        m.provider,
		Sport:           m.sport,
		ProviderMatchID: m.id,
		Competitors: []Competitor{
			{Side: "home", Name: ptr("home-" + m.id)},
			{Side: "away", ID: ptr("t-" + m.id)},
		},
		ReceivedAt:  tl.clock,
		Position:    strconv.Itoa(m.seq),
		SourceTopic: m.topic,
		SourceID:    m.id + "-" + strconv.Itoa(m.seq),
	}
	if aborted {
		tl.aborted++
		e.SourceID = "aborted-" + strconv.Itoa(tl.aborted)
	}
	scored := true
	roll := r.Intn(100)
	if m.cricket {
		m.balls++
		e.Clock = ptr(fmt.Sprintf("%d.%d", m.balls/6, m.balls%6))
		switch {
		case roll < 10:
			e.Kind, e.ProviderType = "WICKET", "ball"
			m.wickets++
		case roll < 25:
			e.Kind, e.ProviderType = "BOUNDARY", "ball"
			m.home += 4 + 2*int32(r.Intn(2))
		case roll < 85:
			e.Kind, e.ProviderType = "POINT", "ball"
			m.home += int32(r.Intn(3))
		default:
			e.Kind, e.ProviderType = "OTHER", "match_update"
			scored = false
		}
		if scored {
			e.Score = &Score{Home: ptr(m.home), Summary: ptr(fmt.Sprintf("%d/%d (%d.%d)", m.home, m.wickets, m.balls/6, m.balls%6))}
		}
	} else {
		switch {
		case roll < 12:
			e.Kind, e.ProviderType = "GOAL", "goal"
			if r.Intn(2) == 0 {
				m.home++
			} else {
				m.away++
			}
		case roll < 15 && m.home+m.away > 0:
			e.Kind, e.ProviderType = "CORRECTION", "goal_cancelled"
			if m.home > 0 {
				m.home--
			} else {
				m.away--
			}
		case roll < 30:
			e.Kind, e.ProviderType = "CARD", "yellow_card"
		case roll < 40:
			e.Kind, e.ProviderType = "SUBSTITUTION", "substitution"
		case roll < 75:
			e.Kind, e.ProviderType = "ODDS_CHANGE", "odds"
			scored = false
		case roll < 80:
			e.Kind, e.ProviderType = "MARKET_SUSPENDED", "market_suspended"
			scored = false
		default:
			e.Kind, e.ProviderType = "OTHER", "possession"
		}
		if scored {
			e.Score = &Score{Home: ptr(m.home), Away: ptr(m.away)}
		}
		e.Status = ptr("live")
	}
	// Provider clock: usually a little behind the receipt, sometimes not
	// sent, sometimes far behind (a late correction): one reason the
	// per-minute counts use received_at.
	switch p := r.Intn(100); {
	case p < 20:
	case p < 25:
		e.EventTime = ptr(tl.clock.Add(-2 * time.Minute).Truncate(time.Millisecond))
	default:
		et := tl.clock.Add(-time.Duration(r.Intn(3000)) * time.Millisecond).Truncate(time.Millisecond)
		e.EventTime = &et
	}
	return e
}
