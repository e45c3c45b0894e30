package worker

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// Worker settings, with Kafka Connect's names.
const (
	WKeyBootstrap     = "bootstrap.servers"
	WKeyGroupID       = "group.id"
	WKeyOffsetsTopic  = "offset.storage.topic"
	WKeyOffsetsParts  = "offset.storage.partitions"
	WKeyOffsetsRepl   = "offset.storage.replication.factor"
	WKeyRegistryURL   = "schema.registry.url"
	WKeyTopicPrefix   = "topic.prefix"
	WKeyShutdownMs    = "task.shutdown.graceful.timeout.ms"
	WKeyTxnTimeoutMs  = "producer.transaction.timeout.ms"
	WKeyCompression   = "producer.compression.type"
	WKeyListeners     = "listeners"
	WKeyRESTAuthToken = "rest.auth.token"

	// Distributed mode only.
	WKeyConfigTopic      = "config.storage.topic"
	WKeyConfigRepl       = "config.storage.replication.factor"
	WKeyStatusTopic      = "status.storage.topic"
	WKeyStatusParts      = "status.storage.partitions"
	WKeyStatusRepl       = "status.storage.replication.factor"
	WKeySessionMs        = "session.timeout.ms"
	WKeyHeartbeatMs      = "heartbeat.interval.ms"
	WKeyRebalanceMs      = "rebalance.timeout.ms"
	WKeyAdvertisedHost   = "rest.advertised.host.name"
	WKeyAdvertisedPort   = "rest.advertised.port"
	WKeyAdvertisedScheme = "rest.advertised.listener"
)

// WorkerSpec is the spec of a worker's properties file.
func WorkerSpec() connector.ConfigSpec {
	base := connector.ConfigSpec{
		{Name: WKeyBootstrap, Type: connector.TypeList, Required: true, Doc: "host:port of one or more Kafka brokers, comma-separated"},
		{Name: WKeyGroupID, Type: connector.TypeString, Default: "sportsconnect", Doc: "worker group id; first part of every task's transactional.id"},
		{Name: WKeyOffsetsTopic, Type: connector.TypeString, Default: "connect-offsets", Check: connector.CheckTopicName, Doc: "compacted topic holding source offsets in Kafka Connect's format"},
		{Name: WKeyOffsetsParts, Type: connector.TypeInt, Default: "25", Min: connector.Min(1), Doc: "partitions of the offsets topic when it is created"},
		{Name: WKeyOffsetsRepl, Type: connector.TypeInt, Default: "-1", Min: connector.Min(-1), Doc: "replication factor of the offsets topic when created; -1 = broker default"},
		{Name: WKeyRegistryURL, Type: connector.TypeString, Required: true, Check: connector.CheckURL("http", "https"), Doc: "base URL of a Confluent-API schema registry"},
		{Name: WKeyTopicPrefix, Type: connector.TypeString, Default: "", Check: connector.CheckTopicPrefix, Doc: "default topic.prefix of connectors that do not set one"},
		{Name: WKeyShutdownMs, Type: connector.TypeInt, Default: "5000", Min: connector.Min(0), Doc: "how long stopping waits for tasks to commit their open transaction"},
		{Name: WKeyTxnTimeoutMs, Type: connector.TypeInt, Default: "60000", Min: connector.Min(1000), Doc: "transaction.timeout.ms of every task's producer: the broker aborts a transaction open longer; a connector's transaction.boundary.interval.ms may be at most half of it, and it may not exceed the broker's transaction.max.timeout.ms"},
		{Name: WKeyCompression, Type: connector.TypeString, Default: "snappy", Allowed: compressionNames(),
			Doc: "compression of every task's record batches, which the broker stores as they come (its default compression.type=producer): with snappy, 400,000 IMG actions " +
				"took 17 MB of log against 100 MB with none, and none saved no CPU (the broker spent more on the bytes than the connector saved); lz4 took about as much space " +
				"for about 30 MB more memory; zstd and gzip take more CPU for less space"},
		{Name: WKeyListeners, Type: connector.TypeString, Default: "http://127.0.0.1:8083", Doc: "REST API listener, http://host:port; empty turns the API off (and /metrics, /healthz, /readyz with it); a port already in use fails the start"},
		{Name: WKeyRESTAuthToken, Type: connector.TypePassword, Default: "", Doc: "bearer token every REST request must carry (Authorization: Bearer ...); empty = no authentication (the API then should stay bound to 127.0.0.1)"},
		{Name: WKeyConfigTopic, Type: connector.TypeString, Default: "connect-configs", Check: connector.CheckTopicName, Doc: "distributed mode: compacted one-partition topic of connector configs, task configs and target states"},
		{Name: WKeyConfigRepl, Type: connector.TypeInt, Default: "-1", Min: connector.Min(-1), Doc: "distributed mode: replication factor of the config topic when created; -1 = broker default"},
		{Name: WKeyStatusTopic, Type: connector.TypeString, Default: "connect-status", Check: connector.CheckTopicName, Doc: "distributed mode: compacted topic of connector and task states"},
		{Name: WKeyStatusParts, Type: connector.TypeInt, Default: "5", Min: connector.Min(1), Doc: "distributed mode: partitions of the status topic when created"},
		{Name: WKeyStatusRepl, Type: connector.TypeInt, Default: "-1", Min: connector.Min(-1), Doc: "distributed mode: replication factor of the status topic when created; -1 = broker default"},
		{Name: WKeySessionMs, Type: connector.TypeInt, Default: "10000", Min: connector.Min(1000), Doc: "distributed mode: a worker silent this long leaves the group and its tasks start elsewhere"},
		{Name: WKeyHeartbeatMs, Type: connector.TypeInt, Default: "3000", Min: connector.Min(100), Doc: "distributed mode: how often a worker tells the group coordinator it is alive"},
		{Name: WKeyRebalanceMs, Type: connector.TypeInt, Default: "60000", Min: connector.Min(1000), Doc: "distributed mode: how long a rebalance waits for every worker to rejoin"},
		{Name: WKeyAdvertisedHost, Type: connector.TypeString, Default: "", Doc: "distributed mode: host name the other workers reach this one's REST API at (default: the listener's host)"},
		{Name: WKeyAdvertisedPort, Type: connector.TypeInt, Default: "0", Min: connector.Min(0), Doc: "distributed mode: port the other workers reach this one's REST API at (default: the listener's port)"},
		{Name: WKeyAdvertisedScheme, Type: connector.TypeString, Default: "http", Allowed: []string{"http", "https"}, Doc: "distributed mode: scheme of the advertised REST URL"},
	}
	return base.Merge(kafkaSecuritySpec(), registrySpec())
}

// WorkerSettings is a parsed worker config: everything a worker process
// needs, REST API included, from one file.
type WorkerSettings struct {
	Config      connector.Config // validated, defaults applied
	RegistryURL string
	TopicPrefix string
	REST        RESTSettings
	Distributed DistributedSettings
	Options     []Option
	Kafka       []kgo.Opt
	// Registry holds the schema registry's credentials and TLS
	// settings; RegistryClient applies them.
	Registry []sr.ClientOpt
}

// LoadWorkerConfig reads a worker properties file and parses it with
// ParseWorkerConfig.
func LoadWorkerConfig(path string) (*WorkerSettings, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	defer f.Close()
	raw, err := ParseProperties(f)
	if err != nil {
		return nil, fmt.Errorf("worker config %s: %w", path, err)
	}
	ws, err := ParseWorkerConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("worker config %s:\n%w", path, err)
	}
	return ws, nil
}

// ParseWorkerConfig validates a worker config (after resolving ${env:…} and
// ${file:…} references) and turns it into worker options and REST
// settings. Every problem is reported at once, as ConfigErrors: a
// reference that does not resolve, beside whatever else is wrong.
func ParseWorkerConfig(raw connector.Config) (*WorkerSettings, error) {
	spec := WorkerSpec()
	resolved, refErrs := resolvePartial(raw)
	cfg, err := spec.Validate(resolved)
	var all connector.ConfigErrors
	if err != nil && !errors.As(err, &all) {
		return nil, err
	}
	withDefaults := spec.WithDefaults(resolved)
	addr, lerr := parseListener(withDefaults[WKeyListeners])
	if lerr != nil {
		all = append(all, lerr)
	}
	// The TLS and SASL settings are read further (files, credentials)
	// unless they already have a problem.
	known := append(append(connector.ConfigErrors{}, all...), refErrs...)
	ok := func(keys ...string) bool { return !hasProblem(known, keys...) }
	kafka, inherited, kes := kafkaOpts(withDefaults, ok)
	all = append(all, kes...)
	registry, res := registryOpts(withDefaults, ok, inherited)
	all = append(all, res...)
	if len(all) > 0 || len(refErrs) > 0 {
		sortProblems(all)
		return nil, withRefProblems(refErrs, all)
	}
	ws := &WorkerSettings{
		Config:      cfg,
		RegistryURL: cfg.String(WKeyRegistryURL),
		TopicPrefix: cfg.String(WKeyTopicPrefix),
		REST:        RESTSettings{Addr: addr, AuthToken: cfg.String(WKeyRESTAuthToken)},
		Kafka:       kafka,
		Registry:    registry,
		Distributed: DistributedSettings{
			ConfigTopic: cfg.String(WKeyConfigTopic), ConfigReplication: int16(cfg.Int(WKeyConfigRepl)),
			StatusTopic: cfg.String(WKeyStatusTopic), StatusPartitions: int32(cfg.Int(WKeyStatusParts)),
			StatusReplication: int16(cfg.Int(WKeyStatusRepl)),
			SessionTimeout:    time.Duration(cfg.Int(WKeySessionMs)) * time.Millisecond,
			HeartbeatInterval: time.Duration(cfg.Int(WKeyHeartbeatMs)) * time.Millisecond,
			RebalanceTimeout:  time.Duration(cfg.Int(WKeyRebalanceMs)) * time.Millisecond,
			AdvertisedHost:    cfg.String(WKeyAdvertisedHost), AdvertisedPort: int(cfg.Int(WKeyAdvertisedPort)),
			AdvertisedScheme: cfg.String(WKeyAdvertisedScheme),
		},
	}
	ws.Options = []Option{
		WithKafka(kafka...),
		WithGroupID(cfg.String(WKeyGroupID)),
		WithOffsetsTopic(cfg.String(WKeyOffsetsTopic), int32(cfg.Int(WKeyOffsetsParts)), int16(cfg.Int(WKeyOffsetsRepl))),
		WithShutdownTimeout(time.Duration(cfg.Int(WKeyShutdownMs)) * time.Millisecond),
		WithTransactionTimeout(time.Duration(cfg.Int(WKeyTxnTimeoutMs)) * time.Millisecond),
		WithProducerOpts(kgo.ProducerBatchCompression(compressionCodec(cfg.String(WKeyCompression)))),
	}
	return ws, nil
}

// compressionNames are the values of producer.compression.type, Kafka's
// names.
func compressionNames() []string { return []string{"gzip", "lz4", "none", "snappy", "zstd"} }

// compressionCodec is the codec of a validated producer.compression.type.
func compressionCodec(name string) kgo.CompressionCodec {
	switch name {
	case "none":
		return kgo.NoCompression()
	case "gzip":
		return kgo.GzipCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	return kgo.SnappyCompression()
}

// hasProblem reports whether any of keys has a problem in errs.
func hasProblem(errs connector.ConfigErrors, keys ...string) bool {
	for _, e := range errs {
		for _, k := range keys {
			if e.Key == k {
				return true
			}
		}
	}
	return false
}

// DistributedSettings are the settings only distributed mode reads.
type DistributedSettings struct {
	ConfigTopic       string
	ConfigReplication int16
	StatusTopic       string
	StatusPartitions  int32
	StatusReplication int16
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	// AdvertisedHost and AdvertisedPort override the REST listener's
	// host and port in the URL other workers forward requests to.
	AdvertisedHost   string
	AdvertisedPort   int
	AdvertisedScheme string
}
