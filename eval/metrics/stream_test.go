package metrics

import (
	"fmt"
	"math"
	"testing"
)

func TestAUCCounter(t *testing.T) {
	tests := []struct {
		name     string
		pos, neg []float64
		want     float64
		ok       bool
	}{
		// 0.9 beats all three negatives (3); 0.5 loses to 0.7, ties 0.5
		// (½) and beats 0.1 (1): 4.5 of 6 pairs.
		{"hand-computed with a tie", []float64{0.9, 0.5}, []float64{0.7, 0.5, 0.1}, 0.75, true},
		{"perfect", []float64{3, 2}, []float64{1, 0}, 1, true},
		{"reversed", []float64{0}, []float64{1, 2}, 0, true},
		{"all tied", []float64{1}, []float64{1, 1}, 0.5, true},
		{"one positive", []float64{0.5}, []float64{0.7, 0.5, 0.1, 0.2}, 0.625, true},
		{"NaN left out", []float64{1, math.NaN()}, []float64{0, math.NaN()}, 1, true},
		{"no negative", []float64{1}, nil, 0, false},
		{"no positive", nil, []float64{1}, 0, false},
	}
	var a AUCCounter // reused across cases, as a worker does
	for _, tc := range tests {
		a.Reset(tc.pos)
		for _, s := range tc.neg {
			a.Negative(s)
		}
		got, ok := a.AUC()
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: AUC = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
		// The same figure as the all-in-memory Mann-Whitney AUC.
		var scored []Scored
		rel := Relevance{}
		for i, s := range tc.pos {
			id := fmt.Sprint("p", i)
			scored, rel[id] = append(scored, Scored{ID: id, Score: s}), 1
		}
		for i, s := range tc.neg {
			scored = append(scored, Scored{ID: fmt.Sprint("n", i), Score: s})
		}
		if want, wok := AUC(scored, rel); wok != ok || math.Abs(want-got) > 1e-12 {
			t.Errorf("%s: streaming %v, %v; AUC %v, %v", tc.name, got, ok, want, wok)
		}
	}
}

func TestIndexNDCGMatchesNDCG(t *testing.T) {
	tests := []struct {
		name     string
		ranked   []int
		relevant []int
		k        int
	}{
		{"first", []int{3, 1, 2}, []int{3}, 10},
		{"second of two", []int{1, 3, 2}, []int{3, 7}, 10},
		{"beyond k", []int{1, 2, 3}, []int{3}, 2},
		{"not ranked", []int{1, 2}, []int{-1}, 10},
		{"repeat counts once", []int{3, 3}, []int{3, 4}, 10},
	}
	for _, tc := range tests {
		ids := make([]string, len(tc.ranked))
		for j, i := range tc.ranked {
			ids[j] = fmt.Sprint(i)
		}
		set, rel := map[int]bool{}, Relevance{}
		for _, i := range tc.relevant {
			set[i], rel[fmt.Sprint(i)] = true, 1
		}
		if got, want := IndexNDCG(tc.ranked, set, tc.k), NDCG(ids, rel, tc.k); math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: IndexNDCG %v, NDCG %v", tc.name, got, want)
		}
	}
}

func TestListStatsMatchesListFunctions(t *testing.T) {
	catalog := []string{"a", "b", "c", "d", "e"}
	lists := [][]int{{0, 1, 2}, {0, 2, 4}, {1, 0}}
	counts := map[string]int{"a": 5, "b": 3, "c": 1}
	pop := Popularity(counts, catalog, 6, 1)
	p := make([]float64, len(catalog))
	for i, id := range catalog {
		p[i] = pop[id]
	}
	for _, k := range []int{1, 2, 10} {
		s := NewListStats(k, p)
		var ids [][]string
		for _, l := range lists {
			s.Add(l)
			var row []string
			for _, i := range l {
				row = append(row, catalog[i])
			}
			ids = append(ids, row)
		}
		nov, err := Novelty(ids, k, pop)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name      string
			got, want float64
		}{
			{"coverage", s.Coverage(), Coverage(ids, k, len(catalog))},
			{"exposure Gini", s.ExposureGini(), ExposureGini(ids, k, catalog)},
			{"novelty", s.Novelty(), nov},
		}
		for _, tc := range tests {
			if math.Abs(tc.got-tc.want) > 1e-12 {
				t.Errorf("k=%d %s: streaming %v, lists %v", k, tc.name, tc.got, tc.want)
			}
		}
	}
}
