package labels

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
)

func TestClassID(t *testing.T) {
	tests := []struct {
		v      any
		want   int
		wantOK bool
	}{
		{float64(7), 7, true},
		{7.5, 0, false},
		{3, 3, true},
		{json.Number("12"), 12, true},
		{" 4 ", 4, true},
		{"four", 0, false},
		{nil, 0, false},
	}
	for _, tc := range tests {
		got, ok := ClassID(map[string]any{FineClass: tc.v}, FineClass)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("ClassID(%#v) = %d, %v; want %d, %v", tc.v, got, ok, tc.want, tc.wantOK)
		}
	}
}

// pages is an in-memory Lister of n products p0000, p0001, ...
type pages int

func (n pages) ProductsAfter(_ context.Context, after string, limit int) ([]catalog.Product, error) {
	var out []catalog.Product
	for i := range int(n) {
		id := fmt.Sprintf("p%04d", i)
		if id > after && len(out) < limit {
			out = append(out, catalog.Product{ID: id})
		}
	}
	return out, nil
}

func TestProductsPages(t *testing.T) {
	for _, n := range []int{0, 999, 1000, 2500} {
		ps, err := Products(context.Background(), pages(n))
		if err != nil || len(ps) != n {
			t.Fatalf("Products over %d = %d products, %v", n, len(ps), err)
		}
		if n > 0 && ps[n-1].ID != fmt.Sprintf("p%04d", n-1) {
			t.Fatalf("last product %s", ps[n-1].ID)
		}
	}
}
