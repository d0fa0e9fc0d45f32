package recommend_test

import (
	"math"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/recommend"
)

// ndcg is NDCG at k of a ranked list of indices, binary relevance.
func ndcg(k int) recommend.Metric {
	return func(ranked []int, relevant map[int]bool) float64 {
		var dcg, ideal float64
		for n, i := range ranked[:min(k, len(ranked))] {
			if relevant[i] {
				dcg += 1 / log2(n+2)
			}
		}
		for n := range min(k, len(relevant)) {
			ideal += 1 / log2(n+2)
		}
		if ideal == 0 {
			return 0
		}
		return dcg / ideal
	}
}

func log2(x int) float64 { return math.Log2(float64(x)) }

// validUsers turns held-out events into the search's validation users.
func validUsers(d *recommend.Dataset, held []recommend.Interaction) []recommend.ValidUser {
	at := map[int]int{}
	var out []recommend.ValidUser
	for _, e := range held {
		u, ok := d.UserIndex(e.User)
		i, ok2 := d.ItemIndex(e.Item)
		if !ok || !ok2 {
			continue
		}
		k, seen := at[u]
		if !seen {
			k = len(out)
			at[u] = k
			out = append(out, recommend.ValidUser{User: u})
		}
		out[k].Relevant = append(out[k].Relevant, int32(i))
	}
	return out
}

func TestSearchGrid(t *testing.T) {
	tests := []struct {
		method string
		points int
	}{{"popularity", 1}, {"ease", 9}, {"itemknn", 25}, {"als", 61}}
	for _, tc := range tests {
		g, err := recommend.SearchGrid(tc.method, recommend.Params{})
		if err != nil {
			t.Fatal(err)
		}
		def, _ := recommend.Defaults(tc.method)
		if g[0] != def {
			t.Errorf("%s: first point %+v, want the defaults %+v", tc.method, g[0], def)
		}
		seen := map[recommend.Params]bool{}
		for _, p := range g {
			if seen[p] {
				t.Errorf("%s: %+v twice", tc.method, p)
			}
			seen[p] = true
		}
		if len(g) > tc.points || len(g) < tc.points-1 {
			t.Errorf("%s: %d points, want %d (defaults + grid, the defaults once)", tc.method, len(g), tc.points)
		}
	}
}

// The search never does worse than the defaults on validation, reports
// the best setting of every method, and on planted sequences chooses a
// sequence-aware method (alone or blended).
func TestSearchPlanted(t *testing.T) {
	train, last := plantSequences(400, 0.1, 9)
	d, err := recommend.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	var held []recommend.Interaction
	for u, i := range last {
		held = append(held, recommend.Interaction{User: u, Item: i, Value: 1})
	}
	valid := validUsers(d, held)
	methods := []string{"popularity", "itemknn", "transitions"}
	res, err := recommend.Search(t.Context(), d, valid, methods, ndcg(10), recommend.WithBudget(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Best) != len(methods) {
		t.Fatalf("%d best trials, want %d", len(res.Best), len(methods))
	}
	for _, name := range methods {
		best, _ := res.BestOf(name)
		def := res.Trials[0]
		for _, tr := range res.Trials {
			if tr.Method == name {
				def = tr // the first trial of a method is its defaults
				break
			}
		}
		t.Logf("%-12s best %.4f %+v (defaults %.4f)", name, best.Score, best.Params, def.Score)
		if best.Score < def.Score {
			t.Errorf("%s: best %.4f below the defaults' %.4f", name, best.Score, def.Score)
		}
		if res.Choice.Score < best.Score {
			t.Errorf("choice %s scores %.4f, below %s's %.4f", res.Choice, res.Choice.Score, name, best.Score)
		}
	}
	t.Logf("choice %s %.4f", res.Choice, res.Choice.Score)
	var seq bool
	for _, c := range res.Choice.Components {
		seq = seq || c.Method == "transitions"
	}
	if !seq {
		t.Errorf("choice %s: want transitions in it", res.Choice)
	}
	m, err := recommend.NewChoice(res.Choice)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Fit(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got := hitRate(m, last, 10); got < 0.8 {
		t.Errorf("the chosen model's HR@10 %.3f: want ≥ 0.8", got)
	}
}
