package throughput

import (
	"cmp"
	"fmt"
	"image/color"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// PrintExtract writes the report's rows as an aligned text table.
func PrintExtract(w io.Writer, rep ExtractReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMODALITY\tMODEL\tBATCH\tPIPELINE items/s\tENCODEBATCH items/s\tBARE ORT items/s\tPIPELINE/BARE\tENCODEBATCH/BARE\tPIPELINE vs BATCH 1\tBARE vs BATCH 1")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%.2f\t%.2f\t%.2fx\t%.2fx\n", r.Modality, r.Model, r.Batch,
			FormatRate(r.Pipeline.PerSecond), FormatRate(r.EncodeBatch.PerSecond), FormatRate(r.Bare.PerSecond),
			r.PipelineVsBare, r.EncodeBatchVsBare, r.PipelineVsBatch1, r.BareVsBatch1)
	}
	return tw.Flush()
}

// ExtractMarkdown writes the report as Markdown: its setting, inputs and
// one table row per modality and batch size.
func ExtractMarkdown(w io.Writer, rep ExtractReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Encoder throughput: `vitrine bench extract`\n\n")
	fmt.Fprintf(&b, "%s, %d CPUs, ONNX Runtime %s (%s provider, intra-op threads %d, inter-op %d), ort.max_wait %s; %s (median of the rounds); %.0f s in all.\n\n",
		rep.Date, rep.CPUs, rep.ORT, rep.Provider, rep.Threads.Intra, rep.Threads.Inter, rep.MaxWait, rep.Budget, rep.Seconds)
	for _, in := range rep.Inputs {
		fmt.Fprintf(&b, "- %s (`%s`): %s\n", in.Modality, in.Model, in.Source)
	}
	fmt.Fprintf(&b, "\n*Pipeline*: BATCH concurrent `Encode` calls through the encoder's dynamic batcher (max batch = BATCH), as the API serves requests. "+
		"*EncodeBatch*: one `EncodeBatch` call of BATCH items, as ingestion encodes. "+
		"*Bare ORT* (the baseline): the same graphs as plain ONNX Runtime sessions on tensors prepared beforehand for the same items.\n\n")
	fmt.Fprintf(&b, "| modality | model | batch | pipeline items/s | EncodeBatch items/s | bare ORT items/s | pipeline / bare | EncodeBatch / bare | pipeline vs batch 1 | bare vs batch 1 |\n")
	fmt.Fprintf(&b, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %s | `%s` | %d | %s | %s | %s | %.2f | %.2f | %.2f× | %.2f× |\n", r.Modality, r.Model, r.Batch,
			FormatRate(r.Pipeline.PerSecond), FormatRate(r.EncodeBatch.PerSecond), FormatRate(r.Bare.PerSecond),
			r.PipelineVsBare, r.EncodeBatchVsBare, r.PipelineVsBatch1, r.BareVsBatch1)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ExtractPlot draws items/s against batch size into a PNG, both on log
// scales: one colour per modality, the pipeline solid, EncodeBatch dotted,
// bare ORT dashed.
func ExtractPlot(path string, rep ExtractReport) error {
	p := plot.New()
	p.Title.Text = "Encoder throughput: pipeline vs bare ONNX Runtime"
	p.X.Label.Text = "batch size"
	p.Y.Label.Text = "items/s"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	var ticks []plot.Tick
	for _, r := range rep.Rows {
		if !slices.ContainsFunc(ticks, func(t plot.Tick) bool { return t.Value == float64(r.Batch) }) {
			ticks = append(ticks, plot.Tick{Value: float64(r.Batch), Label: strconv.Itoa(r.Batch)})
		}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	// The x axis runs on past the largest batch, leaving room on the right
	// for the legend.
	if len(ticks) == 0 {
		return fmt.Errorf("plot %s: no rows to plot", path)
	}
	p.X.Min, p.X.Max = 1, slices.MaxFunc(ticks, func(a, b plot.Tick) int { return cmp.Compare(a.Value, b.Value) }).Value*6
	p.Legend.Top = true
	p.Legend.Left = false
	p.Add(plotter.NewGrid())
	colors := map[string]color.Color{
		"text":  color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		"image": color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
		"audio": color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	}
	lo, hi := 0.0, 0.0
	for _, md := range ExtractModalities() {
		var rows []ExtractRow
		for _, r := range rep.Rows {
			if r.Modality == string(md) {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		for _, way := range []string{"pipeline", "EncodeBatch", "bare ORT"} {
			xys := make(plotter.XYs, len(rows))
			for i, r := range rows {
				xys[i].X = float64(r.Batch)
				xys[i].Y = map[string]float64{"pipeline": r.Pipeline.PerSecond, "EncodeBatch": r.EncodeBatch.PerSecond, "bare ORT": r.Bare.PerSecond}[way]
				if xys[i].Y <= 0 {
					return fmt.Errorf("plot %s: %s %s at batch %d has no items/s", path, md, way, r.Batch)
				}
				if lo == 0 || xys[i].Y < lo {
					lo = xys[i].Y
				}
				hi = max(hi, xys[i].Y)
			}
			l, s, err := plotter.NewLinePoints(xys)
			if err != nil {
				return err
			}
			l.Color, s.Color = colors[string(md)], colors[string(md)]
			l.Width = vg.Points(1.5)
			switch way {
			case "EncodeBatch":
				l.Dashes = []vg.Length{vg.Points(1.5), vg.Points(2.5)}
				l.Width = vg.Points(1)
			case "bare ORT":
				l.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			}
			p.Add(l, s)
			p.Legend.Add(fmt.Sprintf("%s %s", md, way), l, s)
		}
	}
	// Whole decades, so the log axis has labelled ticks at both ends.
	p.Y.Min, p.Y.Max = decadeBelow(lo), decadeAbove(hi)
	var yt []plot.Tick
	for d := p.Y.Min; d <= p.Y.Max*1.001; d *= 10 {
		yt = append(yt, plot.Tick{Value: d, Label: decadeLabel(d)})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(yt)
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}

// decadeLabel writes a power of ten as 1, 10, 100, 1k ... 1M, 10M ...
func decadeLabel(d float64) string {
	switch {
	case d >= 1e6:
		return strconv.FormatFloat(d/1e6, 'f', -1, 64) + "M"
	case d >= 1e3:
		return strconv.FormatFloat(d/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(d, 'f', -1, 64)
}

// decadeBelow is the largest power of ten at or below v.
func decadeBelow(v float64) float64 {
	d := 1.0
	for d*10 <= v {
		d *= 10
	}
	for d > v {
		d /= 10
	}
	return d
}

// decadeAbove is the smallest power of ten at or above v.
func decadeAbove(v float64) float64 {
	d := 1.0
	for d < v {
		d *= 10
	}
	return d
}
