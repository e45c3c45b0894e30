package imgarenademo

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/testenv"
)

// TestProcessRun runs a small unpaced feed through the real binary in a
// child process and checks every figure was measured from outside.
func TestProcessRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := ProcessRun(ctx, ProcessOptions{Brokers: testenv.Brokers(t), RegistryURL: testenv.Registry(t), Simulator: []string{testenv.Binary(t)},
		Fixtures: 4, Events: 300, Tasks: 2, TopicPartitions: 3, Prefix: testenv.UniqueName(t, "imgprocess-")})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Records != 1200 || res.Elapsed <= 0 || res.FreshStart <= 0 || res.RestartStart <= 0 || res.FreshStart > res.Elapsed {
		t.Fatalf("implausible times %+v", res)
	}
	// A Go process with a Kafka client holds well over 10 MB and uses CPU
	// (the simulator's 1,200 events may take less than the 10 ms a
	// /proc tick counts).
	if res.PeakRSS < 10<<20 || res.CPU <= 0 || res.SimCPU < 0 || res.MachineCores < 1 || res.MachineBusy <= 0 || res.MachineBusy > 1 {
		t.Fatalf("implausible process figures %+v", res)
	}
	if !strings.Contains(res.String(), "peak RSS") {
		t.Fatalf("report %q", res)
	}
}

// TestStartWorkerChildEnv: the child gets ProcessOptions.Env beside this
// process's environment, and `run` with the two files.
func TestStartWorkerChildEnv(t *testing.T) {
	t.Setenv("SC_TEST_INHERITED", "kept")
	w, err := startWorkerChild([]string{"/bin/sh", "-c", `echo "$SC_TEST_INHERITED $SC_TEST_ADDED $*"`, "sh"}, "w.properties", "c.json", []string{"SC_TEST_ADDED=given"})
	if err != nil {
		t.Fatal(err)
	}
	<-w.done
	if got := strings.TrimSpace(w.logs.String()); got != "kept given run w.properties c.json" {
		t.Fatalf("child printed %q", got)
	}
}
