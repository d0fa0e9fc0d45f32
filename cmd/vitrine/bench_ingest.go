package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/bench/throughput"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

// Baseline budget of bench ingest: the models run at least this long on
// the products' inputs, and stop after one pass or the maximum.
const (
	ingestBaselineMin = time.Second
	ingestBaselineMax = 10 * time.Second
)

// ingestRow is one ingestion case.
type ingestRow struct {
	Case     string   `json:"case"`
	Models   []string `json:"models"`
	Index    string   `json:"index"` // live or deferred
	Products int      `json:"products"`
	// IngestSeconds and IngestRate time ingest.Run alone.
	IngestSeconds float64 `json:"ingest_seconds"`
	IngestRate    float64 `json:"ingest_products_per_second"`
	// FirstQuarter and LastQuarter are the rates over the first and the
	// last quarter of the products: whether ingestion slows as the tables
	// and indexes grow.
	FirstQuarter float64 `json:"first_quarter_products_per_second"`
	LastQuarter  float64 `json:"last_quarter_products_per_second"`
	// IndexSeconds is the HNSW build after a deferred load (0 when live).
	IndexSeconds float64 `json:"index_build_seconds"`
	// TotalRate counts the index build too: the rate at which products
	// become searchable.
	TotalRate float64 `json:"products_per_second_with_index"`
	// ModelsOnly is the baseline: the same encoders on the same products'
	// inputs, in memory, ingestion's batch size, measured before and after
	// the load (its rounds) and pooled.
	ModelsOnly    throughput.Result `json:"models_only"`
	IngestVsModel float64           `json:"ingest_vs_models"`
	TotalVsModel  float64           `json:"total_vs_models"`
	DatabaseBytes int64             `json:"database_bytes"`
	// EmptyBytes is the database's size before the load (schema only).
	EmptyBytes int64 `json:"empty_database_bytes"`
}

// ingestReport is what `vitrine bench ingest` measured.
type ingestReport struct {
	Date      string      `json:"date"`
	CPUs      int         `json:"cpus"`
	Database  string      `json:"database"`
	BatchSize int         `json:"batch_size"`
	Images    string      `json:"images,omitempty"`
	Rows      []ingestRow `json:"rows"`
	Seconds   float64     `json:"seconds"`
}

// ingestCase is one way of loading.
type ingestCase struct {
	name     string
	products int
	images   bool
	deferred bool
}

func newBenchIngestCmd(a *app) *cobra.Command {
	var (
		products, imageProducts, batchSize int
		withImages                         bool
		imageDir, database                 string
		jsonOut, mdOut                     string
	)
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Ingestion products/s (live or deferred HNSW index, text or text+image), beside the models alone",
		Long: `Ingest synthetic products (internal/synth: titles, brands, categories,
descriptions) into a database of their own (--database, dropped and created
afresh for each case and left in place afterwards), through ingest.Run as
'vitrine ingest' runs it: JSON Lines parsing, upserts, the configured
models, fusion, embeddings and vectors written. Cases:

  text, live index      --products text-only products into a vector space
                        whose HNSW index (and the text model's embedding
                        index, which serving creates) is maintained row by
                        row, as ingesting into a served database does
  text, deferred index  the same products with the indexes built once after
                        loading (as backfill and 'bench api' do); the build
                        time is reported and counted in a second rate
  text+image            with --images: --image-products products, each with
                        a catalog photo (--image-dir, default the demo
                        catalog's), text and image models, live indexes

Each case is printed beside its baseline: the same models on the same
products' inputs (texts as the indexer builds them, photo bytes already in
memory), --batch-size products at a time, with no database: items/s, an item
being one product through every model, measured before and after the load
and pooled. The ingest rate is also given over the first and the last quarter
of the products, to show whether it falls as the tables grow. ingest/models is the share of the models' speed that ingestion
keeps; the rest is parsing, hashing, media reads, database writes, index
maintenance and fusion. The database's size after each case is reported,
beside its size before the load (the schema alone).`,
		Example: `  vitrine bench ingest --products 20000
  vitrine bench ingest --products 20000 --images --image-products 2000 --json bi.json --md bi.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			switch {
			case products < 1:
				return fmt.Errorf("--products %d: want at least 1", products)
			case imageProducts < 1:
				return fmt.Errorf("--image-products %d: want at least 1", imageProducts)
			case batchSize < 0:
				return fmt.Errorf("--batch-size %d: want at least 1 (0: ingest.batch_size)", batchSize)
			case !strings.HasPrefix(database, "vitrine_bench_ingest"):
				// It is dropped: never another command's or a real database.
				return fmt.Errorf("--database %q: want a name starting with vitrine_bench_ingest (the database is dropped and recreated)", database)
			}
			if batchSize == 0 {
				batchSize = max(a.cfg.Ingest.BatchSize, 1)
			}
			if a.cfg.Models.Text == "" {
				return errors.New("models.text is empty: bench ingest needs a text model")
			}
			names := []string{a.cfg.Models.Text}
			cases := []ingestCase{{"text, live index", products, false, false}, {"text, deferred index", products, false, true}}
			var images []string
			rep := ingestReport{Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), Database: database, BatchSize: batchSize}
			if withImages {
				if a.cfg.Models.Image == "" {
					return errors.New("--images: models.image is empty (no image model configured)")
				}
				var err error
				if images, rep.Images, err = benchImages(imageDir, benchAssets(a.cfg)); err != nil {
					return err
				}
				names = append(names, a.cfg.Models.Image)
				cases = append(cases, ingestCase{"text+image, live index", min(imageProducts, products), true, false})
			}
			rt, err := a.runtime(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			set, err := a.loadEncoders(ctx, rt, names, nil)
			if err != nil {
				return err
			}
			defer set.Close()
			start := time.Now()
			for _, c := range cases {
				row, err := a.ingestCase(ctx, cmd, set, c, images, database, batchSize)
				if err != nil {
					return fmt.Errorf("%s: %w", c.name, err)
				}
				rep.Rows = append(rep.Rows, row)
			}
			rep.Seconds = time.Since(start).Seconds()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "ingest throughput, database %s, batch size %d, %d CPUs, %.0fs\n", rep.Database, rep.BatchSize, rep.CPUs, rep.Seconds)
			if rep.Images != "" {
				fmt.Fprintf(out, "  images: %s\n", rep.Images)
			}
			if err := printIngest(out, rep); err != nil {
				return err
			}
			return report.Write(jsonOut, mdOut, rep, ingestMarkdown)
		},
	}
	cmd.Flags().IntVar(&products, "products", 20_000, "synthetic products per text case")
	cmd.Flags().BoolVar(&withImages, "images", false, "also measure products with a photo each (text and image models)")
	cmd.Flags().IntVar(&imageProducts, "image-products", 2_000, "products in the text+image case (at most --products)")
	cmd.Flags().StringVar(&imageDir, "image-dir", "", "photos for --images, searched recursively (default demo/grocery/images, else the assets' grocery catalog photos)")
	cmd.Flags().IntVar(&batchSize, "batch-size", 0, "rows per database round and model batch (default ingest.batch_size)")
	cmd.Flags().StringVar(&database, "database", "vitrine_bench_ingest", "database to create, vitrine_bench_ingest* (dropped first when it exists)")
	cmd.Flags().StringVar(&jsonOut, "json", "", "write the report as JSON to this file")
	cmd.Flags().StringVar(&mdOut, "md", "", "write the report as Markdown to this file")
	return cmd
}

// ingestCase loads one case into a fresh database and measures it with
// its baseline.
func (a *app) ingestCase(ctx context.Context, cmd *cobra.Command, set *extractors.Set, c ingestCase, images []string, database string, batchSize int) (ingestRow, error) {
	row := ingestRow{Case: c.name, Products: c.products, Index: "live"}
	if c.deferred {
		row.Index = "deferred"
	}
	var encs []extractors.Encoder
	spec := fusion.Spec{Strategy: fusion.WeightedConcat}
	for _, md := range []models.Modality{models.Text, models.Image} {
		if md == models.Image && !c.images {
			continue
		}
		e, ok := set.ByModality(md)
		if !ok {
			return row, fmt.Errorf("no %s model loaded", md)
		}
		encs = append(encs, e)
		row.Models = append(row.Models, e.Key())
		spec.Components = append(spec.Components, fusion.Component{Model: e.Key(), Modality: string(md), Dim: e.Dim(), Weight: 0.5})
	}
	if err := spec.Validate(); err != nil {
		return row, err
	}
	st, err := a.openBenchStore(ctx, database, false, store.WithMaxConns(a.cfg.Database.MaxConns))
	if err != nil {
		return row, err
	}
	defer st.Close()
	sp, err := st.CreateSpace(ctx, store.NewSpace{Name: "bench-ingest", Spec: spec.JSON(), Dim: spec.Dim(), DeferIndex: c.deferred})
	if err != nil {
		return row, err
	}
	if err := st.ActivateSpace(ctx, sp.Version); err != nil {
		return row, err
	}
	if row.EmptyBytes, err = st.DatabaseSize(ctx); err != nil {
		return row, err
	}
	buildModelIndexes := func() error {
		for _, e := range encs {
			if err := st.EnsureModelIndex(ctx, e.Key(), e.Dim()); err != nil {
				return err
			}
		}
		return nil
	}
	if !c.deferred {
		if err := buildModelIndexes(); err != nil {
			return row, err
		}
	}
	ixEncs := make([]indexer.Encoder, len(encs))
	for i, e := range encs {
		ixEncs[i] = e
	}
	media := ingest.NewMediaLoader(ingest.WithMaxMediaBytes(a.cfg.Ingest.MaxMediaBytes), ingest.WithMediaTimeout(a.cfg.Ingest.MediaTimeout))
	h := &throughput.Ingest{Store: st, Space: sp, Indexer: indexer.New(st, media, ixEncs, indexer.WithLogger(a.log)),
		Encoders: encs, BatchSize: batchSize, Logger: a.log}
	o := synth.Options{Seed: 5}
	if c.images {
		o.Images, o.ImageEvery = images, 1
	}
	data := throughput.Catalog(o, 0, c.products)
	inputs, err := h.ModelInputs(ctx, data)
	if err != nil {
		return row, err
	}
	errw := cmd.ErrOrStderr()
	fmt.Fprintf(errw, "%s: %d products\n", c.name, c.products)
	before, err := h.ModelRate(ctx, inputs, ingestBaselineMin, ingestBaselineMax)
	if err != nil {
		return row, err
	}
	bar := progress(errw, int64(c.products), "  ingest", false)
	start := time.Now()
	var marks []ingestMark
	_, err = h.Run(ctx, data, func(rows int) {
		marks = append(marks, ingestMark{rows, time.Since(start)})
		_ = bar.Set(rows)
	})
	_ = bar.Finish()
	if err != nil {
		return row, err
	}
	row.IngestSeconds = time.Since(start).Seconds()
	row.IngestRate = float64(c.products) / row.IngestSeconds
	row.FirstQuarter, row.LastQuarter = quarterRates(marks, c.products)
	if c.deferred {
		start := time.Now()
		if err := st.BuildSpaceIndex(ctx, sp.Version); err != nil {
			return row, err
		}
		if err := buildModelIndexes(); err != nil {
			return row, err
		}
		row.IndexSeconds = time.Since(start).Seconds()
	}
	row.TotalRate = float64(c.products) / (row.IngestSeconds + row.IndexSeconds)
	after, err := h.ModelRate(ctx, inputs, ingestBaselineMin, ingestBaselineMax)
	if err != nil {
		return row, err
	}
	row.ModelsOnly = throughput.Result{Name: "models only", Items: before.Items + after.Items, Seconds: before.Seconds + after.Seconds,
		Rounds: []float64{before.PerSecond, after.PerSecond}}
	row.ModelsOnly.PerSecond = float64(row.ModelsOnly.Items) / row.ModelsOnly.Seconds
	row.IngestVsModel = ratio(row.IngestRate, row.ModelsOnly.PerSecond)
	row.TotalVsModel = ratio(row.TotalRate, row.ModelsOnly.PerSecond)
	if row.DatabaseBytes, err = st.DatabaseSize(ctx); err != nil {
		return row, err
	}
	fmt.Fprintf(errw, "  ingest %.1fs (%s products/s; first quarter %s, last quarter %s), %s, models alone %s items/s (before %s, after %s), database %.1f MiB\n",
		row.IngestSeconds, fmtRate(row.IngestRate), fmtRate(row.FirstQuarter), fmtRate(row.LastQuarter), ingestIndexNote(row), fmtRate(row.ModelsOnly.PerSecond),
		fmtRate(before.PerSecond), fmtRate(after.PerSecond), mib(row.DatabaseBytes))
	return row, nil
}

// benchImages lists the photos for --images: dir searched recursively, or
// the demo catalog's photos, or the assets' grocery catalog photos.
func benchImages(dir, assets string) ([]string, string, error) {
	dirs := []string{dir}
	if dir == "" {
		dirs = []string{filepath.Join("demo", "grocery", "images")}
		if assets != "" {
			dirs = append(dirs, filepath.Join(assets, "data", "grocery", "iconic-images-and-descriptions"))
		}
	}
	for _, d := range dirs {
		var paths []string
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ext := strings.ToLower(filepath.Ext(p)); !e.IsDir() && slices.Contains([]string{".jpg", ".jpeg", ".png"}, ext) {
				abs, err := filepath.Abs(p)
				if err != nil {
					return err
				}
				paths = append(paths, abs)
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) && dir == "" {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("--image-dir: %w", err)
		}
		if len(paths) > 0 {
			return paths, fmt.Sprintf("%d photos in %s, one per product in turn", len(paths), d), nil
		}
		if dir != "" {
			return nil, "", fmt.Errorf("--image-dir %s: no .jpg, .jpeg or .png files", dir)
		}
	}
	return nil, "", fmt.Errorf("--images: no photos in %s: set --image-dir", strings.Join(dirs, " or "))
}

func printIngest(w io.Writer, rep ingestReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCASE\tPRODUCTS\tINGEST s\tINGEST products/s\tFIRST → LAST QUARTER\tINDEX BUILD s\tWITH BUILD products/s\tMODELS ALONE items/s\tINGEST/MODELS\tWITH BUILD/MODELS\tDATABASE MiB\tEMPTY MiB")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s → %s\t%s\t%s\t%s\t%.3f\t%.3f\t%.1f\t%.1f\n", r.Case, r.Products, r.IngestSeconds, fmtRate(r.IngestRate),
			fmtRate(r.FirstQuarter), fmtRate(r.LastQuarter),
			ingestBuild(r), fmtRate(r.TotalRate), fmtRate(r.ModelsOnly.PerSecond), r.IngestVsModel, r.TotalVsModel, mib(r.DatabaseBytes), mib(r.EmptyBytes))
	}
	return tw.Flush()
}

// ingestMark is the rows ingested after some time.
type ingestMark struct {
	rows int
	at   time.Duration
}

// quarterRates are the products/s over the batches that cover the first
// quarter of n products, and over those after the third quarter.
func quarterRates(marks []ingestMark, n int) (first, last float64) {
	if len(marks) == 0 {
		return 0, 0
	}
	end := marks[len(marks)-1]
	for _, m := range marks {
		if m.rows*4 >= n && first == 0 && m.at > 0 {
			first = float64(m.rows) / m.at.Seconds()
		}
	}
	// The last mark at or before three quarters starts the last stretch.
	from := ingestMark{}
	for _, m := range marks {
		if m.rows*4 <= 3*n && m.rows < end.rows {
			from = m
		}
	}
	if d := end.at - from.at; d > 0 {
		last = float64(end.rows-from.rows) / d.Seconds()
	}
	return first, last
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// ingestIndexNote says how the indexes were kept.
func ingestIndexNote(r ingestRow) string {
	if r.Index != "deferred" {
		return "indexes live"
	}
	return fmt.Sprintf("index build %.1fs", r.IndexSeconds)
}

// ingestBuild prints the index build time, "-" when the index was live.
func ingestBuild(r ingestRow) string {
	if r.Index != "deferred" {
		return "-"
	}
	return fmt.Sprintf("%.1f", r.IndexSeconds)
}

func ingestMarkdown(w io.Writer, rep ingestReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Ingestion throughput: `vitrine bench ingest`\n\n")
	fmt.Fprintf(&b, "%s, %d CPUs, database `%s`, %d products per batch; %.0f s in all.", rep.Date, rep.CPUs, rep.Database, rep.BatchSize, rep.Seconds)
	if rep.Images != "" {
		fmt.Fprintf(&b, " Images: %s.", rep.Images)
	}
	fmt.Fprintf(&b, "\n\nIngest is `ingest.Run` (parse, upsert, encode, fuse, write, indexes); *models alone* (the baseline) is the same models on the same products' inputs in memory, "+
		"no database, measured before and after the load. A deferred index is built after loading; *with build* counts that time.\n\n")
	fmt.Fprintf(&b, "| case | products | ingest s | ingest products/s | first → last quarter | index build s | with build products/s | models alone items/s | ingest / models | with build / models | database MiB | empty MiB |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rep.Rows {
		fmt.Fprintf(&b, "| %s | %d | %.1f | %s | %s → %s | %s | %s | %s | %.3f | %.3f | %.1f | %.1f |\n", r.Case, r.Products, r.IngestSeconds, fmtRate(r.IngestRate),
			fmtRate(r.FirstQuarter), fmtRate(r.LastQuarter),
			ingestBuild(r), fmtRate(r.TotalRate), fmtRate(r.ModelsOnly.PerSecond), r.IngestVsModel, r.TotalVsModel, mib(r.DatabaseBytes), mib(r.EmptyBytes))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
