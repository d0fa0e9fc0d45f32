package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/bench/apiload"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/cli"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
	"github.com/vitrinehq/vitrine/training"
)

func newBenchCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Vitrine's speed (each figure beside a baseline from the same run)",
	}
	cmd.AddCommand(newBenchAPICmd(a), newBenchHNSWCmd(a), newBenchExtractCmd(a), newBenchIngestCmd(a), newBenchSearchCmd(a), newBenchHostileCmd(a))
	return cmd
}

// benchAPIOptions are the flags of bench api.
type benchAPIOptions struct {
	products, clients       int
	duration, warmup        time.Duration
	reuse                   bool
	jsonOut, mdOut, plotOut string
	only                    []string
	cpuProfile              string
}

func newBenchAPICmd(a *app) *cobra.Command {
	var o benchAPIOptions
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Load /v1/rank, /v1/search, /v1/suggest and recommendations on synthetic products, beside the bare database queries",
		Long: `Build (or reuse, with --reuse) a database of synthetic products in its own
database (vitrine_bench_N), start the API in this process on a loopback port
without auth or rate limits, and load /v1/rank (text query), /v1/search and
/v1/suggest with concurrent clients for --duration each. Each endpoint is
printed beside the bare database query behind it, run with the same
concurrency in the same run: the nearest-neighbour query with a precomputed
vector for rank; full-text plus vector candidate queries for search; the
suggestion query for suggest. The difference is the cost of HTTP, JSON, the
text model and ranking. Products are text-only (the text model's space), so
the run measures serving, not image encoding. Each scenario runs --warmup
unmeasured first, so neither side of a pair pays for cold caches.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runBenchAPI(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	cmd.Flags().IntVar(&o.products, "products", 100_000, "synthetic products to load")
	cmd.Flags().IntVar(&o.clients, "clients", 8, "concurrent clients")
	cmd.Flags().DurationVar(&o.duration, "duration", 10*time.Second, "load time per scenario")
	cmd.Flags().DurationVar(&o.warmup, "warmup", 3*time.Second, "unmeasured load before each scenario (0: none)")
	cmd.Flags().BoolVar(&o.reuse, "reuse", false, "reuse the bench database if it already holds the products")
	cmd.Flags().StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file")
	cmd.Flags().StringVar(&o.mdOut, "md", "", "also write the report as Markdown to this file")
	cmd.Flags().StringVar(&o.plotOut, "plot", "", "draw the latency distributions (API and bare query) to this PNG file")
	cmd.Flags().StringSliceVar(&o.only, "only", nil, "load only these endpoints: "+strings.Join(apiload.Endpoints(), ", ")+" (default all)")
	cmd.Flags().StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole load (server and clients, this process) to this file")
	return cmd
}

// benchAPI is what one bench api run holds open.
type benchAPI struct {
	st     *store.Store
	set    *extractors.Set
	text   extractors.Encoder
	spec   fusion.Spec
	ix     *indexer.Indexer
	client apiload.Client
}

func (a *app) runBenchAPI(ctx context.Context, out, errw io.Writer, o benchAPIOptions) error {
	if err := apiload.CheckEndpoints(o.only); err != nil {
		return err
	}
	rep := apiload.Report{Products: o.products, Clients: o.clients, Duration: o.duration.String(), Warmup: o.warmup.String(), RetrievalTTL: a.cfg.Recommend.CacheTTL.String()}
	svc, err := a.openBench(ctx, fmt.Sprintf("vitrine_bench_%d", o.products), o.reuse, []string{a.cfg.Models.Text}, store.WithMaxConns(o.clients*2+4))
	if err != nil {
		return err
	}
	defer svc.Close()
	st, set := svc.st, svc.set
	b := &benchAPI{st: st, set: set}
	b.text, _ = set.ByModality(models.Text)
	b.spec = fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{{Model: b.text.Key(), Modality: "text", Dim: b.text.Dim(), Weight: 1}}}
	b.ix = indexer.New(st, ingest.NewMediaLoader(), []indexer.Encoder{b.text}, indexer.WithLogger(a.log))
	bar := progress(errw, int64(o.products), "ingest", false)
	err = apiload.Populate(ctx, st, b.ix, b.spec, o.products, func(n int) { _ = bar.Set(n) }, &rep)
	_ = bar.Finish()
	fmt.Fprintln(errw)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d products: ingest %.1fs (%.0f products/s), HNSW index build %.1fs, database %.1f MiB\n",
		o.products, rep.IngestSeconds, rep.IngestRate, rep.IndexSeconds, float64(rep.DatabaseBytes)/(1<<20))
	stop, err := a.serveBench(ctx, b, o.clients)
	if err != nil {
		return err
	}
	defer stop()
	stopProfile, err := cli.CPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	err = a.loadBenchAPI(ctx, out, errw, b, o, &rep)
	if err := errors.Join(err, stopProfile()); err != nil {
		return err
	}
	if err := apiload.Text(out, rep); err != nil {
		return err
	}
	if o.plotOut != "" {
		if err := apiload.Plot(o.plotOut, rep); err != nil {
			return err
		}
	}
	return report.Write(o.jsonOut, o.mdOut, rep, apiload.Markdown)
}

// serveBench starts the API in this process on a loopback port with the
// served configuration (impression log included), less what would
// throttle the load: keys and rate limits. stop shuts it down.
func (a *app) serveBench(ctx context.Context, b *benchAPI, clients int) (stop func(), err error) {
	cfg, err := a.apiConfig()
	if err != nil {
		return nil, err
	}
	cfg.Listen, cfg.Auth, cfg.RateLimit = "127.0.0.1:0", api.AuthOff, 0
	uc, stopServing, err := a.newServing(ctx, b.st, b.set)
	if err != nil {
		return nil, err
	}
	srv, err := api.New(cfg, api.Deps{Service: uc, Store: b.st, Encoders: b.set, Indexer: b.ix, Media: ingest.NewMediaLoader(), Logger: a.log})
	if err != nil {
		stopServing()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stopServing()
		return nil, err
	}
	srvCtx, cancel := context.WithCancel(ctx)
	go func() { _ = srv.Start(srvCtx, ln) }()
	b.client = apiload.Client{HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}}, Base: "http://" + ln.Addr().String()}
	return func() {
		cancel()
		stopServing()
	}, nil
}

// loadBenchAPI runs the search-side pairs, then makes shoppers through the
// API, trains a CF model on their purchases and runs the recommendation
// and similar-product pairs.
func (a *app) loadBenchAPI(ctx context.Context, out, errw io.Writer, b *benchAPI, o benchAPIOptions, rep *apiload.Report) error {
	sp, err := b.st.ActiveSpace(ctx)
	if err != nil {
		return err
	}
	s, err := apiload.NewSearch(ctx, b.text, b.spec, sp.Version)
	if err != nil {
		return err
	}
	r := apiload.Runner{Clients: o.clients, Duration: o.duration, Warmup: o.warmup, Log: errw, Only: o.only}
	fmt.Fprintf(out, "load: %d clients, %s per scenario after %s unmeasured\n", o.clients, o.duration, o.warmup)
	rep.Results = r.Run(ctx, apiload.SearchPairs(b.client, b.st, s)...)
	if !r.WantsAny(apiload.RecommendEndpoints()...) {
		return nil
	}
	shoppers, err := apiload.Shoppers(ctx, b.client, o.products, 500, 8)
	if err != nil {
		return err
	}
	start := time.Now()
	tr, err := training.Train(ctx, b.st, training.Options{Factors: 32, Iterations: 10, Seed: 1})
	if err != nil {
		return err
	}
	rep.TrainSeconds = time.Since(start).Seconds()
	cf, err := b.st.ActiveCFModel(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d shoppers, %d purchases; CF training %.1fs\n", len(shoppers), tr.Interactions, rep.TrainSeconds)
	rep.Results = append(rep.Results, r.Run(ctx, apiload.RecommendPair(b.client, b.st, shoppers, o.products, cf, sp.Version)...)...)
	return nil
}
