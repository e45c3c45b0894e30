package benchreport

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

// parseSVG decodes doc as XML and returns the root element's name and all
// character data, failing the test on malformed XML.
func parseSVG(t *testing.T, doc []byte) (root string, chars string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return root, text.String()
		}
		if err != nil {
			t.Fatalf("not XML: %v\n%s", err, doc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
		case xml.CharData:
			text.Write(tok)
			text.WriteByte('\n')
		}
	}
}

func TestLineChartIsSVGNamingEverySeries(t *testing.T) {
	cases := []struct {
		name   string
		series []Series
	}{
		{"no series", nil},
		{"one point", []Series{{Name: "p50", Points: []Point{{1000, 12}}}}},
		{"scale curve", []Series{
			{Name: "p50 latency", Points: []Point{{1000, 12}, {5000, 30}, {10000, 250}}},
			{Name: "p99 latency", Points: []Point{{1000, 40}, {5000, 90}, {10000, 1200}}},
			{Name: "raw producer", Points: []Point{{1000, 2e5}, {10000, 2e5}}, Dashed: true},
		}},
		{"names that need escaping", []Series{{Name: `held <visible> & "committed"`, Points: []Point{{1, 1}, {2, 2}}}}},
		{"right axis and bad values", []Series{
			{Name: "RSS MB", Points: []Point{{1000, 80}, {10000, math.NaN()}}},
			{Name: "CPU cores", Points: []Point{{1000, 0.4}, {10000, math.Inf(1)}}, Right: true},
		}},
		{"all zero", []Series{{Name: "dead letters", Points: []Point{{1000, 0}, {5000, 0}}}}},
		{"seven series wrap the legend", func() []Series {
			var s []Series
			for _, n := range []string{"a1", "b2", "c3", "d4", "e5", "f6", "g7"} {
				s = append(s, Series{Name: n, Points: []Point{{0, 1}, {1, 2}}})
			}
			return s
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := LineChart("Latency against fixtures", "live fixtures", "ms", tc.series)
			root, chars := parseSVG(t, doc)
			if root != "svg" {
				t.Fatalf("root element %q, want svg", root)
			}
			for _, want := range []string{"Latency against fixtures", "live fixtures", "ms"} {
				if !strings.Contains(chars, want) {
					t.Errorf("no %q in the chart's text", want)
				}
			}
			for _, s := range tc.series {
				if !strings.Contains(chars, s.Name) {
					t.Errorf("series %q not named in the chart's text:\n%s", s.Name, chars)
				}
			}
			if bytes.Contains(doc, []byte("NaN")) || bytes.Contains(doc, []byte("Inf")) {
				t.Errorf("a non-finite coordinate reached the SVG:\n%s", doc)
			}
			if got, want := bytes.Count(doc, []byte("<polyline")), len(tc.series); got != want {
				t.Errorf("%d polylines, want one per series (%d)", got, want)
			}
		})
	}
}

func TestChartRightAxisLabel(t *testing.T) {
	c := Chart{Title: "Memory and CPU", XLabel: "fixtures", YLabel: "RSS (MB)", Y2Label: "CPU (cores)",
		Series: []Series{{Name: "RSS", Points: []Point{{1, 100}}}, {Name: "CPU", Points: []Point{{1, 1.5}}, Right: true}}}
	_, chars := parseSVG(t, c.SVG())
	if !strings.Contains(chars, "CPU (cores)") {
		t.Fatalf("right axis label missing:\n%s", chars)
	}
	c.Series[1].Right = false
	if _, chars := parseSVG(t, c.SVG()); strings.Contains(chars, "CPU (cores)") {
		t.Fatalf("right axis drawn with no series on it:\n%s", chars)
	}
}

func TestTicks(t *testing.T) {
	cases := []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 10000, 6, []float64{0, 2000, 4000, 6000, 8000, 10000}},
		{0, 1, 6, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{0, 0.3, 4, []float64{0, 0.1, 0.2, 0.3}},
		{0, 0, 6, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{3, 3, 3, []float64{0, 2, 4, 6}},
		{10, 0, 3, []float64{0, 5, 10}},
		{0, 1234, 6, []float64{0, 500, 1000, 1500}},
		{math.NaN(), 5, 3, []float64{0, 0.5, 1}},
	}
	for _, tc := range cases {
		got := Ticks(tc.lo, tc.hi, tc.n)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Ticks(%v, %v, %d) = %v, want %v", tc.lo, tc.hi, tc.n, got, tc.want)
		}
	}
}

func TestFormatNumber(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 0.25: "0.25", 12.5: "12.5", 999: "999", 1234: "1234", 2000: "2k", 10000: "10k",
		12345: "12.3k", 1.5e6: "1.5M", 2e6: "2M", -5000: "-5k",
	} {
		if got := FormatNumber(v); got != want {
			t.Errorf("FormatNumber(%v) = %q, want %q", v, got, want)
		}
	}
}
