package imgarenademo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/provider/imgarena/imgarenasim"
	"github.com/seed-474f70f7/sportsconnect/internal/worker"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ProcessOptions configure ProcessRun.
type ProcessOptions struct {
	Brokers     []string
	RegistryURL string
	// Binary is the sportsconnect command whose `run` is measured; empty:
	// Simulator's. An older build here measures it on the same feed.
	Binary []string
	// Simulator is the sportsconnect command whose `simulate imgarena`
	// serves the feed; empty: this executable, as under `sportsconnect bench`.
	Simulator       []string
	Fixtures        int    // unpaced fixtures (20)
	Events          int    // events per fixture (5000)
	Tasks           int    // tasks.max (4)
	TopicPartitions int    // partitions of the topics the worker creates (6)
	Prefix          string // unique topic, group and connector prefix
	// Extra are more connector settings (live.events.enabled=false, ...).
	Extra map[string]string
	// Label names the run in its report line; empty: the command's.
	Label string
	// BrokerPID is the broker's process when it runs on this machine
	// (make bench: $KAFKA_PID), whose CPU the run then reports; 0: unknown.
	BrokerPID int
	// Env is more environment of the connector's process (NAME=value):
	// GOMAXPROCS=1 gives it one CPU, as a one-CPU container limit does.
	Env []string
}

// ProcessResult is one unpaced run of the real binary, measured from outside.
type ProcessResult struct {
	Build          string // what ran: "this build", or the baseline's path
	Records        int
	Elapsed        time.Duration // process start to every record committed
	FreshStart     time.Duration // process start to the first task started (fresh topics)
	RestartStart   time.Duration // the same for a second process on the same connector (existing topics)
	CPU            time.Duration // the connector process's user+system time
	PeakRSS        int64         // its VmHWM
	SimCPU         time.Duration // the simulator process's
	BrokerCPU      time.Duration // the broker process's (0: unknown)
	MachineBusy    float64       // share of all cores busy over the run (0 where unknown)
	MachineCores   int
	ConnectorCores float64
}

func (r ProcessResult) String() string {
	return fmt.Sprintf("imgarena unpaced, %s in its own process: %d records in %s = %.0f records/s (%.0f from the first task started), CPU %.2f cores (%.2f s per 100k), peak RSS %.0f MB; "+
		"simulator %.2f cores;%s machine %.0f%% busy on %d cores; process start to first task: %s fresh, %s restart",
		r.Build, r.Records, r.Elapsed.Round(10*time.Millisecond), r.RecordsPerSec(), r.RunningRecordsPerSec(), r.ConnectorCores,
		r.CPUPer100k().Seconds(), float64(r.PeakRSS)/(1<<20), r.SimCPU.Seconds()/r.Elapsed.Seconds(), r.brokerText(),
		100*r.MachineBusy, r.MachineCores, r.FreshStart.Round(time.Millisecond), r.RestartStart.Round(time.Millisecond))
}

// RecordsPerSec is the run's throughput, process start to the last
// committed offset.
func (r ProcessResult) RecordsPerSec() float64 { return float64(r.Records) / r.Elapsed.Seconds() }

// RunningRecordsPerSec is the throughput once running: from the first task
// started (FreshStart, measured on its own) to the last committed offset.
// In a 100,000-record run, about a second, the start is a fifth of it.
func (r ProcessResult) RunningRecordsPerSec() float64 {
	return float64(r.Records) / (r.Elapsed - r.FreshStart).Seconds()
}

// CPUPer100k is the connector process's CPU time per 100,000 records.
func (r ProcessResult) CPUPer100k() time.Duration { return r.per100k(r.CPU) }

// MachineCPUPer100k is the CPU time the whole machine spent per 100,000
// records over the run (every process, this one included).
func (r ProcessResult) MachineCPUPer100k() time.Duration {
	return r.per100k(time.Duration(r.MachineBusy * float64(r.MachineCores) * float64(r.Elapsed)))
}

func (r ProcessResult) per100k(d time.Duration) time.Duration {
	return time.Duration(float64(d) * 1e5 / float64(r.Records))
}

func (r ProcessResult) brokerText() string {
	if r.BrokerCPU <= 0 {
		return ""
	}
	return fmt.Sprintf(" broker %.2f cores (%.2f s per 100k);", r.BrokerCPU.Seconds()/r.Elapsed.Seconds(), r.per100k(r.BrokerCPU).Seconds())
}

// ProcessRun runs the unpaced IMG feed through the real binary in a child
// process (`run` with a worker.properties and a connector.json), the
// simulator in another: what a user would run. It measures what only the
// outside sees: the process's peak RSS and CPU, its time from exec to the
// first task started (fresh topics, then again on the same connector), and
// the run's records/s to the last committed offset.
func ProcessRun(ctx context.Context, o ProcessOptions) (ProcessResult, error) {
	o = o.withDefaults()
	var res ProcessResult
	simBin := o.Simulator
	if len(simBin) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return res, fmt.Errorf("finding this executable: %w", err)
		}
		simBin = []string{exe}
	}
	bin := o.Binary
	res.Build = o.Label
	if res.Build == "" {
		res.Build = buildName(bin)
	}
	if len(bin) == 0 {
		bin = simBin
	}
	sim, err := startSimChild(ctx, append(append([]string(nil), simBin...), "simulate", "imgarena"), nil, nil,
		"--fixtures", strconv.Itoa(o.Fixtures), "--events", strconv.Itoa(o.Events), "--interval-fast", "1ns")
	if err != nil {
		return res, err
	}
	defer sim.stop()
	dir, err := os.MkdirTemp("", "imgprocess-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	props, conn, err := o.writeConfigs(dir, sim.url)
	if err != nil {
		return res, err
	}
	kafka := []kgo.Opt{kgo.SeedBrokers(o.Brokers...)}
	res.Records = o.Fixtures * o.Events

	busy0, cores := machineTicks()
	first, err := startWorkerChild(bin, props, conn, o.Env)
	if err != nil {
		return res, err
	}
	defer first.kill()
	simCPU0 := processCPUOf(sim.cmd.Process.Pid)
	var brokerCPU0 time.Duration
	if o.BrokerPID > 0 {
		brokerCPU0 = processCPUOf(o.BrokerPID)
	}
	if res.FreshStart, err = first.waitStarted(ctx); err != nil {
		return res, err
	}
	if err := waitCommitted(ctx, kafka, o.Prefix+"-offsets", int64(res.Records), first); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(first.started)
	busy1, _ := machineTicks()
	res.MachineBusy, res.MachineCores = busy1.busyShare(busy0), cores
	pid := first.cmd.Process.Pid
	res.CPU, res.PeakRSS = processCPUOf(pid), peakBytesOf(strconv.Itoa(pid))
	res.SimCPU = processCPUOf(sim.cmd.Process.Pid) - simCPU0
	if o.BrokerPID > 0 && brokerCPU0 > 0 {
		res.BrokerCPU = processCPUOf(o.BrokerPID) - brokerCPU0
	}
	res.ConnectorCores = res.CPU.Seconds() / res.Elapsed.Seconds()
	if err := first.stop(); err != nil {
		return res, err
	}

	second, err := startWorkerChild(bin, props, conn, o.Env)
	if err != nil {
		return res, err
	}
	defer second.kill()
	if res.RestartStart, err = second.waitStarted(ctx); err != nil {
		return res, err
	}
	return res, second.stop()
}

func (o ProcessOptions) withDefaults() ProcessOptions {
	if o.Fixtures <= 0 {
		o.Fixtures = 20
	}
	if o.Events <= 0 {
		o.Events = 5000
	}
	if o.Tasks <= 0 {
		o.Tasks = 4
	}
	if o.TopicPartitions <= 0 {
		o.TopicPartitions = 6
	}
	if o.Prefix == "" {
		o.Prefix = fmt.Sprintf("imgprocess-%d", time.Now().UnixNano())
	}
	return o
}

// writeConfigs writes the worker's and the connector's files, as a user
// would, and returns their paths.
func (o ProcessOptions) writeConfigs(dir, url string) (props, conn string, err error) {
	fixtures := imgarenasim.FixtureIDs(o.Fixtures)
	props, conn = filepath.Join(dir, "worker.properties"), filepath.Join(dir, "connector.json")
	p := fmt.Sprintf("bootstrap.servers=%s\nschema.registry.url=%s\ngroup.id=%s\noffset.storage.topic=%s-offsets\noffset.storage.partitions=5\nlisteners=\n",
		strings.Join(o.Brokers, ","), o.RegistryURL, o.Prefix, o.Prefix)
	cfg := map[string]string{
		"connector.class": "imgarena", "tasks.max": strconv.Itoa(o.Tasks), "topic.prefix": o.Prefix,
		"topic.creation.default.partitions": strconv.Itoa(o.TopicPartitions),
		"imgarena.url":                      url, "imgarena.auth.token": benchToken, "imgarena.speed": "fast", "imgarena.fixtures": strings.Join(fixtures, ","),
	}
	maps.Copy(cfg, o.Extra)
	c, err := json.Marshal(map[string]any{"name": o.Prefix, "config": cfg})
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(props, []byte(p), 0o600); err != nil {
		return "", "", err
	}
	return props, conn, os.WriteFile(conn, c, 0o600)
}

// waitCommitted follows the offsets topic (read_committed, one consumer
// for the whole run: light beside the run it measures) until the
// fixtures' committed positions add up to total.
func waitCommitted(ctx context.Context, kafka []kgo.Opt, topic string, total int64, w *workerChild) error {
	cl, err := kgo.NewClient(append(append([]kgo.Opt{}, kafka...), kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond), kgo.MetadataMinAge(100*time.Millisecond))...)
	if err != nil {
		return err
	}
	defer cl.Close()
	latest := map[string]int64{} // by source partition
	var sum int64
	for sum < total {
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return fmt.Errorf("waiting for %d committed records (%d so far): %w", total, sum, ctx.Err())
		}
		if w.exited() {
			return fmt.Errorf("the worker exited with %d of %d records committed: %s", sum, total, w.tail())
		}
		fs.EachRecord(func(r *kgo.Record) {
			_, p, o, err := worker.ParseOffsetRecord(r.Key, r.Value)
			if err != nil || o == nil {
				return
			}
			pos, _ := o.OffsetInt("position")
			sum += pos - latest[p.String()]
			latest[p.String()] = pos
		})
	}
	return nil
}

// workerChild is `sportsconnect run` in a child process.
type workerChild struct {
	cmd     *exec.Cmd
	started time.Time
	logs    *syncBuffer
	done    chan struct{}
}

// startWorkerChild starts `bin run props conn` with env added to this
// process's environment.
func startWorkerChild(bin []string, props, conn string, env []string) (*workerChild, error) {
	args := append(append(append([]string(nil), bin[1:]...), "run"), props, conn)
	w := &workerChild{cmd: exec.Command(bin[0], args...), logs: &syncBuffer{}, done: make(chan struct{})}
	if len(env) > 0 {
		w.cmd.Env = append(os.Environ(), env...)
	}
	w.cmd.Stdout, w.cmd.Stderr = w.logs, w.logs
	childAttrs(w.cmd)
	w.started = time.Now()
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %v: %w", bin, err)
	}
	go func() {
		_ = w.cmd.Wait()
		close(w.done)
	}()
	return w, nil
}

// waitStarted returns the time from exec to the first "task started" line.
func (w *workerChild) waitStarted(ctx context.Context) (time.Duration, error) {
	for !strings.Contains(w.logs.String(), `"task started"`) {
		if w.exited() {
			return 0, fmt.Errorf("the worker exited before a task started: %s", w.tail())
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("waiting for a task to start: %w", ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return time.Since(w.started), nil
}

func (w *workerChild) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for a clean exit (the open transactions
// committed).
func (w *workerChild) stop() error {
	_ = w.cmd.Process.Signal(os.Interrupt)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		w.kill()
		return errors.New("the worker did not stop within 30s of SIGTERM")
	}
	if !w.cmd.ProcessState.Success() {
		return fmt.Errorf("the worker exited with %s: %s", w.cmd.ProcessState, w.tail())
	}
	return nil
}

func (w *workerChild) kill() {
	if !w.exited() {
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}

// tail is the end of the worker's log, for errors.
func (w *workerChild) tail() string {
	s := w.logs.String()
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}
