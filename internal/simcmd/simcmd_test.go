package simcmd

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		help    bool
		wantErr bool
	}{
		{[]string{"--addr", "x"}, false, false},
		{[]string{"-h"}, true, false},
		{[]string{"--help"}, true, false},
		{[]string{"--nope"}, false, true},
		{[]string{"stray", "--addr", "x"}, false, true},
		{[]string{"--addr", "x", "stray"}, false, true},
	} {
		var out bytes.Buffer
		fs := Flags("p", "Usage: p\n", &out)
		fs.String("addr", "", "listen address")
		help, err := Parse(fs, tc.args)
		if help != tc.help || (err != nil) != tc.wantErr {
			t.Fatalf("%v: help %v err %v", tc.args, help, err)
		}
		if tc.help && (!strings.HasPrefix(out.String(), "Usage: p\n") || !strings.Contains(out.String(), "-addr")) {
			t.Fatalf("%v: usage printed %q", tc.args, out.String())
		}
	}
}

func TestEveryStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	Every(ctx, 5*time.Millisecond, func() { n.Add(1) })
	Every(ctx, 0, func() { t.Error("a zero interval must never fire") })
	time.Sleep(60 * time.Millisecond)
	cancel()
	time.Sleep(20 * time.Millisecond)
	at := n.Load()
	time.Sleep(30 * time.Millisecond)
	if at < 3 || n.Load() != at {
		t.Fatalf("ticks %d then %d: want several, then none after cancel", at, n.Load())
	}
}
