package imgarenasim

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Simulator is a local IMG Arena server: the actions WebSockets
// (/{sport}/fixtures/{id}/actions and /media/...) and the Fixtures REST API
// (GET /{sport}/fixtures), deterministic from a seed, with fault injection.
// Create it with NewSimulator, then Start it (or mount Handler yourself).
type Simulator struct {
	o        simOptions
	upgrader websocket.Upgrader

	mu        sync.Mutex
	known     map[string]bool // fixtures that have a feed
	live      []string        // fixtures the REST API lists
	conns     map[string]int  // connections opened per fixture
	faultUsed map[string]bool // "fixture/fault" of one-shot faults already injected
	refusals  []time.Time

	ln      net.Listener
	srv     *http.Server
	closing chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	connections, authorised, actionsSent, statusesSent, heartbeatsSent, drops atomic.Int64
}

// simOptions are the simulator's settings; see the Sim* options.
type simOptions struct {
	seed           uint64
	fixtures       []string
	events         int64
	token          string
	heartbeat      time.Duration
	normal, fast   time.Duration
	authStyle      int // -1: varies per connection
	heartbeatStyle int // -1: varies per connection
	dropAfter      int
	randomDrop     float64
	stallAfter     int
	dupAt          int64
	reorderAt      int64
	gapAt          int64
	malformedAt    int64
	noSeqAt        int64    // event sent with an unreadable fixtureSeqNum, every connection
	extraAt        int64    // extra frames sent before this event, once per fixture
	extra          [][]byte // those frames
	oneBased       bool     // startPosition n sends from the n-th event (skips n-1)
	finish         bool
	statusEvery    int64
	statusOnce     bool // a status pair is sent once per fixture, not replayed on reconnect
	dropAtStatus   bool // drop the connection right after each fixture's first status pair
	onSend         func(fixture string, position int64, at time.Time)
}

// SimOption configures a Simulator.
type SimOption func(*simOptions)

// SimSeed sets the seed every stream and style choice derives from.
func SimSeed(seed uint64) SimOption { return func(o *simOptions) { o.seed = seed } }

// SimFixtures sets the fixture ids that have a feed (and are listed live).
func SimFixtures(ids ...string) SimOption {
	return func(o *simOptions) { o.fixtures = append([]string(nil), ids...) }
}

// SimFixtureCount sets n fixtures with ids 100001..100000+n.
func SimFixtureCount(n int) SimOption {
	return func(o *simOptions) { o.fixtures = FixtureIDs(n) }
}

// FixtureIDs returns the ids SimFixtureCount(n) uses.
func FixtureIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(100001 + i)
	}
	return out
}

// SimEvents sets the number of events in every fixture's feed.
func SimEvents(n int64) SimOption { return func(o *simOptions) { o.events = n } }

// SimToken sets the only auth token accepted.
func SimToken(tok string) SimOption { return func(o *simOptions) { o.token = tok } }

// SimHeartbeat sets the heartbeat interval (IMG: 10 s); 0 disables heartbeats.
func SimHeartbeat(d time.Duration) SimOption { return func(o *simOptions) { o.heartbeat = d } }

// SimEventInterval sets the time between events at speed=normal and speed=fast.
func SimEventInterval(normal, fast time.Duration) SimOption {
	return func(o *simOptions) { o.normal, o.fast = normal, fast }
}

// SimAuthStyle fixes the shape of the authorised reply (0..len(AuthReplies)-1);
// -1 (the default) varies it per connection.
func SimAuthStyle(i int) SimOption { return func(o *simOptions) { o.authStyle = i } }

// SimHeartbeatStyle fixes the heartbeat shape (0..4: three JSON shapes, a
// non-JSON text "ping" and an empty frame); -1 varies it per connection.
func SimHeartbeatStyle(i int) SimOption { return func(o *simOptions) { o.heartbeatStyle = i } }

// SimDropAfter closes every connection abruptly after n action packets.
func SimDropAfter(n int) SimOption { return func(o *simOptions) { o.dropAfter = n } }

// SimRandomDrops closes a connection abruptly after any action packet with probability p.
func SimRandomDrops(p float64) SimOption { return func(o *simOptions) { o.randomDrop = p } }

// SimStallAfter makes each fixture's first connection go silent (no
// heartbeats, no data, socket left open) after n action packets.
func SimStallAfter(n int) SimOption { return func(o *simOptions) { o.stallAfter = n } }

// SimDuplicateSeq sends event pos twice with the same fixtureSeqNum, once per fixture.
func SimDuplicateSeq(pos int64) SimOption { return func(o *simOptions) { o.dupAt = pos } }

// SimReorderSeq sends events pos+1 and pos swapped, once per fixture.
func SimReorderSeq(pos int64) SimOption { return func(o *simOptions) { o.reorderAt = pos } }

// SimSeqGap drops event pos (its fixtureSeqNum is skipped), once per fixture.
func SimSeqGap(pos int64) SimOption { return func(o *simOptions) { o.gapAt = pos } }

// SimMalformed sends event pos of every fixture as broken JSON, on every connection.
func SimMalformed(pos int64) SimOption { return func(o *simOptions) { o.malformedAt = pos } }

// SimMalformedNoSeq sends event pos of every fixture, on every connection,
// cut short just after its "fixtureSeqNum" key: a broken event whose
// sequence number cannot be read (an entry broken in the server's list).
func SimMalformedNoSeq(pos int64) SimOption { return func(o *simOptions) { o.noSeqAt = pos } }

// SimExtraFrames sends frames, as text messages, right before event pos
// (after its statuses), once per fixture: frames that are not events, such
// as a broken action fragment, a non-JSON heartbeat or an empty frame.
// With SimSeqGap(pos) the frames stand where the lost event should be.
func SimExtraFrames(pos int64, frames ...string) SimOption {
	return func(o *simOptions) {
		o.extraAt, o.extra = pos, nil
		for _, f := range frames {
			o.extra = append(o.extra, []byte(f))
		}
	}
}

// SimStartPositionOneBased makes the server read startPosition the other
// way the documents allow ("5 would start sending events from the 5th
// event"): startPosition n > 0 starts at event n, so a client asking with
// the number of events it has sends it its last event again.
func SimStartPositionOneBased(on bool) SimOption { return func(o *simOptions) { o.oneBased = on } }

// SimFinish makes the last event say finished: true and closes the feed after it;
// without it a feed idles on heartbeats after its last event.
func SimFinish(on bool) SimOption { return func(o *simOptions) { o.finish = on } }

// SimStatusEvery sends a Disconnected/Connected status pair before every k-th event.
func SimStatusEvery(k int64) SimOption { return func(o *simOptions) { o.statusEvery = k } }

// SimStatusOnce makes the server send each status pair only on the first
// connection that reaches it, instead of again to every connection that
// resumes before it (the default). The documents do not say which a real
// server does; the connector must hand each status on exactly once either way.
func SimStatusOnce(on bool) SimOption { return func(o *simOptions) { o.statusOnce = on } }

// SimDropAfterStatus closes each fixture's connection abruptly right after
// its first status pair, before the event it precedes (once per fixture):
// the resumed connection starts just before those statuses.
func SimDropAfterStatus(on bool) SimOption { return func(o *simOptions) { o.dropAtStatus = on } }

// SimOnSend calls fn just before each action packet is written, with the
// fixture, the packet's event position and the time: the benchmark's
// send-to-visibility latency starts there. fn must be safe for concurrent
// use and must not block.
func SimOnSend(fn func(fixture string, position int64, at time.Time)) SimOption {
	return func(o *simOptions) { o.onSend = fn }
}

// NewSimulator returns an unstarted simulator: by default 3 fixtures of 100
// events, token "sim-token", heartbeats every 10 s, events every second at
// speed=normal and every 5 ms at speed=fast, shapes varied per connection.
func NewSimulator(opts ...SimOption) *Simulator {
	o := simOptions{
		seed: 1, fixtures: FixtureIDs(3), events: 100, token: "sim-token",
		heartbeat: 10 * time.Second, normal: time.Second, fast: 5 * time.Millisecond,
		authStyle: -1, heartbeatStyle: -1,
	}
	for _, f := range opts {
		f(&o)
	}
	s := &Simulator{
		o:         o,
		known:     map[string]bool{},
		conns:     map[string]int{},
		faultUsed: map[string]bool{},
		closing:   make(chan struct{}),
		upgrader:  websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096, CheckOrigin: func(*http.Request) bool { return true }},
	}
	for _, id := range o.fixtures {
		s.known[id] = true
	}
	s.live = append([]string(nil), o.fixtures...)
	return s
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves until Close.
func (s *Simulator) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("simulator: listening on %s: %w", addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return nil
}

// URL returns the WebSocket base URL (ws://host:port) once started.
func (s *Simulator) URL() string { return "ws://" + s.ln.Addr().String() }

// RESTURL returns the Fixtures REST API base URL once started.
func (s *Simulator) RESTURL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server and ends every stream.
func (s *Simulator) Close() error {
	s.once.Do(func() { close(s.closing) })
	var err error
	if s.srv != nil {
		err = s.srv.Close()
	}
	s.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Fixtures returns the ids that have a feed.
func (s *Simulator) Fixtures() []string { return append([]string(nil), s.o.fixtures...) }

// SetLive replaces the fixtures the REST API lists as live; ids without a
// feed yet get one.
func (s *Simulator) SetLive(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = append([]string(nil), ids...)
	for _, id := range ids {
		s.known[id] = true
	}
}

// Timeline returns every event of fixture's feed, in order: event i is
// Timeline(f)[i-1], whatever connection carries it.
func (s *Simulator) Timeline(fixture string) []TimelineEvent {
	g := newGenerator(s.o.seed, fixture, s.o.events, s.o.finish)
	out := make([]TimelineEvent, 0, s.o.events)
	for {
		ev, ok := g.next()
		if !ok {
			return out
		}
		name, _ := ev.actionType()
		te := TimelineEvent{Position: ev.pos, ActionID: ev.actionID, ActionType: name, SendType: ev.sendType,
			Malformed: ev.pos == s.o.malformedAt || ev.pos == s.o.noSeqAt, Finished: ev.finished, Home: ev.home, Away: ev.away}
		if s.o.statusEvery > 0 && ev.pos%s.o.statusEvery == 0 {
			te.StatusesAfore = 2
		}
		out = append(out, te)
	}
}

// SimStats counts what the simulator did.
type SimStats struct {
	Connections, Authorised, Refused, ActionsSent, StatusesSent, HeartbeatsSent, Drops int64
}

// Stats returns the counters so far.
func (s *Simulator) Stats() SimStats {
	s.mu.Lock()
	refused := int64(len(s.refusals))
	s.mu.Unlock()
	return SimStats{
		Connections: s.connections.Load(), Authorised: s.authorised.Load(), Refused: refused,
		ActionsSent: s.actionsSent.Load(), StatusesSent: s.statusesSent.Load(),
		HeartbeatsSent: s.heartbeatsSent.Load(), Drops: s.drops.Load(),
	}
}

// Refusals returns when each wrong-token refusal happened.
func (s *Simulator) Refusals() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.refusals...)
}

// Connections returns how many connections fixture has had.
func (s *Simulator) Connections(fixture string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[fixture]
}

// ServeHTTP routes the REST API and the WebSocket endpoints.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/media")
	if sport, ok := strings.CutSuffix(path, "/fixtures"); ok && len(sport) > 1 {
		s.serveFixtures(w, r)
		return
	}
	i := strings.Index(path, "/fixtures/")
	if i <= 1 || !strings.HasSuffix(path, "/actions") {
		http.NotFound(w, r)
		return
	}
	fixture := strings.TrimSuffix(path[i+len("/fixtures/"):], "/actions")
	s.mu.Lock()
	ok := s.known[fixture]
	s.mu.Unlock()
	if !ok {
		http.Error(w, `{"statusCode":404,"message":"Fixture not found"}`, http.StatusNotFound)
		return
	}
	start := int64(0)
	if v := r.URL.Query().Get("startPosition"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			http.Error(w, `{"statusCode":400,"message":"startPosition must be a non-negative integer"}`, http.StatusBadRequest)
			return
		}
		start = n
	}
	interval := s.o.normal
	switch r.URL.Query().Get("speed") {
	case "fast":
		interval = s.o.fast
	case "", "normal":
	default:
		http.Error(w, `{"statusCode":400,"message":"speed must be fast or normal"}`, http.StatusBadRequest)
		return
	}
	c, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	s.stream(c, fixture, start, interval)
}

// serveFixtures answers GET /{sport}/fixtures with the live fixtures.
func (s *Simulator) serveFixtures(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprint(w, `{"statusCode":405,"message":"Method not allowed"}`)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.o.token {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"statusCode":401,"message":"Invalid token"}`)
		return
	}
	s.mu.Lock()
	live := append([]string(nil), s.live...)
	s.mu.Unlock()
	var b []byte
	b = append(b, '[')
	for i, id := range live {
		if i > 0 {
			b = append(b, ',')
		}
		g := newGenerator(s.o.seed, id, 0, false)
		b = append(b, `{"id":`...)
		b = appendMaybeQuoted(b, id, !isDigits(id))
		b = append(b, `,"name":"Home FC vs Away United","status":"InProgress","collectionStatus":"Collecting","startDateUTC":"`...)
		b = g.start.AppendFormat(b, time.RFC3339)
		b = append(b, `","teams":[{"id":1,"name":"Home FC","isHome":true},{"id":2,"name":"Away United","isHome":false}]}`...)
	}
	b = append(b, ']')
	_, _ = w.Write(b)
}
