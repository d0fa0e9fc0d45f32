package report

import (
	"fmt"
	"image/color"
	"math"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Width and Height are the default size of a single plot.
const (
	Width  = 7 * vg.Inch
	Height = 4.5 * vg.Inch
)

// Color returns the i-th colour of matplotlib's "tab10" cycle
// (distinguishable and familiar), wrapping around after six.
func Color(i int) color.Color {
	tab := [...]color.RGBA{
		{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
		{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
		{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	}
	return tab[((i%len(tab))+len(tab))%len(tab)]
}

// Dashes is the dash pattern of a baseline or secondary line.
func Dashes() []vg.Length { return []vg.Length{vg.Points(5), vg.Points(3)} }

// Save writes p as an image (format from path's extension) of w × h.
func Save(p *plot.Plot, path string, w, h vg.Length) error {
	if err := p.Save(w, h, path); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}

// LinearTicks labels 0..top in 4 to 10 round steps.
func LinearTicks(top float64) []plot.Tick {
	if top <= 0 {
		return []plot.Tick{{Value: 0, Label: "0"}}
	}
	step := math.Pow(10, math.Floor(math.Log10(top)))
	for _, f := range []float64{0.2, 0.5, 1} {
		if top/(step*f) <= 10 {
			step *= f
			break
		}
	}
	prec := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var ts []plot.Tick
	for v := 0.0; v <= top+step/1000; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', prec, 64)})
	}
	return ts
}

// Ms converts a duration to fractional milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// LatencySeries is one named set of latencies, sorted ascending.
type LatencySeries struct {
	Name      string
	Latencies []time.Duration
}

// LatencyPlot draws the empirical CDF of each series on a log time axis.
// Series come in pairs (the measured path solid, its baseline dashed in the
// same colour), as the bench commands make them.
func LatencyPlot(path, title string, series []LatencySeries) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "latency (ms, log scale)"
	p.Y.Label.Text = "fraction of requests at or below"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	p.Add(plotter.NewGrid())
	for i, r := range series {
		if len(r.Latencies) == 0 {
			continue
		}
		// At most ~500 points a line: enough for a smooth curve.
		step := max(1, len(r.Latencies)/500)
		var xys plotter.XYs
		for j := 0; j < len(r.Latencies); j += step {
			xys = append(xys, plotter.XY{X: max(Ms(r.Latencies[j]), 0.001), Y: float64(j+1) / float64(len(r.Latencies))})
		}
		xys = append(xys, plotter.XY{X: max(Ms(r.Latencies[len(r.Latencies)-1]), 0.001), Y: 1})
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("plot %s: %w", path, err)
		}
		l.Color = Color(i / 2)
		l.Width = vg.Points(1.5)
		if i%2 == 1 {
			l.Dashes = Dashes()
		}
		p.Add(l)
		p.Legend.Add(r.Name, l)
	}
	return Save(p, path, Width, Height)
}
