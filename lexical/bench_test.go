package lexical

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/records"
)

// benchSizes are the catalog sizes the search benchmarks run at; each
// index is built once, on first use (the 1,000,000 one takes a while).
var benchSizes = []int{100_000, 1_000_000}

var benchIndexes = sync.OnceValue(func() map[int]func() *Index {
	m := map[int]func() *Index{}
	for _, n := range benchSizes {
		m[n] = sync.OnceValue(func() *Index { return synthetic(&testing.B{}, n, 1) })
	}
	return m
})

func benchIndex(n int) *Index { return benchIndexes()[n]() }

// BenchmarkSearch compares the pruned traversal with scoring every match
// (the brute-force reference, at 100,000 only) on synthetic products,
// with facets, in the all-words mode. The metric scored/op is the
// documents scored per query: go test -run '^$' -bench 'Search/100000'
// ./lexical.
func BenchmarkSearch(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ix := benchIndex(n)
			for _, q := range []string{"organic", "apple", "organic apple", "red apple juice"} {
				query := Query{Text: q, K: 10, Facets: true}
				b.Run(fmt.Sprintf("pruned/%s", q), func(b *testing.B) { benchQuery(b, ix, query) })
				if n > 100_000 {
					continue
				}
				b.Run(fmt.Sprintf("bruteforce/%s", q), func(b *testing.B) {
					for b.Loop() {
						bruteForce(ix, query)
					}
				})
			}
			b.Run("pruned/filtered", func(b *testing.B) {
				q := Query{Text: "organic", K: 10, Facets: true, Filter: catalog.Filter{Category: []string{"Dairy"}, MaxPrice: ptr(50)}}
				for b.Loop() {
					_, _ = ix.Search(q)
				}
			})
		})
	}
}

// benchQuery runs q for the benchmark's iterations and reports the
// documents the last search scored and matched.
func benchQuery(b *testing.B, ix *Index, q Query) {
	var res Result
	for b.Loop() {
		res, _ = ix.Search(q)
	}
	b.ReportMetric(float64(res.Scored), "scored/op")
	b.ReportMetric(float64(res.Total), "matches/op")
}

// BenchmarkSearchAny is the any-word mode (search.match any, the shipped
// default): a product holding any query word matches, so the total and
// facets count the union of the words' postings, while the top 10 come
// from the MaxScore traversal (scored/op of matches/op):
// go test -run '^$' -bench 'SearchAny/100000' ./lexical.
func BenchmarkSearchAny(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ix := benchIndex(n)
			ix.cfg.match = MatchAny
			defer func() { ix.cfg.match = MatchAll }()
			for _, q := range []string{"organic", "organic apple", "red apple juice"} {
				b.Run(q, func(b *testing.B) { benchQuery(b, ix, Query{Text: q, K: 10, Facets: true}) })
			}
			b.Run("filtered/red apple juice", func(b *testing.B) {
				q := Query{Text: "red apple juice", K: 10, Facets: true, Filter: catalog.Filter{Brands: []string{"Acme", "Nordic"}, MaxPrice: ptr(50)}}
				for b.Loop() {
					_, _ = ix.Search(q)
				}
			})
		})
	}
}

// BenchmarkSearchFallback is the all-words mode's fallback to any word:
// the full titles of products generated with another seed (as `vitrine
// bench api` queries), which no product holds all of, so the total and
// facets count the union of their postings and MaxScore picks the top 10:
// go test -run '^$' -bench 'SearchFallback/100000' ./lexical.
func BenchmarkSearchFallback(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ix := benchIndex(n)
			var qs []string
			for i := 0; len(qs) < 3; i++ {
				q := strings.ToLower(synth.Gen(99, i, synth.Options{}).Title)
				if res, _ := ix.Search(Query{Text: q, K: 10}); res.Match == MatchAny {
					qs = append(qs, q)
				}
			}
			for _, q := range qs {
				b.Run(q, func(b *testing.B) { benchQuery(b, ix, Query{Text: q, K: 10, Facets: true}) })
			}
		})
	}
}

// BenchmarkReplace is the cost of writing a product the index already
// holds (its old postings removed, the new ones appended) on 100,000
// synthetic products: every product holds the description's words, so
// removal touches postings as long as the catalog.
func BenchmarkReplace(b *testing.B) {
	ix := synthetic(b, 100000, 1)
	i := 0
	for b.Loop() {
		ix.Put(synthProduct(i%100000, 1))
		i += 7919
	}
}

// BenchmarkBuild indexes the bench's synthetic catalog (the generator
// `vitrine bench search` loads into PostgreSQL) in memory, without the
// database, and reports the heap the index holds after a collection:
// go test -run '^$' -bench Build -benchtime 1x ./lexical.
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var heap uint64
			for b.Loop() {
				var m runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m)
				before := m.HeapInuse
				ix, err := New()
				if err != nil {
					b.Fatal(err)
				}
				for i := range n {
					ix.Put(syntheticProduct(i))
				}
				ix.Reweigh()
				runtime.GC()
				runtime.ReadMemStats(&m)
				heap = m.HeapInuse - before
				runtime.KeepAlive(ix)
			}
			b.ReportMetric(float64(heap)/(1<<20), "MiB")
		})
	}
}

// syntheticProduct is product i of the bench's synthetic catalog.
func syntheticProduct(i int) catalog.Product {
	s := synth.Gen(1, i, synth.Options{})
	return catalog.Product{ID: s.ID, Title: s.Title, Description: s.Description, Brand: s.Brand,
		Category: s.Category, Price: &s.Price, Attributes: s.Attributes}
}

// memSource serves pre-built products in id order, standing in for
// PostgreSQL so BenchmarkSnapshot measures indexing alone.
type memSource []catalog.Product

func (m memSource) ProductsAfter(_ context.Context, after string, limit int) ([]catalog.Product, error) {
	i, _ := slices.BinarySearchFunc(m, after, func(p catalog.Product, id string) int { return strings.Compare(p.ID, id) })
	if i < len(m) && m[i].ID == after {
		i++
	}
	return m[i:min(i+limit, len(m))], nil
}
func (memSource) GetProducts(context.Context, []string) (map[string]catalog.Product, error) {
	return nil, nil
}
func (memSource) ProductChangesAfter(context.Context, int64, int) ([]records.ProductChange, error) {
	return nil, nil
}
func (memSource) ProductChangeSeqBefore(context.Context, time.Time) (int64, error) { return 0, nil }
func (memSource) ListenProductChanges(context.Context, func()) error               { return nil }

// BenchmarkSnapshot is the index build of a restarting server at 100,000
// and 300,000 synthetic products, the products already in memory (the
// database read is measured by `vitrine bench search`): "put" indexes
// each page product by product, as the snapshot did before; "pipelined"
// is the Syncer's snapshot (pages read one ahead, each analysed on every
// core by PutAll). cpu-s/op is the process's CPU time (user and system)
// per build, steadier than wall time on a shared machine:
// go test -run '^$' -bench Snapshot -benchtime 1x ./lexical.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{100_000, 300_000} {
		src := make(memSource, n)
		for i := range src {
			src[i] = syntheticProduct(i)
		}
		b.Run(fmt.Sprintf("%d/put", n), func(b *testing.B) {
			cpu := cpuTime()
			for b.Loop() {
				ix, err := New()
				if err != nil {
					b.Fatal(err)
				}
				for from := 0; from < n; from += 5000 {
					for _, p := range src[from:min(from+5000, n)] {
						ix.Put(p)
					}
				}
				ix.Reweigh()
			}
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
		b.Run(fmt.Sprintf("%d/pipelined", n), func(b *testing.B) {
			sy := NewSyncer(src)
			cpu := cpuTime()
			for b.Loop() {
				if _, err := sy.snapshot(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
