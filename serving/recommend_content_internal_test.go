package serving

import (
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/recommend"
	"github.com/vitrinehq/vitrine/records"
)

// A stored list is as long as a default-length recommendation's pool.
func TestContentListLen(t *testing.T) {
	if got := recommend.ServingPool(DefaultK); got != contentListLen {
		t.Errorf("contentListLen %d, want the default pool %d", contentListLen, got)
	}
}

// The seeds are the products weighing most in the user's vector: event
// weights summed per product, halved every half-life before the newest
// event; ties to the latest seen; negative weights left out.
func TestContentSeeds(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(id string, typ catalog.EventType, ago time.Duration) catalog.Event {
		return catalog.Event{ProductID: id, Type: typ, OccurredAt: at.Add(-ago)}
	}
	bad := 1.0
	cases := []struct {
		name    string
		history []catalog.Event // newest first
		n       int
		want    []string
	}{
		{"none asked", []catalog.Event{ev("a", catalog.View, 0)}, 0, nil},
		{"no history", nil, 3, nil},
		{"purchase outweighs views", []catalog.Event{ev("a", catalog.View, 0), ev("b", catalog.Purchase, time.Hour), ev("a", catalog.View, 2*time.Hour)}, 2, []string{"b", "a"}},
		{"decayed", []catalog.Event{ev("a", catalog.View, 0), ev("b", catalog.View, 7*24*time.Hour)}, 2, []string{"a", "b"}},
		{"old purchase under a recent cart", []catalog.Event{ev("a", catalog.AddToCart, 0), ev("b", catalog.Purchase, 14*24*time.Hour)}, 1, []string{"a"}},
		{"tie to the latest", []catalog.Event{ev("a", catalog.Click, 0), ev("b", catalog.Click, 0)}, 2, []string{"a", "b"}},
		{"negative left out", []catalog.Event{{ProductID: "a", Type: catalog.Rating, Value: &bad, OccurredAt: at}, ev("b", catalog.View, 0)}, 2, []string{"b"}},
	}
	for _, c := range cases {
		var got []string
		for _, s := range contentSeeds(c.history, 7*24*time.Hour, c.n) {
			got = append(got, s.ProductID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: seeds %v, want %v", c.name, got, c.want)
		}
	}
}

// The union scores each product by the seeds' weighted similarity (a
// seed's own 1, a product missing from a list that list's last score),
// best first, the bought left out, the pool at most.
func TestUnionNearest(t *testing.T) {
	lists := map[string][]records.Scored{
		"a": {{ProductID: "x", Score: 0.9}, {ProductID: "y", Score: 0.5}},
		"b": {{ProductID: "y", Score: 0.8}, {ProductID: "z", Score: 0.6}},
		"n": {}, // no vector: weighs nothing
	}
	cases := []struct {
		name   string
		seeds  []records.Scored
		pool   int
		bought []string
		want   []string
	}{
		{"one seed", []records.Scored{{ProductID: "a", Score: 1}}, 10, nil, []string{"a", "x", "y"}},
		// a: 3·1 + 1·0.6 = 3.6; x: 3·0.9 + 0.6 = 3.3; y: 1.5 + 0.8 = 2.3;
		// b: 3·0.5 + 1 = 2.5; z: 1.5 + 0.6 = 2.1.
		{"weighted", []records.Scored{{ProductID: "a", Score: 3}, {ProductID: "b", Score: 1}, {ProductID: "n", Score: 9}}, 10, nil, []string{"a", "x", "b", "y", "z"}},
		{"bought left out, pool", []records.Scored{{ProductID: "a", Score: 3}, {ProductID: "b", Score: 1}}, 2, []string{"a"}, []string{"x", "b"}},
		{"only seeds without vectors", []records.Scored{{ProductID: "n", Score: 1}}, 10, nil, nil},
	}
	for _, c := range cases {
		nn := unionNearest(c.seeds, lists, c.pool, c.bought)
		got := nearestIDs(nn)
		if len(got) == 0 {
			got = nil
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	nn := unionNearest([]records.Scored{{ProductID: "a", Score: 3}, {ProductID: "b", Score: 1}}, lists, 1, nil)
	if d := nn[0].Distance; d < 0.0999 || d > 0.1001 {
		t.Errorf("distance of the best %v, want 1 − 3.6/4 = 0.1", d)
	}
}
