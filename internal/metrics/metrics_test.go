package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/metrics"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// reporting is synthetic with a task that uses the provider metrics API
// the way a provider task does: from the ctx given to Start and Poll.
func reporting() connector.Plugin {
	p := synthetic.Plugin()
	p.Class = "reporting"
	p.New = func(log *zap.Logger) connector.Connector { return repConn{synthetic.Plugin().New(log)} }
	return p
}

type repConn struct{ connector.Connector }

func (c repConn) NewTask() connector.SourceTask { return &repTask{SourceTask: c.Connector.NewTask()} }

type repTask struct {
	connector.SourceTask
	m connector.TaskMetrics
}

func (t *repTask) Start(ctx context.Context, tc *connector.TaskContext) error {
	t.m = tc.Metrics
	t.m.Reconnected()
	t.m.SequenceGap(3)
	return t.SourceTask.Start(ctx, tc)
}

func (t *repTask) Poll(ctx context.Context) ([]*connector.SourceRecord, error) {
	recs, err := t.SourceTask.Poll(ctx)
	for _, r := range recs {
		r.OnCommit = func(err error) {
			if err == nil {
				t.m.CommitLag("fixture-42", 250*time.Millisecond)
			}
		}
	}
	return recs, err
}

// scrape returns the metrics text.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

// value returns the value of the series named exactly by line prefix (name{labels}).
func value(t *testing.T, text, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no series %s in:\n%s", series, grepLines(text, "sportsconnect_"))
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func grepLines(text, part string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, part) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestWorkerMetrics(t *testing.T) {
	env, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	src, err := sr.NewClient(sr.URLs(env.RegistryURL()))
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(nil)
	w, err := worker.New(connector.NewPlugins(reporting()),
		worker.WithKafka(kgo.SeedBrokers(env.Brokers()...)),
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))),
		worker.WithObserver(m),
		worker.WithOffsetsTopic("metrics-offsets", 1, -1))
	if err != nil {
		t.Fatal(err)
	}
	m.SetSource(w)
	ctx := context.Background()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.CreateConnector(ctx, connector.Config{"name": "rep", "connector.class": "reporting", "synthetic.partitions": "2",
		"synthetic.events.per.partition": "25", "synthetic.payload.bytes": "10", "synthetic.batch.max": "10",
		"transaction.boundary": "poll"}); err != nil {
		t.Fatal(err)
	}
	const lbl = `{connector="rep",task="0"}`
	deadline := time.Now().Add(20 * time.Second)
	var text string
	for {
		text = scrape(t, m)
		if strings.Contains(text, "sportsconnect_source_records_written_total"+lbl+" 50") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("records written never reached 50:\n%s", grepLines(text, "sportsconnect_"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v := value(t, text, "sportsconnect_source_records_polled_total"+lbl); v != 50 {
		t.Errorf("polled %v, want 50", v)
	}
	commits := value(t, text, "sportsconnect_transactions_committed_total"+lbl)
	if commits < 5 {
		t.Errorf("commits %v, want >= 5 (batches of 10)", commits)
	}
	if v := value(t, text, "sportsconnect_transaction_commit_seconds_count"+lbl); v != commits {
		t.Errorf("commit latency observations %v, want one per commit (%v)", v, commits)
	}
	if v := value(t, text, "sportsconnect_source_record_bytes_written_total"+lbl); v <= 50*10 {
		t.Errorf("bytes written %v, want more than the payloads", v)
	}
	if v := value(t, text, "sportsconnect_offset_commit_age_seconds"+lbl); v < 0 || v > 60 {
		t.Errorf("offset commit age %v", v)
	}
	for series, want := range map[string]float64{
		"sportsconnect_transactions_aborted_total" + lbl:                                                 0,
		"sportsconnect_task_restarts_total" + lbl:                                                        0,
		"sportsconnect_dead_letter_records_total" + lbl:                                                  0,
		"sportsconnect_provider_reconnects_total" + lbl:                                                  1,
		"sportsconnect_provider_sequence_gaps_total" + lbl:                                               1,
		"sportsconnect_provider_sequence_missing_total" + lbl:                                            3,
		`sportsconnect_task_state{connector="rep",state="RUNNING",task="0"}`:                             1,
		`sportsconnect_connector_state{connector="rep",state="RUNNING"}`:                                 1,
		`sportsconnect_connector_tasks{connector="rep"}`:                                                 1,
		`sportsconnect_provider_commit_lag_seconds_count{connector="rep",fixture="fixture-42",task="0"}`: 50,
	} {
		if v := value(t, text, series); v != want {
			t.Errorf("%s = %v, want %v", series, v, want)
		}
	}
	if !strings.Contains(text, "go_goroutines ") || !strings.Contains(text, "go_memstats_heap_alloc_bytes ") {
		t.Error("Go runtime metrics missing")
	}

	if err := w.PauseConnector("rep"); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(scrape(t, m), `sportsconnect_task_state{connector="rep",state="PAUSED",task="0"} 1`) {
		if time.Now().After(deadline) {
			t.Fatal("paused state not exported")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := w.DeleteConnector("rep"); err != nil {
		t.Fatal(err)
	}
	if text := scrape(t, m); strings.Contains(text, `connector="rep"`) {
		t.Fatalf("deleted connector's series remain:\n%s", grepLines(text, `connector="rep"`))
	}
}

func TestFixtureDoneDropsLagSeries(t *testing.T) {
	m := metrics.New(nil)
	o := m.Task("c", 1)
	o.CommitLag("f1", time.Second)
	o.CommitLag("f2", -time.Second) // clock skew: counted as 0
	text := scrape(t, m)
	if v := value(t, text, `sportsconnect_provider_commit_lag_seconds_sum{connector="c",fixture="f2",task="1"}`); v != 0 {
		t.Fatalf("negative lag recorded as %v", v)
	}
	o.FixtureDone("f1")
	text = scrape(t, m)
	if strings.Contains(text, `fixture="f1"`) || !strings.Contains(text, `fixture="f2"`) {
		t.Fatalf("FixtureDone: %s", grepLines(text, "lag"))
	}
	if connector.NewTaskContext("c", 0, nil, nil, nil, nil).Metrics == nil {
		t.Fatal("a TaskContext without metrics must still have a Metrics")
	}
}
