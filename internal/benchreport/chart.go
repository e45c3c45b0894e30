// Package benchreport draws the charts of the benchmark report (`make
// bench`): small self-contained SVG line charts, written by hand with fmt so
// the report needs no plotting dependency. A chart has linear axes with
// "nice" ticks (1, 2 or 5 times a power of ten), one polyline with point
// markers per series, an optional second y axis on the right for series in
// another unit, and a legend naming every series.
package benchreport

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
)

// Point is one (x, y) value of a series.
type Point struct{ X, Y float64 }

// Series is one named line of a chart.
type Series struct {
	Name   string
	Points []Point // drawn in the order given; NaN and infinite values are skipped
	Dashed bool    // a reference line rather than a measurement
	Right  bool    // plotted against the right-hand axis (Chart.Y2Label)
}

// Chart is a line chart. Zero Width and Height take 720×420.
type Chart struct {
	Title, XLabel, YLabel string
	Y2Label               string // label of the right-hand axis, used when a series has Right set
	Series                []Series
	Width, Height         int
}

// LineChart returns an SVG document plotting series against one y axis
// starting at zero.
func LineChart(title, xLabel, yLabel string, series []Series) []byte {
	return Chart{Title: title, XLabel: xLabel, YLabel: yLabel, Series: series}.SVG()
}

// palette holds the series colours, in order (colour-blind safe).
var palette = []string{"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"}

// plot margins: room for the title and legend above, the axis labels around.
const (
	marginLeft, marginRight, marginTop, marginBottom = 80, 80, 70, 60
	legendRow                                        = 16
)

// SVG renders the chart as a standalone SVG document.
func (c Chart) SVG() []byte {
	w, h := c.Width, c.Height
	if w <= 0 {
		w = 720
	}
	if h <= 0 {
		h = 420
	}
	top := marginTop + legendRow*max(0, (len(c.Series)-1)/3)
	pw, ph := float64(w-marginLeft-marginRight), float64(h-top-marginBottom)
	xlo, xhi := bounds(c.Series, func(s Series) bool { return true }, func(p Point) float64 { return p.X })
	xlo = min(xlo, 0)
	ylo, yhi := bounds(c.Series, func(s Series) bool { return !s.Right }, func(p Point) float64 { return p.Y })
	y2lo, y2hi := bounds(c.Series, func(s Series) bool { return s.Right }, func(p Point) float64 { return p.Y })
	xt, yt, y2t := Ticks(xlo, xhi, 6), Ticks(min(ylo, 0), yhi, 6), Ticks(min(y2lo, 0), y2hi, 6)
	xmap := scale(xt, float64(marginLeft), float64(marginLeft)+pw)
	ymap := scale(yt, float64(top)+ph, float64(top))
	y2map := scale(y2t, float64(top)+ph, float64(top))

	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	text(&b, float64(w)/2, 22, "middle", `font-size="15" font-weight="bold"`, c.Title)
	// Grid and ticks.
	for _, v := range yt {
		y := ymap(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", marginLeft, y, float64(marginLeft)+pw, y)
		text(&b, marginLeft-6, y+4, "end", "", FormatNumber(v))
	}
	if hasRight(c.Series) {
		for _, v := range y2t {
			text(&b, float64(marginLeft)+pw+6, y2map(v)+4, "start", "", FormatNumber(v))
		}
		text(&b, 0, 0, "middle", fmt.Sprintf(`transform="translate(%.1f,%.1f) rotate(90)"`, float64(w)-18, float64(top)+ph/2), c.Y2Label)
	}
	for _, v := range xt {
		x := xmap(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999"/>`+"\n", x, float64(top)+ph, x, float64(top)+ph+4)
		text(&b, x, float64(top)+ph+18, "middle", "", FormatNumber(v))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", marginLeft, top, pw, ph)
	text(&b, float64(marginLeft)+pw/2, float64(h)-14, "middle", "", c.XLabel)
	text(&b, 0, 0, "middle", fmt.Sprintf(`transform="translate(18,%.1f) rotate(-90)"`, float64(top)+ph/2), c.YLabel)
	// Series, then the legend (three entries a row under the title).
	for i, s := range c.Series {
		colour := palette[i%len(palette)]
		ym := ymap
		if s.Right {
			ym = y2map
		}
		dash := ""
		if s.Dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts bytes.Buffer
		for _, p := range s.Points {
			if finite(p.X) && finite(p.Y) {
				fmt.Fprintf(&pts, "%.1f,%.1f ", xmap(p.X), ym(p.Y))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", colour, dash, bytes.TrimSpace(pts.Bytes()))
		if !s.Dashed {
			for _, p := range s.Points {
				if finite(p.X) && finite(p.Y) {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>`, xmap(p.X), ym(p.Y), colour)
					_ = xml.EscapeText(&b, []byte(s.Name+": "+FormatNumber(p.Y)+" at "+FormatNumber(p.X)))
					b.WriteString("</title></circle>\n")
				}
			}
		}
		lx, ly := float64(marginLeft)+float64(i%3)*pw/3, float64(40+legendRow*(i/3))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", lx, ly-4, lx+22, ly-4, colour, dash)
		name := s.Name
		if s.Right {
			name += " (right axis)"
		}
		text(&b, lx+28, ly, "start", "", name)
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// text writes a <text> element with s escaped.
func text(b *bytes.Buffer, x, y float64, anchor, attrs, s string) {
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" %s>`, x, y, anchor, attrs)
	_ = xml.EscapeText(b, []byte(s))
	b.WriteString("</text>\n")
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func hasRight(series []Series) bool {
	for _, s := range series {
		if s.Right {
			return true
		}
	}
	return false
}

// bounds returns the least and greatest finite value of the points of the
// series that pass keep; 0, 1 when there are none.
func bounds(series []Series, keep func(Series) bool, val func(Point) float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range series {
		if !keep(s) {
			continue
		}
		for _, p := range s.Points {
			if v := val(p); finite(p.X) && finite(p.Y) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if lo > hi {
		return 0, 1
	}
	return lo, hi
}

// scale maps the range of ticks (first to last) onto pixels from a to b.
func scale(ticks []float64, a, b float64) func(float64) float64 {
	lo, hi := ticks[0], ticks[len(ticks)-1]
	return func(v float64) float64 { return a + (v-lo)/(hi-lo)*(b-a) }
}

// Ticks returns evenly spaced tick values covering lo..hi: about n of them,
// spaced 1, 2 or 5 times a power of ten, the first at or below lo and the
// last at or above hi. A degenerate range is widened to show something.
func Ticks(lo, hi float64, n int) []float64 {
	if !finite(lo) || !finite(hi) {
		lo, hi = 0, 1
	}
	if hi < lo {
		lo, hi = hi, lo
	}
	if hi == lo {
		if lo == 0 {
			hi = 1
		} else {
			lo, hi = lo-math.Abs(lo)/2, hi+math.Abs(hi)/2
		}
	}
	n = max(n, 2)
	raw := (hi - lo) / float64(n-1)
	exp := math.Floor(math.Log10(raw))
	mult := 10.0 // the step is mult·10^exp
	for _, m := range []float64{1, 2, 5} {
		if m*math.Pow(10, exp) >= raw {
			mult = m
			break
		}
	}
	// at is tick k: k·mult·10^exp, dividing by 10^-exp for negative
	// powers, so 3·0.2 comes out 0.6, not 0.6000000000000001.
	at := func(k float64) float64 {
		if exp < 0 {
			return k * mult / math.Pow(10, -exp)
		}
		return k * mult * math.Pow(10, exp)
	}
	step := at(1)
	var out []float64
	for k := math.Floor(lo / step); ; k++ {
		v := at(k)
		out = append(out, v)
		if v >= hi-step*1e-9 {
			return out
		}
	}
}

// FormatNumber prints v compactly for an axis: 1.5k, 10k, 2M, 0.25.
func FormatNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return strconv.FormatFloat(math.Round(v/1e4)/100, 'f', -1, 64) + "M"
	case a >= 1e4 || (a >= 1e3 && math.Mod(a, 100) == 0):
		return strconv.FormatFloat(math.Round(v/100)/10, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
