package serving_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/experiment"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// grocery is a small catalog in a 2-dimensional space: fruit points along
// the first axis, dairy along the second.
func grocery() *memBackend {
	b := newBackend()
	b.add("apple-red", "Red Apple", "Orchard", "Fruit > Apple", []float32{1, 0})
	b.add("apple-green", "Green Apple", "Valley", "Fruit > Apple", []float32{0.95, 0.05})
	b.add("pear", "Pear", "Orchard", "Fruit > Pear", []float32{0.85, 0.15})
	b.add("milk", "Whole Milk", "Dairy Co", "Dairy > Milk", []float32{0, 1})
	b.add("cheese", "Cheese", "Dairy Co", "Dairy > Cheese", []float32{0.1, 0.9})
	return b
}

var words = wordEncoder{"apple": {1, 0}, "fruit": {0.9, 0.1}, "milk": {0, 1}}

func newService(t *testing.T, b *memBackend, opts ...serving.Option) *serving.Service {
	t.Helper()
	s, err := serving.New(serving.DepsFrom(b, words, nil), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func TestNewRequiresDependencies(t *testing.T) {
	b := newBackend()
	for name, d := range map[string]serving.Deps{
		"no text model": serving.DepsFrom(b, nil, nil),
		"no store":      {TextEncoder: words},
	} {
		if _, err := serving.New(d); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestSearch(t *testing.T) {
	rrf := serving.SearchFusion{Method: serving.FusionRRF}
	score := serving.DefaultFusion()
	tests := []struct {
		name      string
		fusion    serving.SearchFusion
		req       serving.SearchRequest
		wantLists []string
		wantIDs   []string // the hits, or their first when wantLen is set
		wantLen   int
		wantTotal int
	}{
		{"rrf: hybrid", rrf, serving.SearchRequest{Query: "apple", K: 3}, []string{"lexical", "vector"}, []string{"apple-green"}, 3, 6},
		{"rrf: no known word: lexical alone", rrf, serving.SearchRequest{Query: "pear"}, []string{"lexical"}, []string{"pear"}, 1, 1},
		{"rrf: vector list only scores", rrf, serving.SearchRequest{Query: "milk", LexicalWeight: ptr(0.0)}, []string{"lexical", "vector"}, []string{"milk"}, 6, 6},
		{"rrf: filter excludes", rrf, serving.SearchRequest{Query: "apple", K: 2, Filter: catalog.Filter{Exclude: []string{"apple-red", "apple-green"}}}, []string{"lexical", "vector"}, []string{"pear"}, 2, 4},
		// Score fusion: title matches first, then what the vectors find
		// above the floor; the dairy products (cosine 0.1 and 0 with
		// "apple") are noise and neither shown nor counted.
		{"score: matches, then similar", score, serving.SearchRequest{Query: "apple"}, []string{"lexical", "vector"}, []string{"apple-red", "apple-green", "pear"}, 0, 3},
		{"score: only the similar", score, serving.SearchRequest{Query: "milk"}, []string{"lexical", "vector"}, []string{"milk", "cheese"}, 0, 2},
		// The vectors put the basket last (it points away from fruit), and the
		// lexical leg weighs nothing: its title holds the query, so it
		// still comes first.
		{"score: a title match is never below a non-match", score, serving.SearchRequest{Query: "fruit", LexicalWeight: ptr(0.0)}, []string{"lexical", "vector"}, []string{"basket", "apple-green", "pear", "apple-red"}, 0, 4},
		{"score: no known word", score, serving.SearchRequest{Query: "pear"}, []string{"lexical"}, []string{"pear"}, 0, 1},
		{"score: filter excludes", score, serving.SearchRequest{Query: "apple", Filter: catalog.Filter{Exclude: []string{"apple-red", "apple-green"}}}, []string{"lexical", "vector"}, []string{"pear"}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := grocery()
			b.add("basket", "Fruit Basket", "Orchard", "Fruit > Mixed", []float32{-1, 0})
			cfg := serving.DefaultConfig()
			cfg.Fusion = tc.fusion
			cfg.LexicalWeight, cfg.VectorWeight = 1, 1
			res, err := newService(t, b, serving.WithConfig(cfg)).Search(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var lists []string
			for _, l := range res.Lists {
				lists = append(lists, l.Name)
			}
			if !slices.Equal(lists, tc.wantLists) {
				t.Errorf("lists %v, want %v", lists, tc.wantLists)
			}
			got := serving.IDs(res.Hits)
			if tc.wantLen > 0 && (len(got) != tc.wantLen || got[0] != tc.wantIDs[0]) || tc.wantLen == 0 && !slices.Equal(got, tc.wantIDs) {
				t.Errorf("hits %v, want %v (%d)", got, tc.wantIDs, tc.wantLen)
			}
			if res.Hits[0].Product.ID != res.Hits[0].ID || len(res.Hits[0].Parts) == 0 {
				t.Errorf("hit not hydrated or not explained: %+v", res.Hits[0])
			}
			if len(b.queries) != 1 || res.Facets.Category == nil {
				t.Errorf("query log %v, facets %+v", b.queries, res.Facets)
			}
			n := 0
			for _, c := range res.Facets.Category {
				n += c
			}
			if res.Total != tc.wantTotal || n != res.Total {
				t.Errorf("total %d, facets count %d (%v), want %d", res.Total, n, res.Facets.Category, tc.wantTotal)
			}
		})
	}
}

func TestSearchFusionConfig(t *testing.T) {
	for _, f := range []serving.SearchFusion{{Method: "max"}, {Method: serving.FusionScore, VectorFloor: 1.5}} {
		cfg := serving.DefaultConfig()
		cfg.Fusion = f
		if _, err := serving.New(serving.DepsFrom(grocery(), words, nil), serving.WithConfig(cfg)); !errors.Is(err, serving.ErrFusion) {
			t.Errorf("%+v: %v, want ErrFusion", f, err)
		}
	}
}

// TestSearchVectorPool: the vector leg fetches its own, smaller pool (at
// least k) with the configured ef_search (at least the pool), while the
// lexical leg keeps the larger candidate pool.
func TestSearchVectorPool(t *testing.T) {
	for _, c := range []struct {
		k, pool, ef   int
		wantK, wantEf int
	}{
		{k: 10, pool: 30, ef: 80, wantK: 30, wantEf: 80},
		{k: 50, pool: 30, ef: 80, wantK: 50, wantEf: 80},
		{k: 200, pool: 30, ef: 80, wantK: 200, wantEf: 200},
		{k: 10, pool: 30, ef: 0, wantK: 30, wantEf: 0},
	} {
		b := grocery()
		cfg := serving.DefaultConfig()
		cfg.VectorPool, cfg.VectorEf = c.pool, c.ef
		if _, err := newService(t, b, serving.WithConfig(cfg)).Search(t.Context(), serving.SearchRequest{Query: "apple", K: c.k}); err != nil {
			t.Fatal(err)
		}
		if len(b.nearest) != 1 || b.nearest[0].K != c.wantK || b.nearest[0].EfSearch != c.wantEf {
			t.Errorf("k %d pool %d ef %d: vector queries %+v, want one with K %d, ef %d", c.k, c.pool, c.ef, b.nearest, c.wantK, c.wantEf)
		}
	}
}

// TestSearchRescoresTitleMatches: when the title matches fill the page,
// the vector leg scores the lexical candidates from their stored vectors
// instead of searching the index, and still orders them; with fewer title
// matches than k it searches the index.
func TestSearchRescoresTitleMatches(t *testing.T) {
	b := grocery()
	b.add("apple-pie", "Apple Pie", "Bakery", "Bakery > Pie", []float32{0.2, 0.8})
	cfg := serving.DefaultConfig()
	cfg.LexicalWeight, cfg.VectorWeight = 1, 1
	svc := newService(t, b, serving.WithConfig(cfg))
	res, err := svc.Search(t.Context(), serving.SearchRequest{Query: "apple", K: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.nearest) != 0 || len(b.rescored) != 1 || len(b.rescored[0]) != 3 {
		t.Fatalf("index searches %v, rescored %v: want the three title matches rescored and no index search", b.nearest, b.rescored)
	}
	// Equal lexical scores: the vectors decide, the pie (cosine 0.24 with
	// the query) last.
	if got := serving.IDs(res.Hits); len(got) != 3 || got[2] != "apple-pie" {
		t.Errorf("hits %v, want the two apples, then the pie", got)
	}
	if _, err := svc.Search(t.Context(), serving.SearchRequest{Query: "apple", K: 4}); err != nil {
		t.Fatal(err)
	}
	// The index search finds the similar products, and the lexical
	// candidates are scored exactly besides.
	if len(b.nearest) != 1 || len(b.rescored) != 2 {
		t.Errorf("k 4 with 3 title matches: index searches %d, rescores %d; want one of each more", len(b.nearest), len(b.rescored))
	}
}

func TestSearchSkipsLogAndFacets(t *testing.T) {
	b := grocery()
	res, err := newService(t, b).Search(t.Context(), serving.SearchRequest{Query: "apple", SkipFacets: true, SkipQueryLog: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.queries) != 0 || res.Facets.Category != nil || len(res.Hits) == 0 {
		t.Errorf("logged %v, facets %+v, %d hits", b.queries, res.Facets, len(res.Hits))
	}
}

func TestFieldErrors(t *testing.T) {
	s := newService(t, grocery())
	long := strings.Repeat("u", catalog.MaxIDLength+1)
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"search without query", func() error { _, err := s.Search(t.Context(), serving.SearchRequest{Query: "  "}); return err }, "query"},
		{"search k too large", func() error {
			_, err := s.Search(t.Context(), serving.SearchRequest{Query: "apple", K: records.MaxK + 1})
			return err
		}, "k"},
		{"search long user", func() error {
			_, err := s.Search(t.Context(), serving.SearchRequest{Query: "apple", UserID: long})
			return err
		}, "user_id"},
		{"search price range", func() error {
			_, err := s.Search(t.Context(), serving.SearchRequest{Query: "apple", Filter: catalog.Filter{MinPrice: ptr(5.0), MaxPrice: ptr(1.0)}})
			return err
		}, "filter.min_price"},
		{"search negative weight", func() error {
			_, err := s.Search(t.Context(), serving.SearchRequest{Query: "apple", VectorWeight: ptr(-1.0)})
			return err
		}, "vector_weight"},
		{"rank two inputs", func() error {
			_, err := s.Rank(t.Context(), serving.RankRequest{Query: "apple", UserID: "u"})
			return err
		}, "user_id"},
		{"rank vector dimension", func() error {
			_, err := s.Rank(t.Context(), serving.RankRequest{UserVector: []float32{1, 2, 3}})
			return err
		}, "user_vector"},
		{"rank unknown words", func() error { _, err := s.Rank(t.Context(), serving.RankRequest{Query: "xyzzy"}); return err }, "query"},
		{"recommend lambda", func() error {
			_, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", Rerank: serving.Rerank{MMRLambda: ptr(2.0)}})
			return err
		}, "mmr_lambda"},
		{"recommend brand share", func() error {
			_, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", Rerank: serving.Rerank{MaxBrandShare: 1.5}})
			return err
		}, "max_brand_share"},
		{"suggest k", func() error {
			_, err := s.Suggest(t.Context(), serving.SuggestRequest{Prefix: "ap", K: 51})
			return err
		}, "k"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fe *serving.FieldError
			if err := tc.call(); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("error %v, want a FieldError on %q", err, tc.field)
			}
		})
	}
}

func TestTypedErrors(t *testing.T) {
	b := grocery()
	b.add("unindexed", "Unindexed", "X", "Misc", nil)
	s := newService(t, b)
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"rank for a user with no vector", func() error { _, err := s.Rank(t.Context(), serving.RankRequest{UserID: "nobody"}); return err }, serving.ErrNoUserVector},
		{"similar to an unknown product", func() error {
			_, err := s.Similar(t.Context(), serving.SimilarRequest{ProductID: "nope"})
			return err
		}, records.ErrNotFound},
		{"similar to an unindexed product", func() error {
			_, err := s.Similar(t.Context(), serving.SimilarRequest{ProductID: "unindexed"})
			return err
		}, serving.ErrNotIndexed},
		{"photo search without an image model", func() error {
			_, err := s.SearchImage(t.Context(), serving.ImageSearchRequest{Image: []byte("x")})
			return err
		}, serving.ErrNoImageModel},
		{"forget an unknown user", func() error { return s.ForgetUser(t.Context(), "nobody") }, records.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// A product deleted between retrieval (its vector is still indexed) and
// hydration is dropped from every list, without an error.
func TestProductDeletedBeforeHydration(t *testing.T) {
	b := grocery()
	b.vectors["ghost"] = []float32{0.99, 0.01} // indexed, then deleted
	b.userVecs["u"] = records.UserVector{UserID: "u", Space: 1, Vector: []float32{1, 0}}
	s := newService(t, b)
	ctx := t.Context()
	lists := map[string]func() ([]serving.Hit, error){
		"search": func() ([]serving.Hit, error) {
			r, err := s.Search(ctx, serving.SearchRequest{Query: "apple", K: 5})
			return r.Hits, err
		},
		"rank": func() ([]serving.Hit, error) {
			r, err := s.Rank(ctx, serving.RankRequest{Query: "apple", K: 5})
			return r.Hits, err
		},
		"rank candidates": func() ([]serving.Hit, error) {
			r, err := s.Rank(ctx, serving.RankRequest{UserID: "u", CandidateIDs: []string{"ghost", "pear"}})
			return r.Hits, err
		},
		"similar": func() ([]serving.Hit, error) {
			r, err := s.Similar(ctx, serving.SimilarRequest{ProductID: "apple-red", K: 5})
			return r.Hits, err
		},
		"recommendations": func() ([]serving.Hit, error) {
			r, err := s.Recommend(ctx, serving.RecommendRequest{UserID: "u", K: 5, Rerank: serving.Rerank{MMRLambda: ptr(0.5), MaxPerBrand: 2}})
			return r.Hits, err
		},
	}
	for name, list := range lists {
		t.Run(name, func(t *testing.T) {
			hits, err := list()
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 || slices.Contains(serving.IDs(hits), "ghost") {
				t.Errorf("hits %v: want some, without the deleted product", serving.IDs(hits))
			}
		})
	}
}

// With nothing ingested every use case answers an empty list (or the
// popular fallback), never a panic.
func TestEmptyCatalog(t *testing.T) {
	s := newService(t, newBackend())
	ctx := t.Context()
	sr, err := s.Search(ctx, serving.SearchRequest{Query: "apple milk"})
	if err != nil || sr.Hits == nil || len(sr.Hits) != 0 {
		t.Errorf("search: %v %v", sr.Hits, err)
	}
	rr, err := s.Rank(ctx, serving.RankRequest{Query: "apple"})
	if err != nil || len(rr.Hits) != 0 {
		t.Errorf("rank: %v %v", rr.Hits, err)
	}
	if _, err := s.Similar(ctx, serving.SimilarRequest{ProductID: "apple-red"}); !errors.Is(err, records.ErrNotFound) {
		t.Errorf("similar: %v", err)
	}
	rec, err := s.Recommend(ctx, serving.RecommendRequest{UserID: "u", K: 5})
	if err != nil || rec.Strategy != serving.StrategyPopular || rec.Hits == nil || len(rec.Hits) != 0 {
		t.Errorf("recommendations: %+v %v", rec, err)
	}
	sug, err := s.Suggest(ctx, serving.SuggestRequest{Prefix: "ap"})
	if err != nil || sug == nil || len(sug) != 0 {
		t.Errorf("suggest: %v %v", sug, err)
	}
	evs := []catalog.Event{{ClientEventID: "1", UserID: "u", ProductID: "gone", Type: catalog.View, OccurredAt: time.Now()}}
	if _, err := s.AddEvents(ctx, evs); err != nil {
		t.Errorf("events on an empty catalog: %v", err)
	}
}

func TestNoActiveSpace(t *testing.T) {
	b := grocery()
	b.noSpace = true
	s := newService(t, b)
	if _, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u"}); !errors.Is(err, records.ErrNoActiveSpace) {
		t.Errorf("recommend without a space: %v", err)
	}
}

// A hybrid candidate that has item factors but no fused vector (not yet
// indexed) takes part in MMR re-ranking with no diversity penalty; it used
// to index out of range.
func TestRecommendCandidateWithoutVectorUnderMMR(t *testing.T) {
	b := grocery()
	b.add("novec", "New Apple", "Orchard", "Fruit > Apple", nil)
	b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
	b.userFactors["u"] = []float32{1, 0}
	for id, f := range map[string][]float32{"novec": {0.9, 0}, "apple-red": {1, 0}, "milk": {0.1, 0.5}, "pear": {0.5, 0}} {
		b.itemFactors[id] = f
	}
	b.userVecs["u"] = records.UserVector{UserID: "u", Space: 1, Vector: []float32{1, 0}}
	s := newService(t, b)
	for _, lambda := range []float64{0, 0.3, 1} {
		res, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", K: 4, Rerank: serving.Rerank{MMRLambda: ptr(lambda)}})
		if err != nil {
			t.Fatalf("lambda %v: %v", lambda, err)
		}
		if res.Strategy != serving.StrategyHybrid || res.CFModel != 3 || !slices.Contains(serving.IDs(res.Hits), "novec") {
			t.Errorf("lambda %v: %s model %d %v, want hybrid with novec", lambda, res.Strategy, res.CFModel, serving.IDs(res.Hits))
		}
		if res.BrandExposureGini == nil {
			t.Errorf("lambda %v: no brand exposure Gini", lambda)
		}
	}
}

func TestRecommendStrategies(t *testing.T) {
	now := time.Now()
	b := grocery()
	b.popular = []records.Scored{{ProductID: "milk", Score: 5}, {ProductID: "cheese", Score: 3}, {ProductID: "pear", Score: 1}}
	b.events = []catalog.Event{{ClientEventID: "1", UserID: "buyer", ProductID: "milk", Type: catalog.Purchase, OccurredAt: now}}
	b.userVecs["fan"] = records.UserVector{UserID: "fan", Space: 1, Vector: []float32{1, 0}}
	b.events = append(b.events, catalog.Event{ClientEventID: "2", UserID: "fan", ProductID: "apple-red", Type: catalog.Purchase, OccurredAt: now})
	s := newService(t, b)
	tests := []struct {
		user, strategy, first string
		excluded              string
	}{
		{"cold", serving.StrategyPopular, "milk", ""},
		{"buyer", serving.StrategyPopular, "cheese", "milk"},
		{"fan", serving.StrategyContent, "apple-green", "apple-red"},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			res, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: tc.user, K: 2})
			if err != nil {
				t.Fatal(err)
			}
			ids := serving.IDs(res.Hits)
			if res.Strategy != tc.strategy || len(ids) != 2 || ids[0] != tc.first || (tc.excluded != "" && slices.Contains(ids, tc.excluded)) {
				t.Errorf("%s %v, want %s starting with %s without %q", res.Strategy, ids, tc.strategy, tc.first, tc.excluded)
			}
			if tc.strategy == serving.StrategyContent && (len(res.Hits[0].Because) == 0 || res.Hits[0].Because[0].ID != "apple-red") {
				t.Errorf("because %+v, want the bought apple", res.Hits[0].Because)
			}
		})
	}
}

func TestParams(t *testing.T) {
	exp, err := experiment.Parse("exp", "control:50,treatment:50", "treatment.lexical_weight=0,treatment.cf_weight=3")
	if err != nil {
		t.Fatal(err)
	}
	cfg := serving.DefaultConfig()
	cfg.Experiment = exp
	s := newService(t, grocery(), serving.WithConfig(cfg))
	var treated string
	for i := range 1000 {
		if u := fmt.Sprintf("user-%d", i); exp.Assign(u).Name == "treatment" {
			treated = u
			break
		}
	}
	tests := []struct {
		name     string
		user     string
		variant  string
		lexical  float64
		blendCF  float64
		hasBlend bool
	}{
		{"anonymous gets the control", "", "control", serving.DefaultConfig().LexicalWeight, 0, false},
		{"treated user gets the overrides", treated, "treatment", 0, 3, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := s.Params(tc.user)
			if p.Experiment != "exp" || p.Variant != tc.variant || p.LexicalWeight != tc.lexical || (p.Blend != nil) != tc.hasBlend || p.Blend["collaborative"] != tc.blendCF {
				t.Errorf("%+v", p)
			}
		})
	}
	if p := newService(t, grocery()).Params("anyone"); p.Assignment != (serving.Assignment{}) || p.VectorWeight != 1 {
		t.Errorf("without an experiment: %+v", p)
	}
}

// Events fold into the user's vector; a retried batch changes nothing.
func TestAddEventsLearns(t *testing.T) {
	b := grocery()
	s := newService(t, b)
	at := time.Now().Add(-time.Minute)
	evs := []catalog.Event{
		{ClientEventID: "1", UserID: "u", ProductID: "milk", Type: catalog.Purchase, OccurredAt: at},
		{ClientEventID: "2", UserID: "u", ProductID: "cheese", Type: catalog.View, OccurredAt: at.Add(time.Second)},
		{ClientEventID: "3", UserID: "u", ProductID: "unknown", Type: catalog.View, OccurredAt: at},
	}
	res, err := s.AddEvents(t.Context(), evs)
	if err != nil || len(res) != 3 || res[0].Status != records.EventInserted {
		t.Fatalf("%+v %v", res, err)
	}
	uv := b.userVecs["u"]
	if len(uv.Vector) != 2 || uv.Vector[1] < 0.9 || math.Abs(uv.Weight-5.5) > 1e-3 {
		t.Fatalf("user vector %+v, want mostly dairy with weight 5.5", uv)
	}
	res, err = s.AddEvents(t.Context(), evs)
	if err != nil || res[0].Status != records.EventDuplicate || b.userVecs["u"].Weight != uv.Weight {
		t.Errorf("retry: %+v %v, vector %+v", res, err, b.userVecs["u"])
	}
	r, err := s.Rank(t.Context(), serving.RankRequest{UserID: "u", K: 1})
	if err != nil || len(r.Hits) != 1 || r.Hits[0].ID != "milk" || r.Space != 1 {
		t.Errorf("rank for the learnt user: %+v %v", r, err)
	}
	if err := s.ForgetUser(t.Context(), "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rank(t.Context(), serving.RankRequest{UserID: "u"}); !errors.Is(err, serving.ErrNoUserVector) {
		t.Errorf("rank after forgetting: %v", err)
	}
}

func TestSimilarBlendsCollaborative(t *testing.T) {
	b := grocery()
	b.cf = &records.CFModel{Version: 1, Method: "als", Dim: 2}
	for id, f := range map[string][]float32{"milk": {1, 0}, "apple-red": {0.9, 0.1}, "cheese": {0, 1}} {
		b.itemFactors[id] = f
	}
	res, err := newService(t, b).Similar(t.Context(), serving.SimilarRequest{ProductID: "milk", K: 3})
	if err != nil {
		t.Fatal(err)
	}
	collab := 0
	for _, h := range res.Hits {
		for _, p := range h.Parts {
			if p.Name == "collaborative" {
				collab++
			}
		}
	}
	if len(res.Hits) != 3 || collab == 0 || slices.Contains(serving.IDs(res.Hits), "milk") {
		t.Errorf("similar to milk: %v (%d collaborative parts)", serving.IDs(res.Hits), collab)
	}
}
