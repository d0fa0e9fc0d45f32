package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/api"
	"github.com/vitrinehq/vitrine/bench/load"
	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/indexer"
	"github.com/vitrinehq/vitrine/ingest"
	"github.com/vitrinehq/vitrine/internal/synth"
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
	cmd.AddCommand(newBenchAPICmd(a), newBenchHNSWCmd(a), newBenchExtractCmd(a), newBenchIngestCmd(a))
	return cmd
}

// apiBenchReport is what `vitrine bench api` measured.
type apiBenchReport struct {
	Products      int     `json:"products"`
	Clients       int     `json:"clients"`
	Duration      string  `json:"duration_per_scenario"`
	Warmup        string  `json:"warmup_per_scenario"`
	IngestSeconds float64 `json:"ingest_seconds"`
	IngestRate    float64 `json:"ingest_products_per_second"`
	IndexSeconds  float64 `json:"index_build_seconds"`
	// Reused: the database was loaded by an earlier run, whose ingest and
	// index figures these are.
	Reused        bool          `json:"reused"`
	DatabaseBytes int64         `json:"database_bytes"`
	TrainSeconds  float64       `json:"cf_train_seconds"`
	Results       []load.Result `json:"results"`
}

// benchBuild is what loading a bench database cost, kept with it.
type benchBuild struct {
	LoadSeconds  float64 `json:"load_seconds"`
	IndexSeconds float64 `json:"index_seconds"`
}

func newBenchAPICmd(a *app) *cobra.Command {
	var (
		products int
		clients  int
		duration time.Duration
		warmup   time.Duration
		reuse    bool
		jsonOut  string
		mdOut    string
		plotOut  string
	)
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
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			rep := apiBenchReport{Products: products, Clients: clients, Duration: duration.String(), Warmup: warmup.String()}
			dbURL, err := a.benchDatabase(ctx, fmt.Sprintf("vitrine_bench_%d", products), reuse)
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, dbURL, store.WithMigrate(), store.WithMaxConns(clients*2+4), store.WithLogger(a.log), store.WithIndexBuildMemory(a.cfg.Database.IndexBuildMemory))
			if err != nil {
				return err
			}
			defer st.Close()
			rt, err := a.runtime(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			set, err := a.loadEncoders(ctx, rt, []string{a.cfg.Models.Text}, nil)
			if err != nil {
				return err
			}
			defer set.Close()
			text, _ := set.ByModality(models.Text)
			spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{{Model: text.Key(), Modality: "text", Dim: text.Dim(), Weight: 1}}}
			ix := indexer.New(st, ingest.NewMediaLoader(), []indexer.Encoder{text}, indexer.WithLogger(a.log))
			if err := benchPopulate(ctx, cmd, st, ix, spec, products, &rep); err != nil {
				return err
			}
			sp, err := st.ActiveSpace(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%d products: ingest %.1fs (%.0f products/s), HNSW index build %.1fs, database %.1f MiB\n",
				products, rep.IngestSeconds, rep.IngestRate, rep.IndexSeconds, float64(rep.DatabaseBytes)/(1<<20))

			// The served configuration (impression log included), less
			// what would throttle the load: keys and rate limits.
			cfg, err := a.apiConfig()
			if err != nil {
				return err
			}
			cfg.Listen, cfg.Auth, cfg.RateLimit = "127.0.0.1:0", api.AuthOff, 0
			uc, err := a.newServing(st, set)
			if err != nil {
				return err
			}
			srv, err := api.New(cfg, api.Deps{Service: uc, Store: st, Encoders: set, Indexer: ix, Media: ingest.NewMediaLoader(), Logger: a.log})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			srvCtx, stop := context.WithCancel(ctx)
			defer stop()
			go func() { _ = srv.Start(srvCtx, ln) }()
			base := "http://" + ln.Addr().String()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2}}

			queries := benchQueries()
			vecs := make([][]float32, len(queries))
			fused := make([][]float32, len(queries))
			for i, q := range queries {
				if vecs[i], err = text.Encode(ctx, []byte(q)); err != nil {
					return err
				}
				if fused[i], err = spec.Query(map[string][]float32{text.Key(): vecs[i]}); err != nil {
					return err
				}
			}
			get := func(path string) error { return benchHTTP(ctx, client, "GET", base+path, nil) }
			run := func(name string, fn func(context.Context, int) error) {
				// Unmeasured first: the first scenario after a start would
				// otherwise pay for loading the index into the caches and
				// its baseline, run second, would not.
				if warmup > 0 {
					_ = load.Run(ctx, name, clients, warmup, 0, fn)
				}
				r := load.Run(ctx, name, clients, duration, 0, fn)
				rep.Results = append(rep.Results, r)
				fmt.Fprintf(cmd.ErrOrStderr(), "  %-22s %8.1f req/s  p50 %sms  p99 %sms  errors %d\n", name, r.QPS, load.Ms(r.P50), load.Ms(r.P99), r.Errors)
			}
			fmt.Fprintf(out, "load: %d clients, %s per scenario after %s unmeasured\n", clients, duration, warmup)
			run("rank (API)", func(ctx context.Context, i int) error {
				body, _ := json.Marshal(map[string]any{"query": queries[i%len(queries)], "k": 10})
				return benchHTTP(ctx, client, "POST", base+"/v1/rank", body)
			})
			run("rank (bare DB)", func(ctx context.Context, i int) error {
				_, err := st.Nearest(ctx, store.NearestQuery{Space: sp.Version, Vector: fused[i%len(fused)], K: 10})
				return err
			})
			run("search (API)", func(ctx context.Context, i int) error {
				return get("/v1/search?k=10&q=" + url.QueryEscape(queries[i%len(queries)]))
			})
			run("search (bare DB)", func(ctx context.Context, i int) error {
				q := queries[i%len(queries)]
				if _, err := st.LexicalSearch(ctx, q, catalog.Filter{}, 100); err != nil {
					return err
				}
				_, err := st.Nearest(ctx, store.NearestQuery{Model: text.Key(), Vector: vecs[i%len(vecs)], K: 100})
				return err
			})
			prefixes := benchPrefixes(queries)
			run("suggest (API)", func(ctx context.Context, i int) error {
				return get("/v1/suggest?q=" + url.QueryEscape(prefixes[i%len(prefixes)]))
			})
			run("suggest (bare DB)", func(ctx context.Context, i int) error {
				_, err := st.Suggest(ctx, prefixes[i%len(prefixes)], 8, nil)
				return err
			})
			// Recommendations need shoppers: their purchases go through the
			// API (so their vectors update online), then a CF model is
			// trained, and the hybrid path is loaded beside its two
			// retrieval queries.
			shoppers, err := benchShoppers(ctx, client, base, products, 500, 8)
			if err != nil {
				return err
			}
			trainStart := time.Now()
			tr, err := training.Train(ctx, st, training.Options{Factors: 32, Iterations: 10, Seed: 1})
			if err != nil {
				return err
			}
			rep.TrainSeconds = time.Since(trainStart).Seconds()
			cf, err := st.ActiveCFModel(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%d shoppers, %d purchases; CF training %.1fs\n", len(shoppers), tr.Interactions, rep.TrainSeconds)
			run("recommend (API)", func(ctx context.Context, i int) error {
				return get("/v1/users/" + shoppers[i%len(shoppers)] + "/recommendations?k=10")
			})
			run("recommend (bare DB)", func(ctx context.Context, i int) error {
				u := shoppers[i%len(shoppers)]
				uf, err := st.UserFactors(ctx, cf.Version, u)
				if err != nil {
					return err
				}
				if _, err := st.TopItemsByFactors(ctx, cf, uf, 30, nil); err != nil {
					return err
				}
				uv, err := st.GetUserVector(ctx, u, sp.Version)
				if err != nil {
					return err
				}
				_, err = st.Nearest(ctx, store.NearestQuery{Space: sp.Version, Vector: uv.Vector, K: 30})
				return err
			})
			printAPIBench(out, rep)
			if plotOut != "" {
				series := make([]report.LatencySeries, len(rep.Results))
				for i, r := range rep.Results {
					series[i] = report.LatencySeries{Name: r.Name, Latencies: r.Latencies}
				}
				if err := report.LatencyPlot(plotOut, fmt.Sprintf("API latency, %d products, %d clients (dashed: bare database query)", products, clients), series); err != nil {
					return err
				}
			}
			return report.Write(jsonOut, mdOut, rep, apiBenchMarkdown)
		},
	}
	cmd.Flags().IntVar(&products, "products", 100_000, "synthetic products to load")
	cmd.Flags().IntVar(&clients, "clients", 8, "concurrent clients")
	cmd.Flags().DurationVar(&duration, "duration", 10*time.Second, "load time per scenario")
	cmd.Flags().DurationVar(&warmup, "warmup", 3*time.Second, "unmeasured load before each scenario (0: none)")
	cmd.Flags().BoolVar(&reuse, "reuse", false, "reuse the bench database if it already holds the products")
	cmd.Flags().StringVar(&jsonOut, "json", "", "also write the report as JSON to this file")
	cmd.Flags().StringVar(&mdOut, "md", "", "also write the report as Markdown to this file")
	cmd.Flags().StringVar(&plotOut, "plot", "", "draw the latency distributions (API and bare query) to this PNG file")
	return cmd
}

// benchDatabase returns the URL of a database for the benchmark on the
// configured server (or the private cluster), created if needed and emptied
// unless reuse is set.
func (a *app) benchDatabase(ctx context.Context, name string, reuse bool) (string, error) {
	base, err := a.databaseURL(ctx)
	if err != nil {
		return "", err
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists && !reuse {
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return "", err
		}
		exists = false
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return "", err
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// benchPopulate ingests synthetic products into a fresh space and builds
// its index after loading (faster than growing the index row by row).
func benchPopulate(ctx context.Context, cmd *cobra.Command, st *store.Store, ix *indexer.Indexer, spec fusion.Spec, n int, rep *apiBenchReport) error {
	if have, err := st.CountProducts(ctx); err == nil && have == int64(n) {
		if _, err := st.ActiveSpace(ctx); err == nil {
			var b benchBuild
			if benchRecalledBuild(ctx, st, &b) {
				rep.Reused, rep.IngestSeconds, rep.IndexSeconds = true, b.LoadSeconds, b.IndexSeconds
				rep.IngestRate = float64(n) / max(b.LoadSeconds, 1e-9)
			}
			size, err := benchDBSize(ctx, st)
			rep.DatabaseBytes = size
			return err
		}
	}
	sp, err := st.CreateSpace(ctx, store.NewSpace{Name: "bench", Spec: spec.JSON(), Dim: spec.Dim(), DeferIndex: true})
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(synth.WriteJSONL(pw, synth.Options{N: n, Seed: 1})) }()
	rd, err := ingest.NewReader(pr, ingest.JSONL, "")
	if err != nil {
		return err
	}
	bar := progress(cmd.ErrOrStderr(), int64(n), "ingest", false)
	start := time.Now()
	sum, err := ingest.Run(ctx, rd, ingest.Options{Space: sp, Writer: st, Indexer: ix, BatchSize: 500,
		Progress: func(rows int) { _ = bar.Set(rows) }})
	_ = bar.Finish()
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if sum.Rejected > 0 {
		return fmt.Errorf("%d synthetic products rejected", sum.Rejected)
	}
	rep.IngestSeconds = time.Since(start).Seconds()
	rep.IngestRate = float64(n) / rep.IngestSeconds
	start = time.Now()
	if err := st.BuildSpaceIndex(ctx, sp.Version); err != nil {
		return err
	}
	if err := st.EnsureModelIndex(ctx, spec.Components[0].Model, spec.Components[0].Dim); err != nil {
		return err
	}
	rep.IndexSeconds = time.Since(start).Seconds()
	if err := st.ActivateSpace(ctx, sp.Version); err != nil {
		return err
	}
	if _, err := st.Pool().Exec(ctx, `ANALYZE`); err != nil {
		return err
	}
	if err := benchRecordBuild(ctx, st, benchBuild{LoadSeconds: rep.IngestSeconds, IndexSeconds: rep.IndexSeconds}); err != nil {
		return err
	}
	rep.DatabaseBytes, err = benchDBSize(ctx, st)
	return err
}

func benchDBSize(ctx context.Context, st *store.Store) (int64, error) {
	var n int64
	err := st.Pool().QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}

func benchHTTP(ctx context.Context, c *http.Client, method, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d", method, u, resp.StatusCode)
	}
	return nil
}

// benchShoppers posts purchases for users through the API: each user buys
// from one block of products, so collaborative filtering has structure.
func benchShoppers(ctx context.Context, c *http.Client, base string, products, users, per int) ([]string, error) {
	var ids []string
	var batch []map[string]any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		body, _ := json.Marshal(map[string]any{"events": batch})
		batch = batch[:0]
		return benchHTTP(ctx, c, "POST", base+"/v1/events", body)
	}
	block := max(1, products/100)
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for u := range users {
		id := fmt.Sprintf("shopper-%04d", u)
		ids = append(ids, id)
		for j := range per {
			p := (u%100)*block + (u*7+j*13)%block
			batch = append(batch, map[string]any{"client_event_id": fmt.Sprintf("bench-%d-%d", u, j), "user_id": id,
				"product_id": fmt.Sprintf("syn-%07d", p%products), "type": "purchase", "timestamp": at})
			if len(batch) == 1000 {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	return ids, flush()
}

// benchQueries are shopper-like queries over the synthetic vocabulary.
func benchQueries() []string {
	var qs []string
	for i := range 200 {
		p := synth.Gen(99, i, synth.Options{})
		words := strings.Fields(strings.ToLower(p.Title))
		switch i % 3 {
		case 0:
			qs = append(qs, words[1])
		case 1:
			qs = append(qs, words[0]+" "+words[1])
		default:
			qs = append(qs, strings.Join(words, " "))
		}
	}
	return qs
}

func benchPrefixes(qs []string) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q[:min(len(q), 2+i%4)]
	}
	return out
}

func printAPIBench(w io.Writer, rep apiBenchReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nENDPOINT\tQPS\tP50 ms\tP95 ms\tP99 ms\tERRORS\tBARE DB QPS\tBARE P50 ms\tBARE P99 ms\tP50 RATIO")
	for i := 0; i+1 < len(rep.Results); i += 2 {
		api, db := rep.Results[i], rep.Results[i+1]
		ratio := 0.0
		if db.P50 > 0 {
			ratio = float64(api.P50) / float64(db.P50)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%s\t%d\t%.1f\t%s\t%s\t%.2fx\n", strings.TrimSuffix(api.Name, " (API)"), api.QPS,
			load.Ms(api.P50), load.Ms(api.P95), load.Ms(api.P99), api.Errors, db.QPS, load.Ms(db.P50), load.Ms(db.P99), ratio)
	}
	_ = tw.Flush()
}
