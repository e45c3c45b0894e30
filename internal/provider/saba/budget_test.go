package saba

import (
	"context"
	"testing"
	"time"
)

func TestByteBudget(t *testing.T) {
	b := newByteBudget(100)
	ctx := context.Background()
	if err := b.acquire(ctx, 500); err != nil { // one message always passes
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.acquire(short, 10); err == nil {
		t.Fatal("acquired beyond the budget while a message is queued")
	}
	done := make(chan error, 1)
	go func() { done <- b.acquire(ctx, 60) }()
	time.Sleep(20 * time.Millisecond)
	b.release(500)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := b.acquire(ctx, 40); err != nil { // 60 + 40 fits 100
		t.Fatal(err)
	}
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	if err := b.acquire(short2, 1); err == nil {
		t.Fatal("acquired 101 of 100")
	}
}
