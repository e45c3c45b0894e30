package imgarenademo

import (
	"os"
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	cases := []struct {
		name string
		stat string
		want time.Duration
	}{
		{"plain", "1234 (sportsconnect) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 70 0 0 20 0 9 0 100 0 0", 3200 * time.Millisecond},
		{"a name with spaces and parentheses", "99 (my (odd) cmd) R 1 99 99 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 5 0 0", 70 * time.Millisecond},
		{"cut short", "99 (x) R 1 99 99", 0},
		{"no name", "garbage", 0},
		{"not numbers", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 a b 0 0", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := statCPU([]byte(tc.stat)); got != tc.want {
				t.Fatalf("statCPU = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestProcessCPUOf checks this process's CPU read from /proc agrees with
// getrusage to within a few clock ticks.
func TestProcessCPUOf(t *testing.T) {
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); { // burn some CPU
	}
	proc, self := processCPUOf(os.Getpid()), processCPU()
	if proc <= 0 || self <= 0 {
		t.Fatalf("CPU from /proc %s, from getrusage %s: want both positive", proc, self)
	}
	if d := self - proc; d < -5*clockTick || d > 5*clockTick {
		t.Fatalf("CPU from /proc %s, from getrusage %s: more than 5 ticks apart", proc, self)
	}
}
