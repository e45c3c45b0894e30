package imgarenademo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/demo"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"go.uber.org/zap/zaptest"
)

var _ demo.Source = (*DemoSource)(nil)

func TestDemoSource(t *testing.T) {
	var out bytes.Buffer
	err := demo.Run(context.Background(), zaptest.NewLogger(t), demo.Options{
		Plugins: connector.NewPlugins(imgarena.Plugin()),
		Sources: []demo.Source{&DemoSource{Fixtures: 3, Events: 120}},
		Timeout: 60 * time.Second, Out: &out,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "3 fixtures x 120 actions, each position exactly once, in order") {
		t.Fatalf("output:\n%s", out.String())
	}
}
