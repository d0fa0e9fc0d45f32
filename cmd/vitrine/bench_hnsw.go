package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/bench/hnsw"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

// benchHNSWOptions are the flags of bench hnsw.
type benchHNSWOptions struct {
	products, dim, queries, red int
	efs, jsonOut, mdOut, plotTo string
	reuse, halfvec              bool
}

func newBenchHNSWCmd(a *app) *cobra.Command {
	var o benchHNSWOptions
	cmd := &cobra.Command{
		Use:   "hnsw",
		Short: "HNSW recall@10 against exact search for several ef_search values, with latency, beside the exact scan",
		Long: `Load clustered random unit vectors (a vector space of --dim dimensions) for
--products synthetic products into their own database (vitrine_bench_hnsw_N),
build the space's HNSW index, then for each ef_search value run --queries
nearest-neighbour queries (k=10) one at a time and report recall@10 against
the exact scan and the p50/p99 latency, beside the exact scan's own latency
from the same run, and the build's time, memory and index size. --halfvec: float16
vectors; --reduce K: PCA to K dimensions, recall against the full vectors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runBenchHNSW(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	cmd.Flags().IntVar(&o.products, "products", 100_000, "vectors to load")
	cmd.Flags().IntVar(&o.dim, "dim", 100, "dimensions")
	cmd.Flags().IntVar(&o.queries, "queries", 200, "queries per setting")
	cmd.Flags().StringVar(&o.efs, "ef", "10,20,40,80,160,320", "ef_search values")
	cmd.Flags().BoolVar(&o.halfvec, "halfvec", false, "store and index the vectors as halfvec (float16) instead of vector")
	cmd.Flags().IntVar(&o.red, "reduce", 0, "project the vectors to this many dimensions by PCA (0: keep them)")
	cmd.Flags().BoolVar(&o.reuse, "reuse", false, "reuse the bench database when it is already loaded")
	cmd.Flags().StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	cmd.Flags().StringVar(&o.mdOut, "md", "", "also write the report as Markdown to this file")
	cmd.Flags().StringVar(&o.plotTo, "plot", "", "draw recall@10 and latency against ef_search to this PNG file")
	return cmd
}

func (a *app) runBenchHNSW(ctx context.Context, out, errw io.Writer, o benchHNSWOptions) error {
	efs, err := hnsw.ParseEf(o.efs)
	if err != nil {
		return fmt.Errorf("--ef: %w", err)
	}
	bar := progress(errw, int64(o.products), "load", false)
	b := &hnsw.Bench{Products: o.products, Dim: o.dim, Queries: o.queries, Storage: hnsw.StorageOf(o.halfvec), Reduce: o.red,
		StatsDelay: 11 * time.Second, Progress: func(n int) { _ = bar.Set(n) }}
	st, err := a.openBenchStore(ctx, b.Database(), o.reuse)
	if err != nil {
		return err
	}
	defer st.Close()
	sp, rep, err := b.Prepare(ctx, st)
	_ = bar.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d vectors of %d dimensions: loaded in %.1fs, HNSW index built in %.1fs (%s)\n", o.products, o.dim, rep.LoadSeconds, rep.IndexSeconds, rep.Build())
	if err := b.Sweep(ctx, st, sp, efs, &rep); err != nil {
		return err
	}
	if err := hnsw.Text(out, rep); err != nil {
		return err
	}
	if err := hnsw.Plot(o.plotTo, rep); err != nil {
		return err
	}
	return report.Write(o.jsonOut, o.mdOut, rep, hnsw.Markdown)
}

// openBenchStore opens (creating, or emptying unless reuse) a bench
// database of its own on the configured server, migrated.
func (a *app) openBenchStore(ctx context.Context, name string, reuse bool, opts ...store.Option) (*store.Store, error) {
	server, err := a.databaseURL(ctx)
	if err != nil {
		return nil, err
	}
	u, _, err := store.PrepareDatabase(ctx, server, name, reuse)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, u, append([]store.Option{store.WithMigrate(), store.WithLogger(a.log), store.WithIndexBuildMemory(a.cfg.Database.IndexBuildMemory)}, opts...)...)
}
