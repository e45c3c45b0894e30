package imgarenademo

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

func TestScaleStepExactlyOnce(t *testing.T) {
	good := ScaleStep{Fixtures: 10, Sent: 100, Visible: 100}
	cases := []struct {
		name string
		edit func(*ScaleStep)
		want bool
	}{
		{"everything once", func(*ScaleStep) {}, true},
		{"a duplicate", func(s *ScaleStep) { s.Duplicates, s.Visible = 1, 101 }, false},
		{"a gap", func(s *ScaleStep) { s.Gaps = 1 }, false},
		{"a fixture short", func(s *ScaleStep) { s.Short, s.Visible = 1, 99 }, false},
		{"a dead letter", func(s *ScaleStep) { s.DeadLetters = 1 }, false},
		{"fewer visible than sent", func(s *ScaleStep) { s.Visible = 99 }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.edit(&s)
			if got := s.ExactlyOnce(); got != tc.want {
				t.Fatalf("ExactlyOnce() = %v, want %v for %+v", got, tc.want, s)
			}
			if row := strings.Join(s.row(), " "); strings.Contains(row, "NO:") == tc.want {
				t.Fatalf("row %q disagrees with ExactlyOnce() = %v", row, tc.want)
			}
		})
	}
}

func TestSendClockShort(t *testing.T) {
	at := time.Unix(1, 0)
	cases := []struct {
		name string
		sent map[string]int64 // last position sent per fixture
		last []int64          // last visible, by row
		want int
	}{
		{"all caught up", map[string]int64{"a": 3, "b": 5}, []int64{3, 5}, 0},
		{"one behind", map[string]int64{"a": 3, "b": 5}, []int64{3, 4}, 1},
		{"nothing sent, nothing seen", map[string]int64{}, []int64{0, 0}, 0},
		{"both behind", map[string]int64{"a": 1, "b": 1}, []int64{0, 0}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newSendClock([]string{"a", "b"}, 5)
			for f, n := range tc.sent {
				for p := int64(1); p <= n; p++ {
					c.record(f, p, at)
				}
			}
			if got := c.short(tc.last); got != tc.want {
				t.Fatalf("short = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestSendClockSentBetween(t *testing.T) {
	c := newSendClock([]string{"a", "b"}, 3)
	for i, p := range []int64{1, 2, 3} {
		c.record("a", p, time.Unix(10+int64(i), 0)) // 10, 11, 12
		c.record("b", p, time.Unix(11+int64(i), 0)) // 11, 12, 13
	}
	if got := c.sentTotal(); got != 6 {
		t.Errorf("sentTotal = %d, want 6", got)
	}
	c.record("a", 3, time.Unix(50, 0)) // sent again: still one position
	if got := c.sentTotal(); got != 6 {
		t.Errorf("sentTotal after a resend = %d, want 6", got)
	}
	c.record("a", 3, time.Unix(12, 0))
	cases := []struct {
		from, to int64
		want     int64
	}{{0, 100, 6}, {11, 12, 2}, {11, 13, 4}, {12, 12, 0}, {13, 14, 1}, {20, 30, 0}}
	for _, tc := range cases {
		if got := c.sentBetween(time.Unix(tc.from, 0), time.Unix(tc.to, 0)); got != tc.want {
			t.Errorf("sentBetween(%d, %d) = %d, want %d", tc.from, tc.to, got, tc.want)
		}
	}
}

func TestScaleWatcherWindow(t *testing.T) {
	w := &scaleWatcher{}
	if w.inWindow(time.Now().UnixNano()) {
		t.Fatal("a record counted before the window opened")
	}
	from := w.open()
	if !w.inWindow(from.UnixNano()) || w.inWindow(from.UnixNano()-1) {
		t.Fatal("the window does not start where it opened")
	}
	to := w.close()
	if w.inWindow(to.UnixNano()) || !w.inWindow(to.UnixNano()-1) {
		t.Fatal("the window does not end where it closed")
	}
}

func sampleScale() ScaleResult {
	step := func(n int, p99 time.Duration) ScaleStep {
		return ScaleStep{Fixtures: n, Window: 20 * time.Second, Nominal: float64(n), Offered: float64(n) * 0.99, Held: float64(n) * 0.98,
			P50: p99 / 4, P99: p99, Max: 2 * p99, ReceivedP99: p99 / 2, CPUCores: float64(n) / 8000, BaseRSS: 40e6, PeakRSS: int64(n) * 30e3,
			SimCPUCores: float64(n) / 20000, SimPeakRSS: int64(n) * 20e3,
			Commits: 400, Sent: int64(n) * 25, Visible: int64(n) * 25}
	}
	return ScaleResult{Tasks: 4, Duration: 30 * time.Second, EventInterval: time.Second, FileLimit: 20000, Boundary: "adaptive",
		Steps: []ScaleStep{step(1000, 40*time.Millisecond), step(5000, 90*time.Millisecond), step(10000, 700*time.Millisecond)}}
}

func TestScaleResultTables(t *testing.T) {
	r := sampleScale()
	md := r.Markdown()
	if lines := strings.Split(strings.TrimSpace(md), "\n"); len(lines) != 2+len(r.Steps) {
		t.Fatalf("Markdown has %d lines, want header, rule and %d rows:\n%s", len(lines), len(r.Steps), md)
	}
	for _, out := range []string{md, r.String()} {
		for _, want := range []string{"| 5000 |", "700.0 ms", "1.25", "300", "0.50", "200", "nominal 10000", "yes"} {
			want = strings.Trim(want, "| ")
			if !strings.Contains(out, want) {
				t.Errorf("no %q in\n%s", want, out)
			}
		}
	}
	if !strings.Contains(r.String(), "transaction.boundary=adaptive") {
		t.Errorf("String() does not name the transaction boundary:\n%s", r)
	}
	r.Steps[1].Gaps = 3
	if !strings.Contains(r.Markdown(), "NO: 0 dup, 3 gaps") {
		t.Errorf("a gap does not show:\n%s", r.Markdown())
	}
}

func TestScaleWriteReport(t *testing.T) {
	cases := []struct {
		name    string
		raw     float64
		wantRaw bool
	}{
		{"with the raw producer", 123456, true},
		{"raw producer unknown", 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bench-report")
			path, err := sampleScale().WriteReport(dir, tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			md, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"latency.svg", "rss.svg", "throughput.svg"} {
				if !bytes.Contains(md, []byte("("+name+")")) {
					t.Errorf("scale.md does not show %s", name)
				}
				svg, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if err := wellFormed(svg); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			tput, _ := os.ReadFile(filepath.Join(dir, "throughput.svg"))
			if got := bytes.Contains(tput, []byte("raw franz-go producer")); got != tc.wantRaw {
				t.Errorf("raw producer line drawn %v, want %v", got, tc.wantRaw)
			}
			if got := bytes.Contains(md, []byte("123456 events/s")); got != tc.wantRaw {
				t.Errorf("raw producer in scale.md %v, want %v", got, tc.wantRaw)
			}
		})
	}
}

func wellFormed(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		if _, err := d.Token(); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// TestScaleSmall runs a tiny scale curve on the real broker: two steps of
// a few fixtures at 20 events/s each, and checks each step held what was
// offered exactly once, with plausible latencies, CPU and memory.
func TestScaleSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a real broker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	argv, env := simChild()
	res, err := Scale(ctx, ScaleOptions{Brokers: testenv.Brokers(t), RegistryURL: testenv.Registry(t), Fixtures: []int{5, 20}, Simulator: argv, Env: env,
		Duration: 3 * time.Second, EventInterval: 50 * time.Millisecond, Tasks: 2, TopicPartitions: 3,
		Prefix: testenv.UniqueName(t, "imgscale-"), Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + res.String())
	if res.Boundary == "" {
		t.Error("the transaction boundary in force is not reported")
	}
	if len(res.Steps) != 2 {
		t.Fatalf("%d steps, want 2", len(res.Steps))
	}
	for _, s := range res.Steps {
		switch {
		case !s.ExactlyOnce():
			t.Errorf("%d fixtures: not exactly once: %+v", s.Fixtures, s)
		case s.Nominal != float64(s.Fixtures)*20:
			t.Errorf("%d fixtures: nominal %.0f events/s, want %d", s.Fixtures, s.Nominal, s.Fixtures*20)
		case s.Offered < s.Nominal/2 || s.Held < s.Offered/2 || s.Held > s.Offered*2:
			t.Errorf("%d fixtures: offered %.0f held %.0f events/s of nominal %.0f", s.Fixtures, s.Offered, s.Held, s.Nominal)
		case s.P50 <= 0 || s.P99 < s.P50 || s.Max < s.P99 || s.ReceivedP99 > s.P99:
			t.Errorf("%d fixtures: p50 %s p99 %s max %s from receive p99 %s", s.Fixtures, s.P50, s.P99, s.Max, s.ReceivedP99)
		case s.CPUCores <= 0 || s.PeakRSS < s.BaseRSS || s.BaseRSS <= 0 || s.SimPeakRSS <= 0:
			t.Errorf("%d fixtures: CPU %.2f cores, RSS %d → %d, simulator RSS %d", s.Fixtures, s.CPUCores, s.BaseRSS, s.PeakRSS, s.SimPeakRSS)
		case s.Commits <= 0 || s.Sent <= 0:
			t.Errorf("%d fixtures: %d commits, %d sent", s.Fixtures, s.Commits, s.Sent)
		}
	}
}
