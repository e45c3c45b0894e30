package monitoring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"github.com/seed-474f70f7/sportsconnect/internal/distributed"
	"github.com/seed-474f70f7/sportsconnect/internal/embedded"
	"github.com/seed-474f70f7/sportsconnect/internal/metrics"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenademo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzdemo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabademo"
	"github.com/seed-474f70f7/sportsconnect/internal/rest"
	"github.com/seed-474f70f7/sportsconnect/internal/synthetic"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// testWorker is one distributed-mode worker on the embedded Kafka and
// registry, wired as cmd/sportsconnect wires one: metrics as the worker's
// observer and the herder's rebalance observer, served by the REST API.
type testWorker struct {
	url string // the REST API, /metrics included
	h   *distributed.Herder
}

// startWorker starts the worker; the test's cleanup stops it.
func startWorker(t *testing.T) *testWorker {
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
	kafka := []kgo.Opt{kgo.SeedBrokers(env.Brokers()...)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	id := ln.Addr().String()
	log := zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel))
	const group = "monitoring"
	mets := metrics.New(nil)
	var h *distributed.Herder
	w, err := worker.New(connector.NewPlugins(synthetic.Plugin(), saba.Plugin(), imgarena.Plugin(), roanuz.WebhookPlugin(), roanuz.MatchPlugin()),
		worker.WithKafka(kafka...), worker.WithSerializer(avroreg.NewSerializer(src)), worker.WithLogger(log),
		worker.WithObserver(mets), worker.WithGroupID(group), worker.WithOffsetsTopic(demo.OffsetsTopic, 5, -1),
		worker.WithoutPresence(), worker.WithClusterTaskIDs(func() map[string]bool { return h.ClusterTaskIDs() }))
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	mets.SetSource(w)
	h, err = distributed.New(distributed.Options{Worker: w, Kafka: kafka, Group: group,
		ConfigTopic: "connect-configs", StatusTopic: "connect-status", URL: "http://" + id, WorkerID: id,
		HeartbeatInterval: 500 * time.Millisecond, Metrics: mets, Logger: log})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := w.Start(ctx); err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	if err := h.Open(ctx); err != nil {
		cancel()
		ln.Close()
		_ = w.Close()
		t.Fatal(err)
	}
	api := rest.New(rest.Options{Worker: h, WorkerID: id, Metrics: mets.Handler(), Logger: log, Ready: h.Ready})
	api.Serve(ln)
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("herder: %v", err)
		}
		_ = w.Close()
		_ = api.Shutdown(context.Background())
	})
	return &testWorker{url: "http://" + id, h: h}
}

// create posts a connector config to the REST API, retrying while the
// group rebalances (409).
func (tw *testWorker) create(t *testing.T, cfg connector.Config) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": cfg[connector.KeyName], "config": cfg})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(tw.url+"/connectors", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			return
		}
		if resp.StatusCode != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("POST /connectors %s: %s %s", cfg[connector.KeyName], resp.Status, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scrape is one GET /metrics, parsed.
type scrape struct {
	families map[string]*dto.MetricFamily
	index    series
}

func (tw *testWorker) scrape(t *testing.T) scrape {
	t.Helper()
	resp, err := http.Get(tw.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	s := scrape{families: fams, index: series{}}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				for _, b := range m.GetHistogram().GetBucket() {
					s.index.add(name+"_bucket", with(labels, "le", fmt.Sprint(b.GetUpperBound())))
				}
				s.index.add(name+"_bucket", with(labels, "le", "+Inf"))
				s.index.add(name+"_sum", labels)
				s.index.add(name+"_count", labels)
			case dto.MetricType_SUMMARY:
				for _, q := range m.GetSummary().GetQuantile() {
					s.index.add(name, with(labels, "quantile", fmt.Sprint(q.GetQuantile())))
				}
				s.index.add(name+"_sum", labels)
				s.index.add(name+"_count", labels)
			default:
				s.index.add(name, labels)
			}
		}
	}
	return s
}

func with(labels map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range labels {
		out[a] = b
	}
	return out
}

// sum adds the values of a counter or gauge family's series whose labels
// include match (a histogram's sample counts).
func (s scrape) sum(name string, match map[string]string) (float64, int) {
	var v float64
	n := 0
	f := s.families[name]
	for _, m := range f.GetMetric() {
		ok := true
		for k, want := range match {
			found := false
			for _, l := range m.GetLabel() {
				found = found || l.GetName() == k && l.GetValue() == want
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		n++
		switch {
		case m.Counter != nil:
			v += m.GetCounter().GetValue()
		case m.Gauge != nil:
			v += m.GetGauge().GetValue()
		case m.Histogram != nil:
			v += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return v, n
}

// TestDashboardAndAlertsNameOnlyWhatTheWorkerExports runs a worker in
// distributed mode with every demo source (the synthetic source, IMG
// Arena, Saba, the Roanuz webhook and match stream against their
// simulators) until every metric family carries data, then checks each
// query of the dashboard (panels and template variables) and each alert
// expression against its /metrics: every metric name, every label a
// matcher or a grouping names, every literal label value. It also checks
// that the dashboard shows every sportsconnect_ family, and the premise of
// SportsconnectFixtureSilent: a completed Roanuz match's lag series leaves
// the scrape (FixtureDone), while Saba's streams, never done, stay.
func TestDashboardAndAlertsNameOnlyWhatTheWorkerExports(t *testing.T) {
	start := time.Now()
	tw := startWorker(t)
	match := &roanuzdemo.Match{}
	sources := []demo.Source{
		&demo.Synthetic{Partitions: 2, Events: 2000}, &imgarenademo.DemoSource{Fixtures: 2, Events: 600}, sabademo.NewDemo(),
		&roanuzdemo.Webhook{Matches: 2, Overs: 1}, match,
	}
	ctx := context.Background()
	for _, s := range sources {
		cfg, err := s.Start(ctx)
		if err != nil {
			t.Fatalf("starting %s: %v", s.Name(), err)
		}
		t.Cleanup(func() { _ = s.Close() })
		tw.create(t, cfg)
	}

	// Wait until every family the dashboard and the alerts read carries
	// data, and the Roanuz matches have completed.
	type want struct {
		what string
		ok   func(s scrape) bool
	}
	positive := func(name string, labels map[string]string) func(scrape) bool {
		return func(s scrape) bool { v, _ := s.sum(name, labels); return v > 0 }
	}
	wants := []want{
		{"a rebalance observed", positive("sportsconnect_worker_rebalances_total", nil)},
		{"a rebalance timed", positive("sportsconnect_worker_rebalance_seconds", nil)},
		{"transactions committed and timed", positive("sportsconnect_transaction_commit_seconds", nil)},
		{"provider reconnects (the simulators drop connections)", positive("sportsconnect_provider_reconnects_total", nil)},
		{"dead letters (the simulators send malformed messages)", positive("sportsconnect_dead_letter_records_total", nil)},
	}
	// Roanuz match streams mark a match done (FixtureDone) once its last
	// document committed; its lag series must then leave the scrape.
	matchLagSeen := false
	wants = append(wants, want{"every Roanuz match completed, its lag series then dropped (FixtureDone)", func(s scrape) bool {
		st, err := tw.h.Status(match.Name())
		if err != nil {
			return false
		}
		done, total := match.Progress(st)
		_, n := s.sum("sportsconnect_provider_commit_lag_seconds", map[string]string{"connector": match.Name()})
		return done >= total && matchLagSeen && n == 0
	}})
	for _, s := range sources {
		wants = append(wants, want{s.Name() + " records written", positive("sportsconnect_source_records_written_total", map[string]string{"connector": s.Name()})})
		if s != sources[0] {
			wants = append(wants, want{s.Name() + " per-fixture lag", positive("sportsconnect_provider_commit_lag_seconds", map[string]string{"connector": s.Name()})})
		}
	}
	// Series come and go (a finished fixture's lag series leaves the
	// scrape): what the dashboard and rules name is checked against every
	// series any scrape showed, and each want must hold at some scrape.
	index := series{}
	met := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	var s scrape
	for {
		s = tw.scrape(t)
		for name, labels := range s.index {
			for l, values := range labels {
				for v := range values {
					index.add(name, map[string]string{l: v})
				}
			}
			if len(labels) == 0 {
				index.add(name, nil)
			}
		}
		if _, n := s.sum("sportsconnect_provider_commit_lag_seconds", map[string]string{"connector": match.Name()}); n > 0 {
			matchLagSeen = true
		}
		var missing []string
		for _, w := range wants {
			met[w.what] = met[w.what] || w.ok(s)
			if !met[w.what] {
				missing = append(missing, w.what)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the worker's /metrics still lacks: %s", strings.Join(missing, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("every family carried data after %s", time.Since(start).Round(time.Millisecond))

	// FixtureDone: the completed matches' lag series left the scrape (they
	// were there while the matches ran); Saba's streams, never done, stay.
	if _, n := s.sum("sportsconnect_provider_commit_lag_seconds", map[string]string{"connector": match.Name()}); n != 0 || !matchLagSeen {
		t.Errorf("Roanuz match lag series: %d after every match completed (want 0), seen while running: %v", n, matchLagSeen)
	}
	if _, n := s.sum("sportsconnect_provider_commit_lag_seconds", map[string]string{"connector": "demo-saba"}); n == 0 {
		t.Error("Saba's stream lag series left the scrape: its streams are never done")
	}

	// The dashboard and the rules name only what is exported.
	d := loadDashboard(t)
	problems := 0
	report := func(where, expr string, err error, ps []string) {
		if err != nil {
			t.Errorf("%s: %v\n  %s", where, err, expr)
			problems++
		}
		for _, p := range ps {
			t.Errorf("%s: %s\n  %s", where, p, expr)
			problems++
		}
	}
	exprs := 0
	dashboardMetrics := map[string]bool{}
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			q, err := parseQuery(tg.Expr)
			report(fmt.Sprintf("dashboard panel %d %q target %s", p.ID, p.Title, tg.RefID), tg.Expr, err, check(q, index))
			report(fmt.Sprintf("dashboard panel %d %q target %s", p.ID, p.Title, tg.RefID), tg.Expr, nil, followsVariables(q, index))
			for _, sel := range q.selectors {
				dashboardMetrics[sel.metric] = true
			}
			exprs++
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		expr, label, err := labelValuesQuery(v.queryText())
		if err != nil {
			report("dashboard variable "+v.Name, v.queryText(), err, nil)
			continue
		}
		q, err := parseQuery(expr)
		ps := check(q, index)
		if err == nil && !targetLabels[label] && !labelOn(q, label, index) {
			ps = append(ps, "label "+label+" is on none of the selected metrics")
		}
		report("dashboard variable "+v.Name, v.queryText(), err, ps)
		exprs++
	}
	for _, r := range loadRules(t) {
		q, err := parseQuery(r.Expr)
		report("alert "+r.Alert, r.Expr, err, check(q, index))
		exprs++
	}
	if exprs < 60 {
		t.Errorf("only %d expressions checked: the dashboard or rules did not load whole", exprs)
	}

	// Every sportsconnect_ family has a panel.
	for name, f := range s.families {
		if !strings.HasPrefix(name, "sportsconnect_") {
			continue
		}
		shown := dashboardMetrics[name]
		if f.GetType() == dto.MetricType_HISTOGRAM {
			shown = dashboardMetrics[name+"_bucket"] || dashboardMetrics[name+"_count"] || dashboardMetrics[name+"_sum"]
		}
		if !shown {
			t.Errorf("no dashboard panel shows %s", name)
		}
	}
	t.Logf("%d expressions checked against %d exported series names; %d problems; %s in all", exprs, len(index), problems, time.Since(start).Round(time.Millisecond))
}

// followsVariables returns the dashboard selectors that ignore a template
// variable: every selector filters job and instance by $job and $instance,
// and connector and task by theirs wherever its metric has those labels.
func followsVariables(q query, s series) []string {
	var problems []string
	for _, sel := range q.selectors {
		for _, l := range []string{"job", "instance", "connector", "task"} {
			if _, has := s[sel.metric][l]; !has && !targetLabels[l] {
				continue
			}
			ok := false
			for _, m := range sel.matchers {
				ok = ok || m.label == l && m.op == "=~" && m.value == "$"+l
			}
			if !ok {
				problems = append(problems, fmt.Sprintf("%s is not filtered by %s=~\"$%s\"", sel.metric, l, l))
			}
		}
	}
	return problems
}

// labelOn reports whether label is on one of q's selected metrics.
func labelOn(q query, label string, s series) bool {
	for _, sel := range q.selectors {
		if _, ok := s[sel.metric][label]; ok {
			return true
		}
	}
	return false
}
