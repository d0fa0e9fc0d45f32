package recommend_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
)

func results(ids ...string) []ranking.Result {
	rs := make([]ranking.Result, len(ids))
	for i, id := range ids {
		rs[i] = ranking.Result{ProductID: id, Score: float64(len(ids) - i)}
	}
	return rs
}

func ids(rs []ranking.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ProductID
	}
	return out
}

// byPrefix groups "a1", "a2" under "a": the brand of the test items.
func byPrefix(id string) string { return id[:1] }

// MMR on planted data: a user's CF candidates come mostly from their own
// cluster; with λ small the list spreads over more clusters, with λ = 1 it
// keeps the CF order.
func TestMMRPlanted(t *testing.T) {
	p := plant(smallPlant())
	d, err := recommend.NewDataset(p.events)
	if err != nil {
		t.Fatal(err)
	}
	als := recommend.NewALS(alsOpts()...)
	if err := als.Fit(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	clusters := func(rs []ranking.Result) int {
		seen := map[int]bool{}
		for _, r := range rs {
			seen[p.itemCluster[r.ProductID]] = true
		}
		return len(seen)
	}
	sameCluster := func(a, b string) float64 {
		if p.itemCluster[a] == p.itemCluster[b] {
			return 1
		}
		return 0
	}
	sims := []struct {
		name string
		sim  func(a, b string) float64
	}{{"planted clusters", sameCluster}, {"ALS item cosine", als.Similarity}}
	for _, s := range sims {
		t.Run(s.name, func(t *testing.T) {
			var plain, diverse int
			for _, user := range []string{"user0000", "user0001", "user0002", "user0003", "user0004"} {
				cands := als.Recommend(user, 50, nil)
				keep := recommend.MMR(cands, 10, 1, s.sim)
				if !slices.Equal(ids(keep), ids(cands[:10])) {
					t.Errorf("%s: λ=1 changed the order", user)
				}
				div := recommend.MMR(cands, 10, 0.3, s.sim)
				if len(div) != 10 || div[0].ProductID != cands[0].ProductID {
					t.Errorf("%s: MMR list %v should start with the best candidate", user, ids(div))
				}
				plain += clusters(keep)
				diverse += clusters(div)
			}
			t.Logf("clusters in 5 users' top 10: %d at λ=1, %d at λ=0.3", plain, diverse)
			if diverse < plain+5 {
				t.Errorf("MMR covered %d clusters, plain %d: want clearly more", diverse, plain)
			}
		})
	}
	if got := recommend.MMR(nil, 10, 0.5, sameCluster); got != nil {
		t.Errorf("empty input: %v", got)
	}
}

func TestCapPerGroup(t *testing.T) {
	rs := results("a1", "a2", "a3", "b1", "a4", "b2", "b3", "c1", "-1")
	group := func(id string) string {
		if id[0] == '-' {
			return "" // no brand: never capped
		}
		return byPrefix(id)
	}
	tests := []struct {
		name string
		k    int
		max  int
		want []string
	}{
		{"cap 2", 10, 2, []string{"a1", "a2", "b1", "b2", "c1", "-1"}},
		{"cap 1 top 2", 2, 1, []string{"a1", "b1"}},
		{"no cap needed", 3, 5, []string{"a1", "a2", "a3"}},
		{"zero", 5, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := recommend.CapPerGroup(rs, tc.k, group, tc.max)
			if !slices.Equal(ids(got), tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("got %v, want %v", ids(got), tc.want)
			}
		})
	}
}

func TestGini(t *testing.T) {
	tests := []struct {
		name string
		x    []float64
		want float64
	}{
		{"equal", []float64{2, 2, 2, 2}, 0},
		{"one holds all", []float64{0, 0, 0, 5}, 0.75},
		{"two of four", []float64{1, 1, 0, 0}, 0.5},
		{"single", []float64{3}, 0},
		{"zeros", []float64{0, 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := recommend.Gini(tc.x); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Gini %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGroupExposureGini(t *testing.T) {
	lists := [][]string{{"a", "b"}, {"b", "a"}}
	if g := recommend.GroupExposureGini(lists, nil); math.Abs(g) > 1e-12 {
		t.Errorf("symmetric lists: Gini %v, want 0", g)
	}
	// c was never shown: counting it makes exposure unequal.
	if g := recommend.GroupExposureGini(lists, []string{"a", "b", "c"}); math.Abs(g-1.0/3) > 1e-12 {
		t.Errorf("with an unseen group: Gini %v, want 1/3", g)
	}
	exp := recommend.GroupExposure([][]string{{"a", "b", "a"}})
	if want := 1 + 0.5; math.Abs(exp["a"]-want) > 1e-12 || math.Abs(exp["b"]-1/math.Log2(3)) > 1e-12 {
		t.Errorf("exposure %v", exp)
	}
}

// A list where one brand holds the top: the fair re-rank bounds its share
// of exposure and the Gini across brands drops.
func TestFairExposure(t *testing.T) {
	var in []string
	for i := range 8 {
		in = append(in, fmt.Sprintf("a%d", i))
	}
	in = append(in, "b0", "c0", "b1", "d0", "c1", "d1", "e0", "b2", "e1", "c2")
	rs := results(in...)
	const k, share = 10, 0.3
	fair := recommend.FairExposure(rs, k, byPrefix, share)
	if len(fair) != k || fair[0].ProductID != "a0" {
		t.Fatalf("fair list %v: want %d items led by a0", ids(fair), k)
	}
	var total float64
	for r := 1; r <= k; r++ {
		total += recommend.PositionExposure(r)
	}
	exp := recommend.GroupExposure([][]string{recommend.Groups(fair, byPrefix)})
	for g, e := range exp {
		if e/total > share+1e-9 {
			t.Errorf("group %s has %.3f of the exposure, bound %.2f", g, e/total, share)
		}
	}
	before := recommend.GroupExposureGini([][]string{recommend.Groups(rs[:k], byPrefix)}, []string{"a", "b", "c", "d", "e"})
	after := recommend.GroupExposureGini([][]string{recommend.Groups(fair, byPrefix)}, []string{"a", "b", "c", "d", "e"})
	t.Logf("exposure Gini %.3f → %.3f: %v", before, after, ids(fair))
	if after > before-0.1 {
		t.Errorf("Gini %.3f → %.3f: want a clear drop", before, after)
	}
	// Within a group the original order holds.
	var as []string
	for _, id := range ids(fair) {
		if id[0] == 'a' {
			as = append(as, id)
		}
	}
	if !slices.IsSorted(as) {
		t.Errorf("brand a reordered: %v", as)
	}
	// An infeasible bound (one brand only) still fills the list.
	if got := recommend.FairExposure(results("a1", "a2", "a3"), 3, byPrefix, 0.1); len(got) != 3 {
		t.Errorf("infeasible bound: %v", ids(got))
	}
}
