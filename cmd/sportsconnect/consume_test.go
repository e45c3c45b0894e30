package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestConsumeDecodesSyntheticRecords runs the synthetic connector on kfake
// and reads its topic back with `consume`.
func TestConsumeDecodesSyntheticRecords(t *testing.T) {
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	e := newOffsetsEnv(t, env.Brokers(), env.RegistryURL(), "listeners=")
	w := e.worker(10)
	e.waitOffsets(10)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	topic := e.prefix + ".synthetic.events"
	// A record that is not Avro (as a dead-letter topic holds) and a tombstone.
	cl, err := kgo.NewClient(kgo.SeedBrokers(env.Brokers()...))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: topic, Key: []byte("raw"), Value: []byte(`{"provider":"message"}`)},
		&kgo.Record{Topic: topic, Key: []byte("gone")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	run := func(args ...string) []map[string]any {
		t.Helper()
		var stdout, stderr bytes.Buffer
		full := append([]string{"consume", "--brokers", strings.Join(env.Brokers(), ","), "--registry", env.RegistryURL()}, args...)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if code := mainCode(ctx, append(full, topic), &stdout, &stderr); code != 0 {
			t.Fatalf("consume %v: exit %d: %s", args, code, stderr.String())
		}
		var out []map[string]any
		sc := bufio.NewScanner(&stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
			}
			out = append(out, m)
		}
		return out
	}
	positions := func(lines []map[string]any) map[string][]int64 {
		out := map[string][]int64{}
		for _, l := range lines {
			v, ok := l["value"].(map[string]any)
			if !ok {
				continue
			}
			k, _ := l["key"].(string)
			out[k] = append(out[k], int64(v["position"].(float64)))
		}
		return out
	}
	seq10 := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}

	all := run("--end")
	if len(all) != 22 {
		t.Fatalf("consume --end printed %d records, want 22", len(all))
	}
	if got := positions(all); !reflect.DeepEqual(got, map[string][]int64{"p0": seq10, "p1": seq10}) {
		t.Fatalf("positions %v", got)
	}
	first := all[0]
	v := first["value"].(map[string]any)
	for _, f := range []string{"partition", "position", "event_time", "kind", "payload"} {
		if _, ok := v[f]; !ok {
			t.Fatalf("decoded value lacks %s: %v", f, v)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, v["event_time"].(string)); err != nil {
		t.Fatalf("event_time %v is not a time: %v", v["event_time"], err)
	}
	if first["topic"] != topic || first["headers"].(map[string]any)["sc.provider"] != "synthetic" {
		t.Fatalf("record fields %v", first)
	}
	for _, l := range all {
		switch l["key"] {
		case "raw":
			if l["value_raw"] != `{"provider":"message"}` || l["value"] != nil || l["value_error"] == nil {
				t.Fatalf("raw record printed as %v", l)
			}
		case "gone":
			if l["value"] != nil || l["value_raw"] != nil {
				t.Fatalf("tombstone printed as %v", l)
			}
		}
	}

	if got := positions(run("--key", "p1", "--max", "3")); !reflect.DeepEqual(got, map[string][]int64{"p1": {1, 2, 3}}) {
		t.Fatalf("--key p1 --max 3: %v", got)
	}
	if got := run("--from", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "--end"); len(got) != 0 {
		t.Fatalf("--from a future time printed %d records", len(got))
	}
	if got := run("--from", "2000-01-01T00:00:00Z", "--end"); len(got) != 22 {
		t.Fatalf("--from a past time printed %d records", len(got))
	}
	// A group continues where it committed.
	a := run("--from", "committed", "--group", "g1", "--key", "p0", "--max", "4")
	b := run("--from", "committed", "--group", "g1", "--key", "p0", "--max", "4")
	if got := append(positions(a)["p0"], positions(b)["p0"]...); !reflect.DeepEqual(got, []int64{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("two group runs printed %v, want 1..8", got)
	}
}

func TestConsumeUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"consume"}, "need one TOPIC"},
		{[]string{"consume", "--brokers", "x:1", "--registry", "http://r", "--from", "committed", "t"}, "--from committed needs --group"},
		{[]string{"consume", "--brokers", "x:1", "--registry", "http://r", "--group", "g", "t"}, "--group goes with --from committed"},
		{[]string{"consume", "--brokers", "x:1", "--registry", "http://r", "--from", "yesterday", "t"}, "expected earliest, latest, committed or an RFC 3339 time"},
		{[]string{"consume", "--brokers", "", "--registry", "http://r", "t"}, "need --worker, or --brokers"},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		code := mainCode(context.Background(), tc.args, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
