package roanuzdemo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

func TestDemoSources(t *testing.T) {
	for _, tc := range []struct {
		src  demo.Source
		want []string
	}{
		{&Webhook{}, []string{"exactly once", "dead letters", "acknowledgements lost and sent again", "first 2 records of sportsconnect.roanuz.cricket.ball-updates",
			"sportsconnect.live.events and sportsconnect.live.matches", "one per push"}},
		{&Match{}, []string{"all completed", "every one of the", "followed once", "spoke v3", "first 2 records of sportsconnect.roanuz.cricket.matches",
			"sportsconnect.live.events and sportsconnect.live.matches", "one per ball"}},
	} {
		t.Run(tc.src.Name(), func(t *testing.T) {
			var out bytes.Buffer
			start := time.Now()
			err := demo.Run(context.Background(), zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)), demo.Options{
				Plugins: connector.NewPlugins(roanuz.WebhookPlugin(), roanuz.MatchPlugin()),
				Sources: []demo.Source{tc.src},
				Timeout: 60 * time.Second, Out: &out,
			})
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			for _, w := range append(tc.want, "all 1 connectors checked") {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			t.Logf("%s in %s:\n%s", tc.src.Name(), time.Since(start).Round(time.Millisecond), out.String())
		})
	}
}
