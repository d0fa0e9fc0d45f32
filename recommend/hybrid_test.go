package recommend_test

import (
	"math"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/recommend"
)

func TestHybridCandidates(t *testing.T) {
	nan := math.NaN()
	cf := []float64{0.9, 0.1, 0.8, 0.2, 0.3, 0}
	content := []float64{nan, 0.9, 0.1, 0.2, nan, 0.8}
	popularity := []float64{1, 5, 0, 9, 2, 0}
	popular := []int{3, 1, 4, 0} // by popularity
	own := func(i int) bool { return i == 0 }
	tests := []struct {
		name      string
		h         recommend.HybridUser
		pool      int
		cands     []int
		pop, cont []float64
	}{
		// CF's top 2 without the user's item 0: 2, 4; content's: 1, 5;
		// popular page (pool/2 = 1): 3.
		{"all sources", recommend.HybridUser{CF: cf, Content: content, Popular: popular, Popularity: popularity, Exclude: own}, 2,
			[]int{2, 4, 1, 5, 3}, []float64{0, 0, 0, 0, math.Log1p(9)}, []float64{0.1, nan, 0.9, 0.8, 0.2}},
		// Without content, pool 4: CF's 2, 4, 3, 1; the popular page (3, 1)
		// adds nothing new but scores its items.
		{"no content", recommend.HybridUser{CF: cf, Popular: popular, Popularity: popularity, Exclude: own}, 4,
			[]int{2, 4, 3, 1}, []float64{0, 0, math.Log1p(9), math.Log1p(5)}, []float64{nan, nan, nan, nan}},
		{"neither CF nor content", recommend.HybridUser{Popular: popular, Popularity: popularity}, 4, nil, nil, nil},
	}
	same := func(a, b []float64) bool {
		return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) })
	}
	for _, tc := range tests {
		cands, parts := recommend.HybridCandidates(tc.h, tc.pool)
		if !slices.Equal(cands, tc.cands) {
			t.Errorf("%s: candidates %v, want %v", tc.name, cands, tc.cands)
			continue
		}
		if cands == nil {
			continue
		}
		if !same(parts[recommend.SourcePopularity], tc.pop) || !same(parts[recommend.SourceContent], tc.cont) {
			t.Errorf("%s: popularity %v, content %v; want %v, %v", tc.name, parts[recommend.SourcePopularity], parts[recommend.SourceContent], tc.pop, tc.cont)
		}
		for n, i := range cands {
			if parts[recommend.SourceCollaborative][n] != tc.h.CF[i] {
				t.Errorf("%s: collaborative of %d = %v, want %v", tc.name, i, parts[recommend.SourceCollaborative][n], tc.h.CF[i])
			}
		}
	}
}

func TestHybridTuneCase(t *testing.T) {
	h := recommend.HybridUser{CF: []float64{0.9, 0.5, 0.1}, Popularity: []float64{0, 0, 3}} // no popular page
	tests := []struct {
		name    string
		heldOut []int
		want    map[int]bool
	}{
		{"candidate", []int{1}, map[int]bool{1: true}},
		{"not a candidate: counted, never ranked", []int{2}, map[int]bool{-1: true}},
		{"both", []int{0, 2}, map[int]bool{0: true, -2: true}},
	}
	for _, tc := range tests {
		got, ok := recommend.HybridTuneCase(h, 2, tc.heldOut) // pool 2: CF's 0 and 1
		if !ok {
			t.Fatalf("%s: no case", tc.name)
		}
		if len(got.Relevant) != len(tc.want) {
			t.Errorf("%s: relevant %v, want %v", tc.name, got.Relevant, tc.want)
		}
		for i := range tc.want {
			if !got.Relevant[i] {
				t.Errorf("%s: relevant %v, want %v", tc.name, got.Relevant, tc.want)
			}
		}
	}
}
