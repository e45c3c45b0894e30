package distributed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/distributed"
	"github.com/seed-474f70f7/sportsconnect/internal/rest"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap/zaptest"
)

// member is one in-process distributed worker with its REST API.
type member struct {
	h    *distributed.Herder
	w    *worker.Worker
	url  string
	stop func()
}

type groupNames struct{ group, offsets, configs, statuses, prefix string }

func startMember(t *testing.T, n groupNames) *member {
	t.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	id := ln.Addr().String()
	src, err := sr.NewClient(sr.URLs(testenv.Registry(t)))
	if err != nil {
		t.Fatal(err)
	}
	kafka := []kgo.Opt{kgo.SeedBrokers(testenv.Brokers(t)...)}
	log := zaptest.NewLogger(t).With()
	var h *distributed.Herder
	w, err := worker.New(connector.NewPlugins(synthetic.Plugin()),
		worker.WithKafka(kafka...), worker.WithSerializer(avroreg.NewSerializer(src)), worker.WithLogger(log),
		worker.WithGroupID(n.group), worker.WithOffsetsTopic(n.offsets, 3, -1), worker.WithoutPresence(),
		worker.WithClusterTaskIDs(func() map[string]bool { return h.ClusterTaskIDs() }))
	if err != nil {
		t.Fatal(err)
	}
	h, err = distributed.New(distributed.Options{Worker: w, Kafka: kafka, Group: n.group,
		ConfigTopic: n.configs, StatusTopic: n.statuses, URL: "http://" + id, WorkerID: id,
		HeartbeatInterval: 500 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Open(ctx); err != nil {
		t.Fatal(err)
	}
	api := rest.New(rest.Options{Worker: h, WorkerID: id, Logger: log})
	api.Serve(ln)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.Run(runCtx) }()
	m := &member{h: h, w: w, url: "http://" + id}
	m.stop = func() {
		cancel()
		if err := <-done; err != nil && runCtx.Err() == nil {
			t.Errorf("herder %s: %v", id, err)
		}
		_ = w.Close()
		_ = api.Shutdown(context.Background())
	}
	return m
}

func (m *member) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, m.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// must retries 409 (a rebalance) for 30 s and wants want.
func (m *member) must(t *testing.T, want int, method, path string, body any) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, b := m.do(t, method, path, body)
		if code == want {
			return b
		}
		if code != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type statusBody struct {
	Connector struct{ State string } `json:"connector"`
	Tasks     []struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
	} `json:"tasks"`
}

func (m *member) status(t *testing.T, name string) statusBody {
	var st statusBody
	if code, b := m.do(t, "GET", "/connectors/"+name+"/status", nil); code == 200 {
		_ = json.Unmarshal(b, &st)
	}
	return st
}

// TestRESTOnAnyWorker drives a two-worker cluster through each worker's
// REST API: writes sent to the follower reach the leader, every state
// change reaches the tasks wherever they run, and the offsets API works
// on a stopped connector.
func TestRESTOnAnyWorker(t *testing.T) {
	u := testenv.UniqueName(t, "dh-")
	n := groupNames{group: u + "-g", offsets: u + "-offsets", configs: u + "-configs", statuses: u + "-status", prefix: u}
	a := startMember(t, n)
	defer a.stop()
	b := startMember(t, n)
	defer b.stop()

	cfg := map[string]string{"connector.class": "synthetic", "tasks.max": "4", "topic.prefix": n.prefix,
		"synthetic.partitions": "4", "synthetic.events.per.partition": "1000000", "synthetic.rate": "50"}
	for _, m := range []*member{a, b} { // one of them is the follower
		name := "syn-" + m.url[len(m.url)-5:]
		m.must(t, http.StatusCreated, "POST", "/connectors", map[string]any{"name": name, "config": cfg})
		eventually(t, name+" running on both workers", func() bool {
			st := a.status(t, name)
			owners := map[string]int{}
			for _, ts := range st.Tasks {
				if ts.State == "RUNNING" {
					owners[ts.WorkerID]++
				}
			}
			return len(st.Tasks) == 4 && len(owners) == 2 && owners[a.url[7:]]+owners[b.url[7:]] == 4
		})
		// Every state change through the other worker.
		other := b
		if m == b {
			other = a
		}
		other.must(t, http.StatusConflict, "POST", "/connectors", map[string]any{"name": name, "config": cfg})
		other.must(t, http.StatusAccepted, "PUT", "/connectors/"+name+"/pause", nil)
		eventually(t, name+" paused everywhere", func() bool {
			st := m.status(t, name)
			paused := 0
			for _, ts := range st.Tasks {
				if ts.State == "PAUSED" {
					paused++
				}
			}
			return st.Connector.State == "PAUSED" && paused == 4
		})
		other.must(t, http.StatusNoContent, "PUT", "/connectors/"+name+"/stop", nil)
		eventually(t, name+" stopped", func() bool {
			st := m.status(t, name)
			return st.Connector.State == "STOPPED" && len(st.Tasks) == 0 && len(a.w.LocalTasks())+len(b.w.LocalTasks()) == 0
		})
		body := fmt.Sprintf(`{"offsets":[{"partition":%s,"offset":{"position":900000}}]}`, synthetic.PartitionOf(0).String())
		var offs any
		_ = json.Unmarshal([]byte(body), &offs)
		other.must(t, http.StatusOK, "PATCH", "/connectors/"+name+"/offsets", offs)
		got := string(m.must(t, http.StatusOK, "GET", "/connectors/"+name+"/offsets", nil))
		if !bytes.Contains([]byte(got), []byte(`"position":900000`)) {
			t.Fatalf("offsets after PATCH through the other worker: %s", got)
		}
		other.must(t, http.StatusAccepted, "PUT", "/connectors/"+name+"/resume", nil)
		eventually(t, name+" running again", func() bool {
			running := 0
			for _, ts := range m.status(t, name).Tasks {
				if ts.State == "RUNNING" {
					running++
				}
			}
			return running == 4
		})
		other.must(t, http.StatusNoContent, "DELETE", "/connectors/"+name, nil)
		eventually(t, name+" gone from both workers", func() bool {
			code, _ := m.do(t, "GET", "/connectors/"+name, nil)
			return code == http.StatusNotFound && len(a.w.LocalTasks())+len(b.w.LocalTasks()) == 0
		})
	}
}
