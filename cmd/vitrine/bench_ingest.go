package main

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/bench/throughput"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

// benchIngestOpts are the flags of bench ingest.
type benchIngestOpts struct {
	products, imageProducts, batchSize int
	withImages                         bool
	imageDir, database                 string
	jsonOut, mdOut                     string
}

func newBenchIngestCmd(a *app) *cobra.Command {
	var o benchIngestOpts
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
		RunE: func(cmd *cobra.Command, _ []string) error { return a.benchIngest(cmd, o) },
	}
	cmd.Flags().IntVar(&o.products, "products", 20_000, "synthetic products per text case")
	cmd.Flags().BoolVar(&o.withImages, "images", false, "also measure products with a photo each (text and image models)")
	cmd.Flags().IntVar(&o.imageProducts, "image-products", 2_000, "products in the text+image case (at most --products)")
	cmd.Flags().StringVar(&o.imageDir, "image-dir", "", "photos for --images, searched recursively (default demo/grocery/images, else the assets' grocery catalog photos)")
	cmd.Flags().IntVar(&o.batchSize, "batch-size", 0, "rows per database round and model batch (default ingest.batch_size)")
	cmd.Flags().StringVar(&o.database, "database", "vitrine_bench_ingest", "database to create, vitrine_bench_ingest* (dropped first when it exists)")
	cmd.Flags().StringVar(&o.jsonOut, "json", "", "write the report as JSON to this file")
	cmd.Flags().StringVar(&o.mdOut, "md", "", "write the report as Markdown to this file")
	return cmd
}

// benchIngest checks the flags, measures each case in a fresh database and
// prints and writes the report.
func (a *app) benchIngest(cmd *cobra.Command, o benchIngestOpts) error {
	ctx := cmd.Context()
	plan := throughput.IngestPlan{Products: o.products, ImageProducts: o.imageProducts, BatchSize: o.batchSize, Images: o.withImages, Database: o.database}
	if err := plan.Check(); err != nil {
		return err
	}
	if a.cfg.Models.Text == "" {
		return errors.New("models.text is empty: bench ingest needs a text model")
	}
	if plan.BatchSize == 0 {
		plan.BatchSize = max(a.cfg.Ingest.BatchSize, 1)
	}
	names := []string{a.cfg.Models.Text}
	keypoints := a.cfg.Image.ExtractsKeypoints()
	rep := throughput.IngestReport{Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), Database: o.database, BatchSize: plan.BatchSize, Concurrency: a.cfg.Ingest.Concurrency, Keypoints: keypoints}
	icfg := throughput.IngestConfig{BatchSize: plan.BatchSize, Concurrency: a.cfg.Ingest.Concurrency, MaxMediaBytes: a.cfg.Ingest.MaxMediaBytes, MediaTimeout: a.cfg.Ingest.MediaTimeout, Keypoints: keypoints, Logger: a.log, Database: o.database}
	if o.withImages {
		if a.cfg.Models.Image == "" {
			return errors.New("--images: models.image is empty (no image model configured)")
		}
		var err error
		if icfg.Images, rep.Images, err = throughput.ListImages(o.imageDir, throughput.Assets(a.cfg.Assets)); err != nil {
			if o.imageDir != "" {
				return fmt.Errorf("--image-dir: %w", err)
			}
			return fmt.Errorf("--images: %w (set --image-dir)", err)
		}
		names = append(names, a.cfg.Models.Image)
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
	for _, c := range plan.Cases() {
		row, err := a.ingestCase(cmd, set, c, o.database, icfg)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		rep.Rows = append(rep.Rows, row)
	}
	rep.Seconds = time.Since(start).Seconds()
	if err := throughput.IngestText(cmd.OutOrStdout(), rep); err != nil {
		return err
	}
	return report.Write(o.jsonOut, o.mdOut, rep, throughput.IngestMarkdown)
}

// ingestCase measures one case in a fresh database, with a progress bar.
func (a *app) ingestCase(cmd *cobra.Command, set throughput.Encoders, c throughput.IngestCase, database string, cfg throughput.IngestConfig) (throughput.IngestRow, error) {
	ctx := cmd.Context()
	st, err := a.openBenchStore(ctx, database, false, store.WithMaxConns(a.cfg.Database.MaxConns))
	if err != nil {
		return throughput.IngestRow{}, err
	}
	defer st.Close()
	errw := cmd.ErrOrStderr()
	fmt.Fprintf(errw, "%s: %d products\n", c.Name, c.Products)
	bar := progress(errw, int64(c.Products), "  ingest", false)
	cfg.Progress = func(rows int) { _ = bar.Set(rows) }
	row, err := throughput.MeasureIngest(ctx, st, set, c, cfg)
	_ = bar.Finish()
	if err != nil {
		return row, err
	}
	fmt.Fprintln(errw, row.Line())
	return row, nil
}
