package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/distributed"
	"github.com/seed-474f70f7/sportsconnect/internal/metrics"
	"github.com/seed-474f70f7/sportsconnect/internal/rest"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"go.uber.org/zap"
)

// runDistributed runs one worker of a distributed cluster until ctx ends.
// The REST listener is bound first: its address is the worker's id, and
// the URL the other workers forward requests to.
func runDistributed(ctx context.Context, ws *worker.WorkerSettings, log *zap.Logger) error {
	if ws.REST.Addr == "" {
		return fmt.Errorf("%w: distributed mode needs the REST API (listeners): the workers forward requests to each other", errUsage)
	}
	ln, err := net.Listen("tcp", ws.REST.Addr)
	if err != nil {
		return fmt.Errorf("REST API: listening on %s: %w", ws.REST.Addr, err)
	}
	workerID, url := advertised(ws.Distributed, ln.Addr().(*net.TCPAddr))
	src, err := ws.RegistryClient()
	if err != nil {
		ln.Close()
		return err
	}
	mets := metrics.New(nil)
	var h *distributed.Herder
	w, err := worker.New(plugins(), append(ws.Options,
		worker.WithSerializer(avroreg.NewSerializer(src)), worker.WithLogger(log), worker.WithObserver(mets),
		worker.WithoutPresence(), worker.WithClusterTaskIDs(func() map[string]bool { return h.ClusterTaskIDs() }))...)
	if err != nil {
		ln.Close()
		return err
	}
	mets.SetSource(w)
	d := ws.Distributed
	h, err = distributed.New(distributed.Options{
		Worker: w, Kafka: ws.Kafka, Group: ws.Config.String(worker.WKeyGroupID),
		ConfigTopic: d.ConfigTopic, StatusTopic: d.StatusTopic, StatusPartitions: d.StatusPartitions,
		ConfigReplication: d.ConfigReplication, StatusReplication: d.StatusReplication,
		URL: url, WorkerID: workerID,
		SessionTimeout: d.SessionTimeout, HeartbeatInterval: d.HeartbeatInterval, RebalanceTimeout: d.RebalanceTimeout,
		Metrics: mets, Logger: log,
	})
	if err != nil {
		ln.Close()
		return err
	}
	version, commit := rest.BuildInfo()
	var defaults connector.Config
	if ws.TopicPrefix != "" {
		defaults = connector.Config{connector.KeyTopicPrefix: ws.TopicPrefix}
	}
	api := rest.New(rest.Options{Worker: h, WorkerID: workerID, Version: version, Commit: commit, AuthToken: ws.REST.AuthToken,
		Defaults: defaults, Metrics: mets.Handler(), Logger: log.Named("rest"), Ready: h.Ready})
	if err := w.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("starting worker: %w", err)
	}
	// Requests wait in the listener's backlog until the herder has read
	// the config topic: no answer is ever given from an empty view.
	if err := h.Open(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("starting the distributed herder: %w", err)
	}
	api.Serve(ln)
	defer api.Shutdown(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit
	log.Info("distributed worker starting; SIGTERM or SIGINT hands its tasks over after committing",
		zap.String("worker_id", workerID), zap.String("url", url))
	err = h.Run(ctx)
	if cerr := w.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("stopping worker: %w", cerr))
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

// advertised returns the worker id (host:port) and REST URL other workers
// use: rest.advertised.* where set, else the bound listener (a wildcard
// host becomes this machine's name).
func advertised(d worker.DistributedSettings, bound *net.TCPAddr) (id, url string) {
	host := d.AdvertisedHost
	if host == "" {
		host = bound.IP.String()
		if bound.IP.IsUnspecified() {
			host = hostname()
		}
	}
	port := bound.Port
	if d.AdvertisedPort > 0 {
		port = d.AdvertisedPort
	}
	id = net.JoinHostPort(host, strconv.Itoa(port))
	return id, d.AdvertisedScheme + "://" + id
}

func hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}
