package roanuzdemo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/connectortest"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/twmb/franz-go/pkg/kgo"
)

// This file is the roanuz.match Driver of the connectortest acceptance
// suite (the roanuz.webhook one is acceptance_driver_test.go).
//
// Which topic, and why. The match stream sends no position: after any
// outage (a dropped connection, a restart, a takeover) the task re-joins
// and fetches the match over REST, which gives only the latest state, and
// its play.related_balls only the last 12 balls (package roanuz, doc.go).
// So:
//   - the matches topic (latest-state, compacted) cannot be checked for
//     "every state exactly once": a state that came and went while the
//     connector was away, or in a transaction a crash aborted, is gone for
//     good, and which ones those are depends on where the suite stops the
//     workers;
//   - the balls topic can: every ball of the timeline is in the document of
//     its step and of the 11 balls after it, so a connector that is never
//     away for 12 balls recovers every ball; and the task remembers the
//     balls it wrote (key and content) in the committed offset of the
//     match, so none is written twice, across restarts and takeovers.
//
// The data topic the suite checks is therefore <prefix>.roanuz.cricket.balls,
// and a record's identity is "<match>/<ball key>" (its key, and the
// ball_key of its value), checked against the content the timeline gives
// that ball.
//
// Two conditions make that promise true, and the driver keeps both:
//   - No ball is ever more than 11 balls out of reach. The driver plays
//     the matches itself (Advance, one step every Step) and lets a match
//     play at most MaxAway steps while no connection has joined it; then
//     the match waits for the connector, as a real feed would not (that is
//     the documented limit, not what the suite tests). Away steps, the
//     transaction a crash aborts and a fenced task's last receipts stay
//     well within the 12 balls. Without that hold the suite does catch
//     the limit: played every 25 ms and never held, ExactlyOnceAcrossRestarts
//     found 62 of the 75 balls (the restarts outlasted 12 balls).
//   - No ball changes. A correction (push_reason Update) rewrites a ball
//     1 or 2 balls after it was bowled; were the connector away for both,
//     the first version would be gone, so "every version of every ball"
//     is no promise either. The driver plays only matches whose timelines
//     have no correction (chosen deterministically from the seed, see
//     acceptanceMatches); the webhook's driver, where every correction is
//     a push retried until acknowledged, checks corrections exactly once,
//     and TestMatchCrashExactlyOnce checks the stream's balls, corrections
//     included, as "every ball key at least once".
//
// The faults: the server speaks only Engine.IO v3 (socket.io 2.x: the
// task's first dial of each start falls back from v4), closes every
// connection after DropEvery updates (the task reconnects with backoff),
// answers a join with on_match_joined only (what was missed comes from
// the REST catch-up alone, until the next step), answers the REST catch-up
// 100 ms late (a state older than the updates sent meanwhile: the order
// rule drops it, and writes its balls never seen), lets tokens live 4 s
// (renewed on the open connection), rotates the on_match_update payload
// through its three variants, and sends Malformed broken updates per match
// while it plays (SendMalformed), each to the connection(s) that joined it.

// MatchAcceptance is the roanuz.match Driver of the connectortest suite:
// each Start runs a fresh simulator of Matches matches of Overs overs an
// innings, without corrections, played by the driver one step every Step
// (see the top of this file).
type MatchAcceptance struct {
	Matches   int
	Overs     int
	Seed      uint64
	MinSteps  int           // the shortest match played, in steps
	Step      time.Duration // between two steps of a match
	MaxAway   int           // steps a match plays while no connection joined it, then it waits
	DropEvery int           // the server closes each connection after every n-th update
	Malformed int           // broken updates sent per match
}

// MatchAcceptanceDriver returns the driver TestAcceptanceMatch runs: 3
// matches of 2 overs an innings, of at least 32 steps each (75 balls in
// all), a step every 350 ms (about 12 s a run), at most 3 steps played
// away from the connector, every connection closed after 9 updates, and 2
// broken updates per match.
//
// Why 12 s, and every match that long: Fencing needs each of the first
// worker's two tasks to still have something to write when the second
// worker takes over (a task that writes nothing never learns it was
// fenced), and the suite's reading of the progress can lag by seconds (see
// WebhookAcceptanceDriver); a task whose only match is over would stay
// RUNNING.
func MatchAcceptanceDriver() *MatchAcceptance {
	return &MatchAcceptance{Matches: 3, Overs: 2, MinSteps: 32, Seed: 474, Step: 350 * time.Millisecond, MaxAway: 3, DropEvery: 9, Malformed: 2}
}

// Plugin implements connectortest.Driver.
func (a *MatchAcceptance) Plugin() connector.Plugin { return roanuz.MatchPlugin() }

// acceptanceMatches returns the first n of the candidate match keys
// acc_match_01, acc_match_02, ... whose timelines (of seed, overs) have at
// least minSteps steps and no correction, and the content of every ball of
// theirs, by "<match>/<ball key>".
func acceptanceMatches(seed uint64, overs, minSteps, n int) ([]string, map[string]string, error) {
	var cands []string
	for i := 1; i <= 200; i++ {
		cands = append(cands, fmt.Sprintf("acc_match_%02d", i))
	}
	probe := roanuzsim.NewSimulator(roanuzsim.WithMatches(cands...), roanuzsim.WithOvers(overs), roanuzsim.WithSeed(seed))
	defer probe.Close()
	raws := map[string]string{}
	var keys []string
	for _, m := range cands {
		if probe.Steps(m) < minSteps {
			continue
		}
		balls, ok, err := timelineBalls(probe, m)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		keys = append(keys, m)
		for k, raw := range balls {
			raws[m+"/"+k] = raw
		}
		if len(keys) == n {
			return keys, raws, nil
		}
	}
	return nil, nil, fmt.Errorf("only %d of %d candidate matches have %d steps or more and no correction, want %d", len(keys), len(cands), minSteps, n)
}

// timelineBalls returns the content of every ball of match m's timeline,
// read from the related_balls of its documents, and false if a ball's
// content changes (a correction).
func timelineBalls(sim *roanuzsim.Simulator, m string) (map[string]string, bool, error) {
	out := map[string]string{}
	for step := range sim.Steps(m) {
		var doc struct {
			Data struct {
				Play struct {
					RelatedBalls map[string]json.RawMessage `json:"related_balls"`
				} `json:"play"`
			} `json:"data"`
		}
		if err := json.Unmarshal(sim.Document(m, step), &doc); err != nil {
			return nil, false, fmt.Errorf("match %s step %d: %w", m, step, err)
		}
		for k, raw := range doc.Data.Play.RelatedBalls {
			if was, ok := out[k]; ok && was != string(raw) {
				return nil, false, nil
			}
			out[k] = string(raw)
		}
	}
	if len(out) != len(sim.Balls(m)) {
		return nil, false, fmt.Errorf("match %s: %d balls in its documents, %d in its timeline", m, len(out), len(sim.Balls(m)))
	}
	return out, true, nil
}

// Start implements connectortest.Driver: it starts the simulator and the
// goroutine that plays the matches (both stopped by t.Cleanup) and lists
// every ball of the timelines.
func (a *MatchAcceptance) Start(t *testing.T) connectortest.Source {
	t.Helper()
	keys, raws, err := acceptanceMatches(a.Seed, a.Overs, a.MinSteps, a.Matches)
	if err != nil {
		t.Fatal(err)
	}
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches(keys...), roanuzsim.WithOvers(a.Overs), roanuzsim.WithSeed(a.Seed),
		roanuzsim.WithProject(acceptanceProject, acceptanceAPIKey), roanuzsim.WithSockDropEvery(a.DropEvery),
		roanuzsim.WithRESTDelay(100*time.Millisecond), roanuzsim.WithTokenLifetime(4*time.Second),
		roanuzsim.WithSockQuietJoin(), roanuzsim.WithPingInterval(time.Second), roanuzsim.WithEngineIO(roanuzsim.EngineIOv3))
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	s := &matchSource{
		cfg: connector.Config{
			connector.KeyTasksMax: "2",
			roanuz.KeyAPIURL:      sim.URL(), roanuz.KeyProject: acceptanceProject, roanuz.KeyAPIKey: acceptanceAPIKey,
			roanuz.KeyMatches: strings.Join(keys, ","), roanuz.KeyMatchesPerConn: "1",
			roanuz.KeyBackoffInitialMs: "50", roanuz.KeyBackoffMaxMs: "500",
		},
		raws: raws, planned: a.Malformed * len(keys), dec: avroreg.NewDecoder(mustRegistry(t)),
	}
	for _, m := range keys {
		for _, b := range sim.Balls(m) {
			s.want = append(s.want, m+"/"+b)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.play(ctx, sim, keys, s)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		conns, joins, updates, errs, drops := sim.SockStats()
		v3, _ := sim.SockEngineStats()
		var steps []string
		for _, m := range keys {
			steps = append(steps, fmt.Sprintf("%s %d/%d", m, sim.Step(m)+1, sim.Steps(m)))
		}
		_ = sim.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		t.Logf("roanuz match simulator: %d balls; steps played %s; %d played away from the connector, %d held for it; %d connections (%d Engine.IO v3), %d joins, %d updates, %d on_error, %d drops, %d tokens; %d of %d broken updates sent, to %d connections",
			len(s.want), strings.Join(steps, ", "), s.aways, s.waits, conns, v3, joins, updates, errs, drops, sim.Auths(), s.injected, s.planned, s.delivered)
	})
	return s
}

// play plays keys one step every a.Step, each match holding while it is
// a.MaxAway steps ahead of a connector that has not joined it, and sends
// each match's broken updates after a.Malformed evenly spaced steps (held
// while no connection joined it). It returns when every match is over and
// every broken update sent, or ctx ends.
func (a *MatchAcceptance) play(ctx context.Context, sim *roanuzsim.Simulator, keys []string, s *matchSource) {
	tick := time.NewTicker(a.Step)
	defer tick.Stop()
	away, due, next := map[string]int{}, map[string]int{}, map[string]int{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		over := true
		for _, m := range keys {
			for due[m] > 0 {
				n := sim.SendMalformed(m)
				if n == 0 {
					break
				}
				due[m]--
				s.sent(n)
			}
			last := sim.Steps(m) - 1
			if due[m] > 0 || sim.Step(m) < last {
				over = false
			}
			if sim.Step(m) >= last {
				continue
			}
			switch {
			case sim.Joined(m) > 0:
				away[m] = 0
			case away[m] >= a.MaxAway:
				s.wait()
				continue
			default:
				away[m]++
				s.away()
			}
			sim.Advance(m)
			if next[m] < a.Malformed && sim.Step(m) >= (next[m]+1)*last/(a.Malformed+1) {
				next[m]++
				due[m]++
			}
		}
		if over {
			return
		}
	}
}

// matchSource is one acceptance run of the match stream.
type matchSource struct {
	cfg  connector.Config
	want []string
	raws map[string]string // the content of each ball, by identity
	dec  *avroreg.Decoder

	mu        sync.Mutex
	planned   int // broken updates the run sends
	injected  int // broken updates sent so far
	delivered int // connections they were written to
	waits     int // steps a match held for the connector
	aways     int // steps played while no connection joined the match
}

func (s *matchSource) sent(conns int) {
	s.mu.Lock()
	s.injected++
	s.delivered += conns
	s.mu.Unlock()
}

func (s *matchSource) wait() {
	s.mu.Lock()
	s.waits++
	s.mu.Unlock()
}

func (s *matchSource) away() {
	s.mu.Lock()
	s.aways++
	s.mu.Unlock()
}

// Config implements connectortest.Source.
func (s *matchSource) Config() connector.Config { return s.cfg }

// Topic implements connectortest.Source: the balls topic (see the top of
// this file for why).
func (s *matchSource) Topic(prefix string) string {
	return connector.ParseSettings(connector.Config{connector.KeyTopicPrefix: prefix}).Topic(roanuz.TopicBalls)
}

// Want implements connectortest.Source: every ball of every match.
func (s *matchSource) Want() []string { return s.want }

// BadMessages implements connectortest.BadInput: each broken update is
// one dead letter per connection it was written to (the task reading it
// dead-letters it); one still to send counts once (a run of one worker has
// one connection per match). Once every broken update is sent it is the
// exact count.
func (s *matchSource) BadMessages() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered + s.planned - s.injected
}

// Identity implements connectortest.Source: "<match>/<ball key>" of the
// record's key and value, whose raw ball must be the timeline's.
func (s *matchSource) Identity(r *kgo.Record) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var v roanuz.Ball
	if err := s.dec.Decode(ctx, r.Value, &v); err != nil {
		return "", fmt.Errorf("decoding %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	id := v.MatchKey + "/" + v.BallKey
	if string(r.Key) != v.MatchKey {
		return "", fmt.Errorf("%s/%d@%d: key %q, value of match %q", r.Topic, r.Partition, r.Offset, r.Key, v.MatchKey)
	}
	if want, ok := s.raws[id]; ok && v.Raw != want {
		return "", fmt.Errorf("%s/%d@%d: ball %s is not the timeline's: %.200s, want %.200s", r.Topic, r.Partition, r.Offset, id, v.Raw, want)
	}
	return id, nil
}
