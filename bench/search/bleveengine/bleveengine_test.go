package bleveengine_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/bench/search/bleveengine"
	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// build loads testdata/products.jsonl into a fresh database and builds
// the engine from it (pages of 2 and batches of 4, so both span several),
// its index directory under dir.
func build(t *testing.T, dir string) *bleveengine.Engine {
	t.Helper()
	f, err := os.Open("testdata/products.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ps []catalog.Product
	for dec := json.NewDecoder(f); ; {
		var p catalog.Product
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	st, err := store.Open(t.Context(), testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.UpsertProducts(t.Context(), ps); err != nil {
		t.Fatal(err)
	}
	e, err := bleveengine.Build(t.Context(), st, bleveengine.WithTempDir(dir), bleveengine.WithPageSize(2), bleveengine.WithBatchSize(4))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.Len(); err != nil || n != len(ps) {
		t.Fatalf("indexed %d products (%v), want %d", n, err, len(ps))
	}
	return e
}

func TestSearchText(t *testing.T) {
	e := build(t, t.TempDir())
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	tests := []struct {
		name  string
		q     string
		k     int
		want  []string // ids, best first
		total int
	}{
		{"title above description only", "banana", 10, []string{"banana", "soy"}, 2},
		{"every word, in any field", "organic banana", 10, []string{"banana", "soy"}, 2},
		{"title above description, stemmed", "gingers", 10, []string{"ginger", "juice"}, 2},
		{"brand and title", "froosh apple", 10, []string{"applejuice"}, 1},
		{"attribute value", "crisp", 10, []string{"apple"}, 1},
		{"category path", "vegetables", 10, []string{"ginger"}, 1},
		{"one word missing matches nothing", "banana ginger", 10, nil, 0},
		{"stop words only match nothing", "the and", 10, nil, 0},
		{"top k of the total", "juice", 1, []string{"applejuice"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.SearchText(t.Context(), records.TextQuery{Text: tc.q, K: tc.k})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, h := range res.Hits {
				got = append(got, h.ProductID)
				if h.Score <= 0 || (i > 0 && h.Score > res.Hits[i-1].Score) {
					t.Errorf("hit %d %s scored %g after %g", i, h.ProductID, h.Score, res.Hits[max(i-1, 0)].Score)
				}
			}
			if !slices.Equal(got, tc.want) || res.Total != tc.total {
				t.Errorf("%q: %v of %d, want %v of %d", tc.q, got, res.Total, tc.want, tc.total)
			}
		})
	}
}

func TestFiltersAndFacetsAreRefused(t *testing.T) {
	e := build(t, t.TempDir())
	t.Cleanup(func() { _ = e.Close() })
	for _, q := range []records.TextQuery{
		{Text: "banana", K: 10, Facets: true},
		{Text: "banana", K: 10, Filter: catalog.Filter{Brands: []string{"Alpro"}}},
	} {
		if _, err := e.SearchText(t.Context(), q); !errors.Is(err, bleveengine.ErrUnsupported) {
			t.Errorf("%+v: err %v, want ErrUnsupported", q, err)
		}
	}
}

func TestCloseRemovesTheIndexDirectory(t *testing.T) {
	dir := t.TempDir()
	e := build(t, dir)
	if n, err := e.DiskBytes(); err != nil || n <= 0 {
		t.Errorf("index directory holds %d bytes (%v)", n, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadDir(dir)
	if err != nil || len(left) != 0 {
		t.Errorf("after Close %s holds %v (%v)", dir, left, err)
	}
}
