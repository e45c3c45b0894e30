package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v2"
)

// promtoolVersion is the Prometheus release whose promtool checks the
// rules, built through the Go module proxy. The first build takes minutes
// (Prometheus is a large module); later runs reuse Go's build cache.
const promtoolVersion = "v0.316.0"

// rule is one alerting rule.
type rule struct {
	Alert         string            `yaml:"alert"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for"`
	KeepFiringFor string            `yaml:"keep_firing_for"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

// loadRules reads the rules of group sportsconnect in
// deploy/prometheus/alerts.yml (strictly: an unknown key fails).
func loadRules(t *testing.T) []rule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name     string `yaml:"name"`
			Interval string `yaml:"interval"`
			Rules    []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.UnmarshalStrict(b, &f); err != nil {
		t.Fatalf("deploy/prometheus/alerts.yml: %v", err)
	}
	if len(f.Groups) != 1 || f.Groups[0].Name != "sportsconnect" {
		t.Fatalf("deploy/prometheus/alerts.yml: want one group named sportsconnect, have %d", len(f.Groups))
	}
	return f.Groups[0].Rules
}

// TestAlertRulesShape checks what promtool does not: each rule is an alert
// with a severity an on-call rotation routes on, a summary, a description
// and a runbook hint; names are unique; and the alerts the issue asks for
// are there.
func TestAlertRulesShape(t *testing.T) {
	rules := loadRules(t)
	names := map[string]bool{}
	for _, r := range rules {
		if r.Alert == "" || !strings.HasPrefix(r.Alert, "Sportsconnect") {
			t.Errorf("rule %q: an alert named Sportsconnect…, please (recording rules belong elsewhere)", r.Alert)
		}
		if names[r.Alert] {
			t.Errorf("alert %s defined twice", r.Alert)
		}
		names[r.Alert] = true
		switch r.Labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("alert %s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
		}
		for _, a := range []string{"summary", "description", "runbook"} {
			if len(strings.Fields(r.Annotations[a])) < 4 {
				t.Errorf("alert %s: annotation %s is missing or too short: %q", r.Alert, a, r.Annotations[a])
			}
		}
		if r.For != "" {
			if _, err := time.ParseDuration(r.For); err != nil {
				t.Errorf("alert %s: for %q: %v", r.Alert, r.For, err)
			}
		}
	}
	for _, want := range []string{
		"SportsconnectTaskFailed", "SportsconnectOffsetCommitStalled", "SportsconnectProviderReconnectStorm",
		"SportsconnectDeadLettersRising", "SportsconnectFixtureSilent", "SportsconnectTransactionsAborting",
		"SportsconnectRebalanceStorm",
	} {
		if !names[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

// promtool runs promtool (go run …/cmd/promtool@promtoolVersion) in dir
// and returns its output. It fails the test when promtool cannot be had.
func promtool(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("go", append([]string{"run", "github.com/prometheus/prometheus/cmd/promtool@" + promtoolVersion}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("promtool %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil && (strings.HasPrefix(string(out), "go: ") || strings.Contains(string(out), "\ngo: ") || strings.HasPrefix(string(out), "# ")) {
		t.Fatalf("promtool %s could not be built through the Go module proxy: %v\n%s", promtoolVersion, err, out)
	}
	return string(out), err
}

// TestPromtoolCheckRules: promtool parses every rule, its PromQL and its
// templates, and finds no lint problem.
func TestPromtoolCheckRules(t *testing.T) {
	out, err := promtool(t, filepath.Join(deployDir, "prometheus"), "check", "rules", "--lint=all", "--lint-fatal", "alerts.yml")
	if err != nil || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if n := len(loadRules(t)); !strings.Contains(out, "SUCCESS: "+strconv.Itoa(n)+" rules found") {
		t.Errorf("promtool did not find the %d rules:\n%s", n, out)
	}
}

// TestPromtoolTestRules runs deploy/prometheus/alerts_test.yml: the alerts
// it covers fire on made-up series when they should, with the expected
// labels and rendered annotations, and stay quiet when they should not.
func TestPromtoolTestRules(t *testing.T) {
	out, err := promtool(t, filepath.Join(deployDir, "prometheus"), "test", "rules", "alerts_test.yml")
	if err != nil || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// TestPromtoolTestRulesCanFail runs the same unit tests against the rules
// with SportsconnectFixtureSilent's guard removed (the "and on (...)" that
// keeps only fixtures whose series is still exported): promtool must then
// report the finished fixture firing, which shows the unit tests look.
func TestPromtoolTestRulesCanFail(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(deployDir, "prometheus")
	rules, err := os.ReadFile(filepath.Join(src, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile(filepath.Join(src, "alerts_test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	const guard = "\n          and on (job, instance, connector, task, fixture)\n            sportsconnect_provider_commit_lag_seconds_count\n"
	if strings.Count(string(rules), guard) != 1 {
		t.Fatalf("alerts.yml: SportsconnectFixtureSilent's guard is not written as this test expects:%s", guard)
	}
	unguarded := strings.Replace(string(rules), guard, "\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), []byte(unguarded), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yml"), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := promtool(t, dir, "test", "rules", "alerts_test.yml")
	if err == nil || !strings.Contains(out, `fixture="f3"`) {
		t.Fatalf("without its guard SportsconnectFixtureSilent should fire for the finished fixture f3; promtool: %v\n%s", err, out)
	}
}
