package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/bench/apiload"
	"github.com/vitrinehq/vitrine/bench/search"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/lexical"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

// benchSearchOptions are the flags of bench search.
type benchSearchOptions struct {
	products, clients int
	duration, warmup  time.Duration
	reuse             bool
	jsonOut, mdOut    string
	engines           string // comma-separated, of search.Engines
}

func newBenchSearchCmd(a *app) *cobra.Command {
	var o benchSearchOptions
	cmd := &cobra.Command{
		Use:   "search",
		Short: "The in-memory lexical index beside Bleve and PostgreSQL ts_rank_cd, alone and in the served hybrid search, in the same run",
		Long: `Load (or reuse, with --reuse) --products synthetic products into the bench
database (vitrine_bench_N, as bench api), build the in-memory index from them
as serve does and Bleve (scorch, temporary directory) from the same products,
each timed with its heap, then under --clients callers measure, for the most
frequent words and 1-, 2- and 3-word queries, the lexical leg (each --engines
engine alone: top 10 and the match total) and the hybrid leg (the served search
with facets as GET /v1/search runs it, on search.engine index and postgres).
Each query's matched and scored documents are reported per engine.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runBenchSearch(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	cmd.Flags().IntVar(&o.products, "products", 2000, "synthetic products to load (e.g. 10000, 100000, 1000000)")
	cmd.Flags().IntVar(&o.clients, "clients", 8, "concurrent clients")
	cmd.Flags().DurationVar(&o.duration, "duration", 5*time.Second, "load time per scenario")
	cmd.Flags().DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each scenario (0: none)")
	cmd.Flags().BoolVar(&o.reuse, "reuse", false, "reuse the bench database if it already holds the products")
	cmd.Flags().StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	cmd.Flags().StringVar(&o.mdOut, "md", "", "also write the report as Markdown to this file")
	cmd.Flags().StringVar(&o.engines, "engines", strings.Join(search.Engines(), ","), "engines to build and measure (leave out bleve where it cannot build)")
	return cmd
}

func (a *app) runBenchSearch(ctx context.Context, out, errw io.Writer, o benchSearchOptions) error {
	engines, err := search.ParseEngines(o.engines)
	if err != nil {
		return err
	}
	rep := search.Report{Products: o.products, Clients: o.clients, Duration: o.duration.String(), Warmup: o.warmup.String(), Engines: engines, Groups: search.Groups()}
	svc, err := a.openBench(ctx, fmt.Sprintf("vitrine_bench_%d", o.products), o.reuse, []string{a.cfg.Models.Text}, store.WithMaxConns(o.clients*2+4))
	if err != nil {
		return err
	}
	defer svc.Close()
	st, set := svc.st, svc.set
	if err := a.populateBenchSearch(ctx, errw, st, set, &rep); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d products ready; load: %d clients, %s per scenario after %s unmeasured\n", o.products, o.clients, o.duration, o.warmup)
	r := apiload.Runner{Clients: o.clients, Duration: o.duration, Warmup: o.warmup, Log: errw}
	if err := search.LexicalLeg(ctx, r, &rep, st, a.benchIndex(ctx, st)); err != nil {
		return err
	}
	if err := a.benchHybridLeg(ctx, st, set, r, &rep); err != nil {
		return err
	}
	if err := search.Text(out, rep); err != nil {
		return err
	}
	return report.Write(o.jsonOut, o.mdOut, rep, search.Markdown)
}

// populateBenchSearch loads the bench database as bench api does: text
// products in the text model's space.
func (a *app) populateBenchSearch(ctx context.Context, errw io.Writer, st *store.Store, set *extractors.Set, rep *search.Report) error {
	text, ok := set.ByModality(models.Text)
	if !ok {
		return errors.New("bench search needs a text model (models.text)")
	}
	spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{{Model: text.Key(), Modality: "text", Dim: text.Dim(), Weight: 1}}}
	ix := indexer.New(st, ingest.NewMediaLoader(), []indexer.Encoder{text}, indexer.WithLogger(a.log))
	var pr apiload.Report
	bar := progress(errw, int64(rep.Products), "ingest", false)
	err := apiload.Populate(ctx, st, ix, spec, rep.Products, func(n int) { _ = bar.Set(n) }, &pr)
	_ = bar.Finish()
	fmt.Fprintln(errw)
	rep.PopulateSeconds, rep.Reused = pr.IngestSeconds+pr.IndexSeconds, pr.Reused
	return err
}

// benchIndex starts the in-memory index as serve does, for the lexical
// leg.
func (a *app) benchIndex(ctx context.Context, st *store.Store) search.StartIndex {
	return func() (search.IndexText, func(), error) {
		t, stop, err := a.startLexical(ctx, st)
		if lt, ok := t.(lexical.Text); ok || err != nil {
			return lt, stop, err
		}
		stop()
		return nil, nil, fmt.Errorf("lexical engine %T is not the in-memory index", t)
	}
}

// benchHybridLeg loads the served hybrid search, built by newServing as
// serve builds it, first on the index, then on PostgreSQL full text.
func (a *app) benchHybridLeg(ctx context.Context, st *store.Store, set *extractors.Set, r apiload.Runner, rep *search.Report) error {
	defer func(engine string) { a.cfg.Search.Engine = engine }(a.cfg.Search.Engine)
	for _, e := range rep.HybridEngines() {
		a.cfg.Search.Engine = e.Config
		uc, stop, err := a.newServing(ctx, st, set)
		if err != nil {
			return fmt.Errorf("search.engine %s: %w", e.Config, err)
		}
		search.Run(ctx, r, rep, search.HybridScenarios(rep.Groups, e.Name, uc))
		stop()
	}
	return nil
}
