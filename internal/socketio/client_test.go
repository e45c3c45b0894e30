package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder collects handled events.
type recorder struct {
	mu   sync.Mutex
	got  []string
	args [][]Arg
	ch   chan struct{}
}

func newRecorder() *recorder { return &recorder{ch: make(chan struct{}, 100)} }

func (r *recorder) any(event string, args []Arg) {
	r.mu.Lock()
	r.got = append(r.got, event)
	r.args = append(r.args, args)
	r.mu.Unlock()
	r.ch <- struct{}{}
}

func (r *recorder) wait(t *testing.T, n int) ([]string, [][]Arg) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-r.ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d of %d events", i, n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...), append([][]Arg(nil), r.args...)
}

func TestDialReceivesEvents(t *testing.T) {
	for _, v := range bothVersions() {
		t.Run(v.String(), func(t *testing.T) {
			fs := newFakeServer(t, func(f *fakeConn) {
				if f.path != "/v5/websocket/" {
					t.Errorf("path = %q", f.path)
				}
				if !f.handshake("/cricket") {
					return
				}
				f.send(`42/other,["ignored"]`)
				f.send(`42/cricket,["text","{\"a\":1}"]`)
				f.send(`451-/cricket,["bin",{"_placeholder":true,"num":0},7]`)
				f.sendBinary([]byte{0x1f, 0x8b, 0, 0xff})
				f.send(`452-/cricket,["nested",{"x":{"_placeholder":true,"num":1},"y":[{"_placeholder":true,"num":0}]}]`)
				f.sendBinary([]byte("one"))
				f.sendBinary([]byte("two"))
				f.drain()
			})
			rec := newRecorder()
			c, err := dialFake(t, fs, WithVersion(v), WithPath("/v5/websocket"), WithNamespace("/cricket"),
				WithAnyHandler(rec.any))
			if err != nil {
				t.Fatal(err)
			}
			if c.Version() != v || c.SID() != "esid" || c.Namespace() != "/cricket" {
				t.Errorf("version %v sid %q namespace %q", c.Version(), c.SID(), c.Namespace())
			}
			if wantID := map[Version]string{V3: "", V4: "nsid"}[v]; c.SocketID() != wantID {
				t.Errorf("socket id %q, want %q", c.SocketID(), wantID)
			}
			events, args := rec.wait(t, 3)
			if strings.Join(events, ",") != "text,bin,nested" {
				t.Fatalf("events %v", events)
			}
			var s string
			if err := args[0][0].Decode(&s); err != nil || s != `{"a":1}` {
				t.Errorf("text arg %q, %v", s, err)
			}
			if !args[1][0].IsBinary() || string(args[1][0].Binary) != "\x1f\x8b\x00\xff" {
				t.Errorf("binary arg %v", args[1][0])
			}
			if args[1][1].IsBinary() || string(args[1][1].JSON) != "7" {
				t.Errorf("second arg %v", args[1][1])
			}
			var nested struct {
				X []byte   `json:"x"`
				Y [][]byte `json:"y"`
			}
			if err := args[2][0].Decode(&nested); err != nil || string(nested.X) != "two" ||
				len(nested.Y) != 1 || string(nested.Y[0]) != "one" {
				t.Errorf("nested %+v, %v (json %s)", nested, err, args[2][0].JSON)
			}
		})
	}
}

func TestEmit(t *testing.T) {
	for _, v := range bothVersions() {
		t.Run(v.String(), func(t *testing.T) {
			serverDone := make(chan struct{})
			fs := newFakeServer(t, func(f *fakeConn) {
				defer close(serverDone)
				if !f.handshake("/cricket") {
					return
				}
				f.expect(`42/cricket,["connect_to_match",{"token":"t","match_key":"m"}]`)
				f.expect(`451-/cricket,["blob",{"_placeholder":true,"num":0},{"raw":true},"s"]`)
				f.expectBinary([]byte{0, 1, 2})
				f.expect(`452-/cricket,["two",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
				f.expectBinary([]byte("a"))
				f.expectBinary([]byte{})
			})
			c, err := dialFake(t, fs, WithVersion(v), WithNamespace("cricket"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			req := struct {
				Token    string `json:"token"`
				MatchKey string `json:"match_key"`
			}{"t", "m"}
			if err := c.Emit(ctx, "connect_to_match", req); err != nil {
				t.Fatal(err)
			}
			if err := c.Emit(ctx, "blob", []byte{0, 1, 2}, json.RawMessage(`{"raw":true}`), Arg{JSON: json.RawMessage(`"s"`)}); err != nil {
				t.Fatal(err)
			}
			if err := c.Emit(ctx, "two", Arg{Binary: []byte("a")}, []byte(nil)); err != nil {
				t.Fatal(err)
			}
			<-serverDone
		})
	}
}

func TestEmitErrors(t *testing.T) {
	fs := newFakeServer(t, func(f *fakeConn) {
		f.open(time.Minute, time.Minute, 100)
		if f.acceptNamespace("/") {
			f.drain()
		}
	})
	c, err := dialFake(t, fs, WithVersion(V4))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name  string
		event string
		args  []any
		want  error
	}{
		{"reserved name", "disconnect", nil, nil},
		{"unmarshalable", "x", []any{make(chan int)}, nil},
		{"invalid raw", "x", []any{json.RawMessage(`{`)}, nil},
		{"over server maxPayload", "x", []any{strings.Repeat("a", 200)}, ErrPayloadTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Emit(ctx, tt.event, tt.args...)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// None of these broke the connection.
	if err := c.Emit(ctx, "ok"); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	c.writeSem <- struct{}{} // hold the writer
	if err := c.Emit(cctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled emit: %v", err)
	}
	<-c.writeSem
}

func TestEmitWithAck(t *testing.T) {
	for _, v := range bothVersions() {
		t.Run(v.String(), func(t *testing.T) {
			fs := newFakeServer(t, func(f *fakeConn) {
				if !f.handshake("/") {
					return
				}
				f.expect(`420["q",1]`)
				f.send(`43/other,0["wrong namespace"]`)
				f.send(`43999["unknown id"]`)
				f.send(`430["answer",{"n":2}]`)
				f.expect(`421["bin"]`)
				f.send(`461-1["b",{"_placeholder":true,"num":0}]`)
				f.sendBinary([]byte{0xde, 0xad})
				f.expect(`422["never"]`)
				f.drain()
			})
			c, err := dialFake(t, fs, WithVersion(v))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			res, err := c.EmitWithAck(ctx, "q", 1)
			if err != nil || len(res) != 2 || string(res[0]) != `"answer"` || string(res[1]) != `{"n":2}` {
				t.Fatalf("ack %s, %v", res, err)
			}
			res, err = c.EmitWithAck(ctx, "bin")
			var b []byte
			if err != nil || len(res) != 2 || json.Unmarshal(res[1], &b) != nil || string(b) != "\xde\xad" {
				t.Fatalf("binary ack %s, %v", res, err)
			}
			short, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel2()
			if _, err := c.EmitWithAck(short, "never"); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("unanswered ack: %v", err)
			}
		})
	}
}

func TestAckRequestedByServer(t *testing.T) {
	for _, v := range bothVersions() {
		t.Run(v.String(), func(t *testing.T) {
			fs := newFakeServer(t, func(f *fakeConn) {
				if !f.handshake("/n") {
					return
				}
				f.send(`42/n,7["question","six times seven"]`)
				f.expect(`43/n,7[42,"forty-two"]`)
				f.send(`42/n,8["blob"]`)
				f.expect(`461-/n,8[{"_placeholder":true,"num":0}]`)
				f.expectBinary([]byte("xyz"))
				f.send(`42/n,9["plain"]`) // plain handler: no ack
				f.send(`42/n,["done"]`)
				f.drain()
			})
			done := make(chan struct{})
			_, err := dialFake(t, fs, WithVersion(v), WithNamespace("/n"),
				WithHandler("done", func([]Arg) { close(done) }),
				WithHandler("plain", func([]Arg) {}),
				WithAckHandler("question", func(args []Arg) []any { return []any{42, "forty-two"} }),
				WithAckHandler("blob", func([]Arg) []any { return []any{[]byte("xyz")} }))
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("no done event")
			}
		})
	}
}

func TestConnectError(t *testing.T) {
	tests := []struct {
		version Version
		reply   string
		message string
	}{
		{V4, `44/cricket,{"message":"not authorized","data":{"code":1}}`, "not authorized"},
		{V3, `44/cricket,"Invalid namespace"`, "Invalid namespace"},
		{V3, `44/cricket,{"message":"boom"}`, "boom"},
		{V4, `44/cricket,`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.version.String()+tt.reply, func(t *testing.T) {
			fs := newFakeServer(t, func(f *fakeConn) {
				f.open(time.Minute, time.Minute, 1000)
				if f.eio == V3 {
					f.send("40")
				}
				if _, ok := f.expectPrefix("40/cricket,"); ok {
					f.send(tt.reply)
				}
				f.drain()
			})
			_, err := dialFake(t, fs, WithVersion(tt.version), WithNamespace("/cricket"))
			var ce *ConnectError
			if !errors.As(err, &ce) || ce.Namespace != "/cricket" || ce.Message != tt.message {
				t.Fatalf("err = %v (%#v)", err, ce)
			}
		})
	}
}

func TestAuthAndPingDuringHandshake(t *testing.T) {
	fs := newFakeServer(t, func(f *fakeConn) {
		f.open(time.Minute, time.Minute, 1000)
		f.send("2probe") // answered after the CONNECT the client sends at once
		if f.expect(`40{"token":"secret"}`) && f.expect("3probe") {
			f.send(`40{"sid":"s"}`)
		}
		f.drain()
	})
	if _, err := dialFake(t, fs, WithVersion(V4), WithAuth(map[string]string{"token": "secret"})); err != nil {
		t.Fatal(err)
	}
}

func TestAutoFallback(t *testing.T) {
	tests := []struct {
		name   string
		reject func(w http.ResponseWriter, r *http.Request) bool
		script func(f *fakeConn)
		want   []string
	}{
		{
			name: "EIO=4 rejected with HTTP 400",
			reject: func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Query().Get("EIO") == "4" {
					http.Error(w, `{"code":5,"message":"Unsupported protocol version"}`, http.StatusBadRequest)
					return true
				}
				return false
			},
			want: []string{"4", "3"},
		},
		{
			name: "v3 server ignoring EIO=4",
			script: func(f *fakeConn) {
				f.eio = V3 // speaks v3 whatever the client asked for
				if f.handshake("/cricket") {
					f.drain()
				}
			},
			want: []string{"4", "3"},
		},
		{
			name: "v3 server, default namespace",
			script: func(f *fakeConn) {
				f.eio = V3
				f.open(time.Minute, time.Minute, 0)
				f.send("40")
				f.drain()
			},
			want: []string{"4", "3"},
		},
		{
			name: "v4 server",
			want: []string{"4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := tt.script
			if script == nil {
				script = func(f *fakeConn) {
					if f.handshake("/cricket") {
						f.drain()
					}
				}
			}
			fs := newFakeServer(t, script)
			fs.reject = tt.reject
			ns := "/cricket"
			if strings.Contains(tt.name, "default namespace") {
				ns = "/"
			}
			c, err := dialFake(t, fs, WithNamespace(ns))
			if err != nil {
				t.Fatal(err)
			}
			wantVersion := V4
			if len(tt.want) == 2 {
				wantVersion = V3
			}
			if c.Version() != wantVersion {
				t.Errorf("version %v, want %v", c.Version(), wantVersion)
			}
			if got := strings.Join(fs.eioRequests(), ","); got != strings.Join(tt.want, ",") {
				t.Errorf("EIO of requests %s, want %s", got, strings.Join(tt.want, ","))
			}
		})
	}
}

func TestDialFailures(t *testing.T) {
	tests := []struct {
		name    string
		opts    []Option
		reject  int // HTTP status refusing every upgrade, 0 for none
		script  func(f *fakeConn)
		check   func(error) bool
		maxTime time.Duration
	}{
		{
			name:   "explicit v3 rejected",
			opts:   []Option{WithVersion(V3)},
			reject: http.StatusBadRequest,
			check: func(err error) bool {
				var he *HandshakeError
				return errors.As(err, &he) && he.StatusCode == 400 && he.Version == V3 &&
					strings.Contains(he.Body, "Unsupported")
			},
		},
		{
			name:   "both versions rejected",
			reject: http.StatusBadRequest,
			check: func(err error) bool {
				var he *HandshakeError
				return errors.As(err, &he) && he.Version == V3 && strings.Contains(err.Error(), "EIO=4")
			},
		},
		{
			name:   "too many connections: no fallback",
			reject: http.StatusTooManyRequests,
			check: func(err error) bool {
				var he *HandshakeError
				return errors.As(err, &he) && he.Version == V4 && he.StatusCode == 429 && !strings.Contains(err.Error(), "EIO=3")
			},
		},
		{
			name:   "server error: no fallback",
			reject: http.StatusServiceUnavailable,
			check: func(err error) bool {
				var he *HandshakeError
				return errors.As(err, &he) && he.Version == V4 && he.StatusCode == 503 && !strings.Contains(err.Error(), "EIO=3")
			},
		},
		{
			name:    "no open packet",
			opts:    []Option{WithVersion(V4), WithHandshakeTimeout(100 * time.Millisecond)},
			script:  func(f *fakeConn) { f.drain() },
			check:   func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
			maxTime: 3 * time.Second,
		},
		{
			name:   "explicit v4 against v3 server",
			opts:   []Option{WithVersion(V4)},
			script: func(f *fakeConn) { f.eio = V3; f.handshake("/"); f.drain() },
			check:  func(err error) bool { return errors.Is(err, ErrProtocolMismatch) },
		},
		{
			name:   "bad open packet",
			opts:   []Option{WithVersion(V4)},
			script: func(f *fakeConn) { f.send(`0{"sid":""}`); f.drain() },
			check:  func(err error) bool { return errors.Is(err, ErrInvalidPacket) },
		},
		{
			name:   "disconnect during handshake",
			opts:   []Option{WithVersion(V4)},
			script: func(f *fakeConn) { f.open(time.Minute, time.Minute, 10); f.read(true); f.send("1") },
			check:  func(err error) bool { return errors.Is(err, ErrServerDisconnect) },
		},
		{
			name:  "bad option",
			opts:  []Option{WithVersion(Version(5))},
			check: func(err error) bool { return err != nil && strings.Contains(err.Error(), "version") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := tt.script
			if script == nil {
				script = func(f *fakeConn) {}
			}
			fs := newFakeServer(t, script)
			if tt.reject != 0 {
				fs.reject = func(w http.ResponseWriter, r *http.Request) bool {
					http.Error(w, "Unsupported protocol version", tt.reject)
					return true
				}
			}
			start := time.Now()
			c, err := dialFake(t, fs, tt.opts...)
			if err == nil {
				_ = c.Close()
			}
			if !tt.check(err) {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.maxTime > 0 && time.Since(start) > tt.maxTime {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestDialContextCancelled(t *testing.T) {
	fs := newFakeServer(t, func(f *fakeConn) { f.drain() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := Dial(ctx, fs.url(), WithVersion(V4))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if len(fs.eioRequests()) != 1 {
		t.Errorf("requests %v: a cancelled dial must not fall back", fs.eioRequests())
	}
}

func TestClose(t *testing.T) {
	for _, v := range bothVersions() {
		t.Run(v.String(), func(t *testing.T) {
			seen := make(chan []string, 1)
			fs := newFakeServer(t, func(f *fakeConn) {
				if f.handshake("/cricket") {
					seen <- f.drain()
				}
			})
			c, err := dialFake(t, fs, WithVersion(v), WithNamespace("/cricket"))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Err(); err != nil {
				t.Fatalf("Err while open: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			waitDone(t, c, 2*time.Second)
			if !errors.Is(c.Err(), ErrClosed) {
				t.Errorf("Err = %v", c.Err())
			}
			if got := strings.Join(<-seen, " "); got != "41/cricket, 1" {
				t.Errorf("server saw %q", got)
			}
			if err := c.Emit(context.Background(), "late"); !errors.Is(err, ErrClosed) {
				t.Errorf("emit after close: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second close: %v", err)
			}
		})
	}
}
