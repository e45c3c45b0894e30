package budget

import (
	"context"
	"testing"
	"time"
)

func TestByteBudget(t *testing.T) {
	b := New(100)
	ctx := context.Background()
	if err := b.Acquire(ctx, 500); err != nil { // one message always passes
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.Acquire(short, 10); err == nil {
		t.Fatal("acquired beyond the budget while a message is queued")
	}
	done := make(chan error, 1)
	go func() { done <- b.Acquire(ctx, 60) }()
	time.Sleep(20 * time.Millisecond)
	b.Release(500)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := b.Acquire(ctx, 40); err != nil { // 60 + 40 fits 100
		t.Fatal(err)
	}
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if err := b.Acquire(short2, 1); err == nil {
		t.Fatal("acquired 101 of 100")
	}
}
