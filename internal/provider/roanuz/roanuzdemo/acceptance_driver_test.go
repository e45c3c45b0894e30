package roanuzdemo

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/connectortest"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// This file is the roanuz.webhook Driver of the connectortest acceptance
// suite (the roanuz.match one is acceptance_match_driver_test.go).
//
// The data topic the suite checks is <prefix>.roanuz.cricket.ball-updates:
// one record per Ball push of the simulator's timeline (new balls and
// corrections alike), keyed by the match, with the push identity (the
// dedup hash of roanuz.Push.Identity, in hex) in the
// connector.HeaderPosition header. The other pushes (toss, squads, play,
// result...) go to the match-events topic, bad bodies to the dead-letter
// topic, so the ball-updates topic holds exactly the timeline's Ball
// pushes, each once, whatever the provider retried, repeated or reordered:
// what the webhook promises. The identity of a record is therefore
// connectortest.PositionIdentity (match@identity), checked against the raw
// push its value carries.
//
// The provider posts to one URL; the suite runs up to two workers at once
// (Fencing), whose receivers cannot share a port on one host. So each
// receiver listens on 127.0.0.1:0 and the pusher posts to a balancer
// (acceptance_balancer_test.go), as a real deployment's load balancer or
// ingress stands before its workers: the Plugin is roanuz.WebhookPlugin
// with its tasks wrapped to tell the balancer where they listen once
// started, and that they are gone when stopped. While two receivers run
// the balancer deals the pushes round-robin, so a fenced task gets some,
// fails to commit them and answers 503 (the provider retries elsewhere).

// Settings of the acceptance simulator and receiver.
const (
	acceptanceHookPath   = "/roanuz/push"
	acceptanceHookSecret = "acceptance-hook-secret"
	acceptanceProject    = "acceptance_project"
	acceptanceAPIKey     = "acceptance-api-key"
	// acceptanceBodyMax is roanuz.webhook.body.max.bytes of the runs: the
	// oversized bad body is a little over it.
	acceptanceBodyMax = 256 << 10
)

// WebhookAcceptance is the roanuz.webhook Driver of the connectortest
// suite: each Start runs a fresh simulator (for the REST calls: the task
// subscribes its matches to the detail push) and its Pusher, which posts
// the ball-by-ball timeline of Matches matches of Overs overs an innings
// through the balancer, each push retried until a 2xx, with the faults
// Roanuz's push has:
//   - the 2xx of every LostAckEvery-th push lost (the push is sent again);
//   - a push sent again after its 2xx (probability Duplicates, in the
//     other encoding);
//   - neighbouring pushes swapped (probability Reorder);
//   - plain JSON instead of gzip (probability PlainJSON);
//   - every push to a receiver that is stopping, restarting or fenced
//     answered 503 (or not at all) and retried;
//   - the bad bodies of webhookBadBodies, spread over the run, each retried
//     while it is answered 5xx or not at all (the provider retries what it
//     does not know to be refused), until its 400 or 413: one dead letter
//     each (the receiver answers 4xx only once the dead letter committed);
//   - a push with a wrong secret, answered 401: refused before it is read,
//     no dead letter.
type WebhookAcceptance struct {
	Matches      int
	Overs        int
	Seed         uint64
	Senders      int
	LostAckEvery int
	Duplicates   float64
	Reorder      float64
	PlainJSON    float64

	mu        sync.Mutex
	balancers map[string]*balancer // by roanuz.api.url: one simulator per Start
}

// WebhookAcceptanceDriver returns the driver TestAcceptanceWebhook runs: 5
// matches of 2 overs an innings (168 pushes, 125 of them balls) posted by
// 3 senders, each waiting for its push's commit (about 11 s a run), every
// 13th acknowledgement lost, 8% of the pushes repeated, 10% swapped with a
// neighbour, 15% as plain JSON, and six bad bodies.
//
// Why 11 s: Fencing needs the first worker to still have pushes to commit
// when the second one takes over (a task that writes nothing never learns
// it was fenced), and the suite's reading of the progress can lag by
// seconds: with a 7 s run it once saw none of the first quarter until the
// run was over ("the run was complete before the takeover"), and
// readback.Stable, which it uses, was measured taking 3.7 s and 5.1 s (its
// first poll returning nothing that long) in about 900 reads of fresh
// topics under a transactional producer (sabademo's driver blamed a 5 s
// stall at the start on the worker's first transaction).
func WebhookAcceptanceDriver() *WebhookAcceptance {
	return &WebhookAcceptance{Matches: 5, Overs: 2, Seed: 474, Senders: 3, LostAckEvery: 13,
		Duplicates: 0.08, Reorder: 0.1, PlainJSON: 0.15}
}

// Plugin implements connectortest.Driver: roanuz.webhook, its tasks
// registered with the run's balancer while they listen.
func (a *WebhookAcceptance) Plugin() connector.Plugin {
	return balancedPlugin(roanuz.WebhookPlugin(), a.balancer)
}

// balancer returns the balancer of the run whose simulator is at apiURL.
func (a *WebhookAcceptance) balancer(apiURL string) *balancer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.balancers[apiURL]
}

// badBody is one body the receiver must refuse and dead-letter.
type badBody struct {
	name   string
	body   []byte
	status int // the answer once its dead letter committed
}

// webhookBadBodies returns the bad bodies of a run of sim on match m: each
// can never be valid, so each is answered 4xx and becomes one dead letter.
// They are posted without Content-Encoding: the receiver knows gzip by its
// magic bytes.
func webhookBadBodies(sim *roanuzsim.Simulator, m string) []badBody {
	z := gzipped(sim.PushBody(m, 5))
	z[len(z)/2] ^= 0xff
	z = z[:len(z)-4]
	half := sim.PushBody(m, 6)
	return []badBody{
		{"corrupt gzip", z, 400},
		{"JSON cut short", half[:len(half)/2], 400},
		{"no matchkey", gzipped([]byte(`{"sport":"cricket","data_kind":"match-detail-update","data":{"match_push_kind":"Ball","push_reason":"NewOrLast","ts":1733150000}}`)), 400},
		{"Ball push without ball", gzipped([]byte(`{"sport":"cricket","data_kind":"match-detail-update","data":{"matchkey":"` + m + `","match_push_kind":"Ball","push_reason":"NewOrLast","ts":1733150001}}`)), 400},
		{"oversized", append(bytes.Repeat([]byte(" "), acceptanceBodyMax+32<<10), sim.PushBody(m, 7)...), 413},
		{"gzip bomb", roanuzsim.GzipBomb(8 << 20), 413},
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// Start implements connectortest.Driver: it starts the simulator, the
// balancer, the pusher and the bad-body sender (all stopped by
// t.Cleanup), and computes what the ball-updates topic must hold from the
// pusher's timeline.
func (a *WebhookAcceptance) Start(t *testing.T) connectortest.Source {
	t.Helper()
	var keys []string
	for i := 1; i <= a.Matches; i++ {
		keys = append(keys, fmt.Sprintf("acc_hook_m%d", i))
	}
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches(keys...), roanuzsim.WithOvers(a.Overs), roanuzsim.WithSeed(a.Seed),
		roanuzsim.WithProject(acceptanceProject, acceptanceAPIKey))
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	lb := newBalancer()
	a.mu.Lock()
	if a.balancers == nil {
		a.balancers = map[string]*balancer{}
	}
	a.balancers[sim.URL()] = lb
	a.mu.Unlock()
	p := sim.NewPusher(roanuzsim.PushOptions{URL: lb.url() + acceptanceHookPath, SecretHeader: "X-Roanuz-Secret", Secret: acceptanceHookSecret,
		Senders: a.Senders, Seed: a.Seed, Duplicates: a.Duplicates, LostAckEvery: a.LostAckEvery, Reorder: a.Reorder, PlainJSON: a.PlainJSON,
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, Timeout: 30 * time.Second})
	timeline := p.Timeline()
	s := &webhookSource{
		cfg: connector.Config{
			roanuz.KeyListen: "127.0.0.1:0", roanuz.KeyPath: acceptanceHookPath, roanuz.KeySecret: acceptanceHookSecret,
			roanuz.KeyAPIURL: sim.URL(), roanuz.KeyProject: acceptanceProject, roanuz.KeyAPIKey: acceptanceAPIKey,
			roanuz.KeyMatches: strings.Join(keys, ","), roanuz.KeyBodyMax: strconv.Itoa(acceptanceBodyMax),
			// A dead letter's 4xx must not turn into a 503 (and a retry,
			// and a second dead letter) because a commit was slow.
			roanuz.KeyAckTimeoutMs: "20000",
		},
		bad: webhookBadBodies(sim, keys[0]),
		dec: avroreg.NewDecoder(mustRegistry(t)),
	}
	seen := map[string]bool{}
	for _, pr := range timeline {
		push, err := roanuz.ParsePush(pr.Body)
		if err != nil {
			t.Fatalf("the timeline's push %s step %d does not parse: %v", pr.Match, pr.Step, err)
		}
		if !push.IsBall() {
			continue
		}
		id := push.MatchKey + "@" + strconv.FormatUint(push.Identity(), 16)
		if seen[id] {
			t.Fatalf("two Ball pushes of the timeline share the identity %s", id)
		}
		seen[id] = true
		s.want = append(s.want, id)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, runErr = p.Run(ctx)
	}()
	answers := make([]int, len(s.bad))
	go func() {
		defer wg.Done()
		s.sendBad(ctx, p, len(timeline), answers)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		_ = sim.Close()
		lb.close()
		a.mu.Lock()
		delete(a.balancers, sim.URL())
		a.mu.Unlock()
		st := p.Stats()
		t.Logf("roanuz webhook simulator: %d matches, %d pushes (%d balls), %d acknowledged (run: %v); %d attempts, %d retries, %d acks lost, %d repeats; statuses %v; balancer: %s; bad bodies answered %v, wrong secret %v",
			a.Matches, len(timeline), len(s.want), st.Acked, runErr, st.Attempts, st.Retries, st.LostAcks, st.Duplicates, st.ByStatus,
			lb.stats(), answers, s.wrongSecret)
		for i, b := range s.bad {
			if answers[i] != 0 && answers[i] != b.status {
				t.Errorf("bad body %q answered %d, want %d", b.name, answers[i], b.status)
			}
		}
		if s.wrongSecret != 0 && s.wrongSecret != 401 {
			t.Errorf("the push with a wrong secret was answered %d, want 401", s.wrongSecret)
		}
	})
	return s
}

// mustRegistry returns a client of the test registry.
func mustRegistry(t *testing.T) *sr.Client {
	t.Helper()
	cl, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// webhookSource is one acceptance run of the webhook.
type webhookSource struct {
	cfg         connector.Config
	want        []string
	bad         []badBody
	wrongSecret int // the answer to the push with a wrong secret (0: not sent)
	dec         *avroreg.Decoder
}

// sendBad posts the bad bodies through the run, the i-th once the pusher
// has had i+1 n-ths of the timeline acknowledged (n = bad bodies + 2), then
// a push with a wrong secret; each is retried while it is answered 5xx or
// not at all, and its final answer is put in answers.
func (s *webhookSource) sendBad(ctx context.Context, p *roanuzsim.Pusher, pushes int, answers []int) {
	n := len(s.bad) + 2
	for i := 0; i <= len(s.bad); i++ {
		for int(p.Stats().Acked) < (i+1)*pushes/n {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		if i == len(s.bad) {
			s.wrongSecret = postUntilAnswered(ctx, func() int {
				return p.Post(ctx, []byte(`{"sport":"cricket"}`), false, acceptanceHookSecret+"-wrong")
			})
			return
		}
		answers[i] = postUntilAnswered(ctx, func() int { return p.Post(ctx, s.bad[i].body, true, acceptanceHookSecret) })
	}
}

// postUntilAnswered calls post until it returns a status below 500 (0 is a
// transport error) or ctx ends (then 0).
func postUntilAnswered(ctx context.Context, post func() int) int {
	wait := 20 * time.Millisecond
	for ctx.Err() == nil {
		if status := post(); status != 0 && status < 500 {
			return status
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
	return 0
}

// Config implements connectortest.Source.
func (s *webhookSource) Config() connector.Config { return s.cfg }

// Topic implements connectortest.Source: the ball-updates topic.
func (s *webhookSource) Topic(prefix string) string {
	return connector.ParseSettings(connector.Config{connector.KeyTopicPrefix: prefix}).Topic(roanuz.TopicBallUpdates)
}

// Want implements connectortest.Source: every Ball push of the timeline.
func (s *webhookSource) Want() []string { return s.want }

// BadMessages implements connectortest.BadInput: the bad bodies (the push
// with a wrong secret is refused before it is read: no dead letter).
func (s *webhookSource) BadMessages() int { return len(s.bad) }

// Identity implements connectortest.Source: the match key and the push
// identity of the position header, which must be the identity of the raw
// push the value carries.
func (s *webhookSource) Identity(r *kgo.Record) (string, error) {
	id, err := connectortest.PositionIdentity(r)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var v roanuz.BallUpdate
	if err := s.dec.Decode(ctx, r.Value, &v); err != nil {
		return "", fmt.Errorf("decoding %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	push, err := roanuz.ParsePush([]byte(v.Raw))
	if err != nil {
		return "", fmt.Errorf("%s/%d@%d: the raw push does not parse: %w", r.Topic, r.Partition, r.Offset, err)
	}
	if got := push.MatchKey + "@" + strconv.FormatUint(push.Identity(), 16); got != id || v.MatchKey != push.MatchKey {
		return "", fmt.Errorf("%s/%d@%d: key and position header say %s, the value match %s and raw push %s",
			r.Topic, r.Partition, r.Offset, id, v.MatchKey, got)
	}
	return id, nil
}
