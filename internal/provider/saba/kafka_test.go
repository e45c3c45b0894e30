package saba

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap/zaptest"
)

// readBack reads both saba topics to their end with read_committed and
// returns the observations of each stream, ordered by the simulator's
// timeline (Kafka orders only within a partition), after checking that
// within every partition the updates of a stream never go back.
func readBack(ctx context.Context, t *testing.T, sim *Simulator, brokers []string, registry, prefix string) (map[string][]obs, int, error) {
	t.Helper()
	topics := []string{prefix + ".saba.events", prefix + ".saba.markets"}
	adm, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, 0, err
	}
	ends, err := kadm.NewClient(adm).ListCommittedOffsets(ctx, topics...)
	adm.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("listing end offsets: %w", err)
	}
	srcl, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		return nil, 0, err
	}
	dec := avroreg.NewDecoder(srcl)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.KeepControlRecords())
	if err != nil {
		return nil, 0, err
	}
	defer cl.Close()
	type key struct {
		topic string
		part  int32
	}
	remaining := map[key]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			remaining[key{o.Topic, o.Partition}] = o.Offset
		}
	})
	type item struct {
		o        obs
		idx      int64
		snapshot bool
		seq      int // order of arrival within its partition
	}
	var items []item
	lastIdx := map[string]int64{} // stream/topic/partition -> last update index
	total := 0
	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("reading back (%d partitions unfinished): %w", len(remaining), err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return nil, 0, fmt.Errorf("fetch: %v", errs[0].Err)
		}
		for _, r := range fs.Records() {
			k := key{r.Topic, r.Partition}
			end, ok := remaining[k]
			if !ok || r.Offset >= end {
				continue
			}
			if r.Offset == end-1 {
				delete(remaining, k)
			}
			if r.Attrs.IsControl() || r.Value == nil {
				continue // transaction marker or tombstone
			}
			total++
			var o obs
			if r.Topic == topics[0] {
				var v EventRecord
				if err := dec.Decode(ctx, r.Value, &v); err != nil {
					return nil, 0, err
				}
				o = obs{stream: streamName(StreamSpec{v.Endpoint, v.Query}), msgID: v.MessageID, topic: "events", op: v.Op, status: v.Status}
			} else {
				var v MarketRecord
				if err := dec.Decode(ctx, r.Value, &v); err != nil {
					return nil, 0, err
				}
				o = obs{stream: streamName(StreamSpec{v.Endpoint, v.Query}), msgID: v.MessageID, topic: "markets", op: v.Op, status: v.Status}
			}
			idx, ok := sim.lookup(o.msgID)
			if !ok {
				return nil, 0, fmt.Errorf("record with unknown message id %q", o.msgID)
			}
			snap := o.status == StatusInitialData || o.status == StatusReset
			if !snap {
				pk := fmt.Sprintf("%s/%s/%d", o.stream, r.Topic, r.Partition)
				if idx < lastIdx[pk] {
					return nil, 0, fmt.Errorf("%s: update %d after update %d", pk, idx, lastIdx[pk])
				}
				lastIdx[pk] = idx
			}
			items = append(items, item{o: o, idx: idx, snapshot: snap, seq: len(items)})
		}
	}
	// Timeline order: by update index; at one index the delta before the
	// snapshot taken after it; reset markers first within a snapshot.
	slices.SortStableFunc(items, func(a, b item) int {
		switch {
		case a.o.stream != b.o.stream:
			return cmpStr(a.o.stream, b.o.stream)
		case a.idx != b.idx:
			return int(a.idx - b.idx)
		case a.snapshot != b.snapshot:
			return b2i(a.snapshot) - b2i(b.snapshot)
		case (a.o.op == OpReset) != (b.o.op == OpReset):
			return b2i(b.o.op == OpReset) - b2i(a.o.op == OpReset)
		}
		return a.seq - b.seq
	})
	out := map[string][]obs{}
	for _, it := range items {
		out[it.o.stream] = append(out[it.o.stream], it.o)
	}
	return out, total, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lastUpdateFor returns the id of the latest update the stream's view holds
// (the id its committed offset ends at), or the snapshot id "<epoch>-0".
func lastUpdateFor(t *testing.T, sim *Simulator, sp StreamSpec) string {
	t.Helper()
	us := sim.Updates()
	for i := len(us) - 1; i >= 0; i-- {
		c, err := sim.CountsOf(sp.Endpoint, sp.Query, "", us[i])
		if err != nil {
			t.Fatal(err)
		}
		if c.Total() > 0 || us[i].Malformed {
			return us[i].ID
		}
	}
	return sim.idOf(0)
}

// newSabaWorker returns a started in-process worker.
func newSabaWorker(t *testing.T, brokers []string, registry, group, offsets string) *connector.Worker {
	t.Helper()
	srcl, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		t.Fatal(err)
	}
	w, err := connector.NewWorker(connector.NewPlugins(Plugin()),
		connector.WithKafka(kgo.SeedBrokers(brokers...)),
		connector.WithSerializer(avroreg.NewSerializer(srcl)),
		connector.WithLogger(zaptest.NewLogger(t)),
		connector.WithGroupID(group),
		connector.WithOffsetsTopic(offsets, 3, -1),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

// waitStreamsCommitted waits until every stream's committed offset is want[stream].
func waitStreamsCommitted(t *testing.T, w *connector.Worker, name string, want map[string]string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got map[string]string
	for time.Now().Before(deadline) {
		st, err := w.Status(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ts := range st.Tasks {
			if ts.State == connector.StateFailed {
				t.Fatalf("task %d failed: %s", ts.ID, ts.Trace)
			}
		}
		// The offsets topic is the truth (a task's status also lists
		// the partitions of other tasks, as committed when it started).
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		offs, err := connector.ReadOffsets(ctx, w.KafkaOpts(), w.OffsetsTopic(), name)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		got = map[string]string{}
		done := true
		for p, id := range want {
			got[p], _ = offs.Offsets[p].OffsetString(OffsetKey)
			done = done && got[p] == id
		}
		if done {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("committed %v, want %v", got, want)
}

func TestWorkerEmbedded(t *testing.T) {
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	sim, url := newTestSim(t, WithRate(400), WithMaxUpdates(800), WithMalformedEvery(0))
	specs := []StreamSpec{{"GetEvents", "$filter=sporttype eq 1"}, {"GetMarkets", ""}}
	w := newSabaWorker(t, env.Brokers(), env.RegistryURL(), "g", "offsets")
	cfg := connector.Config{
		"name": "saba", "connector.class": Class, "tasks.max": "2", "topic.prefix": "emb",
		"topic.creation.default.partitions": "3",
		KeyBaseURL:                          url, KeyVendorID: "v", KeyVendorMemberID: "m", KeyStreams: "GetEvents $filter=sporttype eq 1; GetMarkets",
		KeyBackoffInitial: "20", KeyBackoffMax: "200",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.AddConnector(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	for head, _ := sim.Head(); head < 800; head, _ = sim.Head() {
		if head > 200 && head < 210 {
			sim.CutStreams()
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := map[string]string{}
	for _, sp := range specs {
		want[PartitionOf(sp).String()] = lastUpdateFor(t, sim, sp)
	}
	waitStreamsCommitted(t, w, "saba", want, 30*time.Second)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, total, err := readBack(ctx, t, sim, env.Brokers(), env.RegistryURL(), "emb")
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		u, s, err := checkTimeline(sim, sp, "", got[streamName(sp)], want[PartitionOf(sp).String()])
		t.Logf("%s: %d updates, %d snapshots", streamName(sp), u, s)
		if err != nil {
			t.Fatalf("%s: %v", streamName(sp), err)
		}
	}
	t.Logf("%d records read back", total)
}
