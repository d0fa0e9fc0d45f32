package serving_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// readCounter counts the reads of the backend it wraps, by port method.
type readCounter struct {
	*memBackend
	mu    sync.Mutex
	reads map[string]int
}

func (c *readCounter) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads[name]++
}

func (c *readCounter) GetProducts(ctx context.Context, ids []string) (map[string]catalog.Product, error) {
	c.count("GetProducts")
	return c.memBackend.GetProducts(ctx, ids)
}

func (c *readCounter) ProductVectors(ctx context.Context, space int, ids []string) (map[string][]float32, error) {
	c.count("ProductVectors")
	return c.memBackend.ProductVectors(ctx, space, ids)
}

func (c *readCounter) RecUser(ctx context.Context, uid string, space, limit int) (records.RecUser, error) {
	c.count("RecUser")
	return c.memBackend.RecUser(ctx, uid, space, limit)
}

func (c *readCounter) CandidateFeatures(ctx context.Context, space, version int, ids []string) (map[string]records.CandidateFeatures, error) {
	c.count("CandidateFeatures")
	return c.memBackend.CandidateFeatures(ctx, space, version, ids)
}

func (c *readCounter) ActiveCFModel(ctx context.Context) (records.CFModel, error) {
	c.count("ActiveCFModel")
	return c.memBackend.ActiveCFModel(ctx)
}

func (c *readCounter) PopularProducts(ctx context.Context, now time.Time, k int) ([]records.Scored, error) {
	c.count("PopularProducts")
	return c.memBackend.PopularProducts(ctx, now, k)
}

// A hybrid recommendation reads the user's state (purchases, history,
// vector, factors) once, in one round trip, shared by retrieval,
// re-ranking, the answer and the explanations (the history used to be
// read two or three times per request); the candidates' vectors, factors,
// brands and categories in one light read with their retrieval, reused by
// later requests from the same inputs, and the full products it keeps
// once per request (never the whole pool's); the popular
// products once a second; and the model row only when its version
// changes.
func TestRecommendReadsEachSourceOnce(t *testing.T) {
	b := grocery()
	b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
	b.userFactors["u"] = []float32{1, 0}
	for id, f := range map[string][]float32{"apple-green": {1, 0}, "pear": {0.5, 0}, "milk": {0.1, 0.5}} {
		b.itemFactors[id] = f
	}
	b.popular = []records.Scored{{ProductID: "milk", Score: 5}, {ProductID: "cheese", Score: 3}}
	b.userVecs["u"] = records.UserVector{UserID: "u", Space: 1, Vector: []float32{1, 0}}
	b.events = []catalog.Event{{ClientEventID: "1", UserID: "u", ProductID: "apple-red", Type: catalog.Purchase, OccurredAt: time.Now()}}
	c := &readCounter{memBackend: b, reads: map[string]int{}}
	at := time.Now()
	s, err := serving.New(serving.DepsFrom(c, words, nil), serving.WithClock(func() time.Time { return at }), serving.WithContentLists(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	const requests = 3
	for range requests {
		res, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", K: 3, Rerank: serving.Rerank{MMRLambda: ptr(0.5)}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Strategy != serving.StrategyHybrid || len(res.Hits) == 0 || len(res.Hits[0].Because) == 0 {
			t.Fatalf("%s %+v: want hybrid hits explained by the bought apple", res.Strategy, res.Hits)
		}
	}
	for name, want := range map[string]int{"GetProducts": requests, "CandidateFeatures": 1, "ProductVectors": 0, "RecUser": requests, "PopularProducts": 1, "ActiveCFModel": 1} {
		if got := c.reads[name]; got != want {
			t.Errorf("%s read %d times in %d requests, want %d", name, got, requests, want)
		}
	}
	// A second later the popular products are read again; the retrieval,
	// from the same inputs, is still reused.
	at = at.Add(time.Second)
	if _, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", K: 3}); err != nil {
		t.Fatal(err)
	}
	if got, feats := c.reads["PopularProducts"], c.reads["CandidateFeatures"]; got != 2 || feats != 1 {
		t.Errorf("a second later: popular products read %d times, candidate features %d, want 2 and 1", got, feats)
	}
}
