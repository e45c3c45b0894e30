package sabasim

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// simOptions configure a Simulator.
type simOptions struct {
	seed           uint64
	events         int
	marketsPer     int
	padBytes       int
	rate           float64 // updates per second; 0: only Step
	maxUpdates     int64   // 0: without end
	tokenTTL       time.Duration
	keepAlive      time.Duration
	cacheSize      int64
	malformedEvery int64
	duplicateEvery int64
	replayInclude  bool
	refreshMode    string
	epoch          string
	vendorID       string
	memberID       string
	recordAll      bool
	endOnExpiry    bool
}

// SimOption configures NewSimulator.
type SimOption func(*simOptions)

// WithSeed sets the seed of the timeline (same seed, same timeline).
func WithSeed(seed uint64) SimOption { return func(o *simOptions) { o.seed = seed } }

// WithEvents sets how many events the initial state holds, and how many
// markets each event has.
func WithEvents(events, marketsPerEvent int) SimOption {
	return func(o *simOptions) { o.events, o.marketsPer = events, marketsPerEvent }
}

// WithPadding adds an undocumented filler field of n bytes to every market,
// to build large snapshots.
func WithPadding(n int) SimOption { return func(o *simOptions) { o.padBytes = n } }

// WithRate makes Start generate perSecond updates per second (0: only Step).
func WithRate(perSecond float64) SimOption { return func(o *simOptions) { o.rate = perSecond } }

// WithMaxUpdates stops the generator after n updates (0: without end).
func WithMaxUpdates(n int64) SimOption { return func(o *simOptions) { o.maxUpdates = n } }

// WithTokenTTL sets the lifetime of issued tokens.
func WithTokenTTL(d time.Duration) SimOption { return func(o *simOptions) { o.tokenTTL = d } }

// WithKeepAlive sets the keep-alive interval of streams.
func WithKeepAlive(d time.Duration) SimOption { return func(o *simOptions) { o.keepAlive = d } }

// WithCacheSize sets how many updates can be replayed to a reconnecting
// client; an older Last-Event-Id gets status 3 Reset.
func WithCacheSize(n int64) SimOption { return func(o *simOptions) { o.cacheSize = n } }

// WithMalformedEvery sends every n-th update as broken JSON (0: never).
func WithMalformedEvery(n int64) SimOption { return func(o *simOptions) { o.malformedEvery = n } }

// WithDuplicateEvery sends the frame of every n-th update twice in a row
// (0: never), as a server retrying a write might.
func WithDuplicateEvery(n int64) SimOption { return func(o *simOptions) { o.duplicateEvery = n } }

// WithInclusiveReplay makes a replay after Last-Event-Id start with the
// message of that id, which the client already has (a server whose cache
// lookup is inclusive).
func WithInclusiveReplay(on bool) SimOption { return func(o *simOptions) { o.replayInclude = on } }

// WithRefreshMode sets how /refreshToken behaves: RefreshBearer or RefreshBroken.
func WithRefreshMode(mode string) SimOption { return func(o *simOptions) { o.refreshMode = mode } }

// WithEpoch sets the prefix of SSE ids (default: the start time in base 36);
// two simulators with different epochs do not know each other's ids.
func WithEpoch(epoch string) SimOption { return func(o *simOptions) { o.epoch = epoch } }

// WithCredentials makes /login accept only these credentials.
func WithCredentials(vendorID, memberID string) SimOption {
	return func(o *simOptions) { o.vendorID, o.memberID = vendorID, memberID }
}

// WithRecordTimeline keeps every update for Updates (tests); otherwise only
// the replay cache is kept.
func WithRecordTimeline(on bool) SimOption { return func(o *simOptions) { o.recordAll = on } }

// WithStreamEndsOnTokenExpiry makes a stream end when the token it was
// opened with expires (servers may check tokens only at connect, or not).
func WithStreamEndsOnTokenExpiry(on bool) SimOption {
	return func(o *simOptions) { o.endOnExpiry = on }
}

// Simulator is a local Saba OddsDirect server: /login, /refreshToken and the
// SSE stream endpoints, over a deterministic timeline, with fault injection.
// It is an http.Handler.
type Simulator struct {
	o   simOptions
	mux *http.ServeMux

	mu       sync.Mutex
	state    *simState
	log      []*Update // log[0] has index logBase
	logBase  int64
	head     int64
	notify   chan struct{} // closed and replaced on every change
	jti      int64
	tokenGen int64
	cutGen   int64
	stallTo  time.Time
	failNext []int // statuses the next stream requests answer with

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
	stats     simStats
}

type simStats struct {
	logins, refreshes, connects, resets, replays, initials, unauthorized, duplicates, cuts atomic.Int64
}

// SimStats are counters of what the simulator served.
type SimStats struct {
	Logins, Refreshes, Connects int64
	Resets, Replays, Initials   int64 // stream starts: status 3, Last-Event-Id replay, status 1
	Unauthorized                int64 // stream requests refused with 401
	Duplicates                  int64 // frames sent again (WithDuplicateEvery, WithInclusiveReplay)
	Cuts                        int64 // streams cut mid-frame
}

// NewSimulator returns a simulator; call Start to run its generator (with
// WithRate) and Close when done.
func NewSimulator(opts ...SimOption) *Simulator {
	o := simOptions{
		seed: 1, events: 20, marketsPer: 4, tokenTTL: 30 * time.Minute, keepAlive: 5 * time.Second,
		cacheSize: 1000, refreshMode: RefreshBearer,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.epoch == "" {
		o.epoch = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	s := &Simulator{o: o, notify: make(chan struct{}), done: make(chan struct{}), logBase: 1}
	s.state = newSimState(o.seed, o.events, o.marketsPer, o.padBytes)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/login", s.handleLogin)
	s.mux.HandleFunc("/refreshToken", s.handleRefresh)
	s.mux.HandleFunc("/sports/stream/{version}/{endpoint}", s.handleStream)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Start runs the update generator (if WithRate was given) until Close.
func (s *Simulator) Start() {
	if s.o.rate <= 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		interval := time.Duration(float64(time.Second) / s.o.rate)
		start := time.Now()
		var made int64
		t := time.NewTicker(max(interval, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
			}
			due := int64(time.Since(start).Seconds() * s.o.rate)
			if s.o.maxUpdates > 0 {
				due = min(due, s.o.maxUpdates)
			}
			if due > made {
				s.Step(int(due - made))
				made = due
			}
			if s.o.maxUpdates > 0 && made >= s.o.maxUpdates {
				return
			}
		}
	}()
}

// Close stops the generator and ends every open stream.
func (s *Simulator) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.wg.Wait()
}

// IDOf returns the opaque SSE id of update index i ("<epoch>-0" is the
// id of a snapshot taken before any update).
func (s *Simulator) IDOf(i int64) string { return s.o.epoch + "-" + strconv.FormatInt(i, 36) }

// Lookup returns the index of an SSE id this simulator issued; ok is false
// for any other id (another epoch's, or not one of ours at all).
func (s *Simulator) Lookup(id string) (int64, bool) {
	ep, n, ok := strings.Cut(id, "-")
	if !ok || ep != s.o.epoch {
		return 0, false
	}
	i, err := strconv.ParseInt(n, 36, 64)
	return i, err == nil && i >= 0
}

// Step generates n updates at once.
func (s *Simulator) Step(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.head++
		u := &Update{Index: s.head, ID: s.IDOf(s.head), Created: time.Now()}
		u.Malformed = s.o.malformedEvery > 0 && s.head%s.o.malformedEvery == 0
		s.state.step(u)
		s.log = append(s.log, u)
		if !s.o.recordAll && int64(len(s.log)) > s.o.cacheSize+1 {
			drop := int64(len(s.log)) - (s.o.cacheSize + 1)
			clear(s.log[:drop])
			s.log = s.log[drop:]
			s.logBase += drop
		}
	}
	s.broadcastLocked()
}

func (s *Simulator) broadcastLocked() {
	close(s.notify)
	s.notify = make(chan struct{})
}

// InitialEvents returns the events the simulator held before its first
// update (the status 1 snapshot at "<epoch>-0"; Updates starts after it),
// in eventId order. The initial state is a function of the options, so it
// is built again rather than kept.
func (s *Simulator) InitialEvents() []SimEvent {
	st := newSimState(s.o.seed, s.o.events, s.o.marketsPer, 0)
	return st.snapshot().EventsAdd
}

// Head returns the index and SSE id of the latest update.
func (s *Simulator) Head() (int64, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head, s.IDOf(s.head)
}

// Updates returns the recorded timeline (WithRecordTimeline), oldest first.
func (s *Simulator) Updates() []Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Update, len(s.log))
	for i, u := range s.log {
		out[i] = *u
	}
	return out
}

// CountsOf returns how many items the view (endpoint, query,
// includeMarkets) of update u holds, by topic and operation.
func (s *Simulator) CountsOf(endpoint, query, includeMarkets string, u Update) (Counts, error) {
	v, err := newStreamView(endpoint, query, includeMarkets)
	if err != nil {
		return Counts{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var c Counts
	if v.events != nil {
		for _, e := range u.EventsAdd {
			c.EventsAdd += b2i(v.eventOK(s.state, e.EventID))
		}
		for _, e := range u.EventsChange {
			c.EventsChange += b2i(v.eventOK(s.state, e.EventID))
		}
		for _, id := range u.EventsRemove {
			c.EventsRemove += b2i(v.eventOK(s.state, id))
		}
	}
	if v.markets != nil {
		for _, m := range u.MarketsAdd {
			c.MarketsAdd += b2i(v.marketOK(s.state, m.MarketID))
		}
		for _, m := range u.MarketsChange {
			c.MarketsChange += b2i(v.marketOK(s.state, m.MarketID))
		}
		for _, id := range u.MarketsRemove {
			c.MarketsRemove += b2i(v.marketOK(s.state, id))
		}
	}
	return c, nil
}

// LastRelevant returns the index and id of the latest recorded update the
// view (endpoint, query) holds, a malformed update included (the id a
// stream's committed offset ends at once it caught up), or 0 and the
// snapshot id "<epoch>-0" if none.
func (s *Simulator) LastRelevant(endpoint, query string) (int64, string, error) {
	us := s.Updates()
	for i := len(us) - 1; i >= 0; i-- {
		c, err := s.CountsOf(endpoint, query, "", us[i])
		if err != nil {
			return 0, "", err
		}
		if c.Total() > 0 || us[i].Malformed {
			return us[i].Index, us[i].ID, nil
		}
	}
	return 0, s.IDOf(0), nil
}

// SnapshotSize returns the size in bytes of the status 1 snapshot the view
// (endpoint, query, includeMarkets) would get now.
func (s *Simulator) SnapshotSize(endpoint, query, includeMarkets string) (int, error) {
	v, err := newStreamView(endpoint, query, includeMarkets)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := s.state.snapshot()
	b, _, err := v.render(s.state, &snap, StatusInitialData)
	return len(b), err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Stats returns the simulator's counters.
func (s *Simulator) Stats() SimStats {
	return SimStats{
		Logins: s.stats.logins.Load(), Refreshes: s.stats.refreshes.Load(), Connects: s.stats.connects.Load(),
		Resets: s.stats.resets.Load(), Replays: s.stats.replays.Load(), Initials: s.stats.initials.Load(),
		Unauthorized: s.stats.unauthorized.Load(), Duplicates: s.stats.duplicates.Load(), Cuts: s.stats.cuts.Load(),
	}
}

// CutStreams makes every open stream write half of its next frame and then
// drop the connection.
func (s *Simulator) CutStreams() {
	s.mu.Lock()
	s.cutGen++
	s.broadcastLocked()
	s.mu.Unlock()
}

// Stall makes every stream, open or new, send nothing (not even
// keep-alives) for d.
func (s *Simulator) Stall(d time.Duration) {
	s.mu.Lock()
	s.stallTo = time.Now().Add(d)
	s.mu.Unlock()
}

// ExpireTokens revokes every token issued so far and ends the streams
// opened with them; clients must refresh (which fails for a revoked token)
// and log in again.
func (s *Simulator) ExpireTokens() {
	s.mu.Lock()
	s.tokenGen++
	s.broadcastLocked()
	s.mu.Unlock()
}

// FailNext makes the next n stream requests answer with Saba status
// status (97, 98, 99 or 100) and its HTTP status code.
func (s *Simulator) FailNext(status, n int) {
	s.mu.Lock()
	for range n {
		s.failNext = append(s.failNext, status)
	}
	s.mu.Unlock()
}

// Listen serves the simulator on addr (e.g. 127.0.0.1:0) until ctx ends and
// returns its base URL at once.
func (s *Simulator) Listen(ctx context.Context, addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("saba simulator: listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		_ = srv.Close()
	}()
	return "http://" + ln.Addr().String(), nil
}
