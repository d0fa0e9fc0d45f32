package store_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
)

// CF retrieval returns the live products with the highest inner product
// with the user's factors, best first, leaving out exclude and deleted
// products, on every call (more than the five after which PostgreSQL may
// switch a prepared statement to a generic plan), its search settings and
// query sent as one batch.
func TestTopItemsByFactors(t *testing.T) {
	s, ctx := open(t)
	factors := map[string][]float32{"a": {1, 0}, "b": {0.8, 0.1}, "c": {0.5, 0.5}, "d": {0, 1}, "e": {-1, 0}}
	var ps []catalog.Product
	for _, id := range slices.Sorted(maps.Keys(factors)) {
		ps = append(ps, product(id, "Product "+id))
	}
	if _, err := s.UpsertProducts(ctx, ps); err != nil {
		t.Fatal(err)
	}
	m := records.CFModel{Method: "als", Dim: 2, Gram: []float64{1, 0, 0, 1}}
	v, err := s.SaveCFModel(ctx, m, nil, factors)
	if err != nil {
		t.Fatal(err)
	}
	m.Version = v
	if err := s.DeleteProduct(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		user    []float32
		k       int
		exclude []string
		want    []string
	}{
		{"best first", []float32{1, 0}, 3, nil, []string{"a", "b", "d"}},
		{"exclude", []float32{1, 0}, 2, []string{"a"}, []string{"b", "d"}},
		{"other taste", []float32{0, 1}, 2, nil, []string{"d", "b"}},
	}
	for range 3 {
		for _, c := range cases {
			got, err := s.TopItemsByFactors(ctx, m, c.user, c.k, c.exclude)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			ids := make([]string, len(got))
			for i, x := range got {
				ids[i] = x.ProductID
			}
			if !slices.Equal(ids, c.want) {
				t.Errorf("%s: %v, want %v", c.name, ids, c.want)
			}
		}
	}
	if _, err := s.TopItemsByFactors(ctx, m, []float32{1}, 3, nil); err == nil {
		t.Error("user factors of the wrong dimension: no error")
	}
}
