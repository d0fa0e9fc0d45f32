package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

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
		dims, bytes, m int
		atLeast, below int64
	}{
		{"empty table gets the floor", 0, 100, 4, 16, 64 * mb, 64*mb + 1},
		// pgvector reports the graph of a million 100-d vectors outgrowing
		// 1 GB; the size must clear that without asking for a machine.
		{"1M x 100-d vector", 1_000_000, 100, 4, 16, 1200 * mb, 1700 * mb},
		{"1M x 100-d halfvec needs less", 1_000_000, 100, 2, 16, 1000 * mb, 1400 * mb},
		{"1M x 100-d with m 12 needs less", 1_000_000, 100, 4, 12, 1000 * mb, 1200 * mb},
		{"1M x 384-d vector", 1_000_000, 384, 4, 16, 2200 * mb, 3 * gb},
		{"capped at 8 GB", 100_000_000, 768, 4, 16, 8 * gb, 8*gb + 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := store.IndexBuildMemoryFor(c.rows, c.dims, c.bytes, c.m)
			if got < c.atLeast || got >= c.below {
				t.Errorf("IndexBuildMemoryFor(%d, %d, %d, %d) = %d MB, want [%d, %d) MB", c.rows, c.dims, c.bytes, c.m, got>>20, c.atLeast>>20, c.below>>20)
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

func TestOpenRejectsBadHNSWGraph(t *testing.T) {
	for _, g := range []struct{ m, efc int }{{1, 64}, {101, 400}, {16, 3}, {16, 1001}, {16, 24}} {
		_, err := store.Open(t.Context(), testdb.URL(t), store.WithHNSWGraph(g.m, g.efc))
		if !errors.Is(err, store.ErrHNSWGraph) {
			t.Errorf("Open with m %d, ef_construction %d: %v, want ErrHNSWGraph", g.m, g.efc, err)
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
			url := testdb.URL(t)
			s, err := store.Open(ctx, url, store.WithIndexBuildMemory(store.AutoIndexBuildMemory), store.WithIndexBuildWorkers(1), store.WithHNSWGraph(12, 40))
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
			err = store.RawPool(s).QueryRow(ctx, `SELECT count(*) FROM pg_indexes
				WHERE indexdef LIKE '%USING hnsw%' AND indexdef LIKE '%WITH (m=''12'', ef_construction=''40'')%'`).Scan(&indexes)
			if err != nil || indexes != 2 {
				t.Fatalf("hnsw indexes with m 12, ef_construction 40: %d, %v; want 2", indexes, err)
			}
			rebuildWithOtherGraph(t, url, sp.Version)
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

// rebuildWithOtherGraph rebuilds a space's index through a store with
// other graph parameters and checks that the footprint reports them.
func rebuildWithOtherGraph(t *testing.T, url string, version int) {
	t.Helper()
	ctx := t.Context()
	s, err := store.Open(ctx, url, store.WithHNSWGraph(8, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, err := s.SpaceIndexFootprint(ctx, version)
	if err != nil || before.M != 12 || before.EfConstruction != 40 || before.IndexBytes <= 0 {
		t.Fatalf("footprint of the index built with m 12, ef_construction 40: %+v, %v", before, err)
	}
	if err := s.RebuildSpaceIndex(ctx, version); err != nil {
		t.Fatal(err)
	}
	after, err := s.SpaceIndexFootprint(ctx, version)
	if err != nil || after.M != 8 || after.EfConstruction != 32 || after.IndexBytes <= 0 || after.BuildMemory != 64<<20 {
		t.Fatalf("footprint after the rebuild with m 8, ef_construction 32: %+v, %v", after, err)
	}
}

// TestIndexBuildBackends sees the backend of a CREATE INDEX while it runs
// (slowed by an index expression that sleeps) and none once it is done.
func TestIndexBuildBackends(t *testing.T) {
	ctx := t.Context()
	s, err := store.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pool := store.RawPool(s)
	_, err = pool.Exec(ctx, `CREATE TABLE slow_rows AS SELECT g AS id FROM generate_series(1, 40) g;
		CREATE FUNCTION slow_id(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1 FROM pg_sleep(0.05)'`)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var builder int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&builder); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := conn.Exec(ctx, `CREATE INDEX slow_idx ON slow_rows (slow_id(id))`)
		done <- err
	}()
	seen := false
	for !seen {
		pids, err := s.IndexBuildBackends(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen = slices.Contains(pids, builder)
		select {
		case err := <-done:
			if !seen {
				t.Fatalf("the build ended (%v) before IndexBuildBackends saw backend %d", err, builder)
			}
			done <- err
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if pids, err := s.IndexBuildBackends(ctx); err != nil || len(pids) != 0 {
		t.Errorf("backends after the build: %v, %v; want none", pids, err)
	}
}
