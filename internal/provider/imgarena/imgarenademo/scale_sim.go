package imgarenademo

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
)

// scaleSim is a scale step's simulator in a child process, whose send
// times come back over a pipe into the step's send clock.
type scaleSim struct {
	*simProcess
	clock     *sendClock
	streaming atomic.Int64 // fixtures whose first event has been sent
	fed       chan struct{}
	feedErr   error
}

// startScaleSim runs the simulator with n fixtures of events events, one
// every o.EventInterval, and feeds clock from its send times.
func startScaleSim(ctx context.Context, o ScaleOptions, n, events int, clock *sendClock) (*scaleSim, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("a pipe for the simulator's send times: %w", err)
	}
	every := o.EventInterval.String()
	p, err := startSimChild(ctx, o.Simulator, o.Env, []*os.File{pw}, "--fixtures", strconv.Itoa(n), "--events", strconv.Itoa(events),
		"--interval-normal", every, "--interval-fast", every, "--send-times-fd", "3")
	_ = pw.Close() // the child holds its own copy
	if err != nil {
		_ = pr.Close()
		return nil, err
	}
	s := &scaleSim{simProcess: p, clock: clock, fed: make(chan struct{})}
	go func() {
		defer close(s.fed)
		defer pr.Close()
		s.feedErr = imgarenasim.ReadSendTimes(pr, s.record)
	}()
	return s, nil
}

// record is called by the feeding goroutine only, so its check of the
// first position and the record that follows are not racing another.
func (s *scaleSim) record(fixture string, position int64, at time.Time) {
	if row, ok := s.clock.index[fixture]; ok && position == 1 {
		if _, seen := s.clock.sent(row, 1); !seen {
			s.streaming.Add(1)
		}
	}
	s.clock.record(fixture, position, at)
}

func (s *scaleSim) pid() int { return s.cmd.Process.Pid }

// finish stops the simulator and waits for its last send times.
func (s *scaleSim) finish() error {
	s.stop()
	select {
	case <-s.fed:
	case <-time.After(30 * time.Second):
		return fmt.Errorf("the simulator's send times did not end within 30s of it exiting")
	}
	if s.feedErr != nil {
		return fmt.Errorf("the simulator's send times: %w", s.feedErr)
	}
	return nil
}
