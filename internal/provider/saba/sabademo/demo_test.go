package sabademo

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/saba"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"go.uber.org/zap/zaptest"
)

// TestDemo runs the demo with the saba source alone on kfake: it must
// finish, check everything, and show that every kind of fault happened.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	d := &Demo{Updates: 1500, Rate: 500}
	err := demo.Run(context.Background(), zaptest.NewLogger(t), demo.Options{
		Plugins: connector.NewPlugins(saba.Plugin()),
		Sources: []demo.Source{d},
		Timeout: 60 * time.Second, Out: &out,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Log(out.String())
	for _, want := range []string{
		"sportsconnect.saba.events: ", "sportsconnect.saba.markets: ", "sportsconnect.saba.dlq: ",
		"stream GetEvents $filter=sporttype eq 1: ", "stream GetMarkets: ",
		"first 2 records of sportsconnect.saba.events, decoded:", `"op":"`,
		"sportsconnect.live.events and sportsconnect.live.matches: ", "normalized SCORE_CHANGE: saba:sport-1:",
		"all 1 connectors checked",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	m := regexp.MustCompile(`faults survived: (\d+) stream cuts and 1 token revocation \((\d+) logins, (\d+) Last-Event-Id replays\), (\d+) repeated frames dropped, (\d+) malformed`).
		FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no faults line")
	}
	for i, what := range []string{"", "cuts", "logins", "replays", "repeated frames", "malformed messages"} {
		min := 1
		switch what {
		case "":
			continue
		case "cuts", "logins", "replays":
			min = 4 // two cuts of two streams; a login per task and after the revocation
		}
		if n, _ := strconv.Atoi(m[i]); n < min {
			t.Errorf("%s %d, want at least %d", what, n, min)
		}
	}
}
