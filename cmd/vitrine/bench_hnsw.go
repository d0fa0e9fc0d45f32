package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/bench/hnsw"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

func newBenchHNSWCmd(a *app) *cobra.Command {
	var o hnsw.Flags
	cmd := &cobra.Command{
		Use:   "hnsw",
		Short: "HNSW recall@10 against exact search for several ef_search values, with latency, beside the exact scan",
		Long: `Load clustered random unit vectors (a vector space of --dim dimensions) for
--products synthetic products into their own database (vitrine_bench_hnsw_N),
build the space's HNSW index, then for each ef_search value run --queries
nearest-neighbour queries (k=10) one at a time and report recall@10 against
the exact scan and the p50/p99 latency, beside the exact scan's own latency
from the same run, and the build's time, memory and index size. --halfvec: float16
vectors; --reduce K: PCA to K dimensions, recall against the full vectors;
--reuse --rebuild-index: build the loaded database's index again, with
--m/--ef-construction (default database.hnsw_m/hnsw_ef_construction), and
report its wall and CPU seconds (the server's processes, read from /proc).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runBenchHNSW(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	o.Register(cmd)
	return cmd
}

func (a *app) runBenchHNSW(ctx context.Context, out, errw io.Writer, o hnsw.Flags) error {
	bar := progress(errw, int64(o.Products), "load", false)
	b, efs, err := o.Bench(func(n int) { _ = bar.Set(n) })
	if err != nil {
		return err
	}
	st, err := a.openBenchStore(ctx, b.Database(), o.Reuse, store.WithHNSWGraph(o.Graph(a.cfg.Database.HNSWM, a.cfg.Database.HNSWEfConstruction)))
	if err != nil {
		return err
	}
	defer st.Close()
	sp, rep, err := b.Prepare(ctx, st)
	_ = bar.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d vectors of %d dimensions: loaded in %.1fs, HNSW index built in %.1fs (%s)\n", o.Products, o.Dim, rep.LoadSeconds, rep.IndexSeconds, rep.Build())
	if err := b.Sweep(ctx, st, sp, efs, &rep); err != nil {
		return err
	}
	if err := hnsw.Text(out, rep); err != nil {
		return err
	}
	if err := hnsw.Plot(o.Plot, rep); err != nil {
		return err
	}
	return report.Write(o.JSON, o.Markdown, rep, hnsw.Markdown)
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
	return store.Open(ctx, u, append([]store.Option{store.WithMigrate(), store.WithLogger(a.log), store.WithIndexBuildMemory(a.cfg.Database.IndexBuildMemory),
		store.WithHNSWGraph(a.cfg.Database.HNSWM, a.cfg.Database.HNSWEfConstruction)}, opts...)...)
}
