package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/rest"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// The response shapes below are the examples of Kafka Connect's REST API
// documentation; each test checks that our answer has exactly their keys,
// with values of the same JSON kinds.
const (
	docServerInfo    = `{"version":"3.9.0","commit":"e23c59d00e687ff5","kafka_cluster_id":"I4ZmrWqfT2e-upky_4fdPA"}`
	docConnectorInfo = `{"name":"hdfs-sink-connector","config":{"connector.class":"io.confluent.connect.hdfs.HdfsSinkConnector","tasks.max":"10"},"tasks":[{"connector":"hdfs-sink-connector","task":1}],"type":"sink"}`
	docStatus        = `{"name":"hdfs-sink-connector","connector":{"state":"RUNNING","worker_id":"fakehost:8083"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"fakehost:8083"}],"type":"sink"}`
	docFailedTask    = `{"id":1,"state":"FAILED","worker_id":"fakehost:8083","trace":"org.apache.kafka.common.errors.RecordTooLargeException\n"}`
	docTaskStatus    = `{"state":"RUNNING","id":1,"worker_id":"192.168.86.101:8083"}`
	docTasks         = `[{"id":{"connector":"hdfs-sink-connector","task":0},"config":{"task.class":"io.confluent.connect.hdfs.HdfsSinkTask","topics":"test-topic"}}]`
	docPlugins       = `[{"class":"io.confluent.connect.hdfs.HdfsSinkConnector","type":"sink","version":"10.2.0"}]`
	docOffsets       = `{"offsets":[{"partition":{"filename":"test.txt"},"offset":{"position":30}}]}`
	docMessage       = `{"message":"The offsets for this connector have been altered successfully"}`
	docError         = `{"error_code":404,"message":"Connector hdfs-sink-connector not found"}`
	docConfigInfos   = `{"name":"FileStreamSinkConnector","error_count":1,"groups":["Common"],"configs":[{"definition":{"name":"topics","type":"LIST","required":false,"default_value":"","importance":"HIGH","documentation":"","group":"Common","width":"LONG","display_name":"Topics","dependents":[],"order":4},"value":{"name":"topics","value":"test-topic","recommended_values":[],"errors":[],"visible":true}}]}`
	docHealth        = `{"status":"healthy","message":"Worker has completed startup and is ready to handle requests."}`
)

// secretive is synthetic with a password setting, to check redaction.
func secretive() connector.Plugin {
	p := synthetic.Plugin()
	p.Class = "secretive"
	p.Spec = append(p.Spec, connector.ConfigKey{Name: "secretive.token", Type: connector.TypePassword, Default: "", Doc: "a provider token"})
	return p
}

// failing is a plugin whose task fails for good on its first poll.
func failing() connector.Plugin {
	p := synthetic.Plugin()
	p.Class = "failing"
	p.New = func(log *zap.Logger) connector.Connector { return failConn{synthetic.Plugin().New(log)} }
	return p
}

type failConn struct{ connector.Connector }

func (c failConn) NewTask() connector.SourceTask { return failTask{c.Connector.NewTask()} }

type failTask struct{ connector.SourceTask }

func (failTask) Poll(context.Context) ([]*connector.SourceRecord, error) {
	return nil, connector.Permanent(errors.New("provider refused the subscription: invalid fixture id"))
}

type apiEnv struct {
	t   *testing.T
	w   *worker.Worker
	srv *httptest.Server
	tok string
}

func startAPI(t *testing.T, token string) *apiEnv {
	t.Helper()
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	src, err := sr.NewClient(sr.URLs(env.RegistryURL()))
	if err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(connector.NewPlugins(synthetic.Plugin(), secretive(), failing()),
		worker.WithKafka(kgo.SeedBrokers(env.Brokers()...)),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))),
		worker.WithOffsetsTopic("rest-offsets", 3, -1))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	s := rest.New(rest.Options{Worker: w, WorkerID: "127.0.0.1:8083", Version: "0.1.0", Commit: "abc", AuthToken: token,
		Logger: zaptest.NewLogger(t), Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "# metrics\n") })})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &apiEnv{t: t, w: w, srv: srv, tok: token}
}

// do sends a request and returns the status and the decoded JSON body (nil if empty).
func (a *apiEnv) do(method, path, body string) (int, any) {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.tok != "" {
		req.Header.Set("Authorization", "Bearer "+a.tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if len(bytes.TrimSpace(b)) == 0 {
		return resp.StatusCode, nil
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		if path == "/metrics" {
			return resp.StatusCode, string(b)
		}
		a.t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		a.t.Fatalf("%s %s: body is not JSON: %s", method, path, b)
	}
	return resp.StatusCode, v
}

// expect checks the status and, if shape is set, the body's shape.
func (a *apiEnv) expect(method, path, body string, code int, shape string) any {
	a.t.Helper()
	got, v := a.do(method, path, body)
	if got != code {
		a.t.Fatalf("%s %s: status %d, want %d; body %v", method, path, got, code, v)
	}
	if shape != "" {
		var want any
		if err := json.Unmarshal([]byte(shape), &want); err != nil {
			a.t.Fatal(err)
		}
		if err := sameShape("$", v, want); err != nil {
			a.t.Fatalf("%s %s: %v\ngot:  %v\nwant the shape of: %s", method, path, err, v, shape)
		}
	}
	return v
}

// sameShape reports where got's shape differs from want's: the same keys
// in objects (config maps excepted: their keys are the connector's), the
// same JSON kinds, array elements shaped like want's first element.
func sameShape(path string, got, want any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return errorf("%s: got %T, want an object", path, got)
		}
		if strings.HasSuffix(path, ".config") || strings.HasSuffix(path, ".partition") || strings.HasSuffix(path, ".offset") {
			return nil // keys chosen by the connector
		}
		if gk, wk := keys(g), keys(w); strings.Join(gk, ",") != strings.Join(wk, ",") {
			return errorf("%s: keys %v, want %v", path, gk, wk)
		}
		for k := range w {
			if err := sameShape(path+"."+k, g[k], w[k]); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return errorf("%s: got %T, want an array", path, got)
		}
		if len(w) > 0 {
			for i, e := range g {
				if err := sameShape(path+"[]", e, w[0]); err != nil {
					_ = i
					return err
				}
			}
		}
	case nil:
		// null in the docs: any kind (a default may be a string here).
	default:
		if got == nil {
			if strings.HasSuffix(path, ".default_value") || strings.HasSuffix(path, ".value") {
				return nil // Connect shows null for "no default" and "no value"
			}
			return errorf("%s: got null, want %T", path, want)
		}
		if gt, wt := kind(got), kind(want); gt != wt {
			return errorf("%s: got %s, want %s", path, gt, wt)
		}
	}
	return nil
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	}
	return "other"
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type shapeError string

func (e shapeError) Error() string { return string(e) }

func errorf(format string, args ...any) error {
	return shapeError(fmt.Sprintf(format, args...))
}

// waitState polls the status until the connector (and each task) is in state.
func (a *apiEnv) waitState(name, state string) map[string]any {
	a.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, v := a.do("GET", "/connectors/"+name+"/status", "")
		st, _ := v.(map[string]any)
		ok := st != nil && st["connector"].(map[string]any)["state"] == state
		if ok {
			for _, tk := range st["tasks"].([]any) {
				ok = ok && tk.(map[string]any)["state"] == state
			}
		}
		if ok {
			return st
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("connector %s not %s: %v", name, state, v)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const synBody = `{"name":"syn","config":{"connector.class":"secretive","tasks.max":"2","synthetic.partitions":"2",
	"synthetic.events.per.partition":"30","synthetic.payload.bytes":"8","secretive.token":"tok-s3cret"}}`

func TestConnectorLifecycleContract(t *testing.T) {
	a := startAPI(t, "")
	a.expect("GET", "/", "", 200, docServerInfo)
	a.expect("GET", "/connectors", "", 200, `[]`)

	info := a.expect("POST", "/connectors", synBody, 201, docConnectorInfo).(map[string]any)
	if info["type"] != "source" || info["name"] != "syn" {
		t.Fatalf("created info %v", info)
	}
	if tok := info["config"].(map[string]any)["secretive.token"]; tok != connector.Redacted {
		t.Fatalf("created info shows the token as %v", tok)
	}
	a.expect("POST", "/connectors", synBody, 409, docError)
	a.expect("GET", "/connectors", "", 200, `["syn"]`)
	a.expect("GET", "/connectors/syn", "", 200, docConnectorInfo)

	cfg := a.expect("GET", "/connectors/syn/config", "", 200, "").(map[string]any)
	if cfg["secretive.token"] != connector.Redacted || cfg["tasks.max"] != "2" || cfg["name"] != "syn" {
		t.Fatalf("config %v", cfg)
	}
	st := a.waitState("syn", "RUNNING")
	if err := sameShape("$", st, mustJSON(docStatus)); err != nil {
		t.Fatalf("status: %v", err)
	}
	tasks := a.expect("GET", "/connectors/syn/tasks", "", 200, docTasks).([]any)
	if len(tasks) != 2 || tasks[1].(map[string]any)["config"].(map[string]any)["secretive.token"] != connector.Redacted {
		t.Fatalf("tasks %v", tasks)
	}
	ts := a.expect("GET", "/connectors/syn/tasks/1/status", "", 200, docTaskStatus).(map[string]any)
	if ts["id"] != 1.0 || ts["worker_id"] != "127.0.0.1:8083" {
		t.Fatalf("task status %v", ts)
	}
	a.expect("GET", "/connectors/syn/tasks/2/status", "", 404, `{"error_code":404,"message":""}`)
	a.expect("GET", "/connectors?expand=status", "", 200, `{"syn":{"status":`+docStatus+`}}`)
	a.expect("GET", "/connectors?expand=status&expand=info", "", 200, `{"syn":{"status":`+docStatus+`,"info":`+docConnectorInfo+`}}`)

	a.expect("PUT", "/connectors/syn/pause", "", 202, "")
	a.waitState("syn", "PAUSED")
	a.expect("PUT", "/connectors/syn/resume", "", 202, "")
	a.waitState("syn", "RUNNING")

	a.expect("POST", "/connectors/syn/restart", "", 204, "")
	a.expect("POST", "/connectors/syn/restart?includeTasks=true&onlyFailed=true", "", 202, docStatus)
	a.expect("POST", "/connectors/syn/restart?includeTasks=maybe", "", 400, docError)
	a.expect("POST", "/connectors/syn/tasks/0/restart", "", 204, "")
	a.expect("POST", "/connectors/syn/tasks/5/restart", "", 404, docError)

	// Update (200) and create (201) through PUT .../config.
	upd := a.expect("PUT", "/connectors/syn/config", `{"connector.class":"secretive","tasks.max":"1","synthetic.partitions":"2","synthetic.events.per.partition":"30","synthetic.payload.bytes":"8"}`, 200, docConnectorInfo).(map[string]any)
	if len(upd["tasks"].([]any)) != 1 {
		t.Fatalf("updated info %v", upd)
	}
	a.expect("PUT", "/connectors/syn/config", `{"name":"other","connector.class":"secretive"}`, 400, docError)
	a.expect("PUT", "/connectors/syn/config", `{"connector.class":"secretive","tasks.max":"none"}`, 400, docError)
	a.expect("PUT", "/connectors/two/config", `{"connector.class":"synthetic","synthetic.rate":"10"}`, 201, docConnectorInfo)
	a.expect("DELETE", "/connectors/two", "", 204, "")
	a.expect("DELETE", "/connectors/two", "", 404, docError)
	e := a.expect("GET", "/connectors/two/status", "", 404, docError).(map[string]any)
	if e["message"] != "Connector two not found" || e["error_code"] != 404.0 {
		t.Fatalf("404 body %v", e)
	}
	a.expect("POST", "/connectors", `{"name":"bad","config":{"connector.class":"synthetic","tasks.max":"-1"}}`, 400, docError)
	a.expect("POST", "/connectors", `{"name":"bad"}`, 400, docError)
	a.expect("POST", "/connectors", `not json`, 400, docError)
}

func mustJSON(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

func TestOffsetsContract(t *testing.T) {
	a := startAPI(t, "")
	a.expect("POST", "/connectors", synBody, 201, "")
	// Wait for both partitions to reach 30.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, v := a.do("GET", "/connectors/syn/offsets", "")
		offs := v.(map[string]any)["offsets"].([]any)
		done := 0
		for _, o := range offs {
			if o.(map[string]any)["offset"].(map[string]any)["position"] == 30.0 {
				done++
			}
		}
		if done == 2 {
			if err := sameShape("$", v, mustJSON(docOffsets)); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("offsets never reached 30: %v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	patch := `{"offsets":[{"partition":{"partition":0},"offset":{"position":10}}]}`
	e := a.expect("PATCH", "/connectors/syn/offsets", patch, 400, docError).(map[string]any)
	if !strings.Contains(e["message"].(string), "STOPPED") {
		t.Fatalf("running connector's offsets altered? %v", e)
	}
	a.expect("DELETE", "/connectors/syn/offsets", "", 400, docError)
	a.expect("PUT", "/connectors/syn/stop", "", 204, "")
	st := a.expect("GET", "/connectors/syn/status", "", 200, "").(map[string]any)
	if st["connector"].(map[string]any)["state"] != "STOPPED" || len(st["tasks"].([]any)) != 0 {
		t.Fatalf("stopped status %v", st)
	}
	a.expect("GET", "/connectors/syn/tasks", "", 200, `[]`)
	a.expect("PATCH", "/connectors/syn/offsets", `{"offsets":[{"partition":{},"offset":{}}]}`, 400, docError)
	a.expect("PATCH", "/connectors/syn/offsets", `{"offsets":[]}`, 400, docError)
	m := a.expect("PATCH", "/connectors/syn/offsets", patch, 200, docMessage).(map[string]any)
	if m["message"] != "The offsets for this connector have been altered successfully" {
		t.Fatalf("message %v", m)
	}
	got := a.expect("GET", "/connectors/syn/offsets", "", 200, docOffsets).(map[string]any)
	for _, o := range got["offsets"].([]any) {
		om := o.(map[string]any)
		if om["partition"].(map[string]any)["partition"] == 0.0 && om["offset"].(map[string]any)["position"] != 10.0 {
			t.Fatalf("partition 0 not altered: %v", got)
		}
	}
	m = a.expect("DELETE", "/connectors/syn/offsets", "", 200, docMessage).(map[string]any)
	if m["message"] != "The offsets for this connector have been reset successfully" {
		t.Fatalf("message %v", m)
	}
	a.expect("GET", "/connectors/syn/offsets", "", 200, `{"offsets":[]}`)
	a.expect("PUT", "/connectors/syn/resume", "", 202, "")
	a.waitState("syn", "RUNNING")
	a.expect("GET", "/connectors/nope/offsets", "", 404, docError)
}

func TestFailedTaskTrace(t *testing.T) {
	a := startAPI(t, "")
	a.expect("POST", "/connectors", `{"name":"bad","config":{"connector.class":"failing","synthetic.partitions":"1"}}`, 201, "")
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, v := a.do("GET", "/connectors/bad/status", "")
		task := v.(map[string]any)["tasks"].([]any)[0].(map[string]any)
		if task["state"] == "FAILED" {
			if err := sameShape("$", task, mustJSON(docFailedTask)); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(task["trace"].(string), "provider refused the subscription: invalid fixture id") {
				t.Fatalf("trace %q", task["trace"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task never failed: %v", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
	v := a.expect("POST", "/connectors/bad/restart?includeTasks=true&onlyFailed=true", "", 202, docStatus).(map[string]any)
	if s := v["tasks"].([]any)[0].(map[string]any)["state"]; s == "FAILED" {
		t.Fatalf("failed task not restarted: %v", v)
	}
}

func TestPluginsContract(t *testing.T) {
	a := startAPI(t, "")
	ps := a.expect("GET", "/connector-plugins", "", 200, docPlugins).([]any)
	if len(ps) != 3 {
		t.Fatalf("plugins %v", ps)
	}
	defs := a.expect("GET", "/connector-plugins/synthetic/config", "", 200, "").([]any)
	if err := sameShape("$", defs, mustJSON(`[`+mustDef(docConfigInfos)+`]`)); err != nil {
		t.Fatal(err)
	}
	ci := a.expect("PUT", "/connector-plugins/secretive/config/validate",
		`{"connector.class":"secretive","name":"x","tasks.max":"zero","secretive.token":"tok-s3cret","synthetic.bogus":"1"}`, 200, docConfigInfos).(map[string]any)
	if ci["error_count"] != 2.0 {
		t.Fatalf("error_count %v, want 2 (tasks.max and the unknown key): %v", ci["error_count"], ci)
	}
	b, _ := json.Marshal(ci)
	if strings.Contains(string(b), "tok-s3cret") {
		t.Fatalf("validate shows the secret: %s", b)
	}
	found := 0
	for _, c := range ci["configs"].([]any) {
		v := c.(map[string]any)["value"].(map[string]any)
		switch v["name"] {
		case "tasks.max":
			if errs := v["errors"].([]any); len(errs) != 1 || !strings.Contains(errs[0].(string), "expected an integer") {
				t.Fatalf("tasks.max errors %v", errs)
			}
			found++
		case "synthetic.bogus":
			if errs := v["errors"].([]any); len(errs) != 1 || errs[0] != "unknown setting" {
				t.Fatalf("unknown key errors %v", errs)
			}
			found++
		case "secretive.token":
			if v["value"] != connector.Redacted {
				t.Fatalf("token shown as %v", v["value"])
			}
			found++
		}
	}
	if found != 3 {
		t.Fatalf("validate lacks entries: %v", ci)
	}
	a.expect("PUT", "/connector-plugins/synthetic/config/validate", `{"connector.class":"secretive"}`, 400, docError)
	a.expect("PUT", "/connector-plugins/nope/config/validate", `{}`, 404, docError)
}

// mustDef extracts the first definition of a ConfigInfos document.
func mustDef(doc string) string {
	var ci struct {
		Configs []struct {
			Definition json.RawMessage `json:"definition"`
		} `json:"configs"`
	}
	if err := json.Unmarshal([]byte(doc), &ci); err != nil {
		panic(err)
	}
	return string(ci.Configs[0].Definition)
}

func TestErrorsAndProbes(t *testing.T) {
	a := startAPI(t, "")
	a.expect("GET", "/nothing/here", "", 404, docError)
	a.expect("DELETE", "/connector-plugins", "", 405, docError)
	a.expect("GET", "/health", "", 200, docHealth)
	a.expect("GET", "/healthz", "", 200, docHealth)
	a.expect("GET", "/readyz", "", 200, docHealth)
}

func TestBearerAuth(t *testing.T) {
	a := startAPI(t, "let-me-in")
	a.expect("GET", "/connectors", "", 200, `[]`)
	a.expect("GET", "/metrics", "", 200, "")
	a.tok = "wrong"
	e := a.expect("GET", "/connectors", "", 401, docError).(map[string]any)
	if strings.Contains(e["message"].(string), "let-me-in") {
		t.Fatal("401 shows the token")
	}
	a.expect("GET", "/metrics", "", 401, docError)
	a.tok = ""
	a.expect("GET", "/", "", 401, docError)
	a.expect("GET", "/healthz", "", 200, docHealth)
	a.expect("GET", "/readyz", "", 200, docHealth)
}
