package roanuz

import (
	"context"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz/roanuzsim"
)

// TestPushValuesKeepTSMicros posts the webhook document's own examples (a
// Ball push whose ts has microseconds, an Info push with whole seconds)
// and decodes the records written: ts is the push time to the
// millisecond (timestamp-millis), ts_micros keeps every microsecond and
// ts_text the text.
func TestPushValuesKeepTSMicros(t *testing.T) {
	sim := roanuzsim.NewSimulator(roanuzsim.WithMatches("m1"), roanuzsim.WithOvers(1))
	r, url := startWebhook(t, webhookConfigFor(t, nil), nil)
	p := sim.NewPusher(roanuzsim.PushOptions{URL: url, SecretHeader: "X-Roanuz-Secret", Secret: "s3cret-value"})
	ball := `{"sport":"cricket","data_kind":"match-detail-update","data":{"matchkey":"m1","ball":{"ball_key":524352,"over":0,"batting_order":1,"is_delete":false,` +
		`"detail":{"key":"524352","ball_type":"normal","batting_team":"b","comment":"FOUR","innings":"b_1","overs":[0,1],"fielders":[],"wicket":null,` +
		`"non_striker_key":"p2","entry_time":1733148685.812,"ball_play_status":"played","ball_tags":[],"updated_time":1733148685.812,"repr":"b4"}},` +
		`"push_reason":"NewOrLast","match_push_kind":"Ball","ts":1733148686.425609}}`
	info := `{"sport":"cricket","data_kind":"match-detail-update","data":{"matchkey":"m1","ball":null,"push_reason":"Other","match_push_kind":"Info","ts":1733148565}}`
	ctx := context.Background()
	for _, b := range []string{ball, info} {
		if st := p.Post(ctx, []byte(b), false, "s3cret-value"); st != 200 {
			t.Fatalf("push answered %d", st)
		}
	}
	r.close()
	recs := r.records()
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	for _, rec := range recs {
		b, err := avro.Marshal(rec.Schema, rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := avro.Unmarshal(rec.Schema, b, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]struct {
			text   string
			micros int64
		}{"Ball": {"1733148686.425609", 1733148686425609}, "Info": {"1733148565", 1733148565000000}}[got["match_push_kind"].(string)]
		ts, _ := got["ts"].(time.Time)
		if got["ts_text"] != want.text || got["ts_micros"] != want.micros || !ts.Equal(time.UnixMicro(want.micros).Truncate(time.Millisecond)) {
			t.Fatalf("%s push decoded ts %v, ts_micros %v, ts_text %v; want %d µs, %q", got["match_push_kind"], ts, got["ts_micros"], got["ts_text"], want.micros, want.text)
		}
		if got["match_push_kind"] == "Ball" {
			var bu BallUpdate
			if err := avro.Unmarshal(rec.Schema, b, &bu); err != nil {
				t.Fatal(err)
			}
			if bu.TSMicros != want.micros || bu.Detail == nil || bu.Detail.UpdatedTime == nil || !bu.Detail.UpdatedTime.Equal(time.UnixMilli(1733148685812)) {
				t.Fatalf("ball update decoded ts_micros %d, detail %+v", bu.TSMicros, bu.Detail)
			}
		}
	}
}
