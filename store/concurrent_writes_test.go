package store

import (
	"fmt"
	"sync"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// writerBatch is one writer's products of a round: disjoint ids, but the
// same new titles, brands and categories as the other writer's, met in
// the opposite order.
func writerBatch(round, writer, n int) []catalog.Product {
	ps := make([]catalog.Product, n)
	for i := range ps {
		k := i % (n / 2)
		if writer == 1 {
			k = n/2 - 1 - k
		}
		ps[i] = catalog.Product{
			ID:       fmt.Sprintf("r%d-w%d-%03d", round, writer, i),
			Title:    fmt.Sprintf("title %d-%d", round, k),
			Brand:    fmt.Sprintf("brand %d-%d", round, k),
			Category: []string{fmt.Sprintf("dept %d-%d", round, k%3), fmt.Sprintf("aisle %d-%d", round, k)},
		}
	}
	return ps
}

// TestConcurrentIngestWritesDoNotDeadlock runs what two ingest batches in
// flight write (product upserts, embeddings, fused vectors with the
// space's HNSW index live) from two goroutines at once, round after round,
// on batches that introduce the same new suggestion terms in opposite
// orders. Before the store inserted those terms in one sorted order,
// PostgreSQL ended one of the upserts with a deadlock in most rounds. No
// transaction may be ended by a transient error (the store would log its
// retry), and every row must land.
func TestConcurrentIngestWritesDoNotDeadlock(t *testing.T) {
	const rounds, perBatch, dim = 16, 64, 4
	s, warns := openRetrying(t)
	ctx := t.Context()
	sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "stress", Dim: dim})
	if err != nil {
		t.Fatal(err)
	}
	write := func(ps []catalog.Product) error {
		res, err := s.UpsertProducts(ctx, ps)
		if err != nil {
			return err
		}
		es := make([]records.Embedding, len(ps))
		vs := make([]records.ProductVector, len(ps))
		for i, r := range res {
			if r.Status != records.Inserted {
				return fmt.Errorf("product %s: status %v, err %v", r.ID, r.Status, r.Err)
			}
			v := []float32{float32(i + 1), 1, 0, 0}
			es[i] = records.Embedding{ProductID: r.ID, Model: "stress@1", Modality: "text", InputHash: []byte{byte(i)}, Vector: v}
			vs[i] = records.ProductVector{ProductID: r.ID, Vector: v, SourceHash: []byte{byte(i)}}
		}
		if err := s.PutEmbeddings(ctx, es); err != nil {
			return err
		}
		return s.PutProductVectors(ctx, sp.Version, vs)
	}
	for round := range rounds {
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for w := range 2 {
			ps := writerBatch(round, w, perBatch)
			wg.Go(func() {
				<-start
				errs[w] = write(ps)
			})
		}
		close(start)
		wg.Wait()
		for w, err := range errs {
			if err != nil {
				t.Fatalf("round %d, writer %d: %v", round, w, err)
			}
		}
	}
	if n := warns.Count(); n != 0 {
		t.Errorf("%d transactions were ended by a transient error (deadlock) and run again", n)
	}
	var products, vectors, terms int
	err = s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM product_vectors),
		(SELECT count(*) FROM suggest_terms WHERE term LIKE 'brand %')`).Scan(&products, &vectors, &terms)
	if err != nil {
		t.Fatal(err)
	}
	if want := rounds * 2 * perBatch; products != want || vectors != want {
		t.Errorf("%d products and %d vectors stored, want %d of each", products, vectors, want)
	}
	if want := rounds * perBatch / 2; terms != want {
		t.Errorf("%d brand suggestion terms, want %d", terms, want)
	}
}
