package roanuzdemo

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// demoSettings returns the common settings of cfg with their defaults.
func demoSettings(cfg connector.Config, spec connector.ConfigSpec) (connector.Settings, error) {
	full, err := connector.CommonSpec().Merge(spec).Validate(cfg)
	if err != nil {
		return connector.Settings{}, err
	}
	return connector.ParseSettings(full), nil
}

// freeAddr returns a local address nobody listens on (now).
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// countsText formats counts as "a=1 b=2", sorted.
func countsText(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// backRecord is one record read back.
type backRecord struct {
	key     string
	value   map[string]any // decoded through the registry, if asked
	raw     []byte
	headers map[string]string
}

// readBack reads topic from its start to its last stable offset
// (read_committed), decoding the values through the registry when decode
// is set (not for the dead-letter topic, which holds raw bytes).
func readBack(ctx context.Context, kafka []kgo.Opt, registry, topic string, decode bool) ([]backRecord, error) {
	src, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		return nil, err
	}
	dec := avroreg.NewDecoder(src)
	var out []backRecord
	err = readback.Committed(ctx, kafka, []string{topic}, func(r *kgo.Record) error {
		rec := backRecord{key: string(r.Key), raw: r.Value, headers: map[string]string{}}
		for _, h := range r.Headers {
			rec.headers[h.Key] = string(h.Value)
		}
		if decode {
			if err := dec.Decode(ctx, r.Value, &rec.value); err != nil {
				return fmt.Errorf("%s partition %d offset %d: %w", topic, r.Partition, r.Offset, err)
			}
		}
		out = append(out, rec)
		return nil
	})
	return out, err
}
