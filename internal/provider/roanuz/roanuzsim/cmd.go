package roanuzsim

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/simcmd"
)

const simExamples = `Examples:
  # REST API + Socket.IO stream of two matches advancing one step a second:
  sportsconnect simulate roanuz --addr 127.0.0.1:8791 --matches m1,m2 --step-interval 1s

  # also push every match's ball-by-ball timeline to a webhook, with faults:
  sportsconnect simulate roanuz --push-url http://127.0.0.1:8585/roanuz/push --push-secret s3cret \
      --push-duplicates 0.2 --push-reorder 0.1 --push-corrupt-every 50 --push-bomb-every 100 --push-wrong-secret-every 70

  # Socket.IO faults: drop connections, gzip/base64/plain variants, short-lived tokens:
  sportsconnect simulate roanuz --sock-drop-every 20 --sock-malformed-every 30 --token-life 2m

  # catch-up faults: the Match API answers 400 ms late and one step behind, joins send no state:
  sportsconnect simulate roanuz --rest-delay 400ms --rest-behind 1 --sock-quiet-join

  # Roanuz's limit of 20 Socket.IO connections per project (the 21st is refused with HTTP 429):
  sportsconnect simulate roanuz --sock-conn-limit 20

  # a socket.io 2.x server (Engine.IO v3 only), and a featured list of two of three matches:
  sportsconnect simulate roanuz --sock-eio 3 --matches m1,m2,m3 --listed m2,m3

  # connector configs pointing at it:
  {"name": "rz-hook", "config": {"connector.class": "roanuz.webhook", "roanuz.webhook.listen": "127.0.0.1:8585",
   "roanuz.webhook.secret": "s3cret", "roanuz.api.url": "http://127.0.0.1:8791", "roanuz.project.key": "sim_project",
   "roanuz.api.key": "sim-api-key", "roanuz.matches": "m1,m2"}}
  {"name": "rz-match", "config": {"connector.class": "roanuz.match", "roanuz.api.url": "http://127.0.0.1:8791",
   "roanuz.project.key": "sim_project", "roanuz.api.key": "sim-api-key", "roanuz.matches": "m1",
   "roanuz.matches.discover": "featured", "roanuz.matches.discover.interval.ms": "5000"}}
`

const simUsage = `Usage: sportsconnect simulate roanuz [flags]

A local Roanuz v5: POST /v5/core/{project}/auth/, match subscribe/unsubscribe and
detail-updates-subscribe/unsubscribe, GET /v5/cricket/{project}/match/{key}/ and /featured-matches-2/, the Socket.IO
match stream (namespace /cricket, path /v5/websocket), and a webhook pusher, with fault injection.

` + simExamples + `
Flags:
`

// RunSimulator runs the simulator in the foreground until ctx ends
// (sportsconnect simulate roanuz [flags]); -h prints the usage, flags and
// examples and returns nil. Its faults are counted in updates and pushes,
// inside the server and the pusher, so it needs no fault tickers.
func RunSimulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := simcmd.Flags("simulate roanuz", simUsage, stderr)
	addr := fs.String("addr", "127.0.0.1:8791", "listen address of the REST API and Socket.IO")
	seed := fs.Uint64("seed", 1, "seed of every timeline")
	matches := fs.String("matches", "sim_match_1,sim_match_2", "comma-separated match keys")
	overs := fs.Int("overs", 2, "overs per innings")
	project := fs.String("project", "sim_project", "accepted project key")
	apiKey := fs.String("api-key", "sim-api-key", "accepted api key")
	tokenLife := fs.Duration("token-life", 24*time.Hour, "token lifetime")
	inactive := fs.Bool("inactive", false, "fault: every auth answers 402 project inactive")
	step := fs.Duration("step-interval", time.Second, "every match advances one step this often (0 = never)")
	sf := sockFlags(fs)
	pushURL := fs.String("push-url", "", "post every match's push timeline to this webhook URL")
	pushSecret := fs.String("push-secret", "", "webhook shared secret")
	pushHeader := fs.String("push-secret-header", "X-Roanuz-Secret", "header carrying the secret; empty = appended as a path segment")
	senders := fs.Int("push-senders", 4, "concurrent push senders")
	dups := fs.Float64("push-duplicates", 0, "fault: probability a push is sent again after its 2xx")
	reorder := fs.Float64("push-reorder", 0, "fault: probability two neighbouring pushes swap")
	plain := fs.Float64("push-plain", 0, "probability a push is sent as plain JSON instead of gzip")
	corrupt := fs.Int("push-corrupt-every", 0, "fault: a corrupt gzip body every N pushes")
	oversized := fs.Int("push-oversized-every", 0, "fault: an oversized body every N pushes")
	wrong := fs.Int("push-wrong-secret-every", 0, "fault: a push with the wrong secret every N pushes")
	bomb := fs.Int("push-bomb-every", 0, "fault: a gzip bomb every N pushes")
	lostAck := fs.Int("push-lost-ack-every", 0, "fault: the 2xx of every N-th push is lost and the push sent again")
	listed := fs.String("listed", "", "matches of the featured list (GET /v5/cricket/{project}/featured-matches-2/); empty = every match")
	clockOnSub := fs.Bool("clock-on-subscribe", false, "a match's clock starts at its first Socket.IO subscribe")
	restDelay := fs.Duration("rest-delay", 0, "fault: the Match API answers this late, with the state of when the request arrived")
	restBehind := fs.Int("rest-behind", 0, "fault: the Match API answers this many steps behind the stream (a stale cache)")
	if help, err := simcmd.Parse(fs, args); help || err != nil {
		return err
	}
	keys := splitKeys(*matches)
	opts := []SimOption{WithSeed(*seed), WithMatches(keys...), WithOvers(*overs), WithProject(*project, *apiKey),
		WithTokenLifetime(*tokenLife), WithStepInterval(*step), WithRESTDelay(*restDelay), WithRESTBehind(*restBehind)}
	opts = append(opts, sf.options()...)
	if *inactive {
		opts = append(opts, WithProjectInactive())
	}
	if *listed != "" {
		opts = append(opts, WithListed(splitKeys(*listed)...))
	}
	if *clockOnSub {
		opts = append(opts, WithClockOnSubscribe())
	}
	sim := NewSimulator(opts...)
	if err := sim.Start(*addr); err != nil {
		return err
	}
	defer sim.Close()
	fmt.Fprintf(stdout, "roanuz simulator on %s (Socket.IO ws://%s/v5/websocket, namespace /cricket), project %q, matches %v\n",
		sim.URL(), strings.TrimPrefix(sim.URL(), "http://"), *project, keys)
	if *pushURL != "" {
		p := sim.NewPusher(PushOptions{URL: *pushURL, Secret: *pushSecret, SecretHeader: *pushHeader, Senders: *senders, Seed: *seed,
			Duplicates: *dups, Reorder: *reorder, PlainJSON: *plain, CorruptEvery: *corrupt, OversizedEvery: *oversized,
			WrongSecret: *wrong, BombEvery: *bomb, LostAckEvery: *lostAck})
		start := time.Now()
		rs, err := p.Run(ctx)
		st := p.Stats()
		fmt.Fprintf(stdout, "pushed %d of %d pushes in %s: %d attempts, %d retries, %d duplicates, %d lost acks, p99 ack %s, statuses %v, injected %v\n",
			st.Acked, len(rs), time.Since(start).Round(time.Millisecond), st.Attempts, st.Retries, st.Duplicates, st.LostAcks, P99(rs), st.ByStatus, st.Injected)
		if err != nil {
			return nil
		}
	}
	<-ctx.Done()
	fmt.Fprintf(stdout, "roanuz simulator stopped: %d tokens issued, %d REST calls, at most %d Socket.IO connections open at once, %d refused\n",
		sim.Auths(), sim.restCalls.Load(), sim.PeakConnections(), sim.RefusedConnections())
	return nil
}

// splitKeys splits a comma-separated list, dropping empty entries.
func splitKeys(s string) []string {
	var keys []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}
