package serving

import (
	"math"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
)

// TestFuseReadings checks the readings' fusion: weighted reciprocal rank
// (reading i weighs readingDecay^i, rank r from 0 scores 1/(readingRank+r+1)),
// the best k kept, each hit as its first list gave it.
func TestFuseReadings(t *testing.T) {
	hit := func(id string) Hit { return Hit{ID: id, Product: catalog.Product{ID: id, Title: "title " + id}} }
	lists := [][]Hit{{hit("a"), hit("b"), hit("c")}, {hit("b"), hit("a")}, {hit("c")}}
	want := map[string]float64{
		"a": 1.0/2 + 0.9/3,
		"b": 1.0/3 + 0.9/2,
		"c": 1.0/4 + 0.81/2,
	}
	tests := []struct {
		k   int
		ids []string
	}{{1, []string{"a"}}, {2, []string{"a", "b"}}, {10, []string{"a", "b", "c"}}}
	for _, tc := range tests {
		got := fuseReadings(lists, tc.k)
		if !slices.Equal(IDs(got), tc.ids) {
			t.Errorf("k %d: %v, want %v", tc.k, IDs(got), tc.ids)
			continue
		}
		for _, h := range got {
			if math.Abs(h.Score-want[h.ID]) > 1e-12 {
				t.Errorf("k %d: %s scored %g, want %g", tc.k, h.ID, h.Score, want[h.ID])
			}
			if h.Product.Title != "title "+h.ID {
				t.Errorf("k %d: %s lost its product: %+v", tc.k, h.ID, h.Product)
			}
		}
	}
}
