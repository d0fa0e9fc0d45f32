package serving

import (
	"math"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/records"
)

// views: product a has a catalog image and an extra view; b and c a
// catalog image each. b sits near the mean of everything (a hub).
func testViews() []records.ImageView {
	return []records.ImageView{
		{ProductID: "a", View: records.ViewCatalog, Source: records.ViewCatalog, Vector: []float32{1, 0, 0}},
		{ProductID: "a", View: "shop.jpg", Source: "reviews", Vector: []float32{0, 0, 1}},
		{ProductID: "b", View: records.ViewCatalog, Source: records.ViewCatalog, Vector: []float32{0.6, 0.6, 0.5}},
		{ProductID: "c", View: records.ViewCatalog, Source: records.ViewCatalog, Vector: []float32{0, 1, 0}},
	}
}

func TestPhotoIndexSearch(t *testing.T) {
	tests := []struct {
		name string
		cfg  PhotoConfig
		q    []float32
		want []string
	}{
		{"plain cosine, best view", PhotoConfig{}, []float32{0.1, 0, 1}, []string{"a", "b", "c"}},
		{"the hub wins plain cosine", PhotoConfig{}, []float32{0.55, 0.6, 0.45}, []string{"b", "c", "a"}},
		{"centred", PhotoConfig{Centre: true}, []float32{0.1, 0.9, 0.3}, []string{"c", "b", "a"}},
		{"csls", PhotoConfig{CSLSK: 1}, []float32{0.1, 0, 1}, []string{"a", "b", "c"}},
		{"query expansion", PhotoConfig{ExpandTop: 1}, []float32{0.1, 0, 1}, []string{"a", "b", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix := newPhotoIndex("v1", testViews(), tc.cfg)
			got := ix.search([][]float32{tc.q}, tc.cfg, nil)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d products, want %d (each product once)", len(got), len(tc.want))
			}
			for i, id := range tc.want {
				if got[i].id != id {
					t.Fatalf("rank %d is %s, want %s (all: %v)", i+1, got[i].id, id, got)
				}
			}
		})
	}
}

func TestPhotoIndexBestViewAndFilter(t *testing.T) {
	ix := newPhotoIndex("v1", testViews(), PhotoConfig{})
	got := ix.search([][]float32{{0, 0, 2}}, PhotoConfig{}, map[string]bool{"a": true, "c": true})
	if len(got) != 2 || got[0].id != "a" || math.Abs(got[0].score-1) > 1e-6 {
		t.Fatalf("search = %v, want a first with its shop view's cosine 1, b filtered out", got)
	}
	if got[1].id != "c" || got[1].score != 0 {
		t.Errorf("second = %v, want c at 0", got[1])
	}
}

func TestPhotoIndexRadiiAndOddVectors(t *testing.T) {
	vs := append(testViews(), records.ImageView{ProductID: "d", Source: records.ViewCatalog, Vector: []float32{1, 2}}, records.ImageView{ProductID: "e", Source: records.ViewCatalog})
	ix := newPhotoIndex("v1", vs, PhotoConfig{CSLSK: 1, Centre: true})
	if len(ix.ids) != 4 {
		t.Fatalf("%d views kept, want 4: an empty vector and one of another length are dropped", len(ix.ids))
	}
	if len(ix.radius) != 4 {
		t.Fatalf("%d radii, want 4", len(ix.radius))
	}
	if got := newPhotoIndex("v0", nil, PhotoConfig{Centre: true, CSLSK: 3, ExpandTop: 2}).search([][]float32{{1, 0, 0}}, PhotoConfig{ExpandTop: 2}, nil); len(got) != 0 {
		t.Errorf("empty catalog answered %v", got)
	}
}

// TestPhotoIndexVoteAndCrops: a product several of whose views match
// beats one that a single view matches best once views vote, and a query
// crop that matches a product finds it when the whole photo does not.
func TestPhotoIndexVoteAndCrops(t *testing.T) {
	unit := func(x float64) []float32 { return []float32{float32(x), float32(math.Sqrt(1 - x*x)), 0} }
	vs := []records.ImageView{
		{ProductID: "many", Source: records.ViewCatalog, Vector: unit(0.90)},
		{ProductID: "many", Source: "reviews", View: "1.jpg", Vector: unit(0.88)},
		{ProductID: "many", Source: "reviews", View: "2.jpg", Vector: unit(0.86)},
		{ProductID: "one", Source: records.ViewCatalog, Vector: unit(0.95)},
		{ProductID: "side", Source: records.ViewCatalog, Vector: []float32{0, 0, 1}},
	}
	q := []float32{1, 0, 0}
	tests := []struct {
		name string
		cfg  PhotoConfig
		qs   [][]float32
		want string
	}{
		{"best view", PhotoConfig{}, [][]float32{q}, "one"},
		{"mean of top views", PhotoConfig{TopViews: 3}, [][]float32{q}, "one"},
		{"vote of 3 views at power 4", PhotoConfig{VoteViews: 3, VotePower: 4}, [][]float32{q}, "many"},
		{"at the default power 16 one much closer view still wins", PhotoConfig{VoteViews: 3}, [][]float32{q}, "one"},
		{"vote, linear power", PhotoConfig{VoteViews: 3, VotePower: 1}, [][]float32{q}, "many"},
		{"whole photo only", PhotoConfig{}, [][]float32{{1, 0, 0.3}}, "one"},
		{"a crop finds the side product", PhotoConfig{CropScale: 0.7}, [][]float32{{1, 0, 0.3}, {0.1, 0, 1}}, "side"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := newPhotoIndex("v1", vs, tc.cfg).search(tc.qs, tc.cfg, nil)
			if len(got) != 3 || got[0].id != tc.want {
				t.Fatalf("first %v, want %s (each product once)", got, tc.want)
			}
		})
	}
	// A single view scores its cosine; 16 views of cosine 1 at power 4
	// score 2; views past n do not vote; negative cosines count 0.
	for _, tc := range []struct {
		ss   []float64
		n    int
		want float64
	}{
		{[]float64{0.7}, 10, 0.7},
		{slices.Repeat([]float64{1}, 16), 16, 2},
		{slices.Repeat([]float64{1}, 16), 1, 1},
		{[]float64{0.5, -0.9}, 10, 0.5},
	} {
		if got := vote(tc.ss, tc.n, 4); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("vote(%v, %d, 4) = %v, want %v", tc.ss, tc.n, got, tc.want)
		}
	}
}

// TestPhotoIndexWhiten: shoppers' views that vary mostly along a nuisance
// axis (light, say) teach the projection to discount it, so a photo lit
// like another product's views still finds its own; without two products
// of two views or more there is nothing to learn and nothing changes.
func TestPhotoIndexWhiten(t *testing.T) {
	// Products differ along axes 1 and 2; their views vary along axis 0.
	view := func(id string, nuisance, y, z float32) records.ImageView {
		return records.ImageView{ProductID: id, Source: "reviews", View: id + ".jpg", Vector: []float32{nuisance, y, z}}
	}
	vs := []records.ImageView{
		{ProductID: "milk", Source: records.ViewCatalog, Vector: []float32{0, 1, 0.3}},
		view("milk", 2, 1, 0.3), view("milk", -2, 1, 0.32), view("milk", 1, 0.98, 0.3),
		{ProductID: "cream", Source: records.ViewCatalog, Vector: []float32{0, 0.3, 1}},
		view("cream", 3, 0.3, 1), view("cream", -2, 0.32, 1), view("cream", 1, 0.3, 0.98),
		{ProductID: "juice", Source: records.ViewCatalog, Vector: []float32{0, 0.7, 0.7}},
	}
	// Very brightly lit milk: raw cosine picks the brightest view, cream's.
	q := []float32{6, 1, 0.3}
	tests := []struct {
		name         string
		cfg          PhotoConfig
		views        []records.ImageView
		want         string
		projects     bool
		discriminant bool
	}{
		{"raw cosine follows the light", PhotoConfig{}, vs, "cream", false, false},
		// Two of the three products with views have several: under the
		// default cover (0.9) the whole whitened space is kept.
		{"whitened", PhotoConfig{Whiten: true, WhitenShrinkage: 0.01}, vs, "milk", true, false},
		{"discriminant once every product has several views", PhotoConfig{Whiten: true, WhitenShrinkage: 0.01}, vs[:8], "milk", true, true},
		// Why the cover: forced by a low one, LDA keeps the one direction
		// that tells milk from cream, and juice (no views) falls onto
		// milk's side of it, tied at cosine 1 (ties go by id).
		{"discriminant forced by a low cover loses the product without views", PhotoConfig{Whiten: true, WhitenShrinkage: 0.01, DiscriminantCover: 0.5}, vs, "juice", true, true},
		{"catalog only: nothing learned", PhotoConfig{Whiten: true}, []records.ImageView{vs[0], vs[4], vs[8]}, "milk", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ix := newPhotoIndex("v1", tc.views, tc.cfg)
			if (ix.proj != nil) != tc.projects || ix.learnErr != nil {
				t.Fatalf("projection %v (err %v), want one: %v", ix.proj, ix.learnErr, tc.projects)
			}
			if ix.proj != nil && ix.proj.Discriminant != tc.discriminant {
				t.Fatalf("discriminant %v, want %v", ix.proj.Discriminant, tc.discriminant)
			}
			got := ix.search([][]float32{q}, tc.cfg, nil)
			if len(got) == 0 || got[0].id != tc.want {
				t.Fatalf("first %v, want %s", got, tc.want)
			}
		})
	}
}
