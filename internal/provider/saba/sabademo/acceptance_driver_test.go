package sabademo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/connectortest"
	"github.com/seed-474f70f7/sportsconnect/internal/live"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// This file is the saba Driver of the connectortest acceptance suite.
//
// The data topic the suite checks is <prefix>.saba.events. Neither saba
// topic holds one record per SSE message (a message holds any number of
// items), but the events topic holds exactly one record per event item of
// a message (add, change or remove) plus one reset marker per snapshot,
// every one of them keyed by what the timeline alone decides: the eventId
// (the marker: ""). The markets topic is not predictable that way: the key
// of a market remove is the eventId only if the task has seen the market
// since it last started, else "market:<marketId>", so it depends on where
// the suite stopped the worker.
//
// The identity of an events record is therefore its stream (the query),
// its key, its SSE id (the connector.HeaderPosition header), its op, and
// the event status and live score it carries: one event can change twice
// in one message (two goals, or a goal and its closing), never to the
// same score and status. Expect checks that no two records of the timeline
// share an identity.
//
// What the topic holds is then a function of the seed, but for one thing:
// a stream's first message is a status 1 snapshot of the state at the
// moment it connects. So the timeline begins (the simulator's generator is
// started) only once every stream holds its snapshot of update 0; resumes
// are replays from Last-Event-Id (the replay cache holds the whole
// timeline), never a status 3 snapshot.

// acceptanceStreams are the streams of the acceptance runs: every event is
// in exactly one of the two GetEvents streams; GetMarkets feeds only the
// markets topic, but its malformed messages are dead letters as well.
const acceptanceStreams = "GetEvents $filter=sporttype eq 1; GetEvents $filter=sporttype ne 1; GetMarkets"

// Credentials of the acceptance simulator (it accepts no others).
const (
	acceptanceVendor = "acceptance-vendor"
	acceptanceMember = "acceptance-member"
)

// Acceptance is the saba Driver of the connectortest suite: each Start
// runs a fresh Simulator whose timeline of Updates updates at Rate per
// second begins once every stream holds its first snapshot, with faults:
// every stream cut mid-frame at a quarter and at three quarters of the
// timeline, every token revoked at half of it, the frame of every
// DuplicateEvery-th update sent twice, every MalformedEvery-th update sent
// as broken JSON (on every stream), and the Last-Event-Id message replayed
// on each resume.
type Acceptance struct {
	Updates        int64   // updates of the timeline
	Rate           float64 // updates per second
	Seed           uint64  // seed of the timeline
	MalformedEvery int64   // every n-th update is malformed
	DuplicateEvery int64   // every n-th update's frame is sent twice
	// Live makes the checked topic live.events instead of saba.events
	// (acceptance_live_test.go).
	Live bool
}

// AcceptanceDriver returns the driver the saba acceptance test runs: 600
// updates at 75 per second (8 s), 6 of them malformed, 9 sent twice.
//
// Why 8 s and not less: Fencing needs the first worker to still have
// records to write when the second one takes over (a task that writes
// nothing never learns it was fenced), and the first transaction of a
// worker on freshly created topics was seen to stall for 5 s, after which
// the worker commits all that piled up at once: with a 3 s timeline the
// whole run was committed before the takeover (the first worker's task
// stayed RUNNING and the part failed after 60 s).
func AcceptanceDriver() *Acceptance {
	return &Acceptance{Updates: 600, Rate: 75, Seed: 474, MalformedEvery: 97, DuplicateEvery: 61}
}

// Plugin implements connectortest.Driver.
func (a *Acceptance) Plugin() connector.Plugin { return saba.Plugin() }

// simOptions are the options of the timeline, shared by the simulator and
// its twin.
func (a *Acceptance) simOptions(epoch string) []sabasim.SimOption {
	return []sabasim.SimOption{
		sabasim.WithSeed(a.Seed), sabasim.WithEpoch(epoch), sabasim.WithEvents(40, 3),
		sabasim.WithCredentials(acceptanceVendor, acceptanceMember), sabasim.WithRecordTimeline(true),
		sabasim.WithMalformedEvery(a.MalformedEvery), sabasim.WithDuplicateEvery(a.DuplicateEvery),
		sabasim.WithInclusiveReplay(true), sabasim.WithKeepAlive(time.Second),
		// Every resume is a replay, never a status 3 Reset: a Reset's
		// snapshot depends on when the worker came back.
		sabasim.WithCacheSize(a.Updates + 1),
	}
}

// Start implements connectortest.Driver: it computes what the run must
// write from a twin of the timeline, starts the simulator on 127.0.0.1
// and the goroutine that begins the timeline and injects the faults.
func (a *Acceptance) Start(t *testing.T) connectortest.Source {
	t.Helper()
	specs, err := saba.ParseStreams(acceptanceStreams)
	if err != nil {
		t.Fatal(err)
	}
	epoch := "acc" + strconv.FormatInt(time.Now().UnixNano(), 36)
	want, bad, err := a.Expect(specs, epoch)
	if err == nil && a.Live {
		want, err = a.ExpectLive(specs, epoch)
	}
	if err != nil {
		t.Fatal(err)
	}
	srcl, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	sim := sabasim.NewSimulator(append(a.simOptions(epoch), sabasim.WithRate(a.Rate), sabasim.WithMaxUpdates(a.Updates))...)
	ctx, cancel := context.WithCancel(context.Background())
	base, err := sim.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.drive(ctx, t, sim, len(specs))
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		sim.Close()
		head, _ := sim.Head()
		st := sim.Stats()
		t.Logf("saba simulator: %d of %d updates; %d connects (%d snapshots, %d replays, %d resets), %d cuts, %d logins, %d frames sent again",
			head, a.Updates, st.Connects, st.Initials, st.Replays, st.Resets, st.Cuts, st.Logins, st.Duplicates)
	})
	return &acceptanceSource{
		cfg: connector.Config{
			saba.KeyBaseURL: base, saba.KeyVendorID: acceptanceVendor, saba.KeyVendorMemberID: acceptanceMember,
			saba.KeyStreams: acceptanceStreams, saba.KeyIncludeMarkets: "none",
			saba.KeyBackoffInitial: "50", saba.KeyBackoffMax: "1000", saba.KeySilenceTimeout: "5000",
		},
		want: want, bad: bad, dec: avroreg.NewDecoder(srcl), live: a.Live,
	}
}

// drive begins the timeline once every stream holds its first snapshot
// (status 1 at update 0, the same whenever the worker connects: what the
// twin predicts), then injects the faults as the timeline passes a
// quarter, a half and three quarters of its length.
func (a *Acceptance) drive(ctx context.Context, t *testing.T, sim *sabasim.Simulator, streams int) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(60 * time.Second)
	for sim.Stats().Initials < int64(streams) {
		if time.Now().After(deadline) {
			t.Errorf("saba simulator: %d of %d streams connected within 60 s; starting the timeline anyway", sim.Stats().Initials, streams)
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	sim.Start()
	faults := []func(){sim.CutStreams, sim.ExpireTokens, sim.CutStreams}
	for at := int64(1); len(faults) > 0; {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if head, _ := sim.Head(); head*4 >= at*a.Updates {
			faults[0]()
			faults, at = faults[1:], at+1
		}
	}
}

// Expect returns what a run of streams over the whole timeline of a
// simulator with epoch must write, each GetEvents stream opening with its
// status 1 snapshot of update 0: the identity of every record of the
// events topic, and the number of malformed messages (every stream
// receives every malformed update). It steps a twin of the timeline, as
// Demo does.
func (a *Acceptance) Expect(streams []saba.StreamSpec, epoch string) (want []string, bad int, err error) {
	twin := sabasim.NewSimulator(a.simOptions(epoch)...)
	defer twin.Close()
	snap0 := twin.IDOf(0)
	snaps := map[string][]sabasim.SimEvent{}
	for _, sp := range streams {
		if sp.Endpoint != "GetEvents" {
			continue
		}
		if snaps[sp.Query], err = snapshotEvents(twin, sp); err != nil {
			return nil, 0, err
		}
	}
	twin.Step(int(a.Updates))
	for _, sp := range streams {
		if sp.Endpoint != "GetEvents" {
			continue
		}
		want = append(want, identity(sp.Query, "", snap0, saba.OpReset, nil, nil, nil))
		for _, e := range snaps[sp.Query] {
			want = append(want, eventIdentity(sp.Query, snap0, saba.OpAdd, e))
		}
		for _, u := range twin.Updates() {
			if u.Malformed {
				continue
			}
			for _, it := range updateItems(sp.Query, u) {
				// The stream's view, by the simulator's own filter.
				c, err := twin.CountsOf(sp.Endpoint, sp.Query, "none", sabasim.Update{EventsRemove: []int64{it.eventID}})
				if err != nil {
					return nil, 0, err
				}
				if c.EventsRemove == 1 {
					want = append(want, it.id)
				}
			}
		}
	}
	for _, u := range twin.Updates() {
		if u.Malformed {
			bad += len(streams)
		}
	}
	seen := map[string]bool{}
	for _, id := range want {
		if seen[id] {
			return nil, 0, fmt.Errorf("the timeline has two records of identity %q: the identity is not unique", id)
		}
		seen[id] = true
	}
	return want, bad, nil
}

// item is one event item of an update: its event and its identity.
type item struct {
	eventID int64
	id      string
}

// updateItems returns the identities of every event item of u (before any
// stream's filter), as a stream with query would write them.
func updateItems(query string, u sabasim.Update) []item {
	var out []item
	for _, e := range u.EventsAdd {
		out = append(out, item{e.EventID, eventIdentity(query, u.ID, saba.OpAdd, e)})
	}
	for _, c := range u.EventsChange {
		var status *string
		if c.EventStatus != "" {
			status = &c.EventStatus
		}
		var home, away *int32
		if c.GameInfo != nil {
			home, away = i32(c.GameInfo.LiveHomeScore), i32(c.GameInfo.LiveAwayScore)
		}
		out = append(out, item{c.EventID, identity(query, key(c.EventID), u.ID, saba.OpChange, status, home, away)})
	}
	for _, id := range u.EventsRemove {
		out = append(out, item{id, identity(query, key(id), u.ID, saba.OpRemove, nil, nil, nil)})
	}
	return out
}

// snapshotEvents returns the events of the status 1 snapshot the stream sp
// would get from sim now, read from sim's own answer to a stream request
// (the snapshot is not otherwise exported).
func snapshotEvents(sim *sabasim.Simulator, sp saba.StreamSpec) ([]sabasim.SimEvent, error) {
	rec := httptest.NewRecorder()
	login, _ := json.Marshal(map[string]string{"vendor_id": acceptanceVendor, "vendor_member_id": acceptanceMember})
	sim.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(string(login))))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("twin login: %d %s", rec.Code, rec.Body)
	}
	// A request already ended: the simulator writes the snapshot and returns.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q := url.Values{"query": {sp.Query}, "includeMarkets": {"none"}}
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/sports/stream/v1/"+sp.Endpoint+"?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec = httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	_, data, ok := strings.Cut(rec.Body.String(), "\ndata: ")
	if data, _, _ = strings.Cut(data, "\n"); !ok {
		return nil, fmt.Errorf("twin snapshot of %s: no frame in %d %.200q", sp.Name(), rec.Code, rec.Body)
	}
	var m struct {
		Status  int `json:"status"`
		Payload struct {
			Events *struct {
				Add []sabasim.SimEvent `json:"add"`
			} `json:"events"`
		} `json:"payload"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSuffix(data, "\r")), &m); err != nil {
		return nil, fmt.Errorf("twin snapshot of %s: %w", sp.Name(), err)
	}
	if m.Status != sabasim.StatusInitialData || m.Payload.Events == nil {
		return nil, fmt.Errorf("twin snapshot of %s: status %d, events %v", sp.Name(), m.Status, m.Payload.Events != nil)
	}
	return m.Payload.Events.Add, nil
}

// acceptanceSource is one acceptance run of the simulator.
type acceptanceSource struct {
	cfg  connector.Config
	want []string
	bad  int
	dec  *avroreg.Decoder
	live bool // the checked topic is live.events
}

// Config implements connectortest.Source.
func (s *acceptanceSource) Config() connector.Config { return s.cfg }

// Topic implements connectortest.Source: the events topic (see the top of
// this file for why).
func (s *acceptanceSource) Topic(prefix string) string {
	if s.live {
		return prefix + "." + live.DefaultEventsTopic
	}
	return saba.EventsTopic(connector.ParseSettings(connector.Config{connector.KeyTopicPrefix: prefix}))
}

// Want implements connectortest.Source.
func (s *acceptanceSource) Want() []string { return s.want }

// BadMessages implements connectortest.BadInput.
func (s *acceptanceSource) BadMessages() int { return s.bad }

// Identity implements connectortest.Source: stream, key, SSE id, op, and
// the event status and live score of the record.
func (s *acceptanceSource) Identity(r *kgo.Record) (string, error) {
	if s.live {
		return s.liveIdentity(r)
	}
	pos, ok := "", false
	for _, h := range r.Headers {
		if h.Key == connector.HeaderPosition {
			pos, ok = string(h.Value), true
		}
	}
	if !ok || r.Value == nil {
		return "", fmt.Errorf("record at %s/%d@%d: no %s header, or no value", r.Topic, r.Partition, r.Offset, connector.HeaderPosition)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var v saba.EventRecord
	if err := s.dec.Decode(ctx, r.Value, &v); err != nil {
		return "", fmt.Errorf("record at %s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	if v.MessageID != pos {
		return "", fmt.Errorf("record at %s/%d@%d: message_id %q, position header %q", r.Topic, r.Partition, r.Offset, v.MessageID, pos)
	}
	return identity(v.Query, string(r.Key), pos, v.Op, v.EventStatus, v.LiveHomeScore, v.LiveAwayScore), nil
}

// identity names one events record: "<query>|<key>@<sse id>|<op>|<event
// status>|<home>:<away>", "-" for what the record does not carry.
func identity(query, key, pos, op string, status *string, home, away *int32) string {
	str := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	num := func(p *int32) string {
		if p == nil {
			return "-"
		}
		return strconv.Itoa(int(*p))
	}
	return query + "|" + key + "@" + pos + "|" + op + "|" + str(status) + "|" + num(home) + ":" + num(away)
}

// eventIdentity is the identity of a whole event (an add).
func eventIdentity(query, pos, op string, e sabasim.SimEvent) string {
	return identity(query, key(e.EventID), pos, op, &e.EventStatus, i32(e.GameInfo.LiveHomeScore), i32(e.GameInfo.LiveAwayScore))
}

func key(eventID int64) string { return strconv.FormatInt(eventID, 10) }
