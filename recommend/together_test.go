package recommend_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/recommend"
)

// Planted baskets: each order holds one of five fixed pairs plus a
// bestseller that goes into most orders; a user's orders are a day apart.
// Every paired item's top "together" item is its partner (the bestseller,
// in more baskets with it, is discounted by lift), and a pair seen in
// fewer baskets than the minimum support is not listed.
func TestTogetherFindsPlantedPairs(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []recommend.Interaction
	add := func(u int, item string, at time.Time) {
		evs = append(evs, recommend.Interaction{User: fmt.Sprintf("u%03d", u), Item: item, Value: 1, Time: at})
	}
	for u := range 100 {
		for o := range 3 {
			at := t0.Add(time.Duration(u*10+o) * 24 * time.Hour)
			p := (u + o) % 5
			add(u, fmt.Sprintf("a%d", p), at)
			add(u, fmt.Sprintf("b%d", p), at.Add(time.Minute))
			if (u+o)%4 != 0 {
				add(u, "best", at.Add(2*time.Minute))
			}
		}
	}
	add(500, "rare1", t0)
	add(500, "rare2", t0.Add(time.Minute))
	d, err := recommend.NewDataset(evs)
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string]recommend.NeighbourList{}
	err = recommend.Together(t.Context(), d, 5, 2, 2, func(item string, l recommend.NeighbourList) error {
		lists[item] = l
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range 5 {
		a, b := fmt.Sprintf("a%d", p), fmt.Sprintf("b%d", p)
		if l := lists[a]; len(l.Items) == 0 || l.Items[0] != b || l.Scores[0] <= 1 {
			t.Errorf("%s together: %+v, want %s first with lift > 1", a, l, b)
		}
	}
	if _, ok := lists["rare1"]; ok {
		t.Errorf("a pair in one basket is listed: %+v", lists["rare1"])
	}
	if err := recommend.Together(t.Context(), d, 0, 2, 1, nil); err == nil {
		t.Error("n 0 accepted")
	}
}
