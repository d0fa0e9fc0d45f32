package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
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
	if _, err := s.Pool().Exec(ctx, `UPDATE queries SET created_at = now() - interval '100 days' WHERE query LIKE 'old %'`); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneQueries(ctx, time.Now().Add(-90*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v; want 2", n, err)
	}
	var left []string
	rows, err := s.Pool().Query(ctx, `SELECT query FROM queries ORDER BY query`)
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
