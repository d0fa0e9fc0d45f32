package recommend_test

import (
	"math"
	"testing"

	"github.com/vitrinehq/vitrine/recommend"
)

// history is user u's sequence as serving reads it: newest first, each
// event weighing 1.
func history(d *recommend.Dataset, u int) []recommend.HistoryEvent {
	seq, _ := d.UserSequence(u)
	out := make([]recommend.HistoryEvent, 0, len(seq))
	for n := len(seq) - 1; n >= 0; n-- {
		out = append(out, recommend.HistoryEvent{Item: d.ItemID(int(seq[n])), Value: 1})
	}
	return out
}

// Scoring a user from the stored neighbour lists and their history, as
// serving does, gives the fitted model's ranking: the same scores for the
// graph methods (up to recency weights under 1/1000 and the popularity
// tie-break), the same for EASE (its signed weights stored, every row
// whole at this size), and the same planted next items.
func TestServedNeighboursScoreAsTheModel(t *testing.T) {
	train, last := plantSequences(300, 0.1, 7)
	d, err := recommend.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		p       recommend.Params
		overlap float64 // least mean share of the model's top 10 served
	}{
		{"itemknn", recommend.Params{}, 1},
		{"itemknn-recency", recommend.Params{Recency: 2}, 1},
		{"rp3beta", recommend.Params{}, 1},
		{"transitions", recommend.Params{Recency: 1, Window: 2}, 0.95},
		{"ease", recommend.Params{Reg: 50}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := fitMethod(t, d, tc.name, tc.p)
			lists := map[string]recommend.NeighbourList{}
			w, ok, err := recommend.ServedNeighbours(m, 1000, func(item string, l recommend.NeighbourList) error {
				lists[item] = l
				return nil
			})
			if err != nil || !ok {
				t.Fatalf("ServedNeighbours: ok %v, %v", ok, err)
			}
			if len(lists) == 0 {
				t.Fatal("no neighbour lists")
			}
			var shared, hitModel, hitServed float64
			for u := range d.NumUsers() {
				user := d.UserID(u)
				want := m.Recommend(user, 10, nil)
				got, _ := recommend.TopScores(recommend.NeighbourScores(history(d, u), w, lists), 10)
				in := map[string]bool{}
				for _, id := range got {
					in[id] = true
				}
				for _, r := range want {
					if in[r.ProductID] {
						shared++
					}
				}
				if len(want) > 0 && want[0].ProductID == last[user] {
					hitModel++
				}
				if len(got) > 0 && got[0] == last[user] {
					hitServed++
				}
			}
			share := shared / float64(10*d.NumUsers())
			t.Logf("%s: %.3f of the model's top 10 served; HR@1 model %.3f, served %.3f", tc.name, share,
				hitModel/float64(d.NumUsers()), hitServed/float64(d.NumUsers()))
			if share < tc.overlap {
				t.Errorf("served top 10 shares %.3f with the model's: want ≥ %.2f", share, tc.overlap)
			}
			if hitServed < hitModel-0.05*float64(d.NumUsers()) {
				t.Errorf("served HR@1 %.0f users, model %.0f", hitServed, hitModel)
			}
		})
	}
}

// A method without item lists (factors, session kNN) is not served from
// neighbours.
func TestServedNeighboursOthers(t *testing.T) {
	for _, name := range []string{"als", "sknn", "popularity"} {
		m, err := recommend.New(name, recommend.Params{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := recommend.ServedNeighbours(m, 10, nil); ok {
			t.Errorf("%s served from neighbour lists", name)
		}
		if recommend.IsNeighbourMethod(name) {
			t.Errorf("IsNeighbourMethod(%s)", name)
		}
	}
}

// HistoryWeights: values sum per item, presence counts positive items
// once, recency halves per later positive event.
func TestHistoryWeights(t *testing.T) {
	h := []recommend.HistoryEvent{{Item: "b", Value: 1}, {Item: "a", Value: 2}, {Item: "b", Value: 1}, {Item: "c", Value: -1}}
	tests := []struct {
		w     recommend.Weighting
		items []string
		want  []float64
	}{
		{recommend.Weighting{Mode: recommend.WeighValues}, []string{"b", "a"}, []float64{2, 2}},
		{recommend.Weighting{Mode: recommend.WeighPresence}, []string{"b", "a"}, []float64{1, 1}},
		{recommend.Weighting{Mode: recommend.WeighRecency, HalfLife: 1}, []string{"b", "a"}, []float64{1.25, 0.5}},
	}
	for _, tc := range tests {
		items, ws := recommend.HistoryWeights(h, tc.w)
		if len(items) != len(tc.items) {
			t.Fatalf("%s: items %v, want %v", tc.w.Mode, items, tc.items)
		}
		for n := range items {
			if items[n] != tc.items[n] || math.Abs(ws[n]-tc.want[n]) > 1e-12 {
				t.Errorf("%s: %v %v, want %v %v", tc.w.Mode, items, ws, tc.items, tc.want)
			}
		}
	}
}
