package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
}

func newBenchSearchCmd(a *app) *cobra.Command {
	var o benchSearchOptions
	cmd := &cobra.Command{
		Use:   "search",
		Short: "The in-memory lexical index beside PostgreSQL ts_rank_cd, alone and in the served hybrid search, in the same run",
		Long: `Load (or reuse, with --reuse) --products synthetic products into the bench
database bench api also uses (vitrine_bench_N), build the in-memory lexical
index from them as vitrine serve does (timed, with the heap it adds), then
under --clients concurrent callers measure, for the catalog's most frequent
words and for 1-, 2- and 3-word queries:
  lexical  the text engine alone (top 10 and the match total): the index,
           then PostgreSQL full text ranked by ts_rank_cd;
  hybrid   the served hybrid search with facets (serving.Service.Search as
           GET /v1/search runs it), built with search.engine index, then
           with search.engine postgres.
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
	return cmd
}

func (a *app) runBenchSearch(ctx context.Context, out, errw io.Writer, o benchSearchOptions) error {
	rep := search.Report{Products: o.products, Clients: o.clients, Duration: o.duration.String(), Warmup: o.warmup.String(), Groups: search.Groups()}
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
	if err := a.benchLexicalLeg(ctx, st, r, &rep); err != nil {
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

// benchLexicalLeg builds the index as serve does (timed, with its heap),
// counts what each engine matches and scores, and loads both engines'
// text search alone.
func (a *app) benchLexicalLeg(ctx context.Context, st *store.Store, r apiload.Runner, rep *search.Report) error {
	var (
		text lexical.Text
		stop func()
	)
	b, err := search.MeasureBuild(func() error {
		t, s, err := a.startLexical(ctx, st)
		if err != nil {
			return err
		}
		stop = s
		lt, ok := t.(lexical.Text)
		if !ok {
			return fmt.Errorf("lexical engine %T is not the in-memory index", t)
		}
		text = lt
		return nil
	})
	if err != nil {
		return err
	}
	defer stop()
	rep.Build = b
	if err := search.Count(ctx, text.Index(), st, rep.Groups); err != nil {
		return err
	}
	search.Run(ctx, r, rep, search.LexicalScenarios(rep.Groups, map[string]search.TextEngine{search.Index: text, search.Postgres: st}))
	return nil
}

// benchHybridLeg loads the served hybrid search, built by newServing as
// serve builds it, first on the index, then on PostgreSQL full text.
func (a *app) benchHybridLeg(ctx context.Context, st *store.Store, set *extractors.Set, r apiload.Runner, rep *search.Report) error {
	defer func(engine string) { a.cfg.Search.Engine = engine }(a.cfg.Search.Engine)
	for _, e := range []struct{ config, name string }{{"index", search.Index}, {"postgres", search.Postgres}} {
		a.cfg.Search.Engine = e.config
		uc, stop, err := a.newServing(ctx, st, set)
		if err != nil {
			return fmt.Errorf("search.engine %s: %w", e.config, err)
		}
		search.Run(ctx, r, rep, search.HybridScenarios(rep.Groups, e.name, uc))
		stop()
	}
	return nil
}
