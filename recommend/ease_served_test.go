package recommend_test

import (
	"math"
	"testing"

	"github.com/vitrinehq/vitrine/recommend"
)

// What is served for EASE is what was evaluated: on a small planted set
// (every row stored whole) the ranking from the stored signed lists is the
// fitted model's, item by item and score by score.
func TestEASEServedRankingIsEvaluated(t *testing.T) {
	train, _ := plantSequences(200, 0.1, 3)
	d, err := recommend.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	m := fitMethod(t, d, "ease", recommend.Params{Reg: 20})
	lists := map[string]recommend.NeighbourList{}
	negative := 0
	w, _, err := recommend.ServedNeighbours(m, d.NumItems(), func(item string, l recommend.NeighbourList) error {
		lists[item] = l
		for _, s := range l.Scores {
			if s < 0 {
				negative++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if negative == 0 {
		t.Fatal("no negative weight stored: the served lists are not EASE's signed rows")
	}
	for u := range d.NumUsers() {
		want := m.Recommend(d.UserID(u), 10, nil)
		ids, scores := recommend.TopScores(recommend.NeighbourScores(history(d, u), w, lists), 10)
		if len(ids) != len(want) {
			t.Fatalf("user %d: %d served, %d evaluated", u, len(ids), len(want))
		}
		for n, r := range want {
			if ids[n] != r.ProductID || math.Abs(scores[n]-r.Score) > 1e-6 {
				t.Fatalf("user %d rank %d: served %s %.6f, evaluated %s %.6f", u, n, ids[n], scores[n], r.ProductID, r.Score)
			}
		}
	}
}
