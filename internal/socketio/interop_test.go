package socketio

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// The interop tests run the client against the reference socket.io servers:
// testdata/server.js on socket.io 4.x (Engine.IO v4) and on socket.io 2.x
// (Engine.IO v3). The npm packages are installed on first use from the
// committed lock files into testdata/node/*/node_modules (git-ignored).
// They need node and npm: without them the tests fail, unless -short.

const interopPing = 300 * time.Millisecond // server's pingInterval and pingTimeout

func TestInterop(t *testing.T) {
	if testing.Short() {
		t.Skip("interop tests against Node socket.io servers skipped with -short")
	}
	node := requireTool(t, "node")
	npm := requireTool(t, "npm")
	match, err := os.ReadFile(filepath.Join("testdata", "match.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pkg     string
		version Version // what Auto must settle on
		wrong   Version // explicit version the server must refuse
	}{
		{"socket.io-4", "v4", V4, V3},
		{"socket.io-2", "v2", V3, V4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			pkgDir := installNodeModules(t, npm, tt.pkg)
			t.Logf("npm packages ready in %v", time.Since(start))
			srv := startNodeServer(t, node, pkgDir)
			t.Logf("server %s listening after %v", srv.url, time.Since(start))

			t.Run("match scenario", func(t *testing.T) { interopScenario(t, srv, tt.version, match) })
			t.Run("explicit version", func(t *testing.T) {
				c, err := interopDial(t, srv, WithVersion(tt.version))
				if err != nil {
					t.Fatal(err)
				}
				_ = c.Close()
				if _, err := interopDial(t, srv, WithVersion(tt.wrong)); err == nil {
					t.Fatalf("server accepted EIO=%d", int(tt.wrong))
				} else {
					t.Logf("EIO=%d refused as expected: %v", int(tt.wrong), err)
				}
			})
			t.Run("connect error", func(t *testing.T) {
				_, err := interopDial(t, srv, WithNamespace("/nope"))
				var ce *ConnectError
				if !errors.As(err, &ce) || ce.Namespace != "/nope" || ce.Message != "Invalid namespace" {
					t.Fatalf("err = %v", err)
				}
			})
			t.Run("server disconnect", func(t *testing.T) {
				c, err := interopDial(t, srv)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Emit(context.Background(), "kick_me"); err != nil {
					t.Fatal(err)
				}
				waitDone(t, c, 5*time.Second)
				if !errors.Is(c.Err(), ErrServerDisconnect) {
					t.Fatalf("Err = %v", c.Err())
				}
			})
			t.Run("clean close", func(t *testing.T) {
				c, err := interopDial(t, srv)
				if err != nil {
					t.Fatal(err)
				}
				id := c.SocketID() // v5: the id the server logs; v4: "/cricket#" + engine sid
				if id == "" {
					id = "/cricket#" + c.SID()
				}
				_ = c.Close()
				srv.waitLog(t, fmt.Sprintf("disconnected %s client namespace disconnect", id))
			})
		})
	}
}

// interopScenario is the Roanuz-like flow: join a match, receive the match
// three ways, get an error, use acks both ways, survive heartbeats.
func interopScenario(t *testing.T, srv *nodeServer, version Version, match []byte) {
	var mu sync.Mutex
	var updates []Arg
	joined := make(chan Arg, 1)
	errs := make(chan Arg, 1)
	answers := make(chan Arg, 1)
	updated := make(chan struct{}, 3)
	c, err := interopDial(t, srv,
		WithHandler("on_match_joined", func(a []Arg) { joined <- a[0] }),
		WithHandler("on_match_update", func(a []Arg) {
			mu.Lock()
			updates = append(updates, a...)
			mu.Unlock()
			updated <- struct{}{}
		}),
		WithHandler("on_error", func(a []Arg) { errs <- a[0] }),
		WithHandler("answer_received", func(a []Arg) { answers <- a[0] }))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Version() != version {
		t.Errorf("negotiated %v, want %v", c.Version(), version)
	}
	c.OnAck("question", func(a []Arg) []any {
		var q string
		if err := a[0].Decode(&q); err != nil || q != "six times seven" {
			t.Errorf("question %v, %v", a, err)
		}
		return []any{42}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type req struct {
		Token    string `json:"token"`
		MatchKey string `json:"match_key"`
	}
	if err := c.Emit(ctx, "connect_to_match", req{"good-token", "m1"}); err != nil {
		t.Fatal(err)
	}
	if got := string(receive(t, joined).JSON); got != `{"key":"m1"}` {
		t.Errorf("on_match_joined %s", got)
	}
	for i := 0; i < 3; i++ {
		receive(t, updated)
	}
	mu.Lock()
	got := append([]Arg(nil), updates...)
	mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("%d update args", len(got))
	}
	var text, b64 string
	if err := got[0].Decode(&text); err != nil || text != string(match) {
		t.Errorf("JSON text update %q, %v", text, err)
	}
	if !got[1].IsBinary() || string(gunzip(t, got[1].Binary)) != string(match) {
		t.Errorf("binary update %v", got[1])
	}
	if err := got[2].Decode(&b64); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || string(gunzip(t, raw)) != string(match) {
		t.Errorf("base64 update: %v", err)
	}

	if err := c.Emit(ctx, "connect_to_match", req{"bad", "m1"}); err != nil {
		t.Fatal(err)
	}
	if got := string(receive(t, errs).JSON); got != `"invalid token"` {
		t.Errorf("on_error %s", got)
	}

	res, err := c.EmitWithAck(ctx, "echo", "hello", []byte{0, 1, 2, 255}, map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(res); string(b) != `["hello","AAEC/w==",{"n":1}]` {
		t.Errorf("echo ack %s", b)
	}
	if err := c.Emit(ctx, "ask_client"); err != nil {
		t.Fatal(err)
	}
	if got := string(receive(t, answers).JSON); got != `[42]` {
		t.Errorf("answer_received %s", got)
	}

	// Outlive several heartbeat windows, then check the session still works.
	select {
	case <-c.Done():
		t.Fatalf("connection ended: %v", c.Err())
	case <-time.After(5 * interopPing):
	}
	if _, err := c.EmitWithAck(ctx, "echo", "still here"); err != nil {
		t.Fatalf("after heartbeats: %v", err)
	}
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for an event")
		panic("unreachable")
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

func interopDial(t *testing.T, srv *nodeServer, opts ...Option) (*Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	opts = append([]Option{WithLogger(zaptest.NewLogger(t)), WithPath("/v5/websocket"),
		WithNamespace("/cricket")}, opts...)
	c, err := Dial(ctx, srv.url, opts...)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in PATH: the Socket.IO interop tests need Node.js (node and npm) "+
			"to run the reference servers; install them, or run go test -short to skip these tests", name)
	}
	return p
}

// installNodeModules makes sure testdata/node/<pkg>/node_modules matches the
// committed package-lock.json, running npm ci in a scratch directory and
// renaming the result into place so concurrent test processes never see a
// half-installed tree. It returns the package directory.
func installNodeModules(t *testing.T, npm, pkg string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "node", pkg))
	if err != nil {
		t.Fatal(err)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	stamp := hex.EncodeToString(sum[:])
	stampFile := filepath.Join(dir, "node_modules", ".lock-sha256")
	if b, err := os.ReadFile(stampFile); err == nil && string(b) == stamp {
		return dir
	}
	scratch, err := os.MkdirTemp(dir, ".install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(scratch)
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(scratch, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = scratch
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s failed (needs the npm registry): %v\n%s", dir, err, out)
	}
	t.Logf("npm ci for %s took %v", pkg, time.Since(start))
	if err := os.WriteFile(filepath.Join(scratch, "node_modules", ".lock-sha256"), []byte(stamp), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(filepath.Join(dir, "node_modules")) // stale tree, if any
	if err := os.Rename(filepath.Join(scratch, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		// Another test process may have installed it meanwhile.
		if b, rerr := os.ReadFile(stampFile); rerr != nil || string(b) != stamp {
			t.Fatalf("install node_modules: %v", err)
		}
	}
	return dir
}

// nodeServer is a running testdata/server.js.
type nodeServer struct {
	url    string
	mu     sync.Mutex
	stderr bytes.Buffer
}

func (s *nodeServer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.Write(p)
}

func (s *nodeServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// waitLog waits for the server to log a line containing want.
func (s *nodeServer) waitLog(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if strings.Contains(s.log(), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server never logged %q; log:\n%s", want, s.log())
}

// startNodeServer starts testdata/server.js on an ephemeral port, waits for
// its "listening PORT" line and stops it when the test ends.
func startNodeServer(t *testing.T, node, pkgDir string) *nodeServer {
	t.Helper()
	srv := &nodeServer{}
	cmd := exec.Command(node, filepath.Join("testdata", "server.js"), pkgDir, "0")
	ms := fmt.Sprint(interopPing.Milliseconds())
	cmd.Env = append(os.Environ(), "PING_INTERVAL="+ms, "PING_TIMEOUT="+ms)
	cmd.Stderr = srv
	stdin, err := cmd.StdinPipe() // the server exits when stdin closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("node server log:\n%s", srv.log())
		}
	})
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- p
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case p := <-port:
		srv.url = "ws://127.0.0.1:" + p
	case <-exited:
		t.Fatalf("node server exited before listening:\n%s", srv.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("node server did not listen within 30s:\n%s", srv.log())
	}
	return srv
}
