package imgarenademo

import (
	"context"
	"fmt"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// ReadActions reads an actions topic from the start to its read_committed
// end and returns each fixture's decoded actions in order.
func ReadActions(ctx context.Context, kafka []kgo.Opt, registry, topic string) (map[string][]imgarena.Action, error) {
	return ReadFixtureRecords(ctx, kafka, registry, topic, func(a *imgarena.Action) string { return a.Fixture })
}

// ReadFixtureRecords reads topic from the start to its read_committed end
// and returns, per fixture, the decoded values in order; each record's key
// must be its fixture.
func ReadFixtureRecords[T any](ctx context.Context, kafka []kgo.Opt, registry, topic string, fixtureOf func(*T) string) (map[string][]T, error) {
	src, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		return nil, err
	}
	dec := avroreg.NewDecoder(src)
	out := map[string][]T{}
	err = readback.Committed(ctx, kafka, []string{topic}, func(r *kgo.Record) error {
		var v T
		if err := dec.Decode(ctx, r.Value, &v); err != nil {
			return fmt.Errorf("decoding %s offset %d: %w", topic, r.Offset, err)
		}
		f := fixtureOf(&v)
		if string(r.Key) != f {
			return fmt.Errorf("%s offset %d: key %q for fixture %s", topic, r.Offset, r.Key, f)
		}
		out[f] = append(out[f], v)
		return nil
	})
	return out, err
}
