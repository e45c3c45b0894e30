package distributed

import (
	"context"
	"strings"
	"testing"

	"github.com/seed-474f70f7/sportsconnect/connector"
	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zaptest"
)

// nopSerializer lets a worker be built without a registry: computeTasks
// never encodes.
type nopSerializer struct{ worker.Serializer }

// TestComputeTasksKeepsSecretsAsReferences: the leader splits a connector
// whose token comes from ${env:…}; the task configs it would write to the
// config topic carry the reference, never the token, while the split
// itself used the resolved config.
func TestComputeTasksKeepsSecretsAsReferences(t *testing.T) {
	t.Setenv("IMG_TEST_TOKEN", "s3cret-token-value")
	w, err := worker.New(connector.NewPlugins(imgarena.Plugin()), worker.WithKafka(kgo.SeedBrokers("127.0.0.1:1")),
		worker.WithSerializer(nopSerializer{}))
	if err != nil {
		t.Fatal(err)
	}
	h := &Herder{w: w, log: zaptest.NewLogger(t)}
	raw := map[string]string{"name": "img", "connector.class": imgarena.Class, "tasks.max": "2",
		"imgarena.url": "ws://127.0.0.1:1", "imgarena.auth.token": "${env:IMG_TEST_TOKEN}", "imgarena.fixtures": "f1,f2,f3"}
	tasks, err := h.computeTasks(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 {
		t.Fatalf("%d task configs, want 2", len(tasks))
	}
	for i, tc := range tasks {
		for k, v := range tc {
			if strings.Contains(v, "s3cret") {
				t.Fatalf("task %d: %s holds the resolved secret", i, k)
			}
		}
		if tc["imgarena.auth.token"] != "${env:IMG_TEST_TOKEN}" {
			t.Fatalf("task %d: token %q, want the reference", i, tc["imgarena.auth.token"])
		}
	}
	if tasks[0]["imgarena.fixtures"] != "f1,f3" || tasks[1]["imgarena.fixtures"] != "f2" {
		t.Fatalf("fixtures split %q / %q", tasks[0]["imgarena.fixtures"], tasks[1]["imgarena.fixtures"])
	}
}
