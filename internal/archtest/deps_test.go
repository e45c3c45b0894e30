// Package archtest checks the layering the README's architecture section
// draws: the SDK and the production providers import no fake broker, no
// fake registry, no simulator, no demo and no benchmark code, so none of
// it ships in what a user runs except through the demo command.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden says why a package may not be in a production import graph.
func forbidden(pkg string) string {
	const mod = "github.com/seed-474f70f7/sportsconnect/"
	switch {
	case strings.HasPrefix(pkg, "github.com/twmb/franz-go/pkg/kfake"):
		return "the in-process fake Kafka"
	case strings.HasPrefix(pkg, "github.com/twmb/franz-go/pkg/sr/srfake"):
		return "the in-process fake registry"
	case !strings.HasPrefix(pkg, mod):
		return ""
	}
	rel := strings.TrimPrefix(pkg, mod)
	switch {
	case strings.HasSuffix(rel, "sim"), strings.Contains(rel, "sim/"):
		return "a provider simulator"
	case strings.HasSuffix(rel, "demo"), strings.HasPrefix(rel, "internal/demo"):
		return "demo code"
	case strings.HasPrefix(rel, "internal/bench"):
		return "benchmark code"
	case rel == "internal/simcmd":
		return "the simulator command scaffold"
	case rel == "internal/embedded", rel == "internal/eoscheck", rel == "internal/testenv", rel == "internal/synthetic":
		return "test, demo or benchmark support"
	}
	return ""
}

// TestProductionImportGraphs runs go list -deps on each production package
// and fails on anything forbidden in it.
func TestProductionImportGraphs(t *testing.T) {
	for _, pkg := range []string{
		"github.com/seed-474f70f7/sportsconnect/connector",
		"github.com/seed-474f70f7/sportsconnect/internal/worker",
		"github.com/seed-474f70f7/sportsconnect/internal/rest",
		"github.com/seed-474f70f7/sportsconnect/internal/cluster",
		"github.com/seed-474f70f7/sportsconnect/internal/distributed",
		"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena",
		"github.com/seed-474f70f7/sportsconnect/internal/provider/saba",
		"github.com/seed-474f70f7/sportsconnect/internal/provider/roanuz",
	} {
		t.Run(pkg[strings.LastIndex(pkg, "/")+1:], func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
			}
			var bad []string
			for _, dep := range strings.Fields(string(out)) {
				if why := forbidden(dep); why != "" {
					bad = append(bad, dep+" ("+why+")")
				}
			}
			if len(bad) > 0 {
				t.Fatalf("%s imports, directly or not:\n  %s", pkg, strings.Join(bad, "\n  "))
			}
		})
	}
}

// TestForbidden checks the rule itself on known names.
func TestForbidden(t *testing.T) {
	for pkg, want := range map[string]bool{
		"github.com/twmb/franz-go/pkg/kfake":                                     true,
		"github.com/twmb/franz-go/pkg/sr/srfake":                                 true,
		"github.com/twmb/franz-go/pkg/kgo":                                       false,
		"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabasim":  true,
		"github.com/seed-474f70f7/sportsconnect/internal/provider/saba/sabademo": true,
		"github.com/seed-474f70f7/sportsconnect/internal/provider/saba":          false,
		"github.com/seed-474f70f7/sportsconnect/internal/demo":                   true,
		"github.com/seed-474f70f7/sportsconnect/internal/bench":                  true,
		"github.com/seed-474f70f7/sportsconnect/internal/embedded":               true,
		"github.com/seed-474f70f7/sportsconnect/internal/sse":                    false,
		"github.com/seed-474f70f7/sportsconnect/internal/simcmd":                 true,
		"github.com/seed-474f70f7/sportsconnect/internal/socketio":               false,
	} {
		if got := forbidden(pkg) != ""; got != want {
			t.Errorf("forbidden(%s) = %v, want %v", pkg, got, want)
		}
	}
}

// TestBinaryLinksNoTestCode: the production binary may link kfake through
// its demo command, but never the testing package or test helpers (a
// driver or helper left in a non-test file pulls them in).
func TestBinaryLinksNoTestCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/seed-474f70f7/sportsconnect/cmd/sportsconnect").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var bad []string
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == "testing", strings.HasSuffix(dep, "/zaptest"),
			strings.HasSuffix(dep, "/internal/testenv"), strings.HasSuffix(dep, "/internal/connectortest"):
			bad = append(bad, dep)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("cmd/sportsconnect links test code: %v", bad)
	}
}
