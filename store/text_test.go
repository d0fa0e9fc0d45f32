package store_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/store"
)

// Suggestions complete titles, brands and categories, and drop each kind
// once no live product carries it.
func TestSuggestLiveTermsOnly(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{
		{ID: "a", Title: "Zephyr kettle", Brand: "Zorba", Category: []string{"Zymurgy"}},
		{ID: "b", Title: "Plain mug", Brand: "Acme", Category: []string{"Kitchen"}},
	}); err != nil {
		t.Fatal(err)
	}
	texts := func(prefix string) []string {
		t.Helper()
		sug, err := s.Suggest(ctx, prefix, 8, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range sug {
			out = append(out, x.Kind+":"+x.Text)
		}
		return out
	}
	tests := []struct{ prefix, want string }{
		{"zep", "title:Zephyr kettle"},
		{"zor", "brand:Zorba"},
		{"zym", "category:Zymurgy"},
	}
	for _, tc := range tests {
		if got := texts(tc.prefix); !slices.Contains(got, tc.want) {
			t.Errorf("suggest %q = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	if err := s.DeleteProduct(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		if got := texts(tc.prefix); slices.Contains(got, tc.want) {
			t.Errorf("after deleting the only product, suggest %q = %q still has %q", tc.prefix, got, tc.want)
		}
	}
}

// The query log is pruned by age; recent queries stay.
func TestPruneQueries(t *testing.T) {
	s, ctx := open(t)
	for _, q := range []string{"old apples", "old pears", "new milk"} {
		if err := s.LogQuery(ctx, "u1", q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.RawPool(s).Exec(ctx, `UPDATE queries SET created_at = now() - interval '100 days' WHERE query LIKE 'old %'`); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneQueries(ctx, time.Now().Add(-90*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2", n, err)
	}
	var left []string
	rows, err := store.RawPool(s).Query(ctx, `SELECT query FROM queries ORDER BY query`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		left = append(left, q)
	}
	if rows.Err() != nil || !slices.Equal(left, []string{"new milk"}) {
		t.Errorf("left %q (%v), want [new milk]", left, rows.Err())
	}
}

// Popularity sums weighted interactions, each halved every 30 days, and
// forgets the interactions of an erased user.
func TestPopularProductsDecayAndErasure(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{{ID: "a", Title: "A"}, {ID: "b", Title: "B"}, {ID: "c", Title: "C"}, {ID: "d", Title: "D"}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	ago := now.Add(-2 * store.PopularityHalfLife) // weighs a quarter
	ev := func(id, user, product string, typ catalog.EventType, at time.Time) catalog.Event {
		return catalog.Event{ClientEventID: id, UserID: user, ProductID: product, Type: typ, OccurredAt: at}
	}
	res, err := s.InsertEvents(ctx, []catalog.Event{
		ev("1", "buyer", "a", catalog.Purchase, now),                 // a: 5
		ev("2", "u2", "b", catalog.Click, now),                       // b: 1 + 1 + 0.5/4
		ev("3", "u3", "b", catalog.Click, now),                       //
		ev("4", "u2", "b", catalog.View, ago),                        //
		ev("5", "u3", "c", catalog.Purchase, ago),                    // c: 2 × 5/4
		ev("6", "u3", "c", catalog.Purchase, ago),                    //
		ev("7", "u3", "d", catalog.Click, now.Add(-24*90*time.Hour)), // d: 2^-3
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != records.EventInserted {
			t.Fatalf("event %d: %v", i, r.Status)
		}
	}
	want := []records.Scored{{ProductID: "a", Score: 5}, {ProductID: "c", Score: 2.5}, {ProductID: "b", Score: 2.125}, {ProductID: "d", Score: 0.125}}
	check := func(want []records.Scored) {
		t.Helper()
		got, err := s.PopularProducts(ctx, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("popular %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i].ProductID != want[i].ProductID || math.Abs(got[i].Score-want[i].Score) > 1e-6 {
				t.Errorf("popular[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	}
	check(want)
	// A retried event changes nothing; erasing the buyer takes a away.
	if _, err := s.InsertEvents(ctx, []catalog.Event{ev("1", "buyer", "a", catalog.Purchase, now)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "buyer"); err != nil {
		t.Fatal(err)
	}
	check(want[1:])
	// Deleted products are not popular.
	if err := s.DeleteProduct(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	check([]records.Scored{want[2], want[3]})
}
