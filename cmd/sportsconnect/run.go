package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/logging"
	"github.com/seed-474f70f7/sportsconnect/internal/metrics"
	"github.com/seed-474f70f7/sportsconnect/internal/rest"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"go.uber.org/zap"
)

func runCmd(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlags("run", "run [flags] WORKER.properties CONNECTOR.json...", `  sportsconnect run worker.properties synthetic.json

  worker.properties (Kafka Connect's names; ${env:NAME} and ${file:/path:key} resolve secrets):
    bootstrap.servers=127.0.0.1:9092
    schema.registry.url=http://127.0.0.1:8081
    group.id=sportsconnect
    offset.storage.topic=connect-offsets

  synthetic.json (the body of Connect's POST /connectors):
    {"name": "syn", "config": {"connector.class": "synthetic", "tasks.max": "2",
     "synthetic.partitions": "8", "synthetic.events.per.partition": "1000"}}

  sportsconnect run deploy/examples/imgarena/worker.properties deploy/examples/imgarena/connector.json
  sportsconnect run --mode distributed deploy/examples/distributed/worker.properties

  deploy/examples/ holds a worker.properties and connector.json per provider
  (sportsconnect plugins lists every setting). The files are checked as
  'sportsconnect validate' checks them before anything connects. The REST
  API, /metrics and the probes listen on listeners (default
  http://127.0.0.1:8083): a port already in use fails the start; set
  listeners= to run without them.`, stderr)
	logFormat := fs.String("log-format", logging.FormatAuto, "log format: auto (console on a terminal, else json), json, console")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	mode := fs.String("mode", "standalone", "standalone (one process runs the connectors given on the command line) or distributed "+
		"(workers sharing group.id divide the connectors created through the REST API)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *mode {
	case "standalone":
	case "distributed":
		if fs.NArg() != 1 {
			fs.Usage()
			return fmt.Errorf("%w: distributed mode takes only the worker config; create connectors through the REST API", errUsage)
		}
	default:
		return fmt.Errorf("%w: --mode must be standalone or distributed, not %q", errUsage, *mode)
	}
	if *mode == "standalone" && fs.NArg() < 2 {
		fs.Usage()
		return fmt.Errorf("%w: need a worker config and at least one connector config", errUsage)
	}
	log, err := logging.New(*logFormat, *logLevel)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	defer log.Sync() //nolint:errcheck // stderr

	ws, conns, err := loadConfigs(fs.Arg(0), fs.Args()[1:])
	if err != nil {
		return err
	}
	if *mode == "distributed" {
		return runDistributed(ctx, ws, log)
	}
	src, err := ws.RegistryClient()
	if err != nil {
		return err
	}
	mets := metrics.New(nil)
	w, err := worker.New(plugins(), append(ws.Options,
		worker.WithSerializer(avroreg.NewSerializer(src)),
		worker.WithLogger(log), worker.WithObserver(mets))...)
	if err != nil {
		return err
	}
	mets.SetSource(w)
	var started atomic.Bool
	api, err := startREST(ws, w, mets, &started, log)
	if err != nil {
		return err
	}
	defer api.Shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit
	if err := w.Start(ctx); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}
	for _, c := range conns {
		if err := w.CreateConnector(ctx, c); err != nil {
			_ = w.Close()
			return err
		}
	}
	started.Store(true)
	log.Info("worker running; SIGTERM or SIGINT stops it after committing open transactions",
		zap.Strings("connectors", w.Connectors()))
	<-ctx.Done()
	log.Info("stopping: committing open transactions")
	if err := w.Close(); err != nil {
		return fmt.Errorf("stopping worker: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}

// loadConfigs reads the worker properties and connector JSON files and
// checks them as validate does, before anything connects. The connector
// configs keep their ${env:…}/${file:…} references (resolved by the
// worker), so the REST API shows them as written.
func loadConfigs(workerPath string, connectorPaths []string) (*worker.WorkerSettings, []connector.Config, error) {
	ws, err := worker.LoadWorkerConfig(workerPath)
	if err != nil {
		return nil, nil, err
	}
	var conns []connector.Config
	var errs []error
	for _, p := range connectorPaths {
		c, err := loadConnector(p, ws.TopicPrefix)
		if err == nil {
			_, _, err = worker.CheckConnectorConfig(plugins(), c)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("connector config %s:\n%w", p, err))
			continue
		}
		conns = append(conns, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return ws, conns, nil
}

// startREST starts the worker's REST API and metrics. The worker is ready
// once every connector of the command line started and while no task is
// FAILED.
func startREST(ws *worker.WorkerSettings, w *worker.Worker, mets *metrics.Metrics, started *atomic.Bool, log *zap.Logger) (*rest.Server, error) {
	version, commit := rest.BuildInfo()
	var defaults connector.Config
	if ws.TopicPrefix != "" {
		defaults = connector.Config{connector.KeyTopicPrefix: ws.TopicPrefix}
	}
	return rest.Launch(ws.REST, rest.Options{
		Worker: w, Version: version, Commit: commit, Defaults: defaults, Metrics: mets.Handler(), Logger: log.Named("rest"),
		Ready: func() error {
			if !started.Load() {
				return errors.New("worker is starting")
			}
			for _, st := range w.Statuses() {
				for _, t := range st.Tasks {
					if t.State == worker.StateFailed {
						return fmt.Errorf("connector %s task %d is FAILED: %s", st.Name, t.ID, t.Trace)
					}
				}
			}
			return nil
		},
	})
}
