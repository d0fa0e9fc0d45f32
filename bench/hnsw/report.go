package hnsw

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/vitrinehq/vitrine/bench/load"
	"github.com/vitrinehq/vitrine/report"
)

// setting names a row's ef_search, "exact scan" for the baseline.
func (r Row) setting() string {
	if r.EfSearch == 0 {
		return "exact scan"
	}
	return strconv.Itoa(r.EfSearch)
}

// vsExact is the row's p50 over the exact scan's.
func (rep Report) vsExact(r Row) float64 {
	return float64(r.P50) / float64(rep.Rows[0].P50)
}

// Text writes the rows as an aligned table, then how many of the indexed
// queries the HNSW index answered.
func Text(w io.Writer, rep Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "EF_SEARCH\tRECALL@10\tP50 ms\tP99 ms\tP50 vs EXACT\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%.4f\t%s\t%s\t%.3fx\n", r.setting(), r.Recall, load.Ms(r.P50), load.Ms(r.P99), rep.vsExact(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "HNSW index scans during the indexed runs: %d of %d queries\n", rep.IndexScans, rep.Queries*(len(rep.Rows)-1))
	return err
}

// Build describes the build: the storage, the graph parameters, the CPU
// time when measured, the memory it got and the index's size.
func (rep Report) Build() string {
	s := fmt.Sprintf("%s, m %d, ef_construction %d, ", rep.Storage, rep.M, rep.EfConstruction)
	if rep.IndexCPUSeconds > 0 {
		s += fmt.Sprintf("build CPU %.1f s, ", rep.IndexCPUSeconds)
	}
	s += fmt.Sprintf("maintenance_work_mem %s, index %s", mib(rep.BuildMemory), mib(rep.IndexBytes))
	if rep.Reduce > 0 {
		s += fmt.Sprintf("; PCA to %d dimensions keeping %.1f%% of the variance, recall against the full vectors", rep.Reduce, 100*rep.Explained)
	}
	return s
}

// mib formats bytes in MiB.
func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// Markdown writes the report as a Markdown table.
func Markdown(w io.Writer, rep Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## `vitrine bench hnsw`: %d vectors of %d dimensions, %d queries, k=10\n\n", rep.Products, rep.Dim, rep.Queries)
	fmt.Fprintf(&b, "Load %.1f s, HNSW index build %.1f s (%s)", rep.LoadSeconds, rep.IndexSeconds, rep.Build())
	if rep.Rebuilt {
		b.WriteString(" (index dropped and built again over the loaded vectors)")
	} else if rep.Reused {
		b.WriteString(" (recorded by the run that loaded this database)")
	}
	fmt.Fprintf(&b, ". HNSW index scans during the indexed runs: %d of %d queries.\n\n", rep.IndexScans, rep.Queries*(len(rep.Rows)-1))
	b.WriteString("| ef_search | recall@10 | p50 ms | p99 ms | p50 vs exact |\n|---|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %s | %.4f | %s | %s | %.3f× |\n", r.setting(), r.Recall, load.Ms(r.P50), load.Ms(r.P99), rep.vsExact(r))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Plot draws recall@10 and p50 latency against ef_search side by side,
// the exact scan as a dashed line on both; with no path it draws nothing.
func Plot(path string, rep Report) error {
	if path == "" {
		return nil
	}
	if len(rep.Rows) < 2 || rep.Rows[0].EfSearch != 0 {
		return fmt.Errorf("plot %s: want the exact scan and at least one ef_search row", path)
	}
	exact, rows := rep.Rows[0], rep.Rows[1:]
	recall, err := panel(rows, exact, "recall@10 against the exact scan", func(r Row) float64 { return r.Recall })
	if err != nil {
		return err
	}
	recall.Y.Max = 1.0
	recall.Title.Text = fmt.Sprintf("%d vectors, %d-d: recall", rep.Products, rep.Dim)
	lat, err := panel(rows, exact, "p50 latency (ms)", func(r Row) float64 { return report.Ms(r.P50) })
	if err != nil {
		return err
	}
	lat.Y.Min = 0
	lat.Title.Text = "latency per query (one client)"
	img := vgimg.New(10*vg.Inch, 4*vg.Inch)
	pad := vg.Millimeter * 2
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: 2 * pad, PadTop: pad, PadBottom: pad, PadLeft: pad, PadRight: pad}
	plots := [][]*plot.Plot{{recall, lat}}
	canvases := plot.Align(plots, tiles, draw.New(img))
	for j, p := range plots[0] {
		p.Draw(canvases[0][j])
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}

// panel is one measure against ef_search (log scale), the exact scan's
// value as a dashed line.
func panel(rows []Row, exact Row, ylabel string, y func(Row) float64) (*plot.Plot, error) {
	p := plot.New()
	p.X.Label.Text = "ef_search (log scale)"
	p.Y.Label.Text = ylabel
	p.X.Scale = plot.LogScale{}
	ticks := make([]plot.Tick, len(rows))
	xys := make(plotter.XYs, len(rows))
	for i, r := range rows {
		ticks[i] = plot.Tick{Value: float64(r.EfSearch), Label: strconv.Itoa(r.EfSearch)}
		xys[i] = plotter.XY{X: float64(r.EfSearch), Y: y(r)}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Add(plotter.NewGrid())
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return nil, err
	}
	l.Color, pts.Color, l.Width = report.Color(0), report.Color(0), vg.Points(1.5)
	p.Add(l, pts)
	p.Legend.Add("HNSW", l, pts)
	ex, err := plotter.NewLine(plotter.XYs{{X: xys[0].X, Y: y(exact)}, {X: xys[len(xys)-1].X, Y: y(exact)}})
	if err != nil {
		return nil, err
	}
	ex.Color, ex.Dashes, ex.Width = report.Color(3), report.Dashes(), vg.Points(1.5)
	p.Add(ex)
	p.Legend.Add("exact scan", ex)
	p.Legend.Top, p.Legend.Left = false, false
	return p, nil
}
