package store_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/store"
)

// A product whose events picked up lately trends above a bestseller with
// the same recent events but a steady history, a product with one recent
// event is left out, and excluded products are.
func TestTrendingProducts(t *testing.T) {
	s, ctx := open(t)
	if _, err := s.UpsertProducts(ctx, []catalog.Product{product("steady", "Steady"), product("rising", "Rising"), product("once", "Once")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	var evs []catalog.Event
	add := func(p string, n int, ago time.Duration) {
		for k := range n {
			evs = append(evs, catalog.Event{ClientEventID: fmt.Sprintf("%s-%v-%d", p, ago, k), UserID: fmt.Sprintf("u%d", k),
				ProductID: p, Type: catalog.View, OccurredAt: now.Add(-ago - time.Duration(k)*time.Second)})
		}
	}
	add("steady", 5, 2*time.Hour)
	add("rising", 5, 2*time.Hour)
	for d := 2; d < 8; d++ {
		add("steady", 5, time.Duration(d)*24*time.Hour)
	}
	add("once", 1, time.Hour)
	if _, err := s.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	got, err := s.TrendingProducts(ctx, now, 24*time.Hour, 8*24*time.Hour, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ProductID != "rising" || got[1].ProductID != "steady" || got[0].Score <= got[1].Score {
		t.Errorf("trending %+v, want rising above steady, once left out", got)
	}
	if got, err = s.TrendingProducts(ctx, now, 24*time.Hour, 8*24*time.Hour, 10, []string{"rising"}); err != nil || len(got) != 1 || got[0].ProductID != "steady" {
		t.Errorf("excluding rising: %+v, %v", got, err)
	}
	if _, err := s.TrendingProducts(ctx, now, 24*time.Hour, time.Hour, 10, nil); !errors.Is(err, store.ErrTrendingWindow) {
		t.Errorf("baseline shorter than recent: %v", err)
	}
}
