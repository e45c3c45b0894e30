package connector

import (
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
}
