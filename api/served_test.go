package api_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/training"
)

// Training on planted sequences (users view runs of consecutive products
// of fixed chains) with an item-based or sequence method stores its
// neighbour lists, and the API serves that method: a user, trained on or
// arriving after training, is recommended the product that comes next in
// their chain.
func TestServedChoiceRecommendsPlantedNext(t *testing.T) {
	fx := newFixture(t)
	ctx := t.Context()
	rows, err := fx.db.Query(ctx, `SELECT id FROM products WHERE deleted_at IS NULL ORDER BY id LIMIT 40`)
	if err != nil {
		t.Fatal(err)
	}
	var products []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		products = append(products, id)
	}
	if len(products) < 40 {
		t.Fatalf("%d products in the demo catalog", len(products))
	}
	const chains, length, walk = 4, 10, 4
	chain := func(c, k int) string { return products[c*length+k] }
	at := time.Now().UTC().Add(-48 * time.Hour)
	var evs []any
	for u := range 120 {
		c, k := u%chains, (u/chains)%(length-walk+1)
		for s := range walk {
			evs = append(evs, event(fmt.Sprintf("q%d-%d", u, s), fmt.Sprintf("seq%03d", u), chain(c, k+s), "view", at))
			at = at.Add(time.Minute)
		}
	}
	for lo := 0; lo < len(evs); lo += 200 {
		if r := fx.post("/v1/events", fx.write, map[string]any{"events": evs[lo:min(lo+200, len(evs))]}); r.status != 200 {
			t.Fatalf("events: %d %s", r.status, r.body)
		}
	}
	for _, method := range []string{"transitions", "itemknn-recency"} {
		t.Run(method, func(t *testing.T) {
			rep, err := training.Train(ctx, fx.st, training.Options{Method: method, NoTune: true, Factors: 8, Iterations: 5})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Served.String() != method {
				t.Fatalf("served %s, want %s", rep.Served, method)
			}
			var lists int
			if err := fx.db.QueryRow(ctx, `SELECT count(*) FROM item_neighbours WHERE model_version = $1 AND method = $2`, rep.Version, method).Scan(&lists); err != nil || lists < length {
				t.Fatalf("%d neighbour lists stored (%v)", lists, err)
			}
			// seq000 viewed chain 0's first four products: the fifth comes next.
			want := map[string]string{"seq000": chain(0, walk), "seq001": chain(1, walk)}
			// A newcomer after training is served from their events.
			newcomer := fmt.Sprintf("late-%s", method)
			var late []any
			for s := range 3 {
				late = append(late, event(fmt.Sprintf("%s-%d", newcomer, s), newcomer, chain(2, 3+s), "view", time.Now().UTC().Add(time.Duration(s-10)*time.Second)))
			}
			if r := fx.post("/v1/events", fx.write, map[string]any{"events": late}); r.status != 200 {
				t.Fatalf("events: %d %s", r.status, r.body)
			}
			want[newcomer] = chain(2, 6)
			for user, next := range want {
				var rec struct {
					hitsBody
					CFModel int `json:"cf_model"`
				}
				fx.get("/v1/users/"+user+"/recommendations?k=3", fx.read).json(t, &rec)
				if rec.Strategy != "hybrid" || rec.CFModel != rep.Version || len(rec.Results) == 0 {
					t.Fatalf("%s: %+v", user, rec)
				}
				if got := ids(rec.hitsBody); !slices.Contains(got[:min(2, len(got))], next) {
					t.Errorf("%s's recommendations %v: want the planted next product %s first or second", user, got, next)
				}
			}
		})
	}
}
