package imgarenademo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/seed-474f70f7/sportsconnect/internal/live"
)

// ProcessComparison is the unpaced process run of a baseline build and of
// this one, alternated on the same feed, broker and machine. This build
// runs twice a round: doing the baseline's work (without the normalized
// live topics, which the baseline may predate) and with its defaults.
type ProcessComparison struct {
	Baseline, SameWork, Defaults []ProcessResult // in the order they ran
}

// Ratio is this build's median records/s, doing the baseline's work, over
// the baseline's.
func (c ProcessComparison) Ratio() float64 {
	return medianOf(c.SameWork, ProcessResult.RecordsPerSec) / medianOf(c.Baseline, ProcessResult.RecordsPerSec)
}

// RunningRatio is Ratio from the first task started (RunningRecordsPerSec).
func (c ProcessComparison) RunningRatio() float64 {
	return medianOf(c.SameWork, ProcessResult.RunningRecordsPerSec) / medianOf(c.Baseline, ProcessResult.RunningRecordsPerSec)
}

// CPURatio is this build's median CPU per record, doing the baseline's
// work, over the baseline's.
func (c ProcessComparison) CPURatio() float64 {
	return medianOf(c.SameWork, cpuSeconds) / medianOf(c.Baseline, cpuSeconds)
}

func cpuSeconds(r ProcessResult) float64 { return r.CPUPer100k().Seconds() }
func rssMB(r ProcessResult) float64      { return float64(r.PeakRSS) / (1 << 20) }
func freshMs(r ProcessResult) float64    { return float64(r.FreshStart.Milliseconds()) }
func restartMs(r ProcessResult) float64  { return float64(r.RestartStart.Milliseconds()) }

func (c ProcessComparison) String() string {
	var b strings.Builder
	for i := range c.Baseline {
		fmt.Fprintf(&b, "%s\n%s\n%s\n", c.Baseline[i], c.SameWork[i], c.Defaults[i])
	}
	running := ProcessResult.RunningRecordsPerSec
	fmt.Fprintf(&b, "medians of %d alternating runs each, this build (same work | defaults) against the baseline: records/s from process start %.0f | %.0f vs %.0f = %.2fx | %.2fx, "+
		"from the first task started %.0f | %.0f vs %.0f = %.2fx | %.2fx; "+
		"CPU per 100k records %.2f | %.2f vs %.2f s = %.2fx | %.2fx; peak RSS %.0f | %.0f vs %.0f MB; first task fresh %.0f | %.0f vs %.0f ms, restart %.0f | %.0f vs %.0f ms",
		len(c.Baseline),
		medianOf(c.SameWork, ProcessResult.RecordsPerSec), medianOf(c.Defaults, ProcessResult.RecordsPerSec), medianOf(c.Baseline, ProcessResult.RecordsPerSec),
		c.Ratio(), medianOf(c.Defaults, ProcessResult.RecordsPerSec)/medianOf(c.Baseline, ProcessResult.RecordsPerSec),
		medianOf(c.SameWork, running), medianOf(c.Defaults, running), medianOf(c.Baseline, running),
		c.RunningRatio(), medianOf(c.Defaults, running)/medianOf(c.Baseline, running),
		medianOf(c.SameWork, cpuSeconds), medianOf(c.Defaults, cpuSeconds), medianOf(c.Baseline, cpuSeconds),
		c.CPURatio(), medianOf(c.Defaults, cpuSeconds)/medianOf(c.Baseline, cpuSeconds),
		medianOf(c.SameWork, rssMB), medianOf(c.Defaults, rssMB), medianOf(c.Baseline, rssMB),
		medianOf(c.SameWork, freshMs), medianOf(c.Defaults, freshMs), medianOf(c.Baseline, freshMs),
		medianOf(c.SameWork, restartMs), medianOf(c.Defaults, restartMs), medianOf(c.Baseline, restartMs))
	b.WriteString("\n" + c.twiceText())
	return b.String()
}

// twiceText says what twice the baseline's records/s would take of the
// machine, against what the runs of this build doing the same work
// measured: the whole machine's CPU per record is the bound once every
// core is busy.
func (c ProcessComparison) twiceText() string {
	if len(c.SameWork) == 0 || c.SameWork[0].MachineCores == 0 {
		return "what twice the baseline's records/s would take: unknown (no per-core CPU figures here)"
	}
	cores := c.SameWork[0].MachineCores
	if busy := medianOf(c.Baseline, func(r ProcessResult) float64 { return r.MachineBusy }); busy < 0.9 {
		return fmt.Sprintf("the machine had room (%.0f%% of its %d cores busy in the baseline's runs): each connector's own CPU bounds these runs", 100*busy, cores)
	}
	target := 2 * medianOf(c.Baseline, ProcessResult.RecordsPerSec)
	allowed := float64(cores) * 1e5 / target // s of CPU per 100k records with every core busy
	conn := medianOf(c.SameWork, cpuSeconds)
	rest := medianOf(c.SameWork, func(r ProcessResult) float64 { return r.MachineCPUPer100k().Seconds() - cpuSeconds(r) })
	parts := fmt.Sprintf("simulator %.2f", medianOf(c.SameWork, func(r ProcessResult) float64 { return r.per100k(r.SimCPU).Seconds() }))
	if c.SameWork[0].BrokerCPU > 0 {
		parts = fmt.Sprintf("broker %.2f, %s", medianOf(c.SameWork, func(r ProcessResult) float64 { return r.per100k(r.BrokerCPU).Seconds() }), parts)
	}
	return fmt.Sprintf("what twice the baseline's records/s (%.0f from process start) would take: with all %d cores busy, at most %.2f s of CPU per 100k records "+
		"for the whole machine; beside this build doing the same work the rest of the machine took %.2f s per 100k (%s), which would leave the connector %.2f s against the %.2f it takes",
		target, cores, allowed, rest, parts, allowed-rest, conn)
}

// CompareProcess runs ProcessRun rounds times each for the baseline
// command, for o.Binary (this build when empty) without the live topics,
// and for o.Binary with o's settings, in turn, so that a machine warming
// up or slowing down touches all alike. Every run has its own topics
// (o.Prefix plus the run's place).
func CompareProcess(ctx context.Context, o ProcessOptions, baseline []string, rounds int) (ProcessComparison, error) {
	var c ProcessComparison
	if len(baseline) == 0 || rounds <= 0 {
		return c, errors.New("imgarena process comparison: need a baseline command and at least one round")
	}
	o = o.withDefaults()
	env := ""
	if len(o.Env) > 0 {
		env = " with " + strings.Join(o.Env, " ")
	}
	name := buildName(o.Binary)
	if o.Label == "" {
		o.Label = name + env
	}
	base := o
	base.Binary, base.Extra, base.Label = baseline, nil, "baseline "+buildName(baseline)+env
	same := o
	same.Extra = map[string]string{live.KeyEnabled: "false"}
	same.Label = name + env + " (" + live.KeyEnabled + "=false, the baseline's work)"
	for i := range rounds {
		for j, run := range []ProcessOptions{base, same, o} {
			run.Prefix = fmt.Sprintf("%s-%d%c", o.Prefix, i, 'a'+j)
			res, err := ProcessRun(ctx, run)
			if err != nil {
				return c, fmt.Errorf("run %d of %s: %w", i+1, run.Label, err)
			}
			switch j {
			case 0:
				c.Baseline = append(c.Baseline, res)
			case 1:
				c.SameWork = append(c.SameWork, res)
			default:
				c.Defaults = append(c.Defaults, res)
			}
		}
	}
	return c, nil
}

func buildName(bin []string) string {
	if len(bin) == 0 {
		return "this build"
	}
	return strings.Join(bin, " ")
}

// medianOf is the median of f over rs (the mean of the middle two for an
// even count).
func medianOf(rs []ProcessResult, f func(ProcessResult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	switch n := len(v); {
	case n == 0:
		return 0
	case n%2 == 1:
		return v[n/2]
	default:
		return (v[n/2-1] + v[n/2]) / 2
	}
}
