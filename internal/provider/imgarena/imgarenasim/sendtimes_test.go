package imgarenasim

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

type sendTime struct {
	fixture  string
	position int64
	at       time.Time
}

func TestSendTimesRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		in   []sendTime
	}{
		{"none", nil},
		{"one", []sendTime{{"100001", 1, time.Unix(1_733_000_000, 123456789)}}},
		{"several fixtures", []sendTime{{"100001", 1, time.Unix(5, 0)}, {"100002", 1, time.Unix(5, 1)}, {"100001", 2, time.Unix(6, 999)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewSendTimes(&buf)
			for _, s := range tc.in {
				w.Record(s.fixture, s.position, s.at)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			var got []sendTime
			if err := ReadSendTimes(&buf, func(f string, p int64, at time.Time) { got = append(got, sendTime{f, p, at}) }); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.in) {
				t.Fatalf("read %d send times, wrote %d", len(got), len(tc.in))
			}
			for i := range got {
				if got[i].fixture != tc.in[i].fixture || got[i].position != tc.in[i].position || !got[i].at.Equal(tc.in[i].at) {
					t.Errorf("send time %d: %+v, want %+v", i, got[i], tc.in[i])
				}
			}
		})
	}
}

func TestReadSendTimesMalformed(t *testing.T) {
	for _, in := range []string{"100001 1\n", "100001 x 5\n", "100001 1 5 extra\n", "100001 1 y\n"} {
		err := ReadSendTimes(strings.NewReader(in), func(string, int64, time.Time) {})
		if err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ReadSendTimes(%q) = %v, want an error naming line 1", in, err)
		}
	}
}
