package apiload

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/internal/ctxtime"
	"github.com/vitrinehq/vitrine/records"
)

// Search is what the search-side pairs query with: the queries, each
// one's text-model vector and its fused (space) vector, the model's key
// and the space's version.
type Search struct {
	Queries      []string
	Text, Fused  [][]float32
	Model        string
	SpaceVersion int
}

// QueryEncoder is the text model: its key names the embeddings searched.
type QueryEncoder interface {
	Key() string
	Encode(ctx context.Context, input []byte) ([]float32, error)
}

// NewSearch encodes Queries with the text model and fuses each vector
// into spec's space (version spaceVersion), as the API does for a query.
func NewSearch(ctx context.Context, text QueryEncoder, spec fusion.Spec, spaceVersion int) (Search, error) {
	s := Search{Queries: Queries(), Model: text.Key(), SpaceVersion: spaceVersion}
	for _, q := range s.Queries {
		v, err := text.Encode(ctx, []byte(q))
		if err != nil {
			return s, fmt.Errorf("query %q: %w", q, err)
		}
		f, err := spec.Query(map[string][]float32{text.Key(): v})
		if err != nil {
			return s, fmt.Errorf("query %q: %w", q, err)
		}
		s.Text, s.Fused = append(s.Text, v), append(s.Fused, f)
	}
	return s, nil
}

// SearchPairs are rank, search and suggest through the API, each followed
// by its bare database baseline: the nearest-neighbour query with a
// precomputed vector for rank; full-text plus vector candidate queries for
// search; the suggestion query for suggest.
func SearchPairs(c Client, db Bare, s Search) []Scenario {
	q := func(i int) string { return s.Queries[i%len(s.Queries)] }
	prefixes := Prefixes(s.Queries)
	return []Scenario{
		{Name: "rank (API)", Run: func(ctx context.Context, i int) error {
			body, _ := json.Marshal(map[string]any{"query": q(i), "k": 10})
			return c.Do(ctx, http.MethodPost, "/v1/rank", body)
		}},
		{Name: "rank (bare DB)", Run: func(ctx context.Context, i int) error {
			_, err := db.Nearest(ctx, records.NearestQuery{Space: s.SpaceVersion, Vector: s.Fused[i%len(s.Fused)], K: 10})
			return err
		}},
		{Name: "search (API)", Run: func(ctx context.Context, i int) error {
			return c.Do(ctx, http.MethodGet, "/v1/search?k=10&q="+url.QueryEscape(q(i)), nil)
		}},
		{Name: "search (bare DB)", Run: func(ctx context.Context, i int) error {
			if _, err := db.LexicalSearch(ctx, q(i), catalog.Filter{}, 100); err != nil {
				return err
			}
			_, err := db.Nearest(ctx, records.NearestQuery{Model: s.Model, Vector: s.Text[i%len(s.Text)], K: 100})
			return err
		}},
		{Name: "suggest (API)", Run: func(ctx context.Context, i int) error {
			return c.Do(ctx, http.MethodGet, "/v1/suggest?q="+url.QueryEscape(prefixes[i%len(prefixes)]), nil)
		}},
		{Name: "suggest (bare DB)", Run: func(ctx context.Context, i int) error {
			_, err := db.Suggest(ctx, prefixes[i%len(prefixes)], 8, nil)
			return err
		}},
	}
}

// RecommendPair is the hybrid recommendations endpoint beside its two
// retrieval queries (the user's top items by CF factors and the nearest
// products to the user's vector), then similar products of what the
// shoppers bought (a catalog of products items) beside the queries behind
// them (the product's vector and factors, its nearest products by each),
// each shopper's first purchase in turn.
func RecommendPair(c Client, db Bare, shoppers []string, products int, cf records.CFModel, spaceVersion int) []Scenario {
	seeds := make([]string, 0, len(shoppers))
	for u := range shoppers {
		seeds = append(seeds, ShopperProduct(products, u, 0))
	}
	return []Scenario{
		{Name: "recommend (API)", Run: func(ctx context.Context, i int) error {
			return c.Do(ctx, http.MethodGet, "/v1/users/"+shoppers[i%len(shoppers)]+"/recommendations?k=10", nil)
		}},
		{Name: "recommend (bare DB)", Run: func(ctx context.Context, i int) error {
			return bareRecommend(ctx, db, shoppers[i%len(shoppers)], cf, spaceVersion)
		}},
		{Name: "similar (API)", Run: func(ctx context.Context, i int) error {
			return c.Do(ctx, http.MethodGet, "/v1/products/"+seeds[i%len(seeds)]+"/similar?k=10", nil)
		}},
		{Name: "similar (bare DB)", Run: func(ctx context.Context, i int) error {
			return bareSimilar(ctx, db, seeds[i%len(seeds)], cf, spaceVersion)
		}},
		{Name: AfterEvent + " (API)", Setup: askedBefore(c, shoppers), Before: afterEvent(c, shoppers, products), Run: func(ctx context.Context, i int) error {
			return c.Do(ctx, http.MethodGet, "/v1/users/"+shoppers[i%len(shoppers)]+"/recommendations?k=10", nil)
		}},
		{Name: AfterEvent + " (bare DB)", Before: think, Run: func(ctx context.Context, i int) error {
			return bareRecommend(ctx, db, shoppers[i%len(shoppers)], cf, spaceVersion)
		}},
	}
}

// AfterEvent names the scenario of a shopper's first request after an
// event: every shopper has asked for recommendations once (unmeasured);
// then each views a product of their block (POST /v1/events), waits
// ThinkTime, and asks again; only that request is timed. Its baseline
// runs the bare retrieval queries at the same pace.
const AfterEvent = "recommend-after-event"

// ThinkTime is how long a shopper of the AfterEvent scenario waits
// between their event and their request.
const ThinkTime = 300 * time.Millisecond

// afterEvent is the AfterEvent scenario's unmeasured part: call i's
// shopper views a product of their block (an event id unique to the run,
// so a reused database records it), then thinks.
func afterEvent(c Client, shoppers []string, products int) func(ctx context.Context, i int) error {
	run := time.Now().UnixNano()
	return func(ctx context.Context, i int) error {
		u := i % len(shoppers)
		ev := map[string]any{"client_event_id": fmt.Sprintf("after-%d-%d", run, i), "user_id": shoppers[u],
			"product_id": ShopperProduct(products, u, 8+i/len(shoppers)), "type": "view", "timestamp": time.Now().UTC().Format(time.RFC3339)}
		body, _ := json.Marshal(map[string]any{"events": []any{ev}})
		if err := c.Do(ctx, http.MethodPost, "/v1/events", body); err != nil {
			return err
		}
		return think(ctx, i)
	}
}

// askedBefore has every shopper ask for recommendations once, 8 at a
// time: shoppers who come back after an event have usually seen some
// before (and a server refreshes the retrievals of those who have).
func askedBefore(c Client, shoppers []string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		g, ctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for _, u := range shoppers {
			g.Go(func() error {
				return c.Do(ctx, http.MethodGet, "/v1/users/"+u+"/recommendations?k=10", nil)
			})
		}
		return g.Wait()
	}
}

// think waits ThinkTime (or until ctx ends).
func think(ctx context.Context, _ int) error { return ctxtime.Sleep(ctx, ThinkTime) }

// bareRecommend runs the two retrieval queries behind recommendations:
// the user's top items by factors and the nearest products to the user's
// vector.
func bareRecommend(ctx context.Context, db Bare, u string, cf records.CFModel, spaceVersion int) error {
	uf, err := db.UserFactors(ctx, cf.Version, u)
	if err != nil {
		return err
	}
	if _, err := db.TopItemsByFactors(ctx, cf, uf, 30, nil); err != nil {
		return err
	}
	uv, err := db.GetUserVector(ctx, u, spaceVersion)
	if err != nil {
		return err
	}
	_, err = db.Nearest(ctx, records.NearestQuery{Space: spaceVersion, Vector: uv.Vector, K: 30})
	return err
}

// bareSimilar runs the retrieval queries behind similar products: the
// product's vector and factors, its 10 nearest products by each.
func bareSimilar(ctx context.Context, db Bare, id string, cf records.CFModel, spaceVersion int) error {
	vs, err := db.ProductVectors(ctx, spaceVersion, []string{id})
	if err != nil {
		return err
	}
	fs, err := db.ItemFactors(ctx, cf.Version, []string{id})
	if err != nil {
		return err
	}
	if _, err := db.Nearest(ctx, records.NearestQuery{Space: spaceVersion, Vector: vs[id], K: 10, Filter: catalog.Filter{Exclude: []string{id}}}); err != nil {
		return err
	}
	_, err = db.TopItemsByFactors(ctx, cf, fs[id], 10, []string{id})
	return err
}
