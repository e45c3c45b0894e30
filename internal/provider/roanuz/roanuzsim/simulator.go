package roanuzsim

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Subscription methods of the subscribe APIs, as Roanuz documents them
// (the arguments of Subscribed).
const (
	MethodWebSocket = "web_socket" // subscribe, unsubscribe: the Socket.IO stream
	MethodWebHook   = "web_hook"   // detail-updates-subscribe, -unsubscribe: the push
)

// headerToken is the request header carrying the access token.
const headerToken = "rs-token"

// Simulator is a local Roanuz: the v5 REST API (auth with expiring tokens,
// subscribe/unsubscribe for web_socket and web_hook, the Match API), the
// Socket.IO match stream and a webhook pusher, all from one deterministic
// timeline per match. Create it with NewSimulator, then Start it.
type Simulator struct {
	o simOptions

	mu       sync.Mutex
	tls      map[string]*timeline
	step     map[string]int             // current step per match (Match API / stream)
	tokens   map[string]time.Time       // token -> expiry
	subs     map[string]map[string]bool // match -> method -> subscribed
	subCalls map[string]int             // "match/method/sub|unsub" -> calls
	tokenSeq int
	sconns   map[*sockConn]bool
	listed   []string // the featured list

	ln      net.Listener
	srv     *http.Server
	closing chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	auths, authFailures, restCalls, featuredCalls atomic.Int64
	sock                                          sockStats
	cl                                            connLimit
}

// simOptions are the simulator's settings; see the Sim* options.
type simOptions struct {
	seed         uint64
	matches      []string
	overs        int
	project      string
	apiKey       string
	tokenLife    time.Duration
	inactive     bool
	stepInterval time.Duration
	requireSubs  bool
	sockFaults   sockFaults
	listed       []string
	listedSet    bool
	restDelay    time.Duration // the Match API answers this late
	restBehind   int           // the Match API answers this many steps behind
	// clockOnSubscribe starts a match's clock at its first web_socket subscribe.
	clockOnSubscribe bool
	connLimit        int // most Socket.IO connections open at once; 0 = no limit
}

// SimOption configures a Simulator.
type SimOption func(*simOptions)

// WithSeed sets the seed every timeline derives from.
func WithSeed(seed uint64) SimOption { return func(o *simOptions) { o.seed = seed } }

// WithMatches sets the match keys the simulator knows.
func WithMatches(keys ...string) SimOption {
	return func(o *simOptions) { o.matches = append([]string(nil), keys...) }
}

// WithListed sets the matches of the featured list (default: every match).
func WithListed(keys ...string) SimOption {
	return func(o *simOptions) { o.listed, o.listedSet = append([]string(nil), keys...), true }
}

// WithOvers sets the overs per innings of every match (default 2).
func WithOvers(n int) SimOption { return func(o *simOptions) { o.overs = n } }

// WithProject sets the accepted project key and api key.
func WithProject(project, apiKey string) SimOption {
	return func(o *simOptions) { o.project, o.apiKey = project, apiKey }
}

// WithTokenLifetime sets how long a token lives (Roanuz: 24 h).
func WithTokenLifetime(d time.Duration) SimOption { return func(o *simOptions) { o.tokenLife = d } }

// WithProjectInactive makes every authentication answer 402.
func WithProjectInactive() SimOption { return func(o *simOptions) { o.inactive = true } }

// WithStepInterval sets how often every match advances one step of its
// timeline (for the Match API and the stream); 0 never advances on its own
// (use Advance).
func WithStepInterval(d time.Duration) SimOption { return func(o *simOptions) { o.stepInterval = d } }

// WithClockOnSubscribe starts each match's clock (WithStepInterval) when it
// is first subscribed for the Socket.IO stream, not when the simulator
// starts: a connector that takes a while to come up misses nothing.
func WithClockOnSubscribe() SimOption { return func(o *simOptions) { o.clockOnSubscribe = true } }

// WithRESTDelay makes the Match API answer d after the request arrived,
// with the state of that moment, while the stream goes on: the answer is
// older than the updates sent meanwhile.
func WithRESTDelay(d time.Duration) SimOption { return func(o *simOptions) { o.restDelay = d } }

// WithRESTBehind makes the Match API answer n steps behind the stream (a
// stale cache): the state before the last n steps.
func WithRESTBehind(n int) SimOption { return func(o *simOptions) { o.restBehind = n } }

// NewSimulator returns an unstarted simulator.
func NewSimulator(opts ...SimOption) *Simulator {
	o := simOptions{seed: 1, matches: []string{"sim_match_1"}, overs: 2, project: "sim_project", apiKey: "sim-api-key",
		tokenLife: 24 * time.Hour, requireSubs: true, sockFaults: sockFaults{variant: VariantVary, engineIO: EngineIOv4}}
	for _, f := range opts {
		f(&o)
	}
	s := &Simulator{o: o, tls: map[string]*timeline{}, step: map[string]int{}, tokens: map[string]time.Time{},
		subs: map[string]map[string]bool{}, subCalls: map[string]int{}, closing: make(chan struct{})}
	for _, m := range o.matches {
		s.tls[m] = newTimeline(o.seed, m, o.overs)
	}
	s.listed = o.matches
	if o.listedSet {
		s.listed = o.listed
	}
	return s
}

// Start listens on addr (e.g. 127.0.0.1:0) and serves.
func (s *Simulator) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("roanuz simulator: listening on %s: %w", addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err
		}
	}()
	if s.o.stepInterval > 0 {
		s.wg.Add(1)
		go s.ticker()
	}
	return nil
}

func (s *Simulator) ticker() {
	defer s.wg.Done()
	t := time.NewTicker(s.o.stepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
			for _, m := range s.o.matches {
				if s.o.clockOnSubscribe {
					s.mu.Lock()
					started := s.subCalls[m+"/subscribe"] > 0
					s.mu.Unlock()
					if !started {
						continue
					}
				}
				s.Advance(m)
			}
		}
	}
}

// Advance moves match one step on (no-op at its end) and tells the stream.
func (s *Simulator) Advance(match string) {
	s.mu.Lock()
	tl := s.tls[match]
	moved := tl != nil && s.step[match] < len(tl.steps)-1
	if moved {
		s.step[match]++
	}
	s.mu.Unlock()
	if moved {
		s.sockBroadcast(match)
	}
}

// Step returns the current step of match.
func (s *Simulator) Step(match string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.step[match]
}

// Documents returns how many distinct match documents match's timeline has
// (a step that changes nothing in the Match API, e.g. a review, makes none).
func (s *Simulator) Documents(match string) int {
	tl := s.tls[match]
	if tl == nil {
		return 0
	}
	seen := map[string]bool{}
	for i := range tl.steps {
		seen[string(tl.matchDoc(i))] = true
	}
	return len(seen)
}

// Balls returns the ball keys of match's timeline, in order.
func (s *Simulator) Balls(match string) []string {
	tl := s.tls[match]
	if tl == nil {
		return nil
	}
	out := make([]string, len(tl.balls))
	for i, b := range tl.balls {
		out[i] = b.Key
	}
	return out
}

// Document returns the Match API document of match after step (clamped to
// its last step), as the REST API and the stream send it; nil for an
// unknown match. The simulator need not be started.
func (s *Simulator) Document(match string, step int) []byte {
	tl := s.tls[match]
	if tl == nil {
		return nil
	}
	return tl.matchDoc(max(step, 0))
}

// PushBody returns the JSON body of the push of match's step (as a Pusher
// posts it, before gzip); nil for an unknown match or step.
func (s *Simulator) PushBody(match string, step int) []byte {
	tl := s.tls[match]
	if tl == nil || step < 0 || step >= len(tl.steps) {
		return nil
	}
	return tl.pushBody(step)
}

// Steps returns the number of steps of match's timeline.
func (s *Simulator) Steps(match string) int {
	if tl := s.tls[match]; tl != nil {
		return len(tl.steps)
	}
	return 0
}

// URL returns the REST base URL (http://host:port).
func (s *Simulator) URL() string { return "http://" + s.ln.Addr().String() }

// Matches returns the known match keys.
func (s *Simulator) Matches() []string { return append([]string(nil), s.o.matches...) }

// Close stops the server and every connection.
func (s *Simulator) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		if s.srv != nil {
			err = s.srv.Close()
		}
		s.sockCloseAll()
		s.wg.Wait()
	})
	return err
}

// Handler returns the simulator's HTTP handler (REST and Socket.IO).
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v5/core/{project}/auth/", s.handleAuth)
	mux.HandleFunc("POST /v5/cricket/{project}/match/{match}/{action}/", s.handleSubscribe)
	mux.HandleFunc("GET /v5/cricket/{project}/match/{match}/", s.handleMatch)
	mux.HandleFunc("GET /v5/cricket/{project}/featured-matches-2/", s.handleFeatured)
	mux.HandleFunc("/v5/websocket/", s.handleSocket)
	mux.HandleFunc("/v5/websocket", s.handleSocket)
	return mux
}

// Subscribed reports whether match is subscribed for method.
func (s *Simulator) Subscribed(match, method string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs[match][method]
}

// SubscribeCalls returns how many times action (subscribe, unsubscribe,
// detail-updates-subscribe, detail-updates-unsubscribe) was called for match.
func (s *Simulator) SubscribeCalls(match, action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subCalls[match+"/"+action]
}

// Auths returns how many tokens were issued.
func (s *Simulator) Auths() int64 { return s.auths.Load() }

// RevokeTokens makes every issued token invalid (as if each expired now).
func (s *Simulator) RevokeTokens() {
	s.mu.Lock()
	clear(s.tokens)
	s.mu.Unlock()
}

// SetListed replaces the featured list.
func (s *Simulator) SetListed(keys ...string) {
	s.mu.Lock()
	s.listed = append([]string(nil), keys...)
	s.mu.Unlock()
}

// FeaturedCalls returns how many times the featured list was read.
func (s *Simulator) FeaturedCalls() int64 { return s.featuredCalls.Load() }
