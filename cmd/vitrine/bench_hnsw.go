package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/bench/load"
	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/report"
	"github.com/vitrinehq/vitrine/store"
)

// hnswRow is one ef_search setting's figures.
type hnswRow struct {
	EfSearch int           `json:"ef_search"` // 0: exact scan
	Recall   float64       `json:"recall_at_10"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
}

// hnswReport is what `vitrine bench hnsw` measured.
type hnswReport struct {
	Products     int     `json:"products"`
	Dim          int     `json:"dim"`
	Queries      int     `json:"queries"`
	LoadSeconds  float64 `json:"load_seconds"`
	IndexSeconds float64 `json:"index_build_seconds"`
	// Reused: loaded by an earlier run, whose load and build figures these are.
	Reused     bool      `json:"reused"`
	IndexScans int64     `json:"index_scans"`
	Rows       []hnswRow `json:"rows"`
}

func newBenchHNSWCmd(a *app) *cobra.Command {
	var (
		products, dim, queries int
		efs, jsonOut           string
		mdOut, plotOut         string
		reuse                  bool
	)
	cmd := &cobra.Command{
		Use:   "hnsw",
		Short: "HNSW recall@10 against exact search for several ef_search values, with latency, beside the exact scan",
		Long: `Load clustered random unit vectors (a vector space of --dim dimensions) for
--products synthetic products into their own database (vitrine_bench_hnsw_N),
build the space's HNSW index, then for each ef_search value run --queries
nearest-neighbour queries (k=10) one at a time and report recall@10 against
the exact scan and the p50/p99 latency, beside the exact scan's own latency
from the same run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			var efList []int
			for _, f := range strings.Split(efs, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 1 || n > 1000 {
					return fmt.Errorf("--ef: %q is not an integer from 1 to 1000", f)
				}
				efList = append(efList, n)
			}
			u, err := a.benchDatabase(ctx, fmt.Sprintf("vitrine_bench_hnsw_%d_%d", products, dim), reuse)
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, u, store.WithMigrate(), store.WithLogger(a.log), store.WithIndexBuildMemory(a.cfg.Database.IndexBuildMemory))
			if err != nil {
				return err
			}
			defer st.Close()
			r := rand.New(rand.NewPCG(7, 11))
			centres := make([][]float32, 64)
			for i := range centres {
				centres[i] = randUnit(r, dim, nil, 0)
			}
			rep := hnswReport{Products: products, Dim: dim, Queries: queries}
			sp, err := st.ActiveSpace(ctx)
			if err != nil {
				start := time.Now()
				if sp, err = benchHNSWLoad(ctx, cmd, st, r, centres, products, dim); err != nil {
					return err
				}
				rep.LoadSeconds = time.Since(start).Seconds()
				start = time.Now()
				if err := st.BuildSpaceIndex(ctx, sp.Version); err != nil {
					return err
				}
				if err := st.ActivateSpace(ctx, sp.Version); err != nil {
					return err
				}
				rep.IndexSeconds = time.Since(start).Seconds()
				if err := benchRecordBuild(ctx, st, benchBuild{LoadSeconds: rep.LoadSeconds, IndexSeconds: rep.IndexSeconds}); err != nil {
					return err
				}
			} else {
				var b benchBuild
				rep.Reused = benchRecalledBuild(ctx, st, &b)
				rep.LoadSeconds, rep.IndexSeconds = b.LoadSeconds, b.IndexSeconds
			}
			fmt.Fprintf(out, "%d vectors of %d dimensions: loaded in %.1fs, HNSW index built in %.1fs\n", products, dim, rep.LoadSeconds, rep.IndexSeconds)
			qs := make([][]float32, queries)
			for i := range qs {
				qs[i] = randUnit(r, dim, centres[r.IntN(len(centres))], 0.5)
			}
			truth := make([]map[string]bool, queries)
			exact := make([]time.Duration, queries)
			for i, q := range qs {
				t0 := time.Now()
				nn, err := st.Nearest(ctx, store.NearestQuery{Space: sp.Version, Vector: q, K: 10, Exact: true})
				if err != nil {
					return err
				}
				exact[i] = time.Since(t0)
				truth[i] = map[string]bool{}
				for _, n := range nn {
					truth[i][n.ProductID] = true
				}
			}
			rep.Rows = []hnswRow{summarise(0, 1, exact)}
			idxScans := func() int64 {
				var n int64
				_ = st.Pool().QueryRow(ctx, `SELECT COALESCE(sum(idx_scan), 0) FROM pg_stat_user_indexes WHERE indexrelname = $1`,
					fmt.Sprintf("product_vectors_space_%d_hnsw", sp.Version)).Scan(&n)
				return n
			}
			before := idxScans()
			for _, ef := range efList {
				lat := make([]time.Duration, queries)
				var hit, total int
				for i, q := range qs {
					t0 := time.Now()
					nn, err := st.Nearest(ctx, store.NearestQuery{Space: sp.Version, Vector: q, K: 10, EfSearch: ef})
					if err != nil {
						return err
					}
					lat[i] = time.Since(t0)
					for _, n := range nn {
						if truth[i][n.ProductID] {
							hit++
						}
					}
					total += len(truth[i])
				}
				rep.Rows = append(rep.Rows, summarise(ef, float64(hit)/float64(max(total, 1)), lat))
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "EF_SEARCH\tRECALL@10\tP50 ms\tP99 ms\tP50 vs EXACT\n")
			for _, row := range rep.Rows {
				name := strconv.Itoa(row.EfSearch)
				if row.EfSearch == 0 {
					name = "exact scan"
				}
				fmt.Fprintf(tw, "%s\t%.4f\t%s\t%s\t%.3fx\n", name, row.Recall, load.Ms(row.P50), load.Ms(row.P99), float64(row.P50)/float64(rep.Rows[0].P50))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			// Backends publish their statistics up to 10 s late: wait, then
			// say whether the planner really used the HNSW index.
			time.Sleep(11 * time.Second)
			rep.IndexScans = idxScans() - before
			fmt.Fprintf(out, "HNSW index scans during the indexed runs: %d of %d queries\n", rep.IndexScans, queries*len(efList))
			if plotOut != "" {
				if err := hnswPlot(plotOut, rep); err != nil {
					return err
				}
			}
			return report.Write(jsonOut, mdOut, rep, hnswMarkdown)
		},
	}
	cmd.Flags().IntVar(&products, "products", 100_000, "vectors to load")
	cmd.Flags().IntVar(&dim, "dim", 100, "dimensions")
	cmd.Flags().IntVar(&queries, "queries", 200, "queries per setting")
	cmd.Flags().StringVar(&efs, "ef", "10,20,40,80,160,320", "ef_search values")
	cmd.Flags().BoolVar(&reuse, "reuse", false, "reuse the bench database when it is already loaded")
	cmd.Flags().StringVar(&jsonOut, "json", "", "also write the report as JSON to this file")
	cmd.Flags().StringVar(&mdOut, "md", "", "also write the report as Markdown to this file")
	cmd.Flags().StringVar(&plotOut, "plot", "", "draw recall@10 and latency against ef_search to this PNG file")
	return cmd
}

func summarise(ef int, recall float64, lat []time.Duration) hnswRow {
	s := slices.Clone(lat)
	slices.Sort(s)
	return hnswRow{EfSearch: ef, Recall: recall, P50: load.Percentile(s, 50), P99: load.Percentile(s, 99)}
}

// randUnit is a random unit vector, near centre (noise scale) when given.
func randUnit(r *rand.Rand, dim int, centre []float32, noise float64) []float32 {
	v := make([]float32, dim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		if centre != nil {
			x = float64(centre[i])*math.Sqrt(float64(dim)) + noise*x*3
		}
		v[i] = float32(x)
		n += x * x
	}
	n = math.Sqrt(n)
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
	return v
}

// benchHNSWLoad creates products and their clustered vectors in a new space
// whose index is built after loading.
func benchHNSWLoad(ctx context.Context, cmd *cobra.Command, st *store.Store, r *rand.Rand, centres [][]float32, n, dim int) (store.Space, error) {
	sp, err := st.CreateSpace(ctx, store.NewSpace{Name: "bench-hnsw", Dim: dim, DeferIndex: true})
	if err != nil {
		return sp, err
	}
	bar := progress(cmd.ErrOrStderr(), int64(n), "load", false)
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		ps := make([]catalog.Product, 0, hi-lo)
		vs := make([]store.ProductVector, 0, hi-lo)
		for i := lo; i < hi; i++ {
			id := fmt.Sprintf("v%07d", i)
			ps = append(ps, catalog.Product{ID: id, Title: id})
			vs = append(vs, store.ProductVector{ProductID: id, Vector: randUnit(r, dim, centres[r.IntN(len(centres))], 0.5), SourceHash: []byte{1}})
		}
		if _, err := st.UpsertProducts(ctx, ps); err != nil {
			return sp, err
		}
		if err := st.PutProductVectors(ctx, sp.Version, vs); err != nil {
			return sp, err
		}
		_ = bar.Set(hi)
	}
	_ = bar.Finish()
	return sp, nil
}
