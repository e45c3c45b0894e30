package imgarenasim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// SendTimes writes a line per action packet sent, "fixture position
// unix-nanoseconds", to a writer, buffered and flushed every flushEvery: a
// benchmark in another process reads them back with ReadSendTimes to time
// each action from its send. Its Record is a SimOnSend hook.
type SendTimes struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	out  io.Writer
	err  error // the first write error; later records are dropped
	stop chan struct{}
	done chan struct{}
}

// flushEvery is how often SendTimes flushes its buffer.
const flushEvery = 20 * time.Millisecond

// NewSendTimes starts writing send times to w; Close flushes and stops.
func NewSendTimes(w io.Writer) *SendTimes {
	s := &SendTimes{buf: bufio.NewWriterSize(w, 64<<10), out: w, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			s.mu.Lock()
			if s.err == nil {
				s.err = s.buf.Flush()
			}
			s.mu.Unlock()
		}
	}()
	return s
}

// Record notes that fixture's event position was sent at at.
func (s *SendTimes) Record(fixture string, position int64, at time.Time) {
	var line [64]byte
	b := append(line[:0], fixture...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, position, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, at.UnixNano(), 10)
	b = append(b, '\n')
	s.mu.Lock()
	if s.err == nil {
		_, s.err = s.buf.Write(b)
	}
	s.mu.Unlock()
}

// Close stops the flushing, flushes what is buffered, closes the writer if
// it is an io.Closer, and returns the first error.
func (s *SendTimes) Close() error {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = s.buf.Flush()
	}
	if c, ok := s.out.(io.Closer); ok {
		if err := c.Close(); s.err == nil {
			s.err = err
		}
	}
	return s.err
}

// ReadSendTimes reads SendTimes lines from r until EOF and calls fn with
// each; a malformed line is an error.
func ReadSendTimes(r io.Reader, fn func(fixture string, position int64, at time.Time)) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		f := bytes.Fields(sc.Bytes())
		if len(f) != 3 {
			return fmt.Errorf("send times line %d: %q: want fixture, position, unix ns", n, sc.Bytes())
		}
		pos, err1 := strconv.ParseInt(string(f[1]), 10, 64)
		ns, err2 := strconv.ParseInt(string(f[2]), 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("send times line %d: %q: position or time not a number", n, sc.Bytes())
		}
		fn(string(f[0]), pos, time.Unix(0, ns))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading send times: %w", err)
	}
	return nil
}
