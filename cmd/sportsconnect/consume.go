package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// consumeLine is one printed record.
type consumeLine struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Timestamp string            `json:"timestamp"`
	Key       *string           `json:"key"`
	Headers   map[string]string `json:"headers,omitempty"`
	Value     any               `json:"value"`
	// ValueRaw holds a value that is not Confluent-framed Avro (a
	// dead-letter record's provider message, say): as text if it is UTF-8,
	// else in ValueBase64; ValueError says why it was not decoded.
	ValueRaw    *string `json:"value_raw,omitempty"`
	ValueBase64 string  `json:"value_base64,omitempty"`
	ValueError  string  `json:"value_error,omitempty"`
}

func consumeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("consume", "consume [flags] TOPIC", `  sportsconnect consume --worker worker.properties --from earliest --max 10 sportsconnect.synthetic.events
  sportsconnect consume --brokers 127.0.0.1:9092 --registry http://127.0.0.1:8081 --key p3 --end sportsconnect.synthetic.events
  sportsconnect consume --worker worker.properties --from 2026-03-01T12:00:00Z sportsconnect.imgarena.soccer.actions
  sportsconnect consume --worker worker.properties --from committed --group tail-1 sportsconnect.saba.events

  Reads TOPIC read_committed (what a downstream processor sees), decodes each
  value through the schema registry (Confluent wire format) and prints one
  JSON object per record: topic, partition, offset, timestamp, key, headers
  and the decoded value. Values that are not Avro (dead-letter records) are
  printed as value_raw. Runs until interrupted, --max records, or with
  --end the end of the topic as it was when consume started.`, stderr)
	workerPath := fs.String("worker", "", "worker properties file (bootstrap.servers, security, schema.registry.url)")
	brokers := fs.String("brokers", os.Getenv("KAFKA_BOOTSTRAP"), "bootstrap servers, without --worker (default $KAFKA_BOOTSTRAP)")
	registry := fs.String("registry", os.Getenv("SCHEMA_REGISTRY_URL"), "schema registry URL, without --worker (default $SCHEMA_REGISTRY_URL)")
	from := fs.String("from", "earliest", "where to start: earliest, latest, an RFC 3339 time (e.g. 2026-03-01T12:00:00Z), or committed (with --group)")
	group := fs.String("group", "", "consumer group: with --from committed, start at its committed offsets and commit what was printed")
	key := fs.String("key", "", "print only records with this key (a match or fixture id)")
	maxRecs := fs.Int("max", 0, "stop after printing this many records; 0 = no limit")
	end := fs.Bool("end", false, "stop at the end of the topic as it was at the start")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%w: need one TOPIC", errUsage)
	}
	topic := fs.Arg(0)
	var opts []kgo.Opt
	var regOpts []sr.ClientOpt // the registry's credentials and TLS, from --worker
	regURL := *registry
	if *workerPath != "" {
		ws, err := worker.LoadWorkerConfig(*workerPath)
		if err != nil {
			return err
		}
		opts, regURL, regOpts = ws.Kafka, ws.RegistryURL, ws.Registry
	} else {
		if *brokers == "" {
			return fmt.Errorf("%w: need --worker, or --brokers (or $KAFKA_BOOTSTRAP)", errUsage)
		}
		opts = []kgo.Opt{kgo.SeedBrokers(strings.Split(*brokers, ",")...)}
	}
	if regURL == "" {
		return fmt.Errorf("%w: need a schema registry: --registry, $SCHEMA_REGISTRY_URL or schema.registry.url in --worker", errUsage)
	}
	start, err := startOffset(*from, *group)
	if err != nil {
		return err
	}
	src, err := sr.NewClient(append([]sr.ClientOpt{sr.URLs(regURL)}, regOpts...)...)
	if err != nil {
		return fmt.Errorf("schema registry client: %w", err)
	}
	c := &consumer{dec: avroreg.NewDecoder(src), out: json.NewEncoder(stdout), key: *key, max: *maxRecs}
	copts := append(append([]kgo.Opt{}, opts...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(start),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// The Java consumer's fetch.max.wait.ms, not kgo's 5 s: a fetch
		// parked on a caught-up partition is not always answered when a
		// commit marker makes records readable (Kafka 4.1).
		kgo.FetchMaxWait(500*time.Millisecond),
		// Transaction markers come through so --end sees the last offset
		// below the end even when it is a marker; they are not printed.
		kgo.KeepControlRecords(),
	)
	if *group != "" {
		copts = append(copts, kgo.ConsumerGroup(*group), kgo.DisableAutoCommit())
	}
	if *end {
		if c.ends, err = committedEnds(ctx, opts, topic, *from, *group); err != nil {
			return err
		}
		if len(c.ends) == 0 {
			return nil
		}
	}
	cl, err := kgo.NewClient(copts...)
	if err != nil {
		return fmt.Errorf("creating consumer: %w", err)
	}
	defer cl.Close()
	return c.run(ctx, cl, *group != "")
}

// startOffset turns --from into where partitions without a committed
// offset start.
func startOffset(from, group string) (kgo.Offset, error) {
	switch from {
	case "earliest":
		if group != "" {
			return kgo.Offset{}, fmt.Errorf("%w: --group goes with --from committed", errUsage)
		}
		return kgo.NewOffset().AtStart(), nil
	case "latest":
		if group != "" {
			return kgo.Offset{}, fmt.Errorf("%w: --group goes with --from committed", errUsage)
		}
		return kgo.NewOffset().AtEnd(), nil
	case "committed":
		if group == "" {
			return kgo.Offset{}, fmt.Errorf("%w: --from committed needs --group", errUsage)
		}
		return kgo.NewOffset().AtStart(), nil // for partitions the group never committed
	}
	ts, err := time.Parse(time.RFC3339Nano, from)
	if err != nil {
		return kgo.Offset{}, fmt.Errorf("%w: --from %q: expected earliest, latest, committed or an RFC 3339 time like 2026-03-01T12:00:00Z", errUsage, from)
	}
	if group != "" {
		return kgo.Offset{}, fmt.Errorf("%w: --group goes with --from committed", errUsage)
	}
	return kgo.NewOffset().AfterMilli(ts.UnixMilli()), nil
}

// committedEnds returns the read_committed end offset of each partition
// that has records after where consuming starts (so --end never waits for
// a partition already at its end).
func committedEnds(ctx context.Context, opts []kgo.Opt, topic, from, group string) (map[int32]int64, error) {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("listing end offsets of %s: %w", topic, err)
	}
	starts := map[int32]int64{}
	switch from {
	case "earliest":
	case "latest":
		return nil, nil
	case "committed":
		offs, err := adm.FetchOffsetsForTopics(ctx, group, topic)
		if err != nil {
			return nil, fmt.Errorf("fetching group %s's offsets: %w", group, err)
		}
		offs.Each(func(o kadm.OffsetResponse) {
			if o.Err == nil && o.At >= 0 {
				starts[o.Partition] = o.At
			}
		})
	default:
		ts, _ := time.Parse(time.RFC3339Nano, from)
		after, err := adm.ListOffsetsAfterMilli(ctx, ts.UnixMilli(), topic)
		if err != nil {
			return nil, fmt.Errorf("listing offsets of %s after %s: %w", topic, from, err)
		}
		after.Each(func(o kadm.ListedOffset) {
			if o.Err == nil {
				starts[o.Partition] = o.Offset
			}
		})
	}
	out := map[int32]int64{}
	var lerr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			lerr = fmt.Errorf("listing end offsets of %s: %w", topic, o.Err)
		} else if o.Offset > 0 && starts[o.Partition] < o.Offset {
			out[o.Partition] = o.Offset
		}
	})
	return out, lerr
}

// consumer prints records.
type consumer struct {
	dec     *avroreg.Decoder
	out     *json.Encoder
	key     string
	max     int
	printed int
	ends    map[int32]int64 // with --end: partitions still to finish
}

func (c *consumer) run(ctx context.Context, cl *kgo.Client, commit bool) error {
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil // interrupted
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			ferr = errors.Join(ferr, fmt.Errorf("fetching %s/%d: %w", t, p, err))
		})
		if ferr != nil {
			return ferr
		}
		var done []*kgo.Record
		stop := false
		fs.EachRecord(func(r *kgo.Record) {
			if stop {
				return
			}
			if c.ends != nil {
				end, ok := c.ends[r.Partition]
				if !ok || r.Offset >= end {
					return
				}
				if r.Offset == end-1 {
					delete(c.ends, r.Partition)
				}
			}
			done = append(done, r)
			if r.Attrs.IsControl() || (c.key != "" && string(r.Key) != c.key) {
				return
			}
			if err := c.out.Encode(c.line(ctx, r)); err != nil {
				ferr = err
				stop = true
				return
			}
			c.printed++
			if c.max > 0 && c.printed >= c.max {
				stop = true
			}
		})
		if ferr != nil {
			return fmt.Errorf("printing: %w", ferr)
		}
		if commit && len(done) > 0 {
			if err := cl.CommitRecords(ctx, done...); err != nil {
				return fmt.Errorf("committing the group's offsets: %w", err)
			}
		}
		if stop || (c.ends != nil && len(c.ends) == 0) {
			return nil
		}
	}
}

func (c *consumer) line(ctx context.Context, r *kgo.Record) consumeLine {
	l := consumeLine{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UTC().Format(time.RFC3339Nano)}
	if r.Key != nil {
		k := string(r.Key)
		l.Key = &k
	}
	if len(r.Headers) > 0 {
		l.Headers = make(map[string]string, len(r.Headers))
		for _, h := range r.Headers {
			l.Headers[h.Key] = string(h.Value)
		}
	}
	if r.Value == nil {
		return l // tombstone: "value": null
	}
	var v any
	err := errors.New("not Confluent wire format (no magic byte 0)")
	if len(r.Value) > 5 && r.Value[0] == 0 {
		err = c.dec.Decode(ctx, r.Value, &v)
	}
	if err == nil {
		if _, jerr := json.Marshal(v); jerr != nil {
			err = fmt.Errorf("decoded value is not JSON-encodable: %w", jerr)
		}
	}
	if err != nil {
		l.ValueError = err.Error()
		if utf8.Valid(r.Value) {
			s := string(r.Value)
			l.ValueRaw = &s
		} else {
			l.ValueBase64 = base64.StdEncoding.EncodeToString(r.Value)
		}
		return l
	}
	l.Value = v
	return l
}
