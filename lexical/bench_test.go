package lexical

import (
	"fmt"
	"sync"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
)

var benchIndex = sync.OnceValue(func() *Index { return synthetic(&testing.B{}, 100000, 1) })

// BenchmarkSearch compares the pruned traversal with scoring every match
// (the brute-force reference) on 100,000 synthetic products, with facets.
// The metric scored/op is the documents scored per query.
func BenchmarkSearch(b *testing.B) {
	ix := benchIndex()
	for _, q := range []string{"organic", "apple", "organic apple", "red apple juice"} {
		query := Query{Text: q, K: 10, Facets: true}
		b.Run(fmt.Sprintf("pruned/%s", q), func(b *testing.B) {
			var res Result
			for b.Loop() {
				res, _ = ix.Search(query)
			}
			b.ReportMetric(float64(res.Scored), "scored/op")
			b.ReportMetric(float64(res.Total), "matches/op")
		})
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
