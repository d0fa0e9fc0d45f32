package store_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

func TestIndexBuildMemoryFor(t *testing.T) {
	const mb, gb = int64(1) << 20, int64(1) << 30
	for _, c := range []struct {
		name           string
		rows           int64
		dims, bytes    int
		atLeast, below int64
	}{
		{"empty table gets the floor", 0, 100, 4, 64 * mb, 64*mb + 1},
		// pgvector reports the graph of a million 100-d vectors outgrowing
		// 1 GB; the size must clear that without asking for a machine.
		{"1M x 100-d vector", 1_000_000, 100, 4, 1200 * mb, 1700 * mb},
		{"1M x 100-d halfvec needs less", 1_000_000, 100, 2, 1000 * mb, 1400 * mb},
		{"1M x 384-d vector", 1_000_000, 384, 4, 2200 * mb, 3 * gb},
		{"capped at 8 GB", 100_000_000, 768, 4, 8 * gb, 8*gb + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := store.IndexBuildMemoryFor(c.rows, c.dims, c.bytes)
			if got < c.atLeast || got >= c.below {
				t.Errorf("IndexBuildMemoryFor(%d, %d, %d) = %d MB, want [%d, %d) MB", c.rows, c.dims, c.bytes, got>>20, c.atLeast>>20, c.below>>20)
			}
		})
	}
}

func TestOpenRejectsBadIndexBuildMemory(t *testing.T) {
	for _, size := range []string{"lots", "1 G", "-5MB"} {
		if _, err := store.Open(t.Context(), testdb.URL(t), store.WithIndexBuildMemory(size)); err == nil {
			t.Errorf("Open accepted index build memory %q", size)
		}
	}
}

// TestParallelSizedIndexBuilds builds a space's and a model's HNSW index
// after loading, with the memory sized from the rows and one parallel
// worker, and checks that both exist and answer, and that building again
// is a no-op.
func TestParallelSizedIndexBuilds(t *testing.T) {
	ctx := t.Context()
	for _, storage := range []records.Storage{records.StorageVector, records.StorageHalfvec} {
		t.Run(string(storage), func(t *testing.T) {
			s, err := store.Open(ctx, testdb.URL(t), store.WithIndexBuildMemory(store.AutoIndexBuildMemory), store.WithIndexBuildWorkers(1))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			const n, dim = 500, 16
			sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "deferred", Dim: dim, Storage: storage, DeferIndex: true})
			if err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			ps := make([]catalog.Product, n)
			vs := make([]records.ProductVector, n)
			es := make([]records.Embedding, n)
			for i := range n {
				id := fmt.Sprintf("p%03d", i)
				v := make([]float32, dim)
				for j := range v {
					v[j] = float32(r.NormFloat64())
				}
				ps[i] = product(id, id)
				vs[i] = records.ProductVector{ProductID: id, Vector: v, SourceHash: []byte{1}}
				es[i] = records.Embedding{ProductID: id, Model: "m@1", Modality: "text", InputHash: []byte{1}, Vector: v}
			}
			if _, err := s.UpsertProducts(ctx, ps); err != nil {
				t.Fatal(err)
			}
			if err := s.PutProductVectors(ctx, sp.Version, vs); err != nil {
				t.Fatal(err)
			}
			if err := s.PutEmbeddings(ctx, es); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second round finds both indexes built
				if err := s.BuildSpaceIndex(ctx, sp.Version); err != nil {
					t.Fatal(err)
				}
				if err := s.EnsureModelIndex(ctx, "m@1", dim); err != nil {
					t.Fatal(err)
				}
			}
			var indexes int
			err = store.RawPool(s).QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING hnsw%'`).Scan(&indexes)
			if err != nil || indexes != 2 {
				t.Fatalf("hnsw indexes: %d, %v; want 2", indexes, err)
			}
			if err := s.ActivateSpace(ctx, sp.Version); err != nil {
				t.Fatal(err)
			}
			hits, err := s.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: vs[42].Vector, K: 1})
			if err != nil || len(hits) != 1 || hits[0].ProductID != "p042" {
				t.Errorf("nearest to p042's own vector: %+v %v", hits, err)
			}
		})
	}
}
