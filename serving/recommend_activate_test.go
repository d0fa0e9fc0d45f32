package serving_test

import (
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
)

// When a request reads a newly activated model, the service refreshes
// in the background the stored retrievals of the users who asked
// recently, so their next request finds one made with the new model
// instead of retrieving afresh (recommend.refresh_on_activate; 0: none,
// and the user retrieves afresh). The lists served are an afresh
// retrieval's.
func TestRefreshOnActivate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		users     int
		retrieved bool // the other user's request after the activation searched
	}{
		{"refreshed", 10, false},
		{"off", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := grocery()
			b.cf = &records.CFModel{Version: 3, Method: "bpr", Dim: 2}
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i, u := range []string{"u1", "u2"} {
				b.userFactors[u] = []float32{1, float32(i)}
				b.userVecs[u] = records.UserVector{UserID: u, Space: 1, Vector: []float32{1, float32(i) / 2}}
				b.events = append(b.events, catalog.Event{ClientEventID: u, UserID: u, ProductID: "milk", Type: catalog.View, OccurredAt: at})
			}
			for id, f := range map[string][]float32{"apple-green": {1, 0}, "pear": {0.5, 0.5}, "milk": {0.1, 1}} {
				b.itemFactors[id] = f
			}
			now := at
			clock := serving.WithClock(func() time.Time { return now })
			search := serving.WithContentLists(0, 0) // a retrieval searches, so searches tell one
			s := newService(t, b, clock, search, serving.WithRefreshOnActivate(tc.users))
			afresh := newService(t, b, clock, search, serving.WithRetrievalTTL(0))
			ask := func(s *serving.Service, u string) ([]string, bool) {
				t.Helper()
				b.mu.Lock()
				before := len(b.nearest)
				b.mu.Unlock()
				res, err := s.Recommend(t.Context(), serving.RecommendRequest{UserID: u, K: 3})
				if err != nil {
					t.Fatal(err)
				}
				if res.Strategy != serving.StrategyHybrid {
					t.Fatalf("%s: strategy %s, want hybrid", u, res.Strategy)
				}
				s.WaitRefreshes()
				b.mu.Lock()
				defer b.mu.Unlock()
				return serving.IDs(res.Hits), len(b.nearest) > before
			}
			ask(s, "u1")
			ask(s, "u2")
			now = now.Add(time.Second)
			b.mu.Lock()
			b.cf = &records.CFModel{Version: 4, Method: "bpr", Dim: 2}
			b.mu.Unlock()
			if _, searched := ask(s, "u1"); !searched {
				t.Errorf("u1 after the activation: not searched, want a retrieval afresh")
			}
			got, searched := ask(s, "u2")
			if searched != tc.retrieved {
				t.Errorf("u2 after the activation: searched %v, want %v", searched, tc.retrieved)
			}
			if want, _ := ask(afresh, "u2"); !slices.Equal(got, want) {
				t.Errorf("u2 after the activation: %v, want %v (afresh)", got, want)
			}
		})
	}
}
