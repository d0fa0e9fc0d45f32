package hnsw

import (
	"cmp"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// Flags are the settings of `vitrine bench hnsw`.
type Flags struct {
	Products, Dim, Queries, Reduce int
	Efs, JSON, Markdown, Plot      string
	Reuse, Halfvec, Rebuild        bool
	// M and EfConstruction override the configured graph parameters
	// (database.hnsw_m, database.hnsw_ef_construction) when positive.
	M, EfConstruction int
}

// Register adds the flags to cmd.
func (f *Flags) Register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.IntVar(&f.Products, "products", 100_000, "vectors to load")
	fs.IntVar(&f.Dim, "dim", 100, "dimensions")
	fs.IntVar(&f.Queries, "queries", 200, "queries per setting")
	fs.StringVar(&f.Efs, "ef", "10,20,40,80,160,320", "ef_search values")
	fs.BoolVar(&f.Halfvec, "halfvec", false, "store and index the vectors as halfvec (float16) instead of vector")
	fs.IntVar(&f.Reduce, "reduce", 0, "project the vectors to this many dimensions by PCA (0: keep them)")
	fs.BoolVar(&f.Reuse, "reuse", false, "reuse the bench database when it is already loaded")
	fs.BoolVar(&f.Rebuild, "rebuild-index", false, "with --reuse: drop the loaded database's HNSW index and build it again (with --m and --ef-construction), measuring the build")
	fs.IntVar(&f.M, "m", 0, "HNSW m of the build (0: database.hnsw_m)")
	fs.IntVar(&f.EfConstruction, "ef-construction", 0, "HNSW ef_construction of the build (0: database.hnsw_ef_construction)")
	fs.StringVar(&f.JSON, "json", "", "also write the report as JSON to this file")
	fs.StringVar(&f.Markdown, "md", "", "also write the report as Markdown to this file")
	fs.StringVar(&f.Plot, "plot", "", "draw recall@10 and latency against ef_search to this PNG file")
}

// Graph is the build's m and ef_construction: the flags', else the
// configured m and efc.
func (f *Flags) Graph(m, efc int) (int, int) {
	return cmp.Or(f.M, m), cmp.Or(f.EfConstruction, efc)
}

// Bench is the benchmark the flags describe, reporting loading progress
// to progress, and the ef_search values to sweep.
func (f *Flags) Bench(progress func(done int)) (*Bench, []int, error) {
	efs, err := ParseEf(f.Efs)
	if err != nil {
		return nil, nil, fmt.Errorf("--ef: %w", err)
	}
	if f.Rebuild && !f.Reuse {
		return nil, nil, fmt.Errorf("--rebuild-index rebuilds a loaded database's index: add --reuse")
	}
	return &Bench{Products: f.Products, Dim: f.Dim, Queries: f.Queries, Storage: StorageOf(f.Halfvec), Reduce: f.Reduce,
		Rebuild: f.Rebuild, StatsDelay: 11 * time.Second, Progress: progress}, efs, nil
}
