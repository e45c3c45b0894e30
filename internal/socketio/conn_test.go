package socketio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestHeartbeatV4(t *testing.T) {
	const interval, timeout = 60 * time.Millisecond, 60 * time.Millisecond
	fs := newFakeServer(t, func(f *fakeConn) {
		f.open(interval, timeout, 1000)
		if !f.acceptNamespace("/") {
			return
		}
		// Ping for longer than one heartbeat window: the client must answer
		// every ping and stay up.
		for i := 0; i < 5; i++ {
			time.Sleep(interval)
			f.send("2")
			if _, data, err := f.read(false); err != nil || string(data) != "3" {
				t.Errorf("fake server: got %q, %v; want pong", data, err)
				return
			}
		}
		f.send(`42["alive"]`)
		f.drain() // then stop pinging
	})
	alive := make(chan struct{})
	c, err := dialFake(t, fs, WithVersion(V4), WithHandler("alive", func([]Arg) { close(alive) }))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-alive:
	case <-c.Done():
		t.Fatalf("connection ended while pinged: %v", c.Err())
	case <-time.After(5 * time.Second):
		t.Fatal("no alive event")
	}
	start := time.Now()
	waitDone(t, c, 2*time.Second)
	if !errors.Is(c.Err(), ErrPingTimeout) {
		t.Fatalf("Err = %v, want ping timeout", c.Err())
	}
	if d := time.Since(start); d > interval+timeout+500*time.Millisecond {
		t.Errorf("ping timeout detected after %v", d)
	}
	if err := c.Emit(context.Background(), "x"); !errors.Is(err, ErrClosed) || !errors.Is(err, ErrPingTimeout) {
		t.Errorf("emit after timeout: %v", err)
	}
}

func TestHeartbeatV3(t *testing.T) {
	const interval, timeout = 50 * time.Millisecond, 50 * time.Millisecond
	pings := make(chan int, 1)
	fs := newFakeServer(t, func(f *fakeConn) {
		f.open(interval, timeout, 0)
		if !f.acceptNamespace("/") {
			return
		}
		// Answer the client's pings for a while, then go silent.
		n := 0
		for deadline := time.Now().Add(6 * interval); time.Now().Before(deadline); {
			_, data, err := f.read(false)
			if err != nil {
				t.Errorf("read: %v", err)
				return
			}
			if string(data) != "2" {
				t.Errorf("got %q, want ping", data)
				return
			}
			n++
			f.send("3")
		}
		pings <- n
		for {
			if _, _, err := f.read(false); err != nil {
				return
			}
		}
	})
	c, err := dialFake(t, fs, WithVersion(V3))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	select {
	case n = <-pings:
	case <-c.Done():
		t.Fatalf("connection ended while answered: %v", c.Err())
	}
	if n < 3 {
		t.Errorf("client sent %d pings in 6 intervals", n)
	}
	waitDone(t, c, 2*time.Second)
	if !errors.Is(c.Err(), ErrPingTimeout) {
		t.Fatalf("Err = %v, want ping timeout", c.Err())
	}
}

func TestConnectionEnds(t *testing.T) {
	tests := []struct {
		name   string
		script func(f *fakeConn)
		opts   []Option
		want   error
	}{
		{"socket.io disconnect", func(f *fakeConn) { f.send("41/cricket,") }, nil, ErrServerDisconnect},
		{"engine.io close", func(f *fakeConn) { f.send("1") }, nil, ErrServerDisconnect},
		{"websocket close", func(f *fakeConn) {
			msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye")
			_ = f.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		}, nil, &websocket.CloseError{}},
		{"abrupt close", func(f *fakeConn) { _ = f.ws.Close() }, nil, nil},
		{"garbage packet", func(f *fakeConn) { f.send("9zz") }, nil, ErrInvalidPacket},
		{"invalid socket.io json", func(f *fakeConn) { f.send(`42/cricket,["a",`) }, nil, ErrInvalidPacket},
		{"unexpected binary", func(f *fakeConn) { f.sendBinary([]byte("x")) }, nil, ErrInvalidPacket},
		{"text instead of attachment", func(f *fakeConn) {
			f.send(`451-/cricket,["b",{"_placeholder":true,"num":0}]`)
			f.send(`42/cricket,["a"]`)
		}, nil, ErrInvalidPacket},
		{"bad placeholder", func(f *fakeConn) {
			f.send(`451-/cricket,["b",{"_placeholder":true,"num":3}]`)
			f.sendBinary([]byte("x"))
		}, nil, ErrInvalidPacket},
		{"too many attachments", func(f *fakeConn) {
			f.send(`453-/cricket,["b"]`)
		}, []Option{WithMaxAttachments(2)}, ErrTooManyAttachments},
		{"frame over read limit", func(f *fakeConn) {
			f.send(`42/cricket,["big","` + strings.Repeat("x", 2000) + `"]`)
		}, []Option{WithMaxPayload(1000)}, ErrPayloadTooLarge},
		{"attachments over limit", func(f *fakeConn) {
			f.send(`452-/cricket,["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
			f.sendBinary(make([]byte, 600))
			f.sendBinary(make([]byte, 600))
		}, []Option{WithMaxPayload(1000)}, ErrPayloadTooLarge},
	}
	for _, v := range bothVersions() {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%v/%s", v, tt.name), func(t *testing.T) {
				fs := newFakeServer(t, func(f *fakeConn) {
					if f.handshake("/cricket") {
						tt.script(f)
						f.drain()
					}
				})
				opts := append([]Option{WithVersion(v), WithNamespace("/cricket")}, tt.opts...)
				c, err := dialFake(t, fs, opts...)
				if err != nil {
					t.Fatal(err)
				}
				waitDone(t, c, 3*time.Second)
				err = c.Err()
				switch want := tt.want.(type) {
				case nil:
					if err == nil || errors.Is(err, ErrClosed) {
						t.Fatalf("Err = %v", err)
					}
				case *websocket.CloseError:
					if !errors.As(err, &want) || want.Code != websocket.CloseGoingAway {
						t.Fatalf("Err = %v", err)
					}
				default:
					if !errors.Is(err, want) {
						t.Fatalf("Err = %v, want %v", err, want)
					}
				}
				if _, err := c.EmitWithAck(context.Background(), "x"); !errors.Is(err, ErrClosed) {
					t.Errorf("emit after end: %v", err)
				}
			})
		}
	}
}

// TestEventsBeforeDisconnectAreDelivered checks that events queued before
// the server ends the session still reach their handlers before Done.
func TestEventsBeforeDisconnectAreDelivered(t *testing.T) {
	fs := newFakeServer(t, func(f *fakeConn) {
		if !f.handshake("/") {
			return
		}
		for i := 0; i < 10; i++ {
			f.send(fmt.Sprintf(`42["n",%d]`, i))
		}
		f.send("41")
		f.drain()
	})
	var got []string
	c, err := dialFake(t, fs, WithVersion(V4), WithEventBuffer(2), WithHandler("n", func(a []Arg) {
		time.Sleep(5 * time.Millisecond) // slower than the server
		got = append(got, a[0].String())
	}))
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, c, 3*time.Second)
	if strings.Join(got, ",") != "0,1,2,3,4,5,6,7,8,9" || !errors.Is(c.Err(), ErrServerDisconnect) {
		t.Fatalf("got %v, Err %v", got, c.Err())
	}
}

// TestBackpressureAndCloseFromBlockedHandler checks that a full queue blocks
// the reader without losing events, that Close works while a handler is
// blocked, and that Done waits for the handler.
func TestBackpressureAndCloseFromBlockedHandler(t *testing.T) {
	sent := make(chan struct{})
	fs := newFakeServer(t, func(f *fakeConn) {
		if !f.handshake("/") {
			return
		}
		for i := 0; i < 20; i++ {
			f.send(fmt.Sprintf(`42["n",%d]`, i))
		}
		close(sent)
		f.drain()
	})
	release := make(chan struct{})
	entered := make(chan struct{}, 20)
	c, err := dialFake(t, fs, WithVersion(V4), WithEventBuffer(1), WithHandler("n", func([]Arg) {
		entered <- struct{}{}
		<-release
	}))
	if err != nil {
		t.Fatal(err)
	}
	<-entered
	<-sent // the socket buffers take the frames the reader does not read
	for deadline := time.Now().Add(2 * time.Second); len(c.events) < 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the reader is now blocked: the queue must not grow
	if n := len(c.events); n != 1 {
		t.Errorf("queue holds %d events, want 1 (its capacity)", n)
	}
	closed := make(chan struct{})
	go func() { _ = c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close blocked by a blocked handler")
	}
	select {
	case <-c.Done():
		t.Fatal("Done closed while a handler runs")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	waitDone(t, c, 2*time.Second)
	if len(entered) != 0 {
		t.Errorf("%d events handled after Close", len(entered))
	}
}

func TestHandlerRegistration(t *testing.T) {
	fs := newFakeServer(t, func(f *fakeConn) {
		if !f.handshake("/") {
			return
		}
		f.send(`42["a",1]`)
		f.send(`42["b",2]`)
		f.send(`42["c",3]`)
		f.send(`42["sync"]`)
		f.drain()
	})
	got := make(chan string, 10)
	c, err := dialFake(t, fs, WithVersion(V4),
		WithHandler("a", func(a []Arg) { got <- "a" + a[0].String() }),
		WithHandler("b", func(a []Arg) { got <- "b" + a[0].String() }),
		WithHandler("sync", func([]Arg) { got <- "sync" }))
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	var seen []string
	for s := range got {
		seen = append(seen, s)
		if s == "sync" {
			break
		}
	}
	if strings.Join(seen, " ") != "a1 b2 sync" {
		t.Fatalf("handled %v", seen)
	}

	// Registration after Dial, removal, catch-all.
	fs2 := newFakeServer(t, func(f *fakeConn) {
		if !f.handshake("/") {
			return
		}
		if f.expect(`42["go"]`) {
			f.send(`42["a",1]`)
			f.send(`42["b",2]`)
			f.send(`42["sync"]`)
		}
		f.drain()
	})
	c2, err := dialFake(t, fs2, WithVersion(V4), WithHandler("a", func([]Arg) { got <- "old a" }))
	if err != nil {
		t.Fatal(err)
	}
	c2.On("a", nil)
	c2.OnAck("b", func(a []Arg) []any { got <- "b" + a[0].String(); return nil })
	c2.OnAny(func(ev string, a []Arg) { got <- "any " + ev })
	if err := c2.Emit(context.Background(), "go"); err != nil {
		t.Fatal(err)
	}
	seen = nil
	for s := range got {
		seen = append(seen, s)
		if s == "any sync" {
			break
		}
	}
	if strings.Join(seen, ", ") != "any a, b2, any sync" {
		t.Fatalf("handled %v", seen)
	}
}

func TestCloseFromHandler(t *testing.T) {
	for _, v := range bothVersions() {
		t.Run(v.String(), func(t *testing.T) {
			fs := newFakeServer(t, func(f *fakeConn) {
				if !f.handshake("/") {
					return
				}
				for i := 0; i < 5; i++ {
					f.send(`42["bye"]`)
				}
				f.drain()
			})
			closed := make(chan error, 1)
			var c *Client
			ready := make(chan struct{})
			c, err := dialFake(t, fs, WithVersion(v), WithEventBuffer(1), WithHandler("bye", func([]Arg) {
				<-ready
				closed <- c.Close()
			}))
			if err != nil {
				t.Fatal(err)
			}
			close(ready)
			select {
			case err := <-closed:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(3 * time.Second):
				t.Fatal("Close from a handler blocked")
			}
			waitDone(t, c, 2*time.Second)
			if !errors.Is(c.Err(), ErrClosed) || len(closed) != 0 {
				t.Fatalf("Err = %v, handler ran again: %v", c.Err(), len(closed) != 0)
			}
		})
	}
}
