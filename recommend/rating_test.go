package recommend_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vitrinehq/vitrine/recommend"
)

// tinyRatings is 3 users × 3 items with (u2, i3) missing; μ = 24/8 = 3.
//
//	     i1 i2 i3
//	u1    5  3  4
//	u2    4  2  .
//	u3    3  1  2
func tinyRatings() []recommend.Rating {
	return []recommend.Rating{
		{"u1", "i1", 5}, {"u1", "i2", 3}, {"u1", "i3", 4},
		{"u2", "i1", 4}, {"u2", "i2", 2},
		{"u3", "i1", 3}, {"u3", "i2", 1}, {"u3", "i3", 2},
	}
}

// The biases by hand. Item pass from b_u = 0: the deviations r − μ are
// i1: 2, 1, 0 (sum 3, 3 ratings); i2: 0, −1, −2 (sum −3, 3); i3: 1, −1
// (sum 0, 2).
//
// λ = 0: b_i = (1, −1, 0); user pass, r − μ − b_i: u1: 1, 1, 1 → 1;
// u2: 0, 0 → 0; u3: −1, −1, −1 → −1. The additive model then fits every
// rating exactly, so more passes change nothing.
//
// λ_u = 2, λ_i = 1: b_i = (3/4, −3/4, 0/3) = (0.75, −0.75, 0); user pass:
// u1: (1.25 + 0.75 + 1)/(2+3) = 0.6; u2: (0.25 − 0.25)/(2+2) = 0;
// u3: (−0.75 − 1.25 − 1)/(2+3) = −0.6. The second item pass gives
// i1: (1.4 + 1 + 0.6)/4 = 0.75, i2: (−0.6 − 1 − 1.4)/4 = −0.75,
// i3: (0.4 − 0.4)/3 = 0: a fixed point, so one pass is the answer.
func TestBiasBaselineByHand(t *testing.T) {
	for _, tc := range []struct {
		name               string
		regUser, regItem   float64
		passes             int
		user, item         [3]float64
		predU1I1, predU2I3 float64
	}{
		{"unregularised one pass", 0, 0, 1, [3]float64{1, 0, -1}, [3]float64{1, -1, 0}, 5, 3},
		{"unregularised five passes", 0, 0, 5, [3]float64{1, 0, -1}, [3]float64{1, -1, 0}, 5, 3},
		{"regularised one pass", 2, 1, 1, [3]float64{0.6, 0, -0.6}, [3]float64{0.75, -0.75, 0}, 4.35, 3},
		{"regularised ten passes", 2, 1, 10, [3]float64{0.6, 0, -0.6}, [3]float64{0.75, -0.75, 0}, 4.35, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := recommend.NewBiasBaseline(recommend.WithBiasRegularization(tc.regUser, tc.regItem), recommend.WithIterations(tc.passes))
			if err := m.FitRatings(context.Background(), tinyRatings()); err != nil {
				t.Fatal(err)
			}
			if m.Mean() != 3 {
				t.Errorf("μ = %v, want 3", m.Mean())
			}
			for n := range 3 {
				if b, ok := m.UserBias(fmt.Sprintf("u%d", n+1)); !ok || math.Abs(b-tc.user[n]) > 1e-12 {
					t.Errorf("b_u%d = %v (%v), want %v", n+1, b, ok, tc.user[n])
				}
				if b, ok := m.ItemBias(fmt.Sprintf("i%d", n+1)); !ok || math.Abs(b-tc.item[n]) > 1e-12 {
					t.Errorf("b_i%d = %v (%v), want %v", n+1, b, ok, tc.item[n])
				}
			}
			if p := m.Predict("u1", "i1"); math.Abs(p-tc.predU1I1) > 1e-12 {
				t.Errorf("r̂(u1, i1) = %v, want %v", p, tc.predU1I1)
			}
			if p := m.Predict("u2", "i3"); math.Abs(p-tc.predU2I3) > 1e-12 {
				t.Errorf("r̂(u2, i3) = %v, want %v", p, tc.predU2I3)
			}
		})
	}
}

// Zero passes leave the biases at zero: the baseline is the global mean.
func TestBiasBaselineZeroPasses(t *testing.T) {
	m := recommend.NewBiasBaseline(recommend.WithIterations(0))
	if err := m.FitRatings(context.Background(), tinyRatings()); err != nil {
		t.Fatal(err)
	}
	if p := m.Predict("u1", "i1"); p != 3 {
		t.Errorf("r̂ = %v, want μ = 3", p)
	}
}

// Predictions are clipped to the training range. With λ = 0 and one pass
// on u1: i1 5, i2 3; u2: i2 1 (μ = 3): b_i = (2/1, (0 − 2)/2) = (2, −1),
// b_u1 = ((5−3−2) + (3−3+1))/2 = 0.5, b_u2 = (1−3+1)/1 = −1, so
// r̂(u1, i1) = 3 + 0.5 + 2 = 5.5, clipped to 5.
func TestBiasBaselineClips(t *testing.T) {
	m := recommend.NewBiasBaseline(recommend.WithBiasRegularization(0, 0), recommend.WithIterations(1))
	if err := m.FitRatings(context.Background(), []recommend.Rating{{"u1", "i1", 5}, {"u1", "i2", 3}, {"u2", "i2", 1}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		user, item string
		want       float64
	}{
		{"u1", "i1", 5},     // 5.5 clipped
		{"u2", "i1", 4},     // 3 − 1 + 2
		{"u2", "i2", 1},     // 3 − 1 − 1
		{"new", "i1", 5},    // μ + b_i1
		{"u1", "new", 3.5},  // μ + b_u1
		{"new", "other", 3}, // μ
	} {
		if got := m.Predict(tc.user, tc.item); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("r̂(%s, %s) = %v, want %v", tc.user, tc.item, got, tc.want)
		}
	}
}

// plantedRatings draws ratings from a known low-rank model with biases:
// r = μ + b_u + b_i + p_u·q_i + noise, clipped to [1, 5], each pair
// observed with probability density.
func plantedRatings(users, items, k int, density float64, seed uint64) []recommend.Rating {
	rng := rand.New(rand.NewPCG(seed, 2))
	vec := func(sd float64) []float64 {
		v := make([]float64, k)
		for f := range v {
			v[f] = rng.NormFloat64() * sd
		}
		return v
	}
	bu, bi := make([]float64, users), make([]float64, items)
	pu, qi := make([][]float64, users), make([][]float64, items)
	for u := range users {
		bu[u], pu[u] = rng.NormFloat64()*0.4, vec(0.6)
	}
	for i := range items {
		bi[i], qi[i] = rng.NormFloat64()*0.5, vec(0.6)
	}
	var out []recommend.Rating
	for u := range users {
		for i := range items {
			if rng.Float64() >= density {
				continue
			}
			r := 3.5 + bu[u] + bi[i] + rng.NormFloat64()*0.3
			for f := range k {
				r += pu[u][f] * qi[i][f]
			}
			out = append(out, recommend.Rating{User: fmt.Sprintf("u%03d", u), Item: fmt.Sprintf("i%03d", i), Value: min(max(r, 1), 5)})
		}
	}
	return out
}

// splitRatings holds out one rating in ten at random.
func splitRatings(rs []recommend.Rating, seed uint64) (train, test []recommend.Rating) {
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, r := range rs {
		if rng.IntN(10) == 0 {
			test = append(test, r)
		} else {
			train = append(train, r)
		}
	}
	return train, test
}

func ratingErrors(m recommend.RatingPredictor, test []recommend.Rating) (rmse, mae float64) {
	for _, r := range test {
		e := m.Predict(r.User, r.Item) - r.Value
		rmse += e * e
		mae += math.Abs(e)
	}
	n := float64(len(test))
	return math.Sqrt(rmse / n), mae / n
}

func svdOpts(extra ...recommend.Option) []recommend.Option {
	return append([]recommend.Option{recommend.WithFactors(10), recommend.WithIterations(40), recommend.WithLearningRate(0.01)}, extra...)
}

// On planted low-rank ratings the models rank as their capacity says: the
// factors explain what the biases cannot, the biases what the mean cannot.
func TestRatingPredictorsPlanted(t *testing.T) {
	train, test := splitRatings(plantedRatings(300, 200, 3, 0.3, 5), 6)
	models := []struct {
		name string
		m    recommend.RatingPredictor
	}{
		{"global-mean", recommend.NewGlobalMean()},
		{"bias-baseline", recommend.NewBiasBaseline()},
		{"svd", recommend.NewSVD(svdOpts()...)},
		{"svd-defaults", recommend.NewSVD()},
	}
	rmse, mae := map[string]float64{}, map[string]float64{}
	for _, x := range models {
		if err := x.m.FitRatings(context.Background(), train); err != nil {
			t.Fatalf("%s: %v", x.name, err)
		}
		rmse[x.name], mae[x.name] = ratingErrors(x.m, test)
		t.Logf("%-13s RMSE %.4f  MAE %.4f  (%d train, %d test ratings)", x.name, rmse[x.name], mae[x.name], len(train), len(test))
	}
	for _, c := range [][2]string{{"svd", "bias-baseline"}, {"bias-baseline", "global-mean"}, {"svd-defaults", "global-mean"}} {
		if rmse[c[0]] >= rmse[c[1]] || mae[c[0]] >= mae[c[1]] {
			t.Errorf("%s RMSE %.4f MAE %.4f is not below %s's %.4f %.4f", c[0], rmse[c[0]], mae[c[0]], c[1], rmse[c[1]], mae[c[1]])
		}
	}
	// Not just below: the planted factors carry about half the variance.
	if rmse["svd"] > 0.8*rmse["bias-baseline"] {
		t.Errorf("svd RMSE %.4f is not clearly below the baseline's %.4f", rmse["svd"], rmse["bias-baseline"])
	}
	if rmse["bias-baseline"] > 0.9*rmse["global-mean"] {
		t.Errorf("baseline RMSE %.4f is not clearly below the mean's %.4f", rmse["bias-baseline"], rmse["global-mean"])
	}
}

// A fit depends on the ratings and the seed only: not on their order, and
// the same seed gives the same predictions.
func TestSVDSeed(t *testing.T) {
	train, test := splitRatings(plantedRatings(60, 40, 2, 0.5, 8), 9)
	shuffled := append([]recommend.Rating(nil), train...)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
	fit := func(rs []recommend.Rating, seed uint64) []float64 {
		m := recommend.NewSVD(svdOpts(recommend.WithSeed(seed))...)
		if err := m.FitRatings(context.Background(), rs); err != nil {
			t.Fatal(err)
		}
		out := make([]float64, len(test))
		for n, r := range test {
			out[n] = m.Predict(r.User, r.Item)
		}
		return out
	}
	a, b, c, other := fit(train, 4), fit(train, 4), fit(shuffled, 4), fit(train, 5)
	same := func(x, y []float64) bool {
		for n := range x {
			if x[n] != y[n] {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("the same seed gave different predictions")
	}
	if !same(a, c) {
		t.Error("the order of the ratings changed the predictions")
	}
	if same(a, other) {
		t.Error("another seed gave identical predictions")
	}
}

// Users and items unseen in training fall back to the biases that are
// known, and every prediction stays in the training ratings' range.
func TestRatingFallbackAndClip(t *testing.T) {
	ctx := context.Background()
	train := plantedRatings(50, 40, 2, 0.5, 10)
	base := recommend.NewBiasBaseline()
	svd := recommend.NewSVD(svdOpts()...)
	mean := recommend.NewGlobalMean()
	for _, m := range []recommend.RatingPredictor{base, svd, mean} {
		if err := m.FitRatings(ctx, train); err != nil {
			t.Fatal(err)
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var mu float64
	for _, r := range train {
		lo, hi = min(lo, r.Value), max(hi, r.Value)
		mu += r.Value
	}
	mu /= float64(len(train))
	if math.Abs(mean.Mean()-mu) > 1e-9 || math.Abs(base.Mean()-mu) > 1e-9 || math.Abs(svd.Mean()-mu) > 1e-9 {
		t.Errorf("μ: mean %v, baseline %v, svd %v, want %v", mean.Mean(), base.Mean(), svd.Mean(), mu)
	}
	for _, m := range []struct {
		name string
		p    recommend.RatingPredictor
		bias func(string, string) (float64, float64)
	}{
		{"bias-baseline", base, func(u, i string) (float64, float64) {
			bu, _ := base.UserBias(u)
			bi, _ := base.ItemBias(i)
			return bu, bi
		}},
		{"svd", svd, func(u, i string) (float64, float64) {
			bu, _ := svd.UserBias(u)
			bi, _ := svd.ItemBias(i)
			return bu, bi
		}},
	} {
		for _, tc := range []struct {
			name, user, item string
			useU, useI       bool
		}{
			{"unknown user", "nobody", "i007", false, true},
			{"unknown item", "u007", "nothing", true, false},
			{"both unknown", "nobody", "nothing", false, false},
		} {
			bu, bi := m.bias(tc.user, tc.item)
			want := mu
			if tc.useU {
				want += bu
			}
			if tc.useI {
				want += bi
			}
			want = min(max(want, lo), hi)
			if got := m.p.Predict(tc.user, tc.item); math.Abs(got-want) > 1e-9 {
				t.Errorf("%s, %s: %v, want %v", m.name, tc.name, got, want)
			}
		}
		if _, ok := base.UserBias("nobody"); ok {
			t.Error("an unknown user has a bias")
		}
		clipped := 0
		for u := range 50 {
			for i := range 40 {
				p := m.p.Predict(fmt.Sprintf("u%03d", u), fmt.Sprintf("i%03d", i))
				if p < lo || p > hi || math.IsNaN(p) {
					t.Fatalf("%s: prediction %v outside [%v, %v]", m.name, p, lo, hi)
				}
				if p == lo || p == hi {
					clipped++
				}
			}
		}
		if m.name == "svd" && clipped == 0 { // the baseline's λ shrinks it inside the range here
			t.Errorf("%s: no prediction reached the range's ends: clipping untested", m.name)
		}
	}
}

func TestRatingErrors(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name    string
		m       recommend.RatingPredictor
		ctx     context.Context
		ratings []recommend.Rating
		want    error
	}{
		{"no ratings", recommend.NewSVD(), ctx, nil, recommend.ErrNoInteractions},
		{"empty user", recommend.NewBiasBaseline(), ctx, []recommend.Rating{{"", "i", 3}}, recommend.ErrInvalidInteraction},
		{"NaN rating", recommend.NewGlobalMean(), ctx, []recommend.Rating{{"u", "i", math.NaN()}}, recommend.ErrInvalidInteraction},
		{"no factors", recommend.NewSVD(recommend.WithFactors(0)), ctx, tinyRatings(), recommend.ErrInvalidOption},
		{"no learning rate", recommend.NewSVD(recommend.WithLearningRate(0)), ctx, tinyRatings(), recommend.ErrInvalidOption},
		{"negative λ", recommend.NewBiasBaseline(recommend.WithBiasRegularization(-1, 1)), ctx, tinyRatings(), recommend.ErrInvalidOption},
		{"cancelled", recommend.NewSVD(), cancelled, tinyRatings(), context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.m.FitRatings(tc.ctx, tc.ratings); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if p := tc.m.Predict("u1", "i1"); !math.IsNaN(p) {
				t.Errorf("a failed fit left a model predicting %v", p)
			}
		})
	}
	// A learning rate far too large diverges: an error, not NaN predictions.
	m := recommend.NewSVD(recommend.WithLearningRate(50), recommend.WithFactors(4))
	if err := m.FitRatings(ctx, plantedRatings(30, 30, 2, 0.5, 1)); err == nil {
		t.Errorf("SGD at learning rate 50 did not report divergence; r̂ = %v", m.Predict("u001", "i001"))
	}
}
