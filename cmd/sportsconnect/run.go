package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/logging"
	"github.com/twmb/franz-go/pkg/sr"
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
     "synthetic.partitions": "8", "synthetic.events.per.partition": "1000"}}`, stderr)
	logFormat := fs.String("log-format", logging.FormatAuto, "log format: auto (console on a terminal, else json), json, console")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
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
	src, err := sr.NewClient(sr.URLs(ws.RegistryURL))
	if err != nil {
		return fmt.Errorf("schema registry client: %w", err)
	}
	w, err := connector.NewWorker(plugins(), append(ws.Options,
		connector.WithSerializer(avroreg.NewSerializer(src)),
		connector.WithLogger(log))...)
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return fmt.Errorf("starting worker: %w", err)
	}
	for _, c := range conns {
		if err := w.AddConnector(ctx, c); err != nil {
			_ = w.Close()
			return err
		}
	}
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

// loadConfigs reads the worker properties and connector JSON files.
func loadConfigs(workerPath string, connectorPaths []string) (*connector.WorkerSettings, []connector.Config, error) {
	f, err := os.Open(workerPath)
	if err != nil {
		return nil, nil, fmt.Errorf("worker config: %w", err)
	}
	raw, err := connector.ParseProperties(f)
	f.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("worker config %s: %w", workerPath, err)
	}
	ws, err := connector.ParseWorkerConfig(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("worker config %s:\n%w", workerPath, err)
	}
	var conns []connector.Config
	var errs []error
	for _, p := range connectorPaths {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("connector config: %w", err))
			continue
		}
		c, err := connector.ParseConnectorJSON(b)
		if err == nil {
			c, err = connector.ResolveRefs(c)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("connector config %s:\n%w", p, err))
			continue
		}
		if _, ok := c[connector.KeyTopicPrefix]; !ok && ws.TopicPrefix != "" {
			c[connector.KeyTopicPrefix] = ws.TopicPrefix
		}
		conns = append(conns, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return ws, conns, nil
}
