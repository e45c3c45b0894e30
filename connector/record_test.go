package connector

import (
	"strings"
	"testing"
	"time"
)

func TestNewPartitionIsCanonical(t *testing.T) {
	a := NewPartition(map[string]any{"sport": "soccer", "fixture": "1"})
	b := NewPartition(map[string]any{"fixture": "1", "sport": "soccer"})
	if a.String() != b.String() || a.String() != `{"fixture":"1","sport":"soccer"}` {
		t.Fatalf("%s vs %s", a, b)
	}
	if a.IsZero() || !(Partition{}).IsZero() {
		t.Fatal("IsZero wrong")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("unencodable partition did not panic")
		}
	}()
	NewPartition(map[string]any{"f": func() {}})
}

func TestSourceHeaders(t *testing.T) {
	at := time.Date(2026, 11, 22, 1, 2, 3, 4000, time.FixedZone("x", 3600))
	hs := SourceHeaders("imgarena", "42", at)
	got := map[string]string{}
	for _, h := range hs {
		got[h.Key] = string(h.Value)
	}
	want := map[string]string{HeaderProvider: "imgarena", HeaderPosition: "42", HeaderReceivedAt: "2026-11-22T00:02:03.000004Z"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// The values share a buffer: appending to one must not change another.
	_ = append(hs[0].Value, "XX"...)
	_ = append(hs[1].Value, "YY"...)
	if string(hs[1].Value) != "42" || string(hs[2].Value) != want[HeaderReceivedAt] {
		t.Errorf("appending to a header value changed the next one: %q %q", hs[1].Value, hs[2].Value)
	}
}

func TestFlattenBuildsThenInPlaceOnce(t *testing.T) {
	calls := 0
	derived := func(topic string) func() []*SourceRecord {
		return func() []*SourceRecord { calls++; return []*SourceRecord{{Topic: topic}} }
	}
	batch := []*SourceRecord{{Topic: "a", Then: derived("a'")}, {Topic: "b"}, {Topic: "c", Then: derived("c'")}}
	out := Flatten(batch)
	var got []string
	for _, r := range out {
		got = append(got, r.Topic)
		if r.Then != nil {
			t.Fatalf("record %s keeps its Then after Flatten", r.Topic)
		}
	}
	if want := "a a' b c c'"; strings.Join(got, " ") != want || calls != 2 {
		t.Fatalf("flattened %v (%d calls), want %s (2 calls)", got, calls, want)
	}
	if again := Flatten(out); len(again) != 5 || calls != 2 {
		t.Fatalf("a second Flatten gave %d records, %d calls", len(again), calls)
	}
}
