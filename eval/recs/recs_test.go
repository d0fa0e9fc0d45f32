package recs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/eval/data"
	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/report"
)

// planted is a small interaction log: users of 4 clusters mostly pick
// their cluster's items, popular ones more often, one line per
// interaction in time order.
func planted(users, items, perUser int, seed uint64) data.Dataset {
	r := rand.New(rand.NewPCG(seed, 7))
	const clusters = 4
	per := items / clusters
	d := data.Dataset{HasTime: true}
	for u := range users {
		seen := map[int]bool{}
		for j := range perUser {
			c := u % clusters
			if r.Float64() < 0.2 {
				c = r.IntN(clusters)
			}
			i := c*per + int(float64(per)*r.Float64()*r.Float64())
			if seen[i] {
				continue
			}
			seen[i] = true
			d.Interactions = append(d.Interactions, data.Interaction{User: fmt.Sprintf("u%03d", u), Item: fmt.Sprintf("i%03d", i), Time: int64(1000*j + u)})
		}
	}
	return d
}

func split(t *testing.T, d data.Dataset, m data.Method) data.Split {
	t.Helper()
	s, err := data.SplitBy(d, m, 1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Masking (RecBole): a test ranking never holds the user's training or
// validation items; a validation ranking never holds training items, but
// may hold test items.
func TestMasking(t *testing.T) {
	d := planted(120, 80, 15, 1)
	for _, m := range []data.Method{data.Random, data.LeaveOneOut, data.Temporal} {
		s := split(t, d, m)
		for _, target := range []Target{Test, Valid} {
			c, err := newConfig([]Option{WithTarget(target), WithK(20)})
			if err != nil {
				t.Fatal(err)
			}
			p, err := newProtocol(s, c)
			if err != nil {
				t.Fatal(err)
			}
			banned := map[string]bool{} // user/item pairs that must not be ranked
			add := func(xs []data.Interaction) {
				for _, x := range xs {
					banned[x.User+"/"+x.Item] = true
				}
			}
			add(s.Train)
			if target == Test {
				add(s.Valid)
			}
			pop, err := p.model(t.Context(), "popularity")
			if err != nil {
				t.Fatal(err)
			}
			w := p.newWorker()
			checked := 0
			for _, u := range p.users {
				var r userResult
				p.evalUser(w, u, func(w *worker, u user) { pop.s.ScoreUser(u.index, w.scores) }, &r)
				for _, i := range r.top {
					if id := p.d.UserID(u.index) + "/" + p.catalog[i]; banned[id] {
						t.Fatalf("%s, ranking for %s: %s is ranked", m, target, id)
					}
				}
				checked += len(r.top)
				if slices.Contains(w.masked, true) || slices.Contains(w.rel, true) {
					t.Fatalf("%s: the worker's masks were not cleared", m)
				}
			}
			if checked == 0 {
				t.Errorf("%s, %s: no ranking checked", m, target)
			}
		}
	}
}

// The validation items a popularity ranking would put first are masked at
// test time, so the test figures differ from ranking with training items
// masked only: the hottest item, held out for validation, must not count.
func TestMaskingValidationItemNeverRanked(t *testing.T) {
	s := data.Split{
		Train: []data.Interaction{{User: "a", Item: "hot"}, {User: "b", Item: "hot"}, {User: "c", Item: "x"}, {User: "c", Item: "warm"}, {User: "d", Item: "warm"}},
		Valid: []data.Interaction{{User: "c", Item: "hot"}},
		Test:  []data.Interaction{{User: "c", Item: "y"}, {User: "c", Item: "hot"}},
	}
	s.Train = append(s.Train, data.Interaction{User: "e", Item: "y"})
	res, err := Evaluate(t.Context(), s, []string{"popularity"}, WithK(1))
	if err != nil {
		t.Fatal(err)
	}
	// c's candidates: hot (valid: masked), warm and x (training: masked),
	// y. So y is first: recall@1 is ½ (hot is a test item too, but masked).
	if got, _ := res[0].Summary.Get("recall@1"); got != 0.5 {
		t.Errorf("recall@1 = %v, want 0.5 (hot masked, y first)", got)
	}
}

// reference computes the figures the old all-in-memory command did: every
// user's full score list kept, sorted by metrics.Rank and measured by
// metrics.Evaluate, masking training and validation items.
func reference(t *testing.T, s data.Split, name string, k int, params recommend.Params) Result {
	t.Helper()
	c, _ := newConfig([]Option{WithK(k), WithParams(params)})
	p, err := newProtocol(s, c)
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.model(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	var qs []metrics.Query
	var lists [][]string
	for _, u := range p.users {
		masked := map[int32]bool{}
		own, _ := p.d.UserItems(u.index)
		for _, i := range slices.Concat(own, u.mask) {
			masked[i] = true
		}
		scores := make([]float64, p.d.NumItems())
		f.s.ScoreUser(u.index, scores)
		var all []metrics.Scored
		for i, v := range scores {
			if !masked[int32(i)] {
				all = append(all, metrics.Scored{ID: p.catalog[i], Score: v})
			}
		}
		rel := metrics.Relevance{}
		for _, i := range u.relevant {
			rel[p.catalog[i]] = 1
		}
		ranked := metrics.Rank(all)
		qs = append(qs, metrics.Query{Ranked: ranked[:min(max(k, report.CurveK), len(ranked))], Relevant: rel, Scores: all})
		lists = append(lists, ranked[:min(k, len(ranked))])
	}
	counts := map[string]int{}
	for _, x := range s.Train {
		counts[x.Item]++
	}
	nov, err := metrics.Novelty(lists, k, metrics.Popularity(counts, p.catalog, p.d.NumUsers(), 1))
	if err != nil {
		t.Fatal(err)
	}
	return Result{Summary: metrics.Evaluate(qs, rankMetrics(k)), Curve: report.CurveOf(metrics.Evaluate(qs, report.CurveMetrics())),
		Beyond: map[string]float64{"coverage": metrics.Coverage(lists, k, len(p.catalog)),
			"exposure_gini": metrics.ExposureGini(lists, k, p.catalog), "novelty": nov}}
}

// Streaming (per user, top k by a heap, running sums, two workers) gives
// the figures of the all-in-memory computation.
func TestStreamingEqualsAllInMemory(t *testing.T) {
	d := planted(150, 90, 20, 2)
	for _, m := range []data.Method{data.Random, data.LeaveOneOut} {
		s := split(t, d, m)
		for _, name := range []string{"popularity", "itemknn", "als", "bpr"} {
			params := recommend.Params{Factors: 8}
			got, err := Evaluate(t.Context(), s, []string{name}, WithK(10), WithWorkers(2), WithParams(params))
			if err != nil {
				t.Fatal(err)
			}
			want := reference(t, s, name, 10, params)
			g := got[0]
			if g.Summary.Evaluated != want.Summary.Evaluated || g.Summary.Evaluated == 0 {
				t.Fatalf("%s %s: %d users evaluated, reference %d", m, name, g.Summary.Evaluated, want.Summary.Evaluated)
			}
			for _, v := range want.Summary.Metrics {
				if x, _ := g.Summary.Get(v.Name); math.Abs(x-v.Mean) > 1e-12 {
					t.Errorf("%s %s %s: streaming %v, all in memory %v", m, name, v.Name, x, v.Mean)
				}
			}
			for key, v := range want.Beyond {
				if math.Abs(g.Beyond[key]-v) > 1e-12 {
					t.Errorf("%s %s %s: streaming %v, all in memory %v", m, name, key, g.Beyond[key], v)
				}
			}
			for i, c := range want.Curve {
				if math.Abs(g.Curve[i].Recall-c.Recall) > 1e-12 || math.Abs(g.Curve[i].NDCG-c.NDCG) > 1e-12 {
					t.Errorf("%s %s curve at %d: %+v, want %+v", m, name, c.K, g.Curve[i], c)
				}
			}
		}
	}
}

// The figures depend neither on the number of workers nor on the run.
func TestDeterministicAcrossWorkers(t *testing.T) {
	s := split(t, planted(100, 60, 15, 3), data.Random)
	var prev []Result
	for _, w := range []int{1, 2, 3} {
		res, err := Evaluate(t.Context(), s, []string{"als", "hybrid"}, WithWorkers(w), WithParams(recommend.Params{Factors: 8}),
			WithConfiguredBlend(map[string]float64{recommend.SourceCollaborative: 1}))
		if err != nil {
			t.Fatal(err)
		}
		for i := range res {
			res[i].FitSeconds = 0
		}
		if prev != nil && fmt.Sprint(prev) != fmt.Sprint(res) {
			t.Errorf("%d workers: %v\nwant %v", w, res, prev)
		}
		prev = res
	}
}

// The hybrid ranks the API's candidates only: everything it recommends is
// among the CF top pool, the popular page, or content's top pool.
func TestHybridRanksServingCandidates(t *testing.T) {
	s := split(t, planted(150, 200, 20, 4), data.Random)
	res, err := Evaluate(t.Context(), s, []string{"als", "hybrid"}, WithParams(recommend.Params{Factors: 8}),
		WithConfiguredBlend(map[string]float64{recommend.SourceCollaborative: 1, recommend.SourcePopularity: 0.2}))
	if err != nil {
		t.Fatal(err)
	}
	h := res[1]
	if h.Weights == nil || h.WeightsFrom == "" {
		t.Fatalf("hybrid without weights: %+v", h)
	}
	if r, _ := h.Summary.Get("recall@10"); r <= 0 {
		t.Errorf("hybrid recall@10 %v", r)
	}
	// Coverage is bounded by the candidates: at most pool per user.
	if h.Beyond["coverage"] <= 0 || h.Beyond["coverage"] > 1 {
		t.Errorf("coverage %v", h.Beyond["coverage"])
	}
}

func TestEvaluateRejects(t *testing.T) {
	s := split(t, planted(20, 20, 6, 5), data.Random)
	tests := []struct {
		name    string
		methods []string
		opts    []Option
		want    error
	}{
		{"unknown method", []string{"svd++"}, nil, ErrUnknownMethod},
		{"content without vectors", []string{Content}, nil, ErrNoContent},
		{"k of 0", []string{"popularity"}, []Option{WithK(0)}, recommend.ErrInvalidOption},
	}
	for _, tc := range tests {
		if _, err := Evaluate(context.Background(), s, tc.methods, tc.opts...); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// Tune searches on the validation part only (changing the test part
// changes nothing), and Evaluate then reports the tuned choice beside the
// tuned methods.
func TestTune(t *testing.T) {
	s := split(t, planted(200, 120, 20, 3), data.LeaveOneOut)
	methods := []string{"popularity", "itemknn", "rp3beta", Hybrid}
	search := []recommend.SearchOption{recommend.WithBudget(time.Minute)} // the whole grid: the test must not depend on speed
	res, err := Tune(t.Context(), s, methods, search, WithParams(recommend.Params{Seed: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Best) != 3 || len(res.Choice.Components) == 0 {
		t.Fatalf("best %v, choice %v: want 3 methods searched and a choice", res.Best, res.Choice)
	}
	s2 := s
	s2.Test = nil // the search must not read the test part
	res2, err := Tune(t.Context(), s2, methods, search, WithParams(recommend.Params{Seed: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if res2.Choice.String() != res.Choice.String() || res2.Choice.Score != res.Choice.Score {
		t.Errorf("choice without the test part %v, with it %v", res2.Choice, res.Choice)
	}
	per := map[string]recommend.Params{}
	for _, b := range res.Best {
		per[b.Method] = b.Params
	}
	out, err := Evaluate(t.Context(), s, []string{"itemknn", Tuned}, WithMethodParams(per), WithChoice(res.Choice), WithRefit(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out {
		ndcg, _ := r.Summary.Get("ndcg@10")
		t.Logf("%s: test NDCG@10 %.4f (choice %s)", r.Method, ndcg, res.Choice)
		if r.Summary.Evaluated == 0 {
			t.Errorf("%s evaluated no user", r.Method)
		}
	}
}
