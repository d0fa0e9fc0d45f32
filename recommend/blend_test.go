package recommend_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/recommend"
)

func TestNormalize(t *testing.T) {
	inf := math.Inf(1)
	z := math.Sqrt(1.5) // sd of {1, 2, 3} is sqrt(2/3)
	tests := []struct {
		name   string
		scores []float64
		norm   recommend.Normalization
		want   []float64
	}{
		{"z-score", []float64{1, 2, 3}, recommend.ZScore, []float64{-z, 0, z}},
		{"min-max", []float64{1, 2, 3}, recommend.MinMax, []float64{0, 0.5, 1}},
		{"constant", []float64{4, 4}, recommend.ZScore, []float64{0, 0}},
		{"constant min-max", []float64{4, 4}, recommend.MinMax, []float64{0, 0}},
		{"missing and excluded", []float64{1, math.NaN(), 3, -inf, inf}, recommend.MinMax, []float64{0, 0, 1, -inf, 0}},
		{"empty", nil, recommend.ZScore, []float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]float64, len(tc.scores))
			recommend.Normalize(got, tc.scores, tc.norm)
			for i := range got {
				if got[i] != tc.want[i] && math.Abs(got[i]-tc.want[i]) > 1e-12 {
					t.Errorf("got %v, want %v", got, tc.want)
					break
				}
			}
		})
	}
}

func TestBlend(t *testing.T) {
	parts := map[string][]float64{
		"cf":      {10, 20, 30},    // a dot product
		"content": {0.9, 0.5, 0.1}, // a cosine, the other way round
		"ignored": {5, 0, 0},
	}
	tests := []struct {
		name    string
		weights map[string]float64
		opts    []recommend.BlendOption
		best    int
	}{
		{"cf only", map[string]float64{"cf": 1}, nil, 2},
		{"content only", map[string]float64{"content": 1}, nil, 0},
		// Equal weights after normalisation: the units do not matter, the
		// two sources cancel exactly and the weight decides.
		{"content heavier", map[string]float64{"cf": 1, "content": 1.5}, nil, 0},
		{"cf heavier min-max", map[string]float64{"cf": 1.5, "content": 1}, []recommend.BlendOption{recommend.WithNormalization(recommend.MinMax)}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := recommend.Blend(parts, tc.weights, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if top := recommend.TopItems(got, 1, nil); top[0] != tc.best {
				t.Errorf("blend %v: best %d, want %d", got, top[0], tc.best)
			}
		})
	}
	eq, _ := recommend.Blend(parts, map[string]float64{"cf": 1, "content": 1})
	for _, v := range eq {
		if math.Abs(v) > 1e-12 {
			t.Errorf("opposite sources at equal weight should cancel: %v", eq)
		}
	}
	if _, err := recommend.Blend(map[string][]float64{"a": {1, 2}, "b": {1}}, nil); !errors.Is(err, recommend.ErrMismatch) {
		t.Errorf("mismatched lengths: %v", err)
	}
	if _, err := recommend.Blend(parts, nil, recommend.WithNormalization(7)); !errors.Is(err, recommend.ErrInvalidOption) {
		t.Errorf("bad normalisation: %v", err)
	}
}

// ndcgAt is NDCG@k with binary relevance, the metric TuneWeights gets.
func ndcgAt(k int) recommend.Metric {
	return func(ranked []int, relevant map[int]bool) float64 {
		var dcg, ideal float64
		for r, i := range ranked[:min(k, len(ranked))] {
			if relevant[i] {
				dcg += 1 / math.Log2(float64(r)+2)
			}
		}
		for r := range min(k, len(relevant)) {
			ideal += 1 / math.Log2(float64(r)+2)
		}
		if ideal == 0 {
			return 0
		}
		return dcg / ideal
	}
}

// TuneWeights on planted data: sources are ALS, popularity, a planted
// content signal (the item is in the user's cluster, seen through noise)
// and pure noise; a third of the users are cold for CF (no ALS scores, as
// for a user the model has not seen). The best blend must use CF and
// content, leave the noise out, and beat every single source.
func TestTuneWeightsPlanted(t *testing.T) {
	p := plant(smallPlant())
	train, test := recommend.HoldOut(p.events, 3, 11)
	d, err := recommend.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	als := recommend.NewALS(alsOpts()...)
	pop := recommend.NewPopularity()
	for _, m := range []recommend.Scorer{als, pop} {
		if err := m.Fit(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	var cases []recommend.TuneCase
	ho := heldOut(test)
	users := make([]string, 0, len(ho))
	for user := range ho {
		users = append(users, user)
	}
	slices.Sort(users) // the noise below must not follow map order
	for _, user := range users {
		items := ho[user]
		u, _ := d.UserIndex(user)
		tc := recommend.TuneCase{Parts: map[string][]float64{}, Relevant: map[int]bool{}}
		cf := make([]float64, d.NumItems())
		als.ScoreUser(u, cf)
		content, noise := make([]float64, d.NumItems()), make([]float64, d.NumItems())
		for i := range content {
			if p.itemCluster[d.ItemID(i)] == p.userCluster[user] {
				content[i] = 1
			}
			content[i] += rng.NormFloat64() * 0.3
			noise[i] = rng.Float64()
		}
		tc.Parts["popularity"], tc.Parts["content"], tc.Parts["noise"] = pop.Scores(), content, noise
		if u%3 != 0 {
			tc.Parts["als"] = cf
		}
		for it := range items {
			if i, ok := d.ItemIndex(it); ok {
				tc.Relevant[i] = true
			}
		}
		own, _ := d.UserItems(u)
		for _, i := range own {
			tc.Exclude = append(tc.Exclude, int(i))
		}
		cases = append(cases, tc)
	}
	grid := map[string][]float64{"als": {0, 0.5, 1}, "popularity": {0, 0.25, 0.5}, "content": {0, 0.25, 0.5, 1}, "noise": {0, 0.5}}
	best, err := recommend.TuneWeights(ctx, cases, grid, ndcgAt(10))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("best %v NDCG@10 %.3f over %d points", best.Weights, best.Score, best.Tried)
	if best.Tried != 3*3*4*2-1 {
		t.Errorf("tried %d points", best.Tried)
	}
	if best.Weights["als"] == 0 || best.Weights["content"] == 0 || best.Weights["noise"] != 0 {
		t.Errorf("weights %v: want ALS and content in, noise out", best.Weights)
	}
	for _, src := range []string{"als", "popularity", "content"} {
		single := map[string][]float64{}
		for s := range grid {
			single[s] = []float64{0}
		}
		single[src] = []float64{1}
		one, err := recommend.TuneWeights(ctx, cases, single, ndcgAt(10))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s alone: NDCG@10 %.3f", src, one.Score)
		if best.Score < one.Score+0.01 {
			t.Errorf("blend %.3f does not beat %s alone (%.3f)", best.Score, src, one.Score)
		}
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := recommend.TuneWeights(cctx, cases, grid, ndcgAt(10)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := recommend.TuneWeights(ctx, cases, map[string][]float64{"als": {0}}, ndcgAt(10)); !errors.Is(err, recommend.ErrInvalidOption) {
		t.Errorf("all-zero grid: %v", err)
	}
}
