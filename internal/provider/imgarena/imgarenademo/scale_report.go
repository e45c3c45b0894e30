package imgarenademo

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed-474f70f7/sportsconnect/internal/benchreport"
)

// scaleColumns are the table's columns, shared by String and Markdown.
var scaleColumns = []string{"fixtures", "offered ev/s", "held ev/s", "p50", "p99", "max", "p99 from receive",
	"CPU cores", "peak RSS MB", "base RSS MB", "sim CPU", "sim RSS MB", "commits/s", "streaming after", "exactly once"}

// row formats step s in scaleColumns' order.
func (s ScaleStep) row() []string {
	eos := "yes"
	if !s.ExactlyOnce() {
		eos = fmt.Sprintf("NO: %d dup, %d gaps, %d short, %d DLQ, %d/%d visible", s.Duplicates, s.Gaps, s.Short, s.DeadLetters, s.Visible, s.Sent)
	}
	return []string{
		fmt.Sprint(s.Fixtures), fmt.Sprintf("%.0f (nominal %.0f)", s.Offered, s.Nominal), fmt.Sprintf("%.0f", s.Held),
		ms(s.P50), ms(s.P99), ms(s.Max), ms(s.ReceivedP99),
		fmt.Sprintf("%.2f", s.CPUCores), mb(s.PeakRSS), mb(s.BaseRSS), fmt.Sprintf("%.2f", s.SimCPUCores), mb(s.SimPeakRSS),
		fmt.Sprintf("%.1f", float64(s.Commits)/max(s.Window.Seconds(), 1e-9)), s.ConnectTime.Round(10 * time.Millisecond).String(), eos,
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func mb(b int64) string { return fmt.Sprintf("%.0f", float64(b)/1e6) }

// setup describes how the curve was measured, in one line.
func (r ScaleResult) setup() string {
	window := r.Duration - r.Duration/3
	return fmt.Sprintf("imgarena scale curve: one worker, %d tasks, transaction.boundary=%s (the default), each fixture 1 event per %s; "+
		"%s per step once every fixture is streaming, the last %s measured; CPU and RSS are the worker process's, "+
		"the read_committed watcher included; the simulator runs in its own process (sim columns); RLIMIT_NOFILE %d",
		r.Tasks, r.Boundary, r.EventInterval, r.Duration, window.Round(time.Second), r.FileLimit)
}

// String prints the setup and one aligned row per step.
func (r ScaleResult) String() string {
	var b strings.Builder
	b.WriteString(r.setup() + "\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(scaleColumns, "\t"))
	for _, s := range r.Steps {
		fmt.Fprintln(tw, strings.Join(s.row(), "\t"))
	}
	_ = tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

// Markdown returns the steps as a Markdown table.
func (r ScaleResult) Markdown() string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(scaleColumns, " | ") + " |\n|")
	for range scaleColumns {
		b.WriteString(" ---: |")
	}
	b.WriteString("\n")
	for _, s := range r.Steps {
		b.WriteString("| " + strings.Join(s.row(), " | ") + " |\n")
	}
	return b.String()
}

// Charts returns the report's SVG charts by file name: latency.svg (p50
// and p99 against fixtures), rss.svg (peak RSS and CPU cores) and
// throughput.svg (events/s held and offered, and raw, the raw producer's
// events/s, as a reference line when it is above 0).
func (r ScaleResult) Charts(raw float64) map[string][]byte {
	var p50, p99, rss, cpu, simRSS, simCPU, held, offered, nominal []benchreport.Point
	for _, s := range r.Steps {
		x := float64(s.Fixtures)
		p50 = append(p50, benchreport.Point{X: x, Y: float64(s.P50) / float64(time.Millisecond)})
		p99 = append(p99, benchreport.Point{X: x, Y: float64(s.P99) / float64(time.Millisecond)})
		rss = append(rss, benchreport.Point{X: x, Y: float64(s.PeakRSS) / 1e6})
		cpu = append(cpu, benchreport.Point{X: x, Y: s.CPUCores})
		simRSS = append(simRSS, benchreport.Point{X: x, Y: float64(s.SimPeakRSS) / 1e6})
		simCPU = append(simCPU, benchreport.Point{X: x, Y: s.SimCPUCores})
		held = append(held, benchreport.Point{X: x, Y: s.Held})
		offered = append(offered, benchreport.Point{X: x, Y: s.Offered})
		nominal = append(nominal, benchreport.Point{X: x, Y: s.Nominal})
	}
	tput := []benchreport.Series{{Name: "held (visible/s)", Points: held}, {Name: "offered (sent/s)", Points: offered},
		{Name: "nominal (fixtures × rate)", Points: nominal, Dashed: true}}
	if raw > 0 && len(r.Steps) > 0 {
		lo, hi := float64(r.Steps[0].Fixtures), float64(r.Steps[len(r.Steps)-1].Fixtures)
		tput = append(tput, benchreport.Series{Name: "raw franz-go producer, unpaced", Points: []benchreport.Point{{X: lo, Y: raw}, {X: hi, Y: raw}}, Dashed: true})
	}
	return map[string][]byte{
		"latency.svg": benchreport.LineChart("Send → visible latency against live fixtures", "live fixtures (1 event/s each)", "latency (ms)",
			[]benchreport.Series{{Name: "p50", Points: p50}, {Name: "p99", Points: p99}}),
		"rss.svg": benchreport.Chart{Title: "Memory and CPU against live fixtures", XLabel: "live fixtures (1 event/s each)",
			YLabel: "peak RSS (MB)", Y2Label: "CPU (cores)", Series: []benchreport.Series{{Name: "worker RSS", Points: rss},
				{Name: "worker CPU", Points: cpu, Right: true}, {Name: "simulator RSS", Points: simRSS, Dashed: true},
				{Name: "simulator CPU", Points: simCPU, Right: true, Dashed: true}}}.SVG(),
		"throughput.svg": benchreport.LineChart("Events/s held against live fixtures", "live fixtures (1 event/s each)", "events/s", tput),
	}
}

// WriteReport writes dir/scale.md (the setup, the table and the charts)
// and the charts beside it, making dir if needed, and returns the path of
// scale.md. raw is the raw franz-go producer's events/s from the same
// bench run, drawn as a reference line; 0 when unknown.
func (r ScaleResult) WriteReport(dir string, raw float64) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("scale report: making %s: %w", dir, err)
	}
	for name, svg := range r.Charts(raw) {
		if err := os.WriteFile(filepath.Join(dir, name), svg, 0o644); err != nil {
			return "", fmt.Errorf("scale report: writing %s: %w", name, err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# imgarena scale curve\n\n%s.\n\nMeasured %s on %s/%s, %d CPUs, GOMAXPROCS %d.\n\n", r.setup(),
		time.Now().UTC().Format(time.RFC3339), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	b.WriteString(r.Markdown())
	b.WriteString("\n*offered*: action packets the simulator wrote per second in the window; *held*: records that became visible to a " +
		"read_committed consumer per second in the window; latencies from the simulator's send (or the connector's receive) to visibility; " +
		"*exactly once*: every fixture's positions 1..k once and in order, k the last sent, nothing dead-lettered; " +
		"*streaming after*: from adding the connector until every fixture had sent its first event (one event interval after connecting).\n")
	if raw > 0 {
		fmt.Fprintf(&b, "\nRaw franz-go producer (no transactions, unpaced synthetic records) in the same run: %.0f events/s.\n", raw)
	}
	b.WriteString("\n![latency](latency.svg)\n\n![throughput](throughput.svg)\n\n![memory and CPU](rss.svg)\n")
	path := filepath.Join(dir, "scale.md")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return "", fmt.Errorf("scale report: writing %s: %w", path, err)
	}
	return path, nil
}
