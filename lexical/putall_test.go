package lexical

import (
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
)

// TestPutAllEqualsPut: a bulk load through PutAll (parallel analysis, one
// lock) indexes exactly what Put of each product in order does, a
// product repeated in the batch included (the later one wins).
func TestPutAllEqualsPut(t *testing.T) {
	var ps []catalog.Product
	for i := range 3000 {
		ps = append(ps, syntheticProduct(i))
	}
	ps = append(ps, syntheticProduct(7)) // replaced within the batch
	ps[len(ps)-1].Title = "Zorblax replaced"
	one, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		one.Put(p)
	}
	one.Reweigh()
	all, err := New()
	if err != nil {
		t.Fatal(err)
	}
	all.PutAll(ps)
	all.Reweigh()
	if one.Len() != all.Len() || one.Len() != 3000 {
		t.Fatalf("Len %d by Put, %d by PutAll, want 3000", one.Len(), all.Len())
	}
	for _, q := range []string{"organic", "red apple juice", "zorblax", "orgnaic", "app"} {
		a, _ := one.Search(Query{Text: q, K: 20, Facets: true})
		b, _ := all.Search(Query{Text: q, K: 20, Facets: true})
		if !slices.Equal(a.Hits, b.Hits) || a.Total != b.Total {
			t.Errorf("%q: Put %v (%d), PutAll %v (%d)", q, a.Hits, a.Total, b.Hits, b.Total)
		}
	}
}
