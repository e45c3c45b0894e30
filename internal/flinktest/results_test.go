package flinktest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/seed-474f70f7/sportsconnect/internal/avroreg"
	"github.com/seed-474f70f7/sportsconnect/internal/readback"
)

// inputEvent is a committed live.events record as read back.
type inputEvent struct {
	Event
	Partition int32
	Offset    int64
}

// readInput reads every committed record of topic (read_committed, up to
// its current end) and decodes it through the registry.
func readInput(ctx context.Context, opts []kgo.Opt, registry, topic string) ([]inputEvent, error) {
	src, err := sr.NewClient(sr.URLs(registry))
	if err != nil {
		return nil, err
	}
	dec := avroreg.NewDecoder(src)
	var out []inputEvent
	err = readback.Committed(ctx, opts, []string{topic}, func(r *kgo.Record) error {
		var e Event
		if err := dec.Decode(ctx, r.Value, &e); err != nil {
			return fmt.Errorf("%s/%d@%d: %w", r.Topic, r.Partition, r.Offset, err)
		}
		if string(r.Key) != e.MatchID {
			return fmt.Errorf("%s/%d@%d: key %q, match_id %q", r.Topic, r.Partition, r.Offset, r.Key, e.MatchID)
		}
		out = append(out, inputEvent{Event: e, Partition: r.Partition, Offset: r.Offset})
		return nil
	})
	return out, err
}

// scoreRow is a row of match_scores (JSON).
type scoreRow struct {
	MatchID      string  `json:"match_id"`
	Home         *int32  `json:"home"`
	Away         *int32  `json:"away"`
	Summary      *string `json:"summary"`
	Kind         string  `json:"kind"`
	EventTime    *string `json:"event_time"`
	ReceivedAt   string  `json:"received_at"`
	Position     string  `json:"position"`
	SrcPartition int32   `json:"src_partition"`
	SrcOffset    int64   `json:"src_offset"`
}

// minuteRow is a row of match_events_per_minute (JSON).
type minuteRow struct {
	MatchID      string `json:"match_id"`
	MinuteStart  string `json:"minute_start"`
	MinuteEnd    string `json:"minute_end"`
	Events       int64  `json:"events"`
	SrcPartition int32  `json:"src_partition"`
	FirstOffset  int64  `json:"first_offset"`
	LastOffset   int64  `json:"last_offset"`
}

// results is what the job wrote: its two sinks' committed rows.
type results struct {
	scores  []scoreRow
	minutes []minuteRow
}

// sinkPos is, per sink partition, the offset after the last committed row
// read: rows at or above it were written later.
type sinkPos map[string]map[int32]int64

// readResults reads the committed rows of both sinks whose offsets are at
// or above from (nil: all), and returns them with the position after the
// last one read.
func readResults(ctx context.Context, opts []kgo.Opt, scoresTopic, minutesTopic string, from sinkPos) (results, sinkPos, error) {
	var res results
	pos := sinkPos{scoresTopic: {}, minutesTopic: {}}
	for t, ps := range from {
		for p, o := range ps {
			pos[t][p] = o
		}
	}
	err := readback.Committed(ctx, opts, []string{scoresTopic, minutesTopic}, func(r *kgo.Record) error {
		if r.Offset < from[r.Topic][r.Partition] {
			return nil
		}
		pos[r.Topic][r.Partition] = r.Offset + 1
		var err error
		var key string
		switch r.Topic {
		case scoresTopic:
			var row scoreRow
			err = json.Unmarshal(r.Value, &row)
			res.scores = append(res.scores, row)
			key = row.MatchID
		default:
			var row minuteRow
			err = json.Unmarshal(r.Value, &row)
			res.minutes = append(res.minutes, row)
			key = row.MatchID
		}
		if err != nil {
			return fmt.Errorf("%s/%d@%d: %w: %s", r.Topic, r.Partition, r.Offset, err, r.Value)
		}
		if string(r.Key) != key {
			return fmt.Errorf("%s/%d@%d: key %q, match_id %q", r.Topic, r.Partition, r.Offset, r.Key, key)
		}
		return nil
	})
	return res, pos, err
}

// minuteKey names one match's minute of received_at.
type minuteKey struct {
	match  string
	minute time.Time
}

func (k minuteKey) String() string { return k.match + "@" + k.minute.Format("15:04") }

// minuteCount is the expected row of one minuteKey.
type minuteCount struct {
	events      int64
	partition   int32
	first, last int64
}

// expectation is what the job must compute from a set of input events.
type expectation struct {
	events  int
	minutes map[minuteKey]minuteCount
	scored  map[[2]int64]inputEvent // by (partition, offset): every event with a score
	latest  map[string]inputEvent   // per match: its last event with a score
}

// expect computes the results directly from the input events for which
// in(partition, offset) holds (nil: all).
func expect(input []inputEvent, in func(p int32, o int64) bool) expectation {
	x := expectation{minutes: map[minuteKey]minuteCount{}, scored: map[[2]int64]inputEvent{}, latest: map[string]inputEvent{}}
	for _, e := range input {
		if in != nil && !in(e.Partition, e.Offset) {
			continue
		}
		x.events++
		k := minuteKey{e.MatchID, e.ReceivedAt.UTC().Truncate(time.Minute)}
		c, ok := x.minutes[k]
		if !ok {
			c = minuteCount{partition: e.Partition, first: e.Offset, last: e.Offset}
		}
		c.events++
		c.first, c.last = min(c.first, e.Offset), max(c.last, e.Offset)
		x.minutes[k] = c
		if e.Score != nil {
			x.scored[[2]int64{int64(e.Partition), e.Offset}] = e
			if l, ok := x.latest[e.MatchID]; !ok || e.Offset > l.Offset {
				x.latest[e.MatchID] = e
			}
		}
	}
	return x
}

// parseTS parses Flink's ISO-8601 TIMESTAMP(3) (UTC, no zone).
func parseTS(s string) (time.Time, error) {
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

// checkRun checks the rows of one run against the events it must have
// processed, row by row: each (match, minute) exactly once with the right
// count and offsets, each scored event exactly once with its score.
func checkRun(x expectation, got results) []string {
	var errs []string
	seen := map[minuteKey]bool{}
	var total int64
	for _, r := range got.minutes {
		ts, err := parseTS(r.MinuteStart)
		if err != nil {
			errs = append(errs, fmt.Sprintf("minute row %+v: %v", r, err))
			continue
		}
		k := minuteKey{r.MatchID, ts}
		total += r.Events
		if seen[k] {
			errs = append(errs, fmt.Sprintf("%v: a second row in one run (%d events)", k, r.Events))
		}
		seen[k] = true
		want, ok := x.minutes[k]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("%v: %d events, want none", k, r.Events))
		case want.events != r.Events || want.first != r.FirstOffset || want.last != r.LastOffset || want.partition != r.SrcPartition:
			errs = append(errs, fmt.Sprintf("%v: %d events (partition %d offsets %d..%d), want %d (partition %d offsets %d..%d)",
				k, r.Events, r.SrcPartition, r.FirstOffset, r.LastOffset, want.events, want.partition, want.first, want.last))
		}
	}
	for k, want := range x.minutes {
		if !seen[k] {
			errs = append(errs, fmt.Sprintf("%v: no row, want %d events", k, want.events))
		}
	}
	if total != int64(x.events) {
		errs = append(errs, fmt.Sprintf("per-minute rows count %d events, want %d", total, x.events))
	}
	errs = append(errs, checkScores(x, got.scores)...)
	return errs
}

// checkScores checks score rows: each scored event exactly once, as it was.
func checkScores(x expectation, rows []scoreRow) []string {
	var errs []string
	seen := map[[2]int64]int{}
	for _, r := range rows {
		k := [2]int64{int64(r.SrcPartition), r.SrcOffset}
		seen[k]++
		e, ok := x.scored[k]
		if !ok {
			errs = append(errs, fmt.Sprintf("score row for %d@%d (%s), which is no expected scored event", r.SrcPartition, r.SrcOffset, r.MatchID))
			continue
		}
		if d := diffScore(e, r); d != "" {
			errs = append(errs, fmt.Sprintf("score row %d@%d: %s", r.SrcPartition, r.SrcOffset, d))
		}
	}
	for k, n := range seen {
		if n > 1 {
			errs = append(errs, fmt.Sprintf("score of event %d@%d written %d times", k[0], k[1], n))
		}
	}
	for k, e := range x.scored {
		if seen[k] == 0 {
			errs = append(errs, fmt.Sprintf("score of event %d@%d (%s %s) missing", k[0], k[1], e.MatchID, e.Position))
		}
	}
	return errs
}

func diffScore(e inputEvent, r scoreRow) string {
	str := func(p any) string {
		switch v := p.(type) {
		case *int32:
			if v == nil {
				return "null"
			}
			return fmt.Sprint(*v)
		case *string:
			if v == nil {
				return "null"
			}
			return *v
		}
		return fmt.Sprint(p)
	}
	got := fmt.Sprintf("%s %s %s/%s/%s %s", r.MatchID, r.Kind, str(r.Home), str(r.Away), str(r.Summary), r.Position)
	want := fmt.Sprintf("%s %s %s/%s/%s %s", e.MatchID, e.Kind, str(e.Score.Home), str(e.Score.Away), str(e.Score.Summary), e.Position)
	if got != want {
		return fmt.Sprintf("%q, want %q", got, want)
	}
	if ts, err := parseTS(r.ReceivedAt); err != nil || !ts.Equal(e.ReceivedAt) {
		return fmt.Sprintf("received_at %s, want %s", r.ReceivedAt, e.ReceivedAt.UTC().Format(time.RFC3339Nano))
	}
	return ""
}

// combine is what a reader of the sinks computes from the rows of all
// runs: events per (match, minute) summed over rows (a restart may split
// a minute), and the latest score per match (its row of the highest
// source offset).
type combined struct {
	minutes map[minuteKey]int64
	latest  map[string]scoreRow
	scores  int
}

func combine(runs ...results) combined {
	c := combined{minutes: map[minuteKey]int64{}, latest: map[string]scoreRow{}}
	for _, r := range runs {
		for _, m := range r.minutes {
			ts, _ := parseTS(m.MinuteStart)
			c.minutes[minuteKey{m.MatchID, ts}] += m.Events
		}
		for _, s := range r.scores {
			c.scores++
			if l, ok := c.latest[s.MatchID]; !ok || s.SrcOffset > l.SrcOffset {
				c.latest[s.MatchID] = s
			}
		}
	}
	return c
}

// checkCombined compares what a reader computes from all runs' rows with
// the expectation from the whole input: per (match, minute) counts, the
// number of score rows, and each match's latest score. It returns one
// line per difference, over-counts and misses named as such.
func checkCombined(x expectation, c combined) []string {
	var errs []string
	keys := map[minuteKey]bool{}
	for k := range x.minutes {
		keys[k] = true
	}
	for k := range c.minutes {
		keys[k] = true
	}
	for k := range keys {
		got, want := c.minutes[k], x.minutes[k].events
		switch {
		case got > want:
			errs = append(errs, fmt.Sprintf("%v: %d events, want %d: %d counted twice", k, got, want, got-want))
		case got < want:
			errs = append(errs, fmt.Sprintf("%v: %d events, want %d: %d missed", k, got, want, want-got))
		}
	}
	if c.scores != len(x.scored) {
		errs = append(errs, fmt.Sprintf("%d score rows, want %d (one per scored event)", c.scores, len(x.scored)))
	}
	for m, want := range x.latest {
		got, ok := c.latest[m]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: no score, want %s", m, fmtScore(want.Score)))
			continue
		}
		if d := diffScore(want, got); d != "" || got.SrcOffset != want.Offset {
			errs = append(errs, fmt.Sprintf("%s: latest score from offset %d, want offset %d: %s", m, got.SrcOffset, want.Offset, d))
		}
	}
	for m := range c.latest {
		if _, ok := x.latest[m]; !ok {
			errs = append(errs, fmt.Sprintf("%s: a score, want none", m))
		}
	}
	sort.Strings(errs)
	return errs
}

func fmtScore(s *Score) string {
	if s == nil {
		return "none"
	}
	f := func(v *int32) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprint(*v)
	}
	sum := ""
	if s.Summary != nil {
		sum = " " + *s.Summary
	}
	return f(s.Home) + ":" + f(s.Away) + sum
}

// brief returns at most n of errs, and how many more there were.
func brief(errs []string, n int) string {
	sort.Strings(errs)
	if len(errs) <= n {
		return strings.Join(errs, "\n")
	}
	return strings.Join(errs[:n], "\n") + fmt.Sprintf("\n... and %d more", len(errs)-n)
}
