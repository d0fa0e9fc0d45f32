package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// hnswIndexes counts the database's HNSW indexes.
func hnswIndexes(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int
	err := store.RawPool(s).QueryRow(t.Context(), `SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING hnsw%'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDropAndBuildIndexesForABulkLoad drops a space's and a model's HNSW
// indexes as a bulk load does before loading, twice (the second drop finds
// nothing and says so), checks that queries still answer by exact scan,
// and builds both again twice (the second build is a no-op), as the end of
// the load and a restart after a crash would.
func TestDropAndBuildIndexesForABulkLoad(t *testing.T) {
	ctx := t.Context()
	s, err := store.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n, dim, model = 50, 8, "m@1"
	sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "live", Dim: dim})
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]catalog.Product, n)
	vs := make([]records.ProductVector, n)
	es := make([]records.Embedding, n)
	for i := range n {
		id := fmt.Sprintf("p%02d", i)
		v := make([]float32, dim)
		v[i%dim] = 1 // distinct directions: one axis, or two at 1 and 0.5
		v[(i/dim)%dim] += 0.5
		ps[i] = product(id, id)
		vs[i] = records.ProductVector{ProductID: id, Vector: v, SourceHash: []byte{1}}
		es[i] = records.Embedding{ProductID: id, Model: model, Modality: "text", InputHash: []byte{1}, Vector: v}
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
	if err := s.EnsureModelIndex(ctx, model, dim); err != nil {
		t.Fatal(err)
	}
	if got := hnswIndexes(t, s); got != 2 {
		t.Fatalf("%d HNSW indexes before dropping, want 2 (the space's and the model's)", got)
	}
	for round, want := range []bool{true, false} {
		for name, drop := range map[string]func(context.Context) (bool, error){
			"space": func(ctx context.Context) (bool, error) { return s.DropSpaceIndex(ctx, sp.Version) },
			"model": func(ctx context.Context) (bool, error) { return s.DropModelIndex(ctx, model) },
		} {
			if existed, err := drop(ctx); err != nil || existed != want {
				t.Errorf("drop %s index, round %d: existed %v (%v), want %v", name, round+1, existed, err, want)
			}
		}
	}
	if got := hnswIndexes(t, s); got != 0 {
		t.Fatalf("%d HNSW indexes after dropping, want 0", got)
	}
	checkNearest(t, s, records.NearestQuery{Space: sp.Version, Vector: vs[42].Vector, K: 1}, "p42")
	checkNearest(t, s, records.NearestQuery{Model: model, Vector: es[17].Vector, K: 1}, "p17")
	if existed, err := s.DropSpaceIndex(ctx, sp.Version+100); err != nil || existed {
		t.Errorf("drop the index of a space that does not exist: existed %v, %v; want false, nil", existed, err)
	}
	for range 2 { // the second round finds both indexes built
		if err := s.BuildSpaceIndex(ctx, sp.Version); err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureModelIndex(ctx, model, dim); err != nil {
			t.Fatal(err)
		}
	}
	if got := hnswIndexes(t, s); got != 2 {
		t.Fatalf("%d HNSW indexes after building again, want 2", got)
	}
	checkNearest(t, s, records.NearestQuery{Space: sp.Version, Vector: vs[42].Vector, K: 1}, "p42")
	checkNearest(t, s, records.NearestQuery{Model: model, Vector: es[17].Vector, K: 1}, "p17")
}

// checkNearest expects want as the one nearest neighbour of q.
func checkNearest(t *testing.T, s *store.Store, q records.NearestQuery, want string) {
	t.Helper()
	hits, err := s.Nearest(t.Context(), q)
	if err != nil || len(hits) != 1 || hits[0].ProductID != want {
		t.Errorf("nearest (space %d, model %q): %+v, %v; want %s", q.Space, q.Model, hits, err, want)
	}
}
