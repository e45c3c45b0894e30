package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// secrets are the values the configs below hold; none may appear in a log
// line or a REST answer.
var secrets = []string{"jaas-S3cret-pw", "rest-S3cret-token", "img-S3cret-token", "env-S3cret-token"}

// checkNoSecrets fails if any secret appears in text, naming where.
func checkNoSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range secrets {
		if i := strings.Index(text, s); i >= 0 {
			line := text[strings.LastIndex(text[:i], "\n")+1:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			t.Errorf("%s shows the secret %q: %s", where, s, line)
		}
	}
}

// checkJSONLines checks every log line is a JSON object with a level and message.
func checkJSONLines(t *testing.T, logs string) int {
	t.Helper()
	n := 0
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "sportsconnect run:") {
			continue // the final error, printed by main
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["level"] == nil || m["msg"] == nil {
			t.Errorf("log line is not a JSON record with level and msg: %s", line)
		}
		n++
	}
	return n
}

// TestLogsHoldNoSecrets runs the binary at debug level with configs full
// of secrets (a SASL password, the REST token, provider tokens given
// literally and through ${env:…}), exercises the failure paths where
// secrets tend to leak (a SASL handshake the broker refuses, a provider
// that cannot be reached, REST answers), and scans every log line.
func TestLogsHoldNoSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := testenv.Binary(t)
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	dir := t.TempDir()
	base := []string{
		"bootstrap.servers=" + strings.Join(env.Brokers(), ","),
		"schema.registry.url=" + env.RegistryURL(),
		"offset.storage.partitions=1",
		"rest.auth.token=rest-S3cret-token",
		"task.shutdown.graceful.timeout.ms=2000",
	}
	img := writeTemp(t, dir, "img.json", `{"name": "img", "config": {"connector.class": "imgarena",
		"imgarena.url": "ws://127.0.0.1:1", "imgarena.auth.token": "img-S3cret-token", "imgarena.fixtures": "1001,1002",
		"imgarena.reconnect.backoff.initial.ms": "20", "imgarena.reconnect.backoff.max.ms": "100"}}`)
	img2 := writeTemp(t, dir, "img2.json", `{"name": "img2", "config": {"connector.class": "imgarena",
		"imgarena.url": "ws://127.0.0.1:1", "imgarena.auth.token": "${env:SC_TEST_IMG_TOKEN}", "imgarena.fixtures": "7",
		"imgarena.reconnect.backoff.initial.ms": "20", "imgarena.reconnect.backoff.max.ms": "100"}}`)
	syn := writeTemp(t, dir, "syn.json", `{"name": "syn", "config": {"connector.class": "synthetic", "synthetic.partitions": "1", "synthetic.rate": "50"}}`)

	t.Run("SASL refused", func(t *testing.T) {
		props := writeTemp(t, dir, "sasl.properties", strings.Join(append(base,
			"security.protocol=SASL_PLAINTEXT",
			`sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="svc" password="jaas-S3cret-pw";`,
			fmt.Sprintf("listeners=http://127.0.0.1:%d", freePort(t)),
		), "\n"))
		cmd := exec.Command(bin, "run", "--log-format", "json", "--log-level", "debug", props, syn)
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// The client retries the refused handshake; give it a few tries.
		var werr error
		select {
		case werr = <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Signal(syscall.SIGTERM)
			werr = <-done
		}
		out := logs.String()
		if werr == nil {
			t.Errorf("the worker exited 0 without reaching the broker:\n%s", out)
		}
		if n := checkJSONLines(t, out); n == 0 {
			t.Fatalf("no log lines:\n%s", out)
		}
		checkNoSecrets(t, "log", out)
	})

	t.Run("running with providers unreachable", func(t *testing.T) {
		port := freePort(t)
		props := writeTemp(t, dir, "run.properties", strings.Join(append(base, fmt.Sprintf("listeners=http://127.0.0.1:%d", port)), "\n"))
		cmd := exec.Command(bin, "run", "--log-format", "json", "--log-level", "debug", props, img, img2, syn)
		cmd.Env = append(os.Environ(), "SC_TEST_IMG_TOKEN=env-S3cret-token")
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill() }()
		api := fmt.Sprintf("http://127.0.0.1:%d", port)
		get := func(path string, auth bool) (int, string) {
			req, _ := http.NewRequest(http.MethodGet, api+path, nil)
			if auth {
				req.Header.Set("Authorization", "Bearer rest-S3cret-token")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := get("/connectors", true)
			if code == 200 && strings.Contains(body, "img2") && strings.Contains(body, "syn") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("REST API never listed the connectors (%d %s):\n%s", code, body, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(1500 * time.Millisecond) // let the provider tasks fail to connect a few times
		if code, _ := get("/connectors", false); code != http.StatusUnauthorized {
			t.Errorf("REST without the token: %d, want 401", code)
		}
		for _, p := range []string{"/connectors?expand=info&expand=status", "/connectors/img/config", "/connectors/img2/config",
			"/connectors/img/tasks", "/connectors/img/status", "/metrics", "/"} {
			code, body := get(p, true)
			if code != 200 {
				t.Errorf("GET %s: %d %s", p, code, body)
			}
			checkNoSecrets(t, "GET "+p, body)
			if strings.Contains(p, "/config") && !strings.Contains(body, `"imgarena.auth.token":"[hidden]"`) {
				t.Errorf("GET %s does not show the token as [hidden]: %s", p, body)
			}
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("the worker did not stop cleanly: %v", err)
		}
		out := logs.String()
		if n := checkJSONLines(t, out); n < 10 {
			t.Errorf("only %d log lines", n)
		}
		for _, want := range []string{`"connector":"img"`, `"connector":"syn"`, "REST API listening", "stopped cleanly"} {
			if !strings.Contains(out, want) {
				t.Errorf("logs lack %s", want)
			}
		}
		checkNoSecrets(t, "log", out)
	})
}
