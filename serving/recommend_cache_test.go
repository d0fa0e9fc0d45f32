package serving_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// rowCounter counts the full model-row reads of the backend it wraps.
type rowCounter struct {
	*memBackend
	rows atomic.Int32
}

func (c *rowCounter) ActiveCFModel(ctx context.Context) (records.CFModel, error) {
	c.rows.Add(1)
	return c.memBackend.ActiveCFModel(ctx)
}

// The model row is read once per activated version, and a newly
// activated (or removed) model is served from the next request: the cache
// is keyed by the version every request reads.
func TestRecommendServesActiveModelVersion(t *testing.T) {
	b := grocery()
	b.userFactors["u"] = []float32{1, 0}
	for id, f := range map[string][]float32{"apple-green": {1, 0}, "pear": {0.5, 0}, "milk": {0.1, 0.5}} {
		b.itemFactors[id] = f
	}
	b.userVecs["u"] = records.UserVector{UserID: "u", Space: 1, Vector: []float32{1, 0}}
	c := &rowCounter{memBackend: b}
	s, err := serving.New(serving.DepsFrom(c, words, nil))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name     string
		model    *records.CFModel
		strategy string
		version  int
		rows     int32 // row reads so far
	}{
		{"first model", &records.CFModel{Version: 3, Method: "bpr", Dim: 2}, serving.StrategyHybrid, 3, 1},
		{"same model again", &records.CFModel{Version: 3, Method: "bpr", Dim: 2}, serving.StrategyHybrid, 3, 1},
		{"retrained", &records.CFModel{Version: 4, Method: "bpr", Dim: 2}, serving.StrategyHybrid, 4, 2},
		{"model removed", nil, serving.StrategyContent, 0, 2},
	}
	for _, st := range steps {
		b.cf = st.model
		for range 3 {
			res, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", K: 3})
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if res.Strategy != st.strategy || res.CFModel != st.version || len(res.Hits) == 0 || slices.Contains(serving.IDs(res.Hits), "") {
				t.Fatalf("%s: %s model %d %v, want %s model %d", st.name, res.Strategy, res.CFModel, serving.IDs(res.Hits), st.strategy, st.version)
			}
		}
		if got := c.rows.Load(); got != st.rows {
			t.Errorf("%s: %d model row reads, want %d", st.name, got, st.rows)
		}
	}
}

// Retrieved candidates are reused while the inputs every request reads
// (the user's purchases, events, vector and factors; the product's vector
// and factors; the model) are unchanged, for 30 s at most: a deleted
// product leaves at once, a user's purchase is excluded from the next
// request, and a new product joins after the 30 s.
func TestRetrievalCache(t *testing.T) {
	b := grocery()
	b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
	b.userFactors["u"] = []float32{1, 0}
	for id, f := range map[string][]float32{"apple-red": {1, 0}, "apple-green": {1, 0}, "pear": {0.5, 0}, "milk": {0.1, 0.5}} {
		b.itemFactors[id] = f
	}
	b.userVecs["u"] = records.UserVector{UserID: "u", Space: 1, Vector: []float32{1, 0}}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.events = []catalog.Event{{ClientEventID: "1", UserID: "u", ProductID: "apple-red", Type: catalog.Purchase, OccurredAt: at}}
	now := at
	// Every retrieval searches the index (no content lists), so a search
	// tells a retrieval.
	s := newService(t, b, serving.WithClock(func() time.Time { return now }), serving.WithContentLists(0, 0))
	steps := []struct {
		name       string
		change     func()
		retrieved  bool   // the user's and the product's nearest products searched again
		has, lacks string // a product the recommendations and similar products hold, one they lack
	}{
		{"first request", func() {}, true, "apple-green", "apple-red"},
		{"same state", func() {}, false, "apple-green", "apple-red"},
		{"product deleted", func() { delete(b.products, "apple-green") }, false, "pear", "apple-green"},
		{"product added", func() { b.add("apple-new", "New Apple", "Orchard", "Fruit > Apple", []float32{1, 0}) }, false, "pear", "apple-new"},
		{"30 s later", func() { now = now.Add(31 * time.Second) }, true, "apple-new", "apple-green"},
		{"user buys", func() {
			b.events = append(b.events, catalog.Event{ClientEventID: "2", UserID: "u", ProductID: "apple-new", Type: catalog.Purchase, OccurredAt: now})
		}, true, "pear", "apple-new"},
	}
	for _, st := range steps {
		b.mu.Lock()
		st.change()
		before := len(b.nearest)
		b.mu.Unlock()
		rec, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", K: 4})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		b.mu.Lock()
		searched := len(b.nearest) > before
		b.mu.Unlock()
		if searched != st.retrieved {
			t.Errorf("%s: retrieved again %v, want %v", st.name, searched, st.retrieved)
		}
		ids := serving.IDs(rec.Hits)
		if !slices.Contains(ids, st.has) || slices.Contains(ids, st.lacks) {
			t.Errorf("%s: recommendations %v, want %s and not %s", st.name, ids, st.has, st.lacks)
		}
	}
}

// Similar products reuse their retrieval for the same product vector,
// and search again once the product's vector changes.
func TestSimilarRetrievalCache(t *testing.T) {
	b := grocery()
	s := newService(t, b)
	steps := []struct {
		name      string
		change    func()
		retrieved bool
		first     string
	}{
		{"first request", func() {}, true, "apple-green"},
		{"same product", func() {}, false, "apple-green"},
		{"vector changed", func() { b.vectors["apple-red"] = []float32{0, 1} }, true, "milk"},
	}
	for _, st := range steps {
		b.mu.Lock()
		st.change()
		before := len(b.nearest)
		b.mu.Unlock()
		res, err := s.Similar(t.Context(), serving.SimilarRequest{ProductID: "apple-red", K: 2})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		b.mu.Lock()
		searched := len(b.nearest) > before
		b.mu.Unlock()
		if searched != st.retrieved || len(res.Hits) == 0 || res.Hits[0].ID != st.first {
			t.Errorf("%s: searched %v, hits %v; want searched %v, %s first", st.name, searched, serving.IDs(res.Hits), st.retrieved, st.first)
		}
	}
}

// Concurrent requests for several users share the cache safely and each
// gets what a request alone gets (run with -race).
func TestRetrievalCacheConcurrent(t *testing.T) {
	b := grocery()
	b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
	users := []string{"u0", "u1", "u2", "u3"}
	for i, u := range users {
		b.userFactors[u] = []float32{1, float32(i) / 4}
		b.userVecs[u] = records.UserVector{UserID: u, Space: 1, Vector: []float32{1, float32(i) / 2}}
	}
	for id, f := range map[string][]float32{"apple-red": {1, 0}, "apple-green": {1, 0.1}, "pear": {0.5, 0.5}, "milk": {0.1, 1}} {
		b.itemFactors[id] = f
	}
	want := map[string][]string{}
	for _, u := range users {
		res, err := newService(t, b).Recommend(t.Context(), serving.RecommendRequest{UserID: u, K: 3})
		if err != nil {
			t.Fatal(err)
		}
		if want[u] = serving.IDs(res.Hits); len(want[u]) == 0 || res.Strategy != serving.StrategyHybrid {
			t.Fatalf("%s: %s %v, want hybrid hits", u, res.Strategy, want[u])
		}
	}
	s := newService(t, b)
	var wg sync.WaitGroup
	errs := make(chan string, 8*20)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				u := users[(g+i)%len(users)]
				res, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: u, K: 3})
				if err != nil || !slices.Equal(serving.IDs(res.Hits), want[u]) {
					errs <- fmt.Sprintf("%s: %v %v, want %v", u, err, serving.IDs(res.Hits), want[u])
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// The retrieval TTL is an operator setting (recommend.cache_ttl): 0
// retrieves afresh on every request, with the lists the cached path
// serves; a TTL of 5 s retrieves again once 5 s have passed.
func TestRetrievalTTL(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		ttl       time.Duration
		step      time.Duration // the clock's advance before each request
		retrieved []bool        // searched again, per request
	}{
		{"off", 0, 0, []bool{true, true, true}},
		{"5 s, same second", 5 * time.Second, 0, []bool{true, false, false}},
		{"5 s, 3 s apart", 5 * time.Second, 3 * time.Second, []bool{true, false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := grocery()
			b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
			b.userFactors["u"] = []float32{1, 0}
			for id, f := range map[string][]float32{"apple-green": {1, 0}, "pear": {0.5, 0}, "milk": {0.1, 0.5}} {
				b.itemFactors[id] = f
			}
			b.userVecs["u"] = records.UserVector{UserID: "u", Space: 1, Vector: []float32{1, 0}}
			want, err := newService(t, b).Recommend(t.Context(), serving.RecommendRequest{UserID: "u", K: 3})
			if err != nil {
				t.Fatal(err)
			}
			now := at
			// No content lists: every retrieval searches, so searches count them.
			s := newService(t, b, serving.WithRetrievalTTL(tc.ttl), serving.WithClock(func() time.Time { return now }), serving.WithContentLists(0, 0))
			for i, retrieved := range tc.retrieved {
				now = now.Add(tc.step)
				b.mu.Lock()
				before := len(b.nearest)
				b.mu.Unlock()
				for _, sim := range []bool{false, true} {
					if sim {
						_, err = s.Similar(t.Context(), serving.SimilarRequest{ProductID: "apple-red", K: 2})
					} else {
						var res serving.RecommendResult
						res, err = s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", K: 3})
						if !slices.Equal(serving.IDs(res.Hits), serving.IDs(want.Hits)) {
							t.Errorf("request %d: %v, want %v", i, serving.IDs(res.Hits), serving.IDs(want.Hits))
						}
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				b.mu.Lock()
				searches := len(b.nearest) - before
				b.mu.Unlock()
				if wantN := map[bool]int{true: 2, false: 0}[retrieved]; searches != wantN {
					t.Errorf("request %d: %d searches (recommendations and similar), want %d", i, searches, wantN)
				}
			}
		})
	}
}
