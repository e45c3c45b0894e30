package imgarenademo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/connectortest"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// This file is the imgarena Driver of the connectortest acceptance suite.
//
// The data topic the suite checks is <prefix>.imgarena.soccer.actions: one
// record per event of the simulator's timeline, keyed by the fixture id,
// with the event's position (1-based, in the fixture's feed) in the
// connector.HeaderPosition header and in the value. Statuses go to the
// status topic, dead letters to the dead-letter topic, so the actions
// topic holds exactly the timeline's events that are not broken.
//
// The identity of an actions record is its fixture, its position and the
// actionId its value carries: the position alone would say that each slot
// is filled once, the actionId that it holds the timeline's event for
// that slot (a Pending action and its Confirmed update share an actionId,
// never a position).

// acceptanceSport is the sport path of the acceptance runs.
const acceptanceSport = "soccer"

// acceptanceToken is the only auth token the acceptance simulator accepts.
const acceptanceToken = "acceptance-token"

// acceptanceFrame is a frame the simulator sends, once per fixture, where
// the lost event (Acceptance.Lost) should be, and whether the connector
// must make it a dead letter. imgarena's doc: a frame that does not decode
// and names fixtureAction or fixtureSeqNum is a broken action, one that
// names eventElementType a broken status, each one dead letter; anything
// else that is neither an action, a status nor an error only proves the
// connection alive.
type acceptanceFrame struct {
	frame string
	dead  bool
}

// acceptanceFrames are the frames in the lost event's place.
var acceptanceFrames = []acceptanceFrame{
	{`{"fixtureAction":{"actionId":"lost-fragm`, true},                   // a broken action, its fixtureSeqNum unreadable
	{`{"eventElementType":"ConnectionStateChanged","state":"Disc`, true}, // a broken status
	{"ping", false}, // a heartbeat that is not JSON
	{"", false},     // an empty frame
	{`{"messageType":"Heartbeat","seq":`, false},   // a broken object naming no action or status key
	{`{"feed":"betting","fixtures":[1,2]}`, false}, // JSON of another shape
}

// Acceptance is the imgarena Driver of the connectortest suite: each
// Start runs a fresh imgarenasim.Simulator of Fixtures fixtures whose
// feeds of Events events (the last one finished: true) come one every
// Interval, with the faults a real feed has, on every fixture:
//   - every connection dropped abruptly after DropAfter action packets,
//     and once between the status pair before event StatusEvery and that
//     event (a status pair precedes every StatusEvery-th event);
//   - event Duplicate sent twice with the same fixtureSeqNum, once;
//   - event Broken always sent as broken JSON whose fixtureSeqNum can be
//     read (an event: it takes its position, one dead letter);
//   - event BrokenNoSeq always sent cut short just after its
//     "fixtureSeqNum" key (not an event until a second connection sees it
//     in the same gap; one dead letter);
//   - event Lost skipped once (its fixtureSeqNum too), the acceptanceFrames
//     standing in its place: two dead letters, four frames that only prove
//     the connection alive;
//   - heartbeats every 50 ms, their shape (JSON, "ping", empty) varied per
//     connection.
type Acceptance struct {
	Fixtures    int
	Events      int64
	Interval    time.Duration // between a fixture's events
	Seed        uint64
	DropAfter   int
	StatusEvery int64
	Duplicate   int64
	Broken      int64
	BrokenNoSeq int64
	Lost        int64
}

// AcceptanceDriver returns the driver the imgarena acceptance test runs: 4
// fixtures of 300 events, one every 10 ms (3 s a run, reconnects aside),
// connections dropped after 70 action packets, event 120 duplicated, 150
// broken, 60 broken without a readable fixtureSeqNum, 230 lost once with
// six frames in its place.
func AcceptanceDriver() *Acceptance {
	return &Acceptance{Fixtures: 4, Events: 300, Interval: 10 * time.Millisecond, Seed: 474, DropAfter: 70,
		StatusEvery: 100, Duplicate: 120, Broken: 150, BrokenNoSeq: 60, Lost: 230}
}

// Plugin implements connectortest.Driver.
func (a *Acceptance) Plugin() connector.Plugin { return imgarena.Plugin() }

// Start implements connectortest.Driver: it starts the simulator on
// 127.0.0.1 (closed by t.Cleanup) and computes what the run must write from
// its timeline.
func (a *Acceptance) Start(t *testing.T) connectortest.Source {
	t.Helper()
	frames := make([]string, len(acceptanceFrames))
	deadFrames := 0
	for i, f := range acceptanceFrames {
		frames[i] = f.frame
		if f.dead {
			deadFrames++
		}
	}
	sim := imgarenasim.NewSimulator(
		imgarenasim.SimSeed(a.Seed), imgarenasim.SimFixtureCount(a.Fixtures), imgarenasim.SimEvents(a.Events),
		imgarenasim.SimFinish(true), imgarenasim.SimEventInterval(a.Interval, a.Interval), imgarenasim.SimToken(acceptanceToken),
		imgarenasim.SimHeartbeat(50*time.Millisecond),
		imgarenasim.SimDropAfter(a.DropAfter), imgarenasim.SimStatusEvery(a.StatusEvery), imgarenasim.SimDropAfterStatus(true),
		imgarenasim.SimDuplicateSeq(a.Duplicate), imgarenasim.SimMalformed(a.Broken), imgarenasim.SimMalformedNoSeq(a.BrokenNoSeq),
		imgarenasim.SimSeqGap(a.Lost), imgarenasim.SimExtraFrames(a.Lost, frames...),
	)
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st := sim.Stats()
		_ = sim.Close()
		t.Logf("imgarena simulator: %d fixtures x %d events; %d connections (%d dropped), %d action packets, %d statuses, %d heartbeats",
			a.Fixtures, a.Events, st.Connections, st.Drops, st.ActionsSent, st.StatusesSent, st.HeartbeatsSent)
	})
	srcl, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	s := &acceptanceSource{
		cfg: connector.Config{
			connector.KeyTasksMax: "2",
			imgarena.KeyURL:       sim.URL(), imgarena.KeyToken: acceptanceToken, imgarena.KeySport: acceptanceSport,
			imgarena.KeyFixtures: strings.Join(sim.Fixtures(), ","), imgarena.KeySpeed: "fast",
			imgarena.KeyBackoffInitialMs: "20", imgarena.KeyBackoffMaxMs: "200", imgarena.KeySilenceMs: "2000",
		},
		dec: avroreg.NewDecoder(srcl),
	}
	for _, f := range sim.Fixtures() {
		broken := 0
		for _, ev := range sim.Timeline(f) {
			if ev.Malformed {
				broken++
				continue
			}
			s.want = append(s.want, acceptanceID(f, ev.Position, ev.ActionID))
		}
		// Every broken event is one dead letter (one with a readable
		// fixtureSeqNum as the event it is, one without as a seq-less
		// frame the resumed connection skips), and so is each broken
		// frame in the lost event's place.
		s.bad += broken + deadFrames
	}
	return s
}

// acceptanceID is the identity of the record of event pos of fixture.
func acceptanceID(fixture string, pos int64, actionID string) string {
	return fixture + "@" + strconv.FormatInt(pos, 10) + "/" + actionID
}

// acceptanceSource is one acceptance run: the connector config that reads
// the simulator and what the actions topic must hold.
type acceptanceSource struct {
	cfg  connector.Config
	want []string
	bad  int
	dec  *avroreg.Decoder
}

// Config implements connectortest.Source.
func (s *acceptanceSource) Config() connector.Config { return s.cfg }

// Topic implements connectortest.Source: the actions topic.
func (s *acceptanceSource) Topic(prefix string) string {
	return imgarena.ActionsTopic(connector.ParseSettings(connector.Config{connector.KeyTopicPrefix: prefix}), acceptanceSport)
}

// Want implements connectortest.Source: every event of every fixture's
// timeline but the broken ones.
func (s *acceptanceSource) Want() []string { return s.want }

// BadMessages implements connectortest.BadInput.
func (s *acceptanceSource) BadMessages() int { return s.bad }

// Identity implements connectortest.Source: the record's key and position
// header (connectortest.PositionIdentity) and the actionId of its value,
// which must name the same fixture and position.
func (s *acceptanceSource) Identity(r *kgo.Record) (string, error) {
	id, err := connectortest.PositionIdentity(r)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var a imgarena.Action
	if err := s.dec.Decode(ctx, r.Value, &a); err != nil {
		return "", fmt.Errorf("decoding %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	if a.Fixture+"@"+strconv.FormatInt(a.Position, 10) != id {
		return "", fmt.Errorf("%s/%d@%d: key and position header say %s, the value fixture %s position %d",
			r.Topic, r.Partition, r.Offset, id, a.Fixture, a.Position)
	}
	if a.ActionID == nil {
		return id + "/", nil
	}
	return id + "/" + *a.ActionID, nil
}
