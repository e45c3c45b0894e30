package imgarenademo

import (
	"errors"
	"syscall"
	"testing"
)

func TestResidentBytes(t *testing.T) {
	if rss := residentBytes(); rss < 1<<20 {
		t.Fatalf("VmRSS %d bytes: a Go test process holds more than 1 MiB", rss)
	}
}

// TestRaiseFileLimit checks a need within the soft limit leaves it alone
// and a need above the hard limit is ErrFileLimit.
func TestRaiseFileLimit(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		need    uint64
		wantErr error
	}{
		{"within the soft limit", rl.Cur, nil},
		{"above the hard limit", rl.Max + 1, ErrFileLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			limit, raised, err := raiseFileLimit(tc.need)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && (raised || limit != rl.Cur) {
				t.Fatalf("limit %d raised %v: want %d untouched", limit, raised, rl.Cur)
			}
			if tc.wantErr != nil && limit != rl.Max {
				t.Fatalf("limit %d: want the hard limit %d", limit, rl.Max)
			}
		})
	}
}
