package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/vitrinehq/vitrine/bench/load"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

// hnswPlot draws recall@10 and p50 latency against ef_search side by side,
// the exact scan as a dashed line on both.
func hnswPlot(path string, rep hnswReport) error {
	var exact hnswRow
	var rows []hnswRow
	for _, r := range rep.Rows {
		if r.EfSearch == 0 {
			exact = r
		} else {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("plot %s: no ef_search rows", path)
	}
	efTicks := make([]plot.Tick, len(rows))
	for i, r := range rows {
		efTicks[i] = plot.Tick{Value: float64(r.EfSearch), Label: strconv.Itoa(r.EfSearch)}
	}
	panel := func(ylabel string, y func(hnswRow) float64) (*plot.Plot, error) {
		p := plot.New()
		p.X.Label.Text = "ef_search (log scale)"
		p.Y.Label.Text = ylabel
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.ConstantTicks(efTicks)
		p.Add(plotter.NewGrid())
		xys := make(plotter.XYs, len(rows))
		for i, r := range rows {
			xys[i] = plotter.XY{X: float64(r.EfSearch), Y: y(r)}
		}
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
	recall, err := panel("recall@10 against the exact scan", func(r hnswRow) float64 { return r.Recall })
	if err != nil {
		return err
	}
	recall.Y.Max = 1.0
	recall.Title.Text = fmt.Sprintf("%d vectors, %d-d: recall", rep.Products, rep.Dim)
	lat, err := panel("p50 latency (ms)", func(r hnswRow) float64 { return report.Ms(r.P50) })
	if err != nil {
		return err
	}
	lat.Y.Min = 0
	lat.Title.Text = "latency per query (one client)"
	const w, h = 10 * vg.Inch, 4 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	plots := [][]*plot.Plot{{recall, lat}}
	canvases := plot.Align(plots, tiles, dc)
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

// apiBenchMarkdown writes bench api's report as a Markdown table.
func apiBenchMarkdown(w io.Writer, rep apiBenchReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## `vitrine bench api`: %d synthetic products\n\n", rep.Products)
	fmt.Fprintf(&b, "Ingest %.1f s (%.0f products/s, HNSW index deferred), HNSW index build %.1f s",
		rep.IngestSeconds, rep.IngestRate, rep.IndexSeconds)
	if rep.Reused {
		b.WriteString(" (recorded by the run that loaded this database)")
	}
	fmt.Fprintf(&b, "; database %.1f MiB. Collaborative-filtering training %.1f s. %d clients, %s per scenario after %s unmeasured.\n\n", float64(rep.DatabaseBytes)/(1<<20), rep.TrainSeconds, rep.Clients, rep.Duration, rep.Warmup)
	b.WriteString("| endpoint | QPS | p50 ms | p95 ms | p99 ms | errors | bare DB QPS | bare p50 ms | bare p99 ms | p50 ratio |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for i := 0; i+1 < len(rep.Results); i += 2 {
		api, db := rep.Results[i], rep.Results[i+1]
		ratio := 0.0
		if db.P50 > 0 {
			ratio = float64(api.P50) / float64(db.P50)
		}
		fmt.Fprintf(&b, "| %s | %.1f | %s | %s | %s | %d | %.1f | %s | %s | %.2f× |\n", strings.TrimSuffix(api.Name, " (API)"), api.QPS,
			load.Ms(api.P50), load.Ms(api.P95), load.Ms(api.P99), api.Errors, db.QPS, load.Ms(db.P50), load.Ms(db.P99), ratio)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// hnswMarkdown writes bench hnsw's report as a Markdown table.
func hnswMarkdown(w io.Writer, rep hnswReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## `vitrine bench hnsw`: %d vectors of %d dimensions, %d queries, k=10\n\n", rep.Products, rep.Dim, rep.Queries)
	fmt.Fprintf(&b, "Load %.1f s, HNSW index build %.1f s", rep.LoadSeconds, rep.IndexSeconds)
	if rep.Reused {
		b.WriteString(" (recorded by the run that loaded this database)")
	}
	fmt.Fprintf(&b, ". HNSW index scans during the indexed runs: %d of %d queries.\n\n", rep.IndexScans, rep.Queries*(len(rep.Rows)-1))
	b.WriteString("| ef_search | recall@10 | p50 ms | p99 ms | p50 vs exact |\n|---|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		name := strconv.Itoa(r.EfSearch)
		if r.EfSearch == 0 {
			name = "exact scan"
		}
		fmt.Fprintf(&b, "| %s | %.4f | %s | %s | %.3f× |\n", name, r.Recall, load.Ms(r.P50), load.Ms(r.P99), float64(r.P50)/float64(rep.Rows[0].P50))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// benchRecordBuild keeps what loading a bench database cost in the
// database's own comment, so a --reuse run can still report it.
func benchRecordBuild(ctx context.Context, st *store.Store, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var ddl string
	if err := st.Pool().QueryRow(ctx, `SELECT format('COMMENT ON DATABASE %I IS %L', current_database(), $1::text)`, string(b)).Scan(&ddl); err != nil {
		return err
	}
	_, err = st.Pool().Exec(ctx, ddl)
	return err
}

// benchRecalledBuild reads what benchRecordBuild kept; false when nothing was.
func benchRecalledBuild(ctx context.Context, st *store.Store, v any) bool {
	var s *string
	err := st.Pool().QueryRow(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()`).Scan(&s)
	return err == nil && s != nil && json.Unmarshal([]byte(*s), v) == nil
}
