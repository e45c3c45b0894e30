package backoff

import (
	"context"
	"testing"
	"time"
)

func TestNextGrowsWithJitterAndResets(t *testing.T) {
	b := New(100*time.Millisecond, 800*time.Millisecond)
	for i, want := range []time.Duration{100, 200, 400, 800, 800} {
		want *= time.Millisecond
		got := b.Next()
		if got < want/2 || got > want {
			t.Fatalf("wait %d = %s, want within [%s, %s]", i, got, want/2, want)
		}
	}
	b.Reset()
	if got := b.Next(); got > 100*time.Millisecond {
		t.Fatalf("after Reset: %s, want at most 100ms", got)
	}
}

func TestBadBoundsAreRepaired(t *testing.T) {
	for _, tc := range []struct{ initial, max time.Duration }{{0, 0}, {-time.Second, time.Millisecond}, {time.Second, time.Millisecond}} {
		b := New(tc.initial, tc.max)
		if d := b.Next(); d < 0 || d > max(tc.initial, time.Millisecond) {
			t.Fatalf("New(%s, %s).Next() = %s", tc.initial, tc.max, d)
		}
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := New(time.Hour, time.Hour).Wait(ctx); err == nil || time.Since(start) > time.Second {
		t.Fatalf("Wait on a cancelled context: %v after %s", err, time.Since(start))
	}
	if err := New(time.Millisecond, time.Millisecond).Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
