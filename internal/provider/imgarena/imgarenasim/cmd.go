package imgarenasim

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/internal/simcmd"
)

// simUsage is the text above the flags in the command's usage.
const simUsage = "Usage: sportsconnect simulate imgarena [flags]\n\nA local IMG Arena FastPath server: WebSockets /{sport}/fixtures/{id}/actions\n" +
	"(and /media/...), the Fixtures REST API GET /{sport}/fixtures, with fault injection.\n\nFlags:\n"

const simExamples = `Examples:
  # 5 soccer fixtures of 2000 events, heartbeats every 10 s (IMG's interval):
  sportsconnect simulate imgarena --addr 127.0.0.1:8790 --fixtures 5 --events 2000

  # faults: drop every connection after 50 packets, duplicate seq 30 once,
  # event 77 malformed, a status pair every 25 events, fixtures that finish:
  sportsconnect simulate imgarena --drop-after 50 --dup-seq 30 --malformed 77 --status-every 25 --finish

  # the server's open answers: startPosition read as 1-based, event 40 always
  # broken without a readable fixtureSeqNum, junk and odd heartbeats where
  # event 60 is lost:
  sportsconnect simulate imgarena --start-one-based --malformed-noseq 40 --junk-before 60 --gap-seq 60

  # 10,000 idle fixtures (no events, heartbeats only) on a free port:
  sportsconnect simulate imgarena --addr 127.0.0.1:0 --fixtures 10000 --events 0

  # a connector config pointing at it:
  {"name": "img", "config": {"connector.class": "imgarena", "imgarena.url": "ws://127.0.0.1:8790",
   "imgarena.auth.token": "sim-token", "imgarena.speed": "fast"}}
`

// RunSimulator runs the simulator in the foreground until ctx ends
// (sportsconnect simulate imgarena [flags]).
func RunSimulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := simcmd.Flags("simulate imgarena", simUsage, stderr)
	usage := fs.Usage
	fs.Usage = func() { // the examples follow the flags
		usage()
		fmt.Fprint(stderr, "\n"+simExamples)
	}
	addr := fs.String("addr", "127.0.0.1:8790", "listen address")
	seed := fs.Uint64("seed", 1, "seed of every stream")
	fixtures := fs.Int("fixtures", 3, "number of fixtures (ids 100001...)")
	ids := fs.String("fixture-ids", "", "comma-separated fixture ids (instead of --fixtures)")
	events := fs.Int64("events", 100, "events per fixture")
	token := fs.String("token", "sim-token", "the accepted auth token")
	hb := fs.Duration("heartbeat", 0, "heartbeat interval (default 10s)")
	normal := fs.Duration("interval-normal", 0, "time between events at speed=normal (default 1s)")
	fast := fs.Duration("interval-fast", 0, "time between events at speed=fast (default 5ms)")
	authStyle := fs.Int("auth-style", -1, fmt.Sprintf("authorised reply shape 0..%d; -1 varies per connection", AuthStyles-1))
	hbStyle := fs.Int("heartbeat-style", -1, fmt.Sprintf("heartbeat shape 0..%d; -1 varies per connection", HeartbeatStyles-1))
	dropAfter := fs.Int("drop-after", 0, "fault: close every connection abruptly after N action packets")
	randomDrop := fs.Float64("random-drop", 0, "fault: close a connection after any action packet with this probability")
	stall := fs.Int("stall-after", 0, "fault: each fixture's first connection goes silent after N action packets")
	dup := fs.Int64("dup-seq", 0, "fault: send event N twice with one fixtureSeqNum (once per fixture)")
	reorder := fs.Int64("reorder-seq", 0, "fault: swap events N and N+1 (once per fixture)")
	gap := fs.Int64("gap-seq", 0, "fault: lose event N, skipping its fixtureSeqNum (once per fixture)")
	malformed := fs.Int64("malformed", 0, "fault: event N is broken JSON (every connection)")
	noSeq := fs.Int64("malformed-noseq", 0, "fault: event N is cut short just after its fixtureSeqNum key (every connection)")
	junk := fs.Int64("junk-before", 0, "fault: once per fixture, before event N, send a broken action fragment, a non-JSON heartbeat and an empty frame")
	oneBased := fs.Bool("start-one-based", false, "read startPosition N as 'start from the N-th event' (resend the client's last event)")
	finish := fs.Bool("finish", false, "fixtures finish: the last event says finished: true")
	statusEvery := fs.Int64("status-every", 0, "send a ConnectionStateChanged Disconnected/Connected pair before every N-th event")
	statusOnce := fs.Bool("status-once", false, "send each status pair once per fixture, not again to a connection resuming before it")
	dropAtStatus := fs.Bool("drop-after-status", false, "fault: close each fixture's connection right after its first status pair (once per fixture)")
	sendFD := fs.Int("send-times-fd", 0, "write a line 'fixture position unix-ns' per action packet sent to this inherited file descriptor (a benchmark's pipe)")
	if help, err := simcmd.Parse(fs, args); help || err != nil {
		return err
	}
	opts := []SimOption{SimSeed(*seed), SimFixtureCount(*fixtures), SimEvents(*events), SimToken(*token),
		SimAuthStyle(*authStyle), SimHeartbeatStyle(*hbStyle), SimDropAfter(*dropAfter), SimRandomDrops(*randomDrop),
		SimStallAfter(*stall), SimDuplicateSeq(*dup), SimReorderSeq(*reorder), SimSeqGap(*gap), SimMalformed(*malformed),
		SimMalformedNoSeq(*noSeq), SimStartPositionOneBased(*oneBased), SimFinish(*finish), SimStatusEvery(*statusEvery), SimStatusOnce(*statusOnce), SimDropAfterStatus(*dropAtStatus)}
	if *ids != "" {
		var list []string
		for _, id := range strings.Split(*ids, ",") {
			if id = strings.TrimSpace(id); id != "" {
				list = append(list, id)
			}
		}
		opts = append(opts, SimFixtures(list...))
	}
	if *junk > 0 {
		opts = append(opts, SimExtraFrames(*junk, `{"traceId":"junk","fixtureAction":{"actionId":"junk`, "ping", ""))
	}
	if *hb > 0 {
		opts = append(opts, SimHeartbeat(*hb))
	}
	if *normal > 0 || *fast > 0 {
		n, f := *normal, *fast
		if n == 0 {
			n = 1e9
		}
		if f == 0 {
			f = 5e6
		}
		opts = append(opts, SimEventInterval(n, f))
	}
	if *sendFD > 0 {
		times := NewSendTimes(os.NewFile(uintptr(*sendFD), "send-times"))
		defer times.Close() // after sim.Close: every stream has ended
		opts = append(opts, SimOnSend(times.Record))
	}
	sim := NewSimulator(opts...)
	if err := sim.Start(*addr); err != nil {
		return err
	}
	defer sim.Close()
	fmt.Fprintf(stdout, "imgarena simulator on %s (REST %s/soccer/fixtures?live=true&subscribed=true), token %q, fixtures %v\n",
		sim.URL(), sim.RESTURL(), *token, sim.Fixtures())
	<-ctx.Done()
	st := sim.Stats()
	fmt.Fprintf(stdout, "imgarena simulator stopped: %d connections, %d refused, %d actions, %d statuses, %d heartbeats, %d drops\n",
		st.Connections, st.Refused, st.ActionsSent, st.StatusesSent, st.HeartbeatsSent, st.Drops)
	return nil
}
