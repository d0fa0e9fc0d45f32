package recommend_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/recommend"
)

// The options the quality tests use: small models for small data.
func alsOpts() []recommend.Option {
	return []recommend.Option{recommend.WithFactors(16), recommend.WithIterations(10), recommend.WithAlpha(1), recommend.WithRegularization(5)}
}

func bprOpts() []recommend.Option {
	return []recommend.Option{recommend.WithFactors(16), recommend.WithIterations(40)}
}

func knnOpts() []recommend.Option {
	return []recommend.Option{recommend.WithNeighbours(50)}
}

type namedModel struct {
	name  string
	model recommend.Scorer
}

// fitPlanted fits every model on the planted data's train split.
func fitPlanted(t *testing.T) (planted, *recommend.Dataset, map[string]map[string]bool, []namedModel) {
	t.Helper()
	p := plant(smallPlant())
	train, test := recommend.HoldOut(p.events, 3, 11)
	d, err := recommend.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	models := []namedModel{
		{"als", recommend.NewALS(alsOpts()...)},
		{"bpr", recommend.NewBPR(bprOpts()...)},
		{"itemknn", recommend.NewItemKNN(knnOpts()...)},
		{"popularity", recommend.NewPopularity()},
		{"random", &randomScorer{seed: 3}},
	}
	for _, m := range models {
		if err := m.model.Fit(context.Background(), d); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
	}
	return p, d, heldOut(test), models
}

// randomScorer is the floor: uniformly random scores.
type randomScorer struct {
	seed uint64
	d    *recommend.Dataset
}

func (r *randomScorer) Fit(_ context.Context, d *recommend.Dataset) error { r.d = d; return nil }

func (r *randomScorer) ScoreUser(u int, dst []float64) {
	rng := rand.New(rand.NewPCG(r.seed, uint64(u)))
	for i := range dst {
		dst[i] = rng.Float64()
	}
}

func (r *randomScorer) Recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	u, ok := r.d.UserIndex(userID)
	if !ok {
		return nil
	}
	s := make([]float64, r.d.NumItems())
	r.ScoreUser(u, s)
	own, _ := r.d.UserItems(u)
	top := recommend.TopItems(s, k, func(i int) bool {
		_, found := slices.BinarySearch(own, int32(i))
		return found || exclude[r.d.ItemID(i)]
	})
	out := make([]ranking.Result, len(top))
	for n, i := range top {
		out[n] = ranking.Result{ProductID: r.d.ItemID(i), Score: s[i]}
	}
	return out
}

func recallAt(m recommend.Scorer, test map[string]map[string]bool, k int) float64 {
	var sum float64
	for user, items := range test {
		var hit int
		for _, r := range m.Recommend(user, k, nil) {
			if items[r.ProductID] {
				hit++
			}
		}
		sum += float64(hit) / float64(len(items))
	}
	return sum / float64(len(test))
}

func TestPlantedStructure(t *testing.T) {
	p, d, test, models := fitPlanted(t)
	recall := map[string]float64{}
	for _, m := range models {
		recall[m.name] = recallAt(m.model, test, 10)
		t.Logf("Recall@10 %-10s %.3f", m.name, recall[m.name])
	}
	if recall["popularity"] < 1.5*recall["random"] {
		t.Errorf("popularity %.3f not above random %.3f", recall["popularity"], recall["random"])
	}
	for _, name := range []string{"als", "bpr", "itemknn"} {
		if recall[name] < 1.5*recall["popularity"] || recall[name] < 4*recall["random"] {
			t.Errorf("%s recall %.3f: want ≥ 1.5× popularity (%.3f) and ≥ 4× random (%.3f)", name, recall[name], recall["popularity"], recall["random"])
		}
	}

	t.Run("own cluster", func(t *testing.T) {
		for _, m := range models[:3] {
			var in, all int
			for u := range d.NumUsers() {
				user := d.UserID(u)
				for _, r := range m.model.Recommend(user, 10, nil) {
					all++
					if p.itemCluster[r.ProductID] == p.userCluster[user] {
						in++
					}
				}
			}
			share := float64(in) / float64(all)
			t.Logf("%s: %.3f of top-10 in the user's cluster", m.name, share)
			if share < 0.8 {
				t.Errorf("%s: only %.3f of top-10 recommendations in the user's cluster", m.name, share)
			}
		}
	})

	t.Run("similar items", func(t *testing.T) {
		for _, m := range models[:3] {
			sim := m.model.(recommend.ItemSimilarity)
			var in, all int
			for i := range d.NumItems() {
				item := d.ItemID(i)
				rs := sim.SimilarItems(item, 10)
				for _, r := range rs {
					if r.ProductID == item {
						t.Fatalf("%s: %s similar to itself", m.name, item)
					}
					all++
					if p.itemCluster[r.ProductID] == p.itemCluster[item] {
						in++
					}
				}
			}
			share := float64(in) / float64(all)
			t.Logf("%s: %.3f of similar items in the item's cluster", m.name, share)
			if share < 0.8 {
				t.Errorf("%s: only %.3f of similar items in the item's cluster", m.name, share)
			}
		}
	})

	t.Run("fold-in", func(t *testing.T) {
		for _, m := range models[:2] {
			f := m.model.(recommend.FoldInner)
			for c := range p.clusters {
				var items []string
				for _, id := range p.items {
					if p.itemCluster[id] == c && len(items) < 6 {
						items = append(items, id)
					}
				}
				v := f.FoldIn(append(items, "no-such-item"), nil)
				if v == nil {
					t.Fatalf("%s: no fold-in vector", m.name)
				}
				s := make([]float64, d.NumItems())
				f.ScoreVector(v, s)
				var in int
				for _, i := range recommend.TopItems(s, 10, func(i int) bool { return slices.Contains(items, d.ItemID(i)) }) {
					if p.itemCluster[d.ItemID(i)] == c {
						in++
					}
				}
				if in < 8 {
					t.Errorf("%s: new user of cluster %d: %d of 10 recommendations in the cluster", m.name, c, in)
				}
			}
			if f.FoldIn([]string{"unknown"}, nil) != nil {
				t.Errorf("%s: fold-in of unknown items should be nil", m.name)
			}
			if f.FoldIn([]string{p.items[0]}, []float64{1, 2}) != nil {
				t.Errorf("%s: fold-in with mismatched values should be nil", m.name)
			}
		}
	})

	t.Run("unknown user", func(t *testing.T) {
		for _, m := range models[:3] {
			if rs := m.model.Recommend("nobody", 10, nil); rs != nil {
				t.Errorf("%s: %d results for an unknown user", m.name, len(rs))
			}
		}
		if rs := models[3].model.Recommend("nobody", 10, nil); len(rs) != 10 {
			t.Errorf("popularity: %d results for an unknown user, want 10", len(rs))
		}
	})
}

// ALS's fold-in is the converged user sweep, so folding in a training
// user's own events gives (nearly) the factor Fit found.
func TestALSFoldInMatchesFit(t *testing.T) {
	p := plant(smallPlant())
	d, err := recommend.NewDataset(p.events)
	if err != nil {
		t.Fatal(err)
	}
	m := recommend.NewALS(append(alsOpts(), recommend.WithIterations(15))...)
	if err := m.Fit(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	users := m.UserFactors()
	for _, u := range []int{0, 17, 123, 499} {
		idx, vals := d.UserItems(u)
		items := make([]string, len(idx))
		for n, i := range idx {
			items[n] = d.ItemID(int(i))
		}
		v := m.FoldIn(items, vals)
		if c := cosine(t, v, users[u]); c < 0.98 {
			t.Errorf("user %d: fold-in vs fitted factor cosine %.4f", u, c)
		}
	}
}

// Exported factors are what ScoreUser multiplies (BPR's carry the bias
// as a trailing column), so pgvector inner-product search agrees.
func TestFactorsScoreAsInnerProduct(t *testing.T) {
	p := plant(smallPlant())
	d, err := recommend.NewDataset(p.events)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		model interface {
			recommend.Scorer
			recommend.Factorizer
		}
		dim int
	}{
		{"als", recommend.NewALS(recommend.WithFactors(8), recommend.WithIterations(3)), 8},
		{"bpr", recommend.NewBPR(recommend.WithFactors(8), recommend.WithIterations(3)), 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.model.Fit(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			users, items := tc.model.UserFactors(), tc.model.ItemFactors()
			if len(users) != d.NumUsers() || len(items) != d.NumItems() || len(users[0]) != tc.dim || len(items[0]) != tc.dim {
				t.Fatalf("factor shapes %d×%d, %d×%d", len(users), len(users[0]), len(items), len(items[0]))
			}
			s := make([]float64, d.NumItems())
			for _, u := range []int{0, 250} {
				tc.model.ScoreUser(u, s)
				for _, i := range []int{0, 100, 249} {
					var dot float64
					for f := range users[u] {
						dot += float64(users[u][f]) * float64(items[i][f])
					}
					if math.Abs(dot-s[i]) > 1e-4*(1+math.Abs(s[i])) {
						t.Errorf("user %d item %d: inner product %v, score %v", u, i, dot, s[i])
					}
				}
			}
		})
	}
}

// Same seed, same model, whatever the number of goroutines.
func TestDeterministic(t *testing.T) {
	p := plant(smallPlant())
	d, err := recommend.NewDataset(p.events)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	build := []struct {
		name string
		new  func(opts ...recommend.Option) recommend.Scorer
	}{
		{"als", func(o ...recommend.Option) recommend.Scorer {
			return recommend.NewALS(append([]recommend.Option{recommend.WithFactors(8), recommend.WithIterations(3)}, o...)...)
		}},
		{"als exact", func(o ...recommend.Option) recommend.Scorer {
			return recommend.NewALS(append([]recommend.Option{recommend.WithFactors(8), recommend.WithIterations(2), recommend.WithCGSteps(0)}, o...)...)
		}},
		{"bpr", func(o ...recommend.Option) recommend.Scorer {
			return recommend.NewBPR(append([]recommend.Option{recommend.WithFactors(8), recommend.WithIterations(3)}, o...)...)
		}},
		{"itemknn", func(o ...recommend.Option) recommend.Scorer { return recommend.NewItemKNN(o...) }},
	}
	for _, b := range build {
		t.Run(b.name, func(t *testing.T) {
			var want []float64
			for _, workers := range []int{1, 2, 3} {
				m := b.new(recommend.WithSeed(42), recommend.WithWorkers(workers))
				if err := m.Fit(ctx, d); err != nil {
					t.Fatal(err)
				}
				var got []float64
				for _, u := range []int{0, 1, 77} {
					s := make([]float64, d.NumItems())
					m.ScoreUser(u, s)
					got = append(got, s...)
				}
				if want == nil {
					want = got
				} else if !slices.Equal(got, want) {
					t.Errorf("%d workers: scores differ from 1 worker", workers)
				}
			}
			other := b.new(recommend.WithSeed(43))
			if err := other.Fit(ctx, d); err != nil {
				t.Fatal(err)
			}
			s := make([]float64, d.NumItems())
			other.ScoreUser(0, s)
			if b.name != "itemknn" && slices.Equal(s, want[:len(s)]) {
				t.Errorf("another seed gave the same scores")
			}
		})
	}
}

// A cancelled Fit reports the context's error and leaves the model as it
// was: unfitted here.
func TestFitCancelled(t *testing.T) {
	p := plant(smallPlant())
	d, err := recommend.NewDataset(p.events)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, m := range []recommend.Scorer{recommend.NewALS(), recommend.NewBPR(), recommend.NewItemKNN(), recommend.NewPopularity()} {
		err := m.Fit(ctx, d)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%T: error %v, want context.Canceled", m, err)
		}
		if rs := m.Recommend(d.UserID(0), 5, nil); rs != nil {
			t.Errorf("%T: cancelled fit left a model", m)
		}
	}
}

func TestFitErrors(t *testing.T) {
	p := plant(smallPlant())
	d, err := recommend.NewDataset(p.events[:100])
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		model recommend.Scorer
		d     *recommend.Dataset
		want  error
	}{
		{"nil dataset", recommend.NewALS(), nil, recommend.ErrNoInteractions},
		{"als factors", recommend.NewALS(recommend.WithFactors(0)), d, recommend.ErrInvalidOption},
		{"als alpha", recommend.NewALS(recommend.WithAlpha(-1)), d, recommend.ErrInvalidOption},
		{"bpr learning rate", recommend.NewBPR(recommend.WithLearningRate(0)), d, recommend.ErrInvalidOption},
		{"bpr blocks", recommend.NewBPR(recommend.WithBlocks(0)), d, recommend.ErrInvalidOption},
		{"knn neighbours", recommend.NewItemKNN(recommend.WithNeighbours(0)), d, recommend.ErrInvalidOption},
		{"popularity half-life", recommend.NewPopularity(recommend.WithHalfLife(-1)), d, recommend.ErrInvalidOption},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.model.Fit(context.Background(), tc.d); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRecommendExcludes(t *testing.T) {
	p := plant(smallPlant())
	d, err := recommend.NewDataset(p.events)
	if err != nil {
		t.Fatal(err)
	}
	m := recommend.NewALS(recommend.WithFactors(8), recommend.WithIterations(3))
	if err := m.Fit(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	user := d.UserID(5)
	first := m.Recommend(user, 5, nil)
	ex := map[string]bool{first[0].ProductID: true, first[2].ProductID: true}
	second := m.Recommend(user, 5, ex)
	idx, _ := d.UserItems(5)
	for _, r := range second {
		if ex[r.ProductID] {
			t.Errorf("excluded %s recommended", r.ProductID)
		}
		if i, _ := d.ItemIndex(r.ProductID); slices.Contains(idx, int32(i)) {
			t.Errorf("already-seen %s recommended", r.ProductID)
		}
		if len(r.Parts) != 1 || r.Parts[0].Name != "als" || r.Parts[0].Score != r.Score {
			t.Errorf("parts %+v", r.Parts)
		}
	}
	if second[0].ProductID != first[1].ProductID || second[1].ProductID != first[3].ProductID {
		t.Errorf("excluding shifted the order wrongly: %v then %v", first, second)
	}
	for i := 1; i < len(second); i++ {
		if second[i].Score > second[i-1].Score {
			t.Errorf("not sorted: %v", second)
		}
	}
}

func TestTopItems(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		scores []float64
		k      int
		skip   func(int) bool
		want   []int
	}{
		{"order", []float64{0.1, 0.9, 0.5, 0.7}, 2, nil, []int{1, 3}},
		{"ties to lower index", []float64{1, 2, 2, 1, 2}, 4, nil, []int{1, 2, 4, 0}},
		{"skip and non-finite", []float64{5, nan, math.Inf(-1), 4, 3}, 5, func(i int) bool { return i == 0 }, []int{3, 4}},
		{"k larger", []float64{1, 3}, 10, nil, []int{1, 0}},
		{"k zero", []float64{1, 3}, 0, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := recommend.TopItems(tc.scores, tc.k, tc.skip); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// A negative value is a confident "no" for ALS (preference 0, confidence
// 1 + alpha·|r|): a user who rated an item badly scores it lower than the
// same user without that event.
func TestALSNegativeFeedback(t *testing.T) {
	p := plant(smallPlant())
	base := slices.Clone(p.events)
	var mine []recommend.Interaction
	for _, e := range p.events {
		if e.User == "user0000" {
			e.User = "twin"
			mine = append(mine, e)
		}
	}
	target := "item0005" // in user0000's cluster, not necessarily seen
	events := append(append(base, mine...), recommend.Interaction{User: "twin", Item: target, Value: -5})
	d, err := recommend.NewDataset(events)
	if err != nil {
		t.Fatal(err)
	}
	m := recommend.NewALS(append(alsOpts(), recommend.WithAlpha(5))...)
	if err := m.Fit(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	score := func(user string) float64 {
		u, _ := d.UserIndex(user)
		s := make([]float64, d.NumItems())
		m.ScoreUser(u, s)
		i, _ := d.ItemIndex(target)
		return s[i]
	}
	a, b := score("user0000"), score("twin")
	t.Logf("%s: %.3f for the user, %.3f for the twin", target, a, b)
	if b >= a-0.1 {
		t.Errorf("%s: %.3f for the user, %.3f for a twin who disliked it", target, a, b)
	}
}

// Folding in from stored factors gives what the fitted model's FoldIn gives.
func TestFoldInImplicitMatchesModel(t *testing.T) {
	p := plant(smallPlant())
	d, err := recommend.NewDataset(p.events)
	if err != nil {
		t.Fatal(err)
	}
	const reg, alpha = 5.0, 2.0
	m := recommend.NewALS(recommend.WithFactors(16), recommend.WithRegularization(reg), recommend.WithAlpha(alpha), recommend.WithSeed(1))
	if err := m.Fit(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	items := []string{p.items[0], p.items[5], p.items[10]}
	vals := []float64{1, 2, 1}
	want := m.FoldIn(items, vals)
	factors := m.ItemFactors()
	g, err := recommend.Gram(t.Context(), factors, reg)
	if err != nil {
		t.Fatal(err)
	}
	var its [][]float32
	for _, id := range items {
		i, _ := d.ItemIndex(id)
		its = append(its, factors[i])
	}
	got, err := recommend.FoldInImplicit(g, its, vals, alpha)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if diff := float64(got[i] - want[i]); diff > 1e-4 || diff < -1e-4 {
			t.Fatalf("factor %d: %v, model FoldIn %v", i, got[i], want[i])
		}
	}
}
