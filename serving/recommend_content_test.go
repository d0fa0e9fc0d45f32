package serving_test

import (
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// A retrieval's content leg searches the index for the user's vector only
// while a seed product of the user lacks a stored content-neighbour list
// (and then computes the missing lists in the background); once every
// seed has a fresh list it unions them instead, serving what the search
// served on this catalog, until the lists are older than their TTL. With
// no seeds configured it always searches. Both strategies (content, and
// hybrid with a trained model) retrieve so.
func TestContentLegFromLists(t *testing.T) {
	for _, hybrid := range []bool{false, true} {
		t.Run(map[bool]string{false: "content", true: "hybrid"}[hybrid], func(t *testing.T) { contentLegFromLists(t, hybrid) })
	}
}

func contentLegFromLists(t *testing.T, hybrid bool) {
	b := grocery()
	if hybrid {
		b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
		b.userFactors["u"] = []float32{1, 0}
		for id, f := range map[string][]float32{"apple-green": {1, 0}, "pear": {0.5, 0}, "milk": {0.1, 0.5}} {
			b.itemFactors[id] = f
		}
	}
	b.add("yoghurt", "Yoghurt", "Dairy Co", "Dairy > Yoghurt", []float32{0.2, 0.8})
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.events = []catalog.Event{
		{ClientEventID: "1", UserID: "u", ProductID: "apple-red", Type: catalog.Purchase, OccurredAt: at},
		{ClientEventID: "2", UserID: "u", ProductID: "pear", Type: catalog.View, OccurredAt: at.Add(time.Minute)},
	}
	b.userVecs["u"] = records.UserVector{UserID: "u", Space: 1, Vector: []float32{0.95, 0.05}}
	now := at.Add(time.Hour)
	clock := serving.WithClock(func() time.Time { return now })
	lists := newService(t, b, clock, serving.WithRetrievalTTL(0), serving.WithContentLists(2, time.Hour))
	search := newService(t, b, clock, serving.WithRetrievalTTL(0), serving.WithContentLists(0, 0))
	steps := []struct {
		name     string
		change   func()
		s        *serving.Service
		searched bool // the user's vector searched
		stored   int  // lists stored after the request
	}{
		{"first request", func() {}, lists, true, 2},
		{"every seed has a list", func() {}, lists, false, 2},
		{"lists older than their TTL", func() { now = now.Add(61 * time.Minute) }, lists, true, 2},
		{"fresh again", func() {}, lists, false, 2},
		{"no seeds configured", func() {}, search, true, 2},
	}
	for _, st := range steps {
		st.change()
		b.mu.Lock()
		before := len(b.nearest)
		b.mu.Unlock()
		got, err := st.s.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", K: 3})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if want := map[bool]string{false: serving.StrategyContent, true: serving.StrategyHybrid}[hybrid]; got.Strategy != want {
			t.Fatalf("%s: strategy %s, want %s", st.name, got.Strategy, want)
		}
		st.s.WaitRefreshes()
		b.mu.Lock()
		var searched bool
		for _, q := range b.nearest[before:] {
			searched = searched || slices.Equal(q.Vector, b.userVecs["u"].Vector)
		}
		n := len(b.lists)
		b.mu.Unlock()
		if searched != st.searched || n != st.stored {
			t.Errorf("%s: searched %v with %d lists stored, want %v with %d", st.name, searched, n, st.searched, st.stored)
		}
		want, err := search.Recommend(t.Context(), serving.RecommendRequest{UserID: "u", K: 3})
		if err != nil {
			t.Fatal(err)
		}
		if ids := serving.IDs(got.Hits); !slices.Equal(ids, serving.IDs(want.Hits)) || slices.Contains(ids, "apple-red") {
			t.Errorf("%s: %v, want %v (the search's), without the bought apple", st.name, ids, serving.IDs(want.Hits))
		}
	}
}

// Similar products read the product's stored content-neighbour list (its
// first k) instead of searching, store the list when they search, and
// search again once the product's vector is written anew or the list is
// older than its TTL; with the lists off they always search. What they
// serve is what a search serves.
func TestSimilarFromContentList(t *testing.T) {
	b := grocery()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := at
	clock := serving.WithClock(func() time.Time { return now })
	lists := newService(t, b, clock, serving.WithRetrievalTTL(0), serving.WithContentLists(5, time.Hour))
	search := newService(t, b, clock, serving.WithRetrievalTTL(0), serving.WithContentLists(0, 0))
	steps := []struct {
		name     string
		change   func()
		s        *serving.Service
		searched bool
	}{
		{"first request", func() {}, lists, true},
		{"list stored", func() {}, lists, false},
		{"vector written anew", func() { b.vectors["apple-red"] = []float32{0.1, 1} }, lists, true},
		{"list of the new vector", func() {}, lists, false},
		{"list older than its TTL", func() { now = now.Add(61 * time.Minute) }, lists, true},
		{"lists off", func() {}, search, true},
	}
	for _, st := range steps {
		b.mu.Lock()
		st.change()
		before := len(b.nearest)
		b.mu.Unlock()
		got, err := st.s.Similar(t.Context(), serving.SimilarRequest{ProductID: "apple-red", K: 2})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		st.s.WaitRefreshes()
		b.mu.Lock()
		searched := len(b.nearest) > before
		b.mu.Unlock()
		want, err := search.Similar(t.Context(), serving.SimilarRequest{ProductID: "apple-red", K: 2})
		if err != nil {
			t.Fatal(err)
		}
		if searched != st.searched || !slices.Equal(serving.IDs(got.Hits), serving.IDs(want.Hits)) || len(got.Hits) != 2 {
			t.Errorf("%s: searched %v, %v; want searched %v, %v", st.name, searched, serving.IDs(got.Hits), st.searched, serving.IDs(want.Hits))
		}
	}
}
