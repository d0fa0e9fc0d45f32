package store_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// BenchmarkHalfvecSpace stores the same 20,000 clustered 512-d unit
// vectors in a vector space and in a halfvec space and measures, for each,
// the HNSW index size, the bytes of the space's rows, and recall@10 of the
// index search (Nearest's default ef_search) against an exact scan for 200
// queries (and, for halfvec, against the vector space's exact answer, so
// float16 rounding counts too); ns/op is the time of those 200 indexed
// searches. Run it with
//
//	go test ./store -run '^$' -bench HalfvecSpace -benchtime 1x
//
// It fails only on what must hold: halfvec halves the vectors, so its
// index is smaller, and float16 rounding (about 3 decimal digits) must not
// cost the index its recall.
func BenchmarkHalfvecSpace(b *testing.B) {
	const (
		n, dim, queries, k = 20000, 512, 200, 10
		clusters           = 100
	)
	ctx := b.Context()
	s, err := store.Open(ctx, testdb.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	data, qs := clusteredVectors(n, queries, dim, clusters)

	products := make([]catalog.Product, n)
	for i := range products {
		products[i] = catalog.Product{ID: fmt.Sprintf("p%05d", i), Title: fmt.Sprintf("product %d", i), Currency: "EUR"}
	}
	for lo := 0; lo < n; lo += 2000 {
		if _, err := s.UpsertProducts(ctx, products[lo:lo+2000]); err != nil {
			b.Fatal(err)
		}
	}

	type result struct {
		indexBytes, rowBytes int64
		recall               float64
	}
	results := map[records.Storage]result{}
	// fp32Exact is the vector space's exact answer: halfvec's index is also
	// scored against it, which counts float16 rounding as well.
	var fp32Exact [][]records.Neighbor
	for _, st := range []records.Storage{records.StorageVector, records.StorageHalfvec} {
		b.Run(string(st), func(b *testing.B) {
			// The index is built once after loading, as backfill does.
			sp, err := s.CreateSpace(ctx, records.NewSpace{Name: "bench-" + string(st), Dim: dim, Storage: st, DeferIndex: true})
			if err != nil {
				b.Fatal(err)
			}
			for lo := 0; lo < n; lo += 1000 {
				vs := make([]records.ProductVector, 0, 1000)
				for i := lo; i < lo+1000; i++ {
					vs = append(vs, records.ProductVector{ProductID: products[i].ID, Vector: data[i], SourceHash: []byte{1}})
				}
				if err := s.PutProductVectors(ctx, sp.Version, vs); err != nil {
					b.Fatal(err)
				}
			}
			start := time.Now()
			if err := s.BuildSpaceIndex(ctx, sp.Version); err != nil {
				b.Fatal(err)
			}
			build := time.Since(start)
			// Fresh statistics, as autovacuum gives a settled table: right
			// after a bulk load the planner thinks the space holds ~100 rows
			// and scans them all instead of using the index, and the
			// "HNSW" recall would be an exact scan's 1.0.
			if _, err := store.RawPool(s).Exec(ctx, `ANALYZE products, product_vectors`); err != nil {
				b.Fatal(err)
			}

			var r result
			index := fmt.Sprintf("product_vectors_space_%d_hnsw", sp.Version)
			if err := store.RawPool(s).QueryRow(ctx, `SELECT pg_relation_size($1::regclass)`, index).Scan(&r.indexBytes); err != nil {
				b.Fatal(err)
			}
			// Both spaces share one table, so a space's share is the sum of
			// its rows' sizes (TOAST-compressed values as stored).
			if err := store.RawPool(s).QueryRow(ctx, `SELECT sum(pg_column_size(v.*))::bigint FROM product_vectors v WHERE space_version = $1`,
				sp.Version).Scan(&r.rowBytes); err != nil {
				b.Fatal(err)
			}

			exact := make([][]records.Neighbor, queries)
			for i, q := range qs {
				if exact[i], err = s.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: q, K: k, Exact: true}); err != nil {
					b.Fatal(err)
				}
			}
			scans0 := indexScans(b, s, index)
			approx := make([][]records.Neighbor, queries)
			searches := 0
			for b.Loop() {
				for i, q := range qs {
					if approx[i], err = s.Nearest(ctx, records.NearestQuery{Space: sp.Version, Vector: q, K: k}); err != nil {
						b.Fatal(err)
					}
					searches++
				}
			}
			b.StopTimer()
			waitIndexScans(b, s, index, scans0+int64(searches))
			r.recall = recallAt(exact, approx)
			results[st] = r
			if st == records.StorageVector {
				fp32Exact = exact
			} else if fp32Exact != nil {
				b.ReportMetric(recallAt(fp32Exact, approx), "recall@10-vs-fp32")
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(searches), "us/search")
			b.ReportMetric(float64(r.indexBytes)/(1<<20), "index-MiB")
			b.ReportMetric(float64(r.rowBytes)/(1<<20), "rows-MiB")
			b.ReportMetric(r.recall, "recall@10")
			b.ReportMetric(build.Seconds(), "build-s")
			b.Logf("%s: index %d bytes, rows %d bytes, recall@%d %.4f over %d queries, index built in %s",
				st, r.indexBytes, r.rowBytes, k, r.recall, queries, build.Round(time.Millisecond))
		})
	}
	v, h := results[records.StorageVector], results[records.StorageHalfvec]
	if v.indexBytes == 0 || h.indexBytes == 0 {
		return // a sub-benchmark was filtered out (-bench with a sub-pattern)
	}
	b.Logf("halfvec/vector: index %.3f, rows %.3f; recall@10 vector %.4f, halfvec %.4f",
		float64(h.indexBytes)/float64(v.indexBytes), float64(h.rowBytes)/float64(v.rowBytes), v.recall, h.recall)
	if h.indexBytes >= v.indexBytes {
		b.Errorf("halfvec index %d bytes, not smaller than the vector index's %d", h.indexBytes, v.indexBytes)
	}
	for st, r := range results {
		if r.recall < 0.9 {
			b.Errorf("%s: recall@10 %.4f < 0.9", st, r.recall)
		}
	}
}

// indexScans is how many scans PostgreSQL has counted on an index.
func indexScans(b *testing.B, s *store.Store, index string) int64 {
	b.Helper()
	var n int64
	err := store.RawPool(s).QueryRow(b.Context(), `SELECT coalesce(sum(idx_scan), 0)::bigint FROM pg_stat_user_indexes WHERE indexrelname = $1`, index).Scan(&n)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// waitIndexScans fails unless the index's scan count reaches want: each
// indexed search must have used the HNSW index, or the recall measured
// would be that of an exact scan. Backends flush these counters when they
// go idle, at the latest about 10 s later, so the count is polled.
func waitIndexScans(b *testing.B, s *store.Store, index string, want int64) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := indexScans(b, s, index)
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %d scans counted, want %d: the searches did not all use the HNSW index", index, got, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// clusteredVectors draws n unit vectors around clusters random centres,
// each at its own distance from its centre (some tight, some loose, as
// product embeddings are), and queries drawn the same way, so every query
// has real near neighbours and recall measures the index, not noise.
func clusteredVectors(n, queries, dim, clusters int) (data, qs [][]float32) {
	r := rand.New(rand.NewPCG(512, 20000))
	centres := make([][]float64, clusters)
	for i := range centres {
		centres[i] = gaussian(r, dim, 1)
	}
	draw := func() []float32 {
		c := centres[r.IntN(clusters)]
		noise := gaussian(r, dim, 0.3+0.9*r.Float64())
		v := make([]float32, dim)
		var sq float64
		for j := range v {
			x := c[j] + noise[j]
			v[j] = float32(x)
			sq += x * x
		}
		inv := float32(1 / math.Sqrt(sq))
		for j := range v {
			v[j] *= inv
		}
		return v
	}
	for range n {
		data = append(data, draw())
	}
	for range queries {
		qs = append(qs, draw())
	}
	return data, qs
}

// gaussian is a random vector of length about norm.
func gaussian(r *rand.Rand, dim int, norm float64) []float64 {
	v := make([]float64, dim)
	for j := range v {
		v[j] = r.NormFloat64() * norm / math.Sqrt(float64(dim))
	}
	return v
}

// recallAt is the mean share of each exact top-k found by the index.
func recallAt(exact, approx [][]records.Neighbor) float64 {
	var sum float64
	for i := range exact {
		want := map[string]bool{}
		for _, nb := range exact[i] {
			want[nb.ProductID] = true
		}
		hit := 0
		for _, nb := range approx[i] {
			if want[nb.ProductID] {
				hit++
			}
		}
		sum += float64(hit) / float64(len(exact[i]))
	}
	return sum / float64(len(exact))
}
