package metrics

import (
	"errors"
	"math"
	"slices"
	"testing"
)

const eps = 1e-6

func near(a, b float64) bool { return math.Abs(a-b) < eps }

// The shared fixture: five ranked items, three relevant ones of which one
// (f) was never retrieved.
//
//	position: 1 2 3 4 5
//	ranked:   a b c d e        relevant: b (grade 2), d (1), f (1)
var (
	ranked = []string{"a", "b", "c", "d", "e"}
	rel    = Relevance{"b": 2, "d": 1, "f": 1, "z": 0} // z: grade 0 is not relevant
)

// log2 discounts used below: 1/log2(2) = 1, 1/log2(3) = 0.6309298,
// 1/log2(4) = 0.5, 1/log2(5) = 0.4306766.
func TestRankingMetrics(t *testing.T) {
	tests := []struct {
		name string
		fn   func([]string, Relevance, int) float64
		k    int
		want float64
	}{
		// Recall = hits in top k / 3 relevant.
		{"recall@1 (a: no hit)", Recall, 1, 0},
		{"recall@3 (b)", Recall, 3, 1.0 / 3},
		{"recall@5 (b, d)", Recall, 5, 2.0 / 3},
		{"recall whole list", Recall, 0, 2.0 / 3},
		// Precision = hits in top k / k.
		{"precision@1", Precision, 1, 0},
		{"precision@3", Precision, 3, 1.0 / 3},
		{"precision@5", Precision, 5, 2.0 / 5},
		{"precision@10 divides by 10, not by the 5 returned", Precision, 10, 2.0 / 10},
		{"precision whole list", Precision, 0, 2.0 / 5},
		// HR: any hit in top k.
		{"hr@1", HitRate, 1, 0},
		{"hr@2", HitRate, 2, 1},
		// RR: first hit b at position 2.
		{"rr@1", ReciprocalRank, 1, 0},
		{"rr@5", ReciprocalRank, 5, 0.5},
		// AP@5: hits at 2 (precision 1/2) and 4 (2/4): (0.5 + 0.5) / min(3, 5) = 1/3.
		{"ap@5", AveragePrecision, 5, 1.0 / 3},
		// AP@2: hit at 2 (1/2), over min(3, 2) = 2: 0.25.
		{"ap@2", AveragePrecision, 2, 0.25},
		{"ap whole list (over all 3 relevant)", AveragePrecision, 0, 1.0 / 3},
		// NDCG: ideal DCG from all relevant grades sorted [2, 1, 1]:
		// IDCG@3 = 2*1 + 1*0.6309298 + 1*0.5 = 3.1309298.
		// DCG@3 = b's 2 at position 2 = 2*0.6309298 = 1.2618595 -> 0.4030303.
		{"ndcg@3", NDCG, 3, 0.4030302838},
		// DCG@5 adds d's 1 at position 4: 1.2618595 + 0.4306766 = 1.6925361;
		// IDCG@5 = IDCG@3 (three relevant) -> 0.5405858.
		{"ndcg@5", NDCG, 5, 0.5405857679},
		{"ndcg@1 (a is not relevant)", NDCG, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.fn(ranked, rel, tc.k); !near(got, tc.want) {
				t.Errorf("got %.7f, want %.7f", got, tc.want)
			}
		})
	}
}

func TestPerfectAndEmpty(t *testing.T) {
	perfect := []string{"b", "d", "f"}
	for name, got := range map[string]float64{
		"ndcg@3":   NDCG(perfect, rel, 3),
		"ap@3":     AveragePrecision(perfect, rel, 3),
		"recall@3": Recall(perfect, rel, 3),
		"rr":       ReciprocalRank(perfect, rel, 0),
		// d and f share grade 1: swapping them is still ideal.
		"ndcg@3 tied grades swapped": NDCG([]string{"b", "f", "d"}, rel, 3),
	} {
		if !near(got, 1) {
			t.Errorf("%s of the ideal ranking = %v, want 1", name, got)
		}
	}
	// No relevant item: every metric is 0, never NaN (Evaluate skips such
	// users; the functions must still be safe to call).
	none := Relevance{"x": 0}
	for name, got := range map[string]float64{
		"recall": Recall(ranked, none, 5), "ndcg": NDCG(ranked, none, 5),
		"ap": AveragePrecision(ranked, none, 5), "precision of an empty list": Precision(nil, rel, 0),
	} {
		if got != 0 {
			t.Errorf("%s = %v, want 0", name, got)
		}
	}
}

// A repeated item earns credit once, at its first position.
func TestDuplicatesCountOnce(t *testing.T) {
	dup := []string{"b", "b", "d"}
	r := Relevance{"b": 1, "d": 1}
	// Hits: b (1), d (3) -> precision@3 = 2/3, recall@2 = 1/2.
	if got := Precision(dup, r, 3); !near(got, 2.0/3) {
		t.Errorf("precision@3 = %v, want 2/3", got)
	}
	if got := Recall(dup, r, 2); !near(got, 0.5) {
		t.Errorf("recall@2 = %v, want 1/2", got)
	}
	// DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 0.6309298 -> 0.9197208.
	if got := NDCG(dup, r, 3); !near(got, 1.5/1.6309297536) {
		t.Errorf("ndcg@3 = %v", got)
	}
}

func TestRankBreaksTiesByID(t *testing.T) {
	got := Rank([]Scored{{"c", 2}, {"a", 1}, {"b", 2}, {"d", 3}})
	if want := []string{"d", "b", "c", "a"}; !slices.Equal(got, want) {
		t.Errorf("Rank = %v, want %v", got, want)
	}
}

func TestAUC(t *testing.T) {
	tests := []struct {
		name   string
		scores []Scored
		rel    Relevance
		want   float64
		ok     bool
	}{
		// Positives a (3), c (2); negatives b (2), d (1), e (2).
		// Pairs: (a,b) 1, (a,d) 1, (a,e) 1, (c,b) tie 1/2, (c,d) 1, (c,e) tie 1/2
		// -> 5 / 6.
		{"ties count half", []Scored{{"a", 3}, {"b", 2}, {"c", 2}, {"d", 1}, {"e", 2}}, Relevance{"a": 1, "c": 1}, 5.0 / 6, true},
		{"perfect", []Scored{{"a", 2}, {"b", 1}}, Relevance{"a": 1}, 1, true},
		{"inverted", []Scored{{"a", 1}, {"b", 2}, {"c", 3}}, Relevance{"a": 1}, 0, true},
		{"all tied", []Scored{{"a", 1}, {"b", 1}, {"c", 1}}, Relevance{"b": 1}, 0.5, true},
		// The NaN score is dropped: one pair left, (a, b) correct.
		{"NaN left out", []Scored{{"a", 2}, {"b", 1}, {"c", math.NaN()}}, Relevance{"a": 1}, 1, true},
		{"no negatives", []Scored{{"a", 1}}, Relevance{"a": 1}, 0, false},
		{"no positives", []Scored{{"a", 1}, {"b", 0}}, Relevance{"x": 1}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := AUC(tc.scores, tc.rel)
			if ok != tc.ok || !near(got, tc.want) {
				t.Errorf("AUC = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestEvaluateSkipsUsersWithoutTestItems(t *testing.T) {
	qs := []Query{
		{ID: "u1", Ranked: ranked, Relevant: rel},
		{ID: "u2", Ranked: []string{"a"}, Relevant: Relevance{}},       // no test items
		{ID: "u3", Ranked: []string{"a"}, Relevant: Relevance{"a": 0}}, // only grade 0
		{ID: "u4", Ranked: []string{"x"}, Relevant: Relevance{"x": 1}},
	}
	s := Evaluate(qs, []Metric{RecallAt(5), MRRAt(0), NDCGAt(5), AUCMetric(), HitRateAt(1), PrecisionAt(5), MAPAt(5)})
	if s.Evaluated != 2 || s.Skipped != 2 {
		t.Fatalf("evaluated %d, skipped %d; want 2, 2", s.Evaluated, s.Skipped)
	}
	tests := []struct {
		name string
		want float64
		n    int
	}{
		// u1 2/3, u4 1 -> 5/6.
		{"recall@5", 5.0 / 6, 2},
		// u1 1/2, u4 1 -> 3/4.
		{"mrr", 0.75, 2},
		// u1 0.5405858, u4 1 -> 0.7702929.
		{"ndcg@5", (0.5405857679 + 1) / 2, 2},
		// AUC from positions (scores 0, -1, -2, ...): u1's positives b (-1),
		// d (-3), negatives a (0), c (-2), e (-4); f is not scored.
		// (b,a) 0, (b,c) 1, (b,e) 1, (d,a) 0, (d,c) 0, (d,e) 1 -> 3/6.
		// u4 has no negative: left out of AUC only.
		{"auc", 0.5, 1},
		// u1 0, u4 1.
		{"hr@1", 0.5, 2},
		// u1 2/5, u4 1/5.
		{"precision@5", 0.3, 2},
		// u1 1/3, u4 1.
		{"map@5", 2.0 / 3, 2},
	}
	for _, tc := range tests {
		got, ok := s.Get(tc.name)
		if !ok || !near(got, tc.want) {
			t.Errorf("%s = %v (%v), want %v", tc.name, got, ok, tc.want)
		}
	}
	for i, v := range s.Metrics {
		if v.N != tests[i].n || v.Name != tests[i].name {
			t.Errorf("metric %d: %s over %d queries, want %s over %d", i, v.Name, v.N, tests[i].name, tests[i].n)
		}
	}
	if _, ok := s.Get("nope"); ok {
		t.Error("Get of an unknown metric succeeded")
	}
}

func TestEvaluateWithNoEvaluableUser(t *testing.T) {
	s := Evaluate([]Query{{ID: "u", Relevant: nil}}, []Metric{RecallAt(10)})
	if s.Evaluated != 0 || s.Skipped != 1 || s.Metrics[0].N != 0 || s.Metrics[0].Mean != 0 {
		t.Errorf("got %+v", s)
	}
}

func TestCoverageAndGini(t *testing.T) {
	lists := [][]string{{"a", "b"}, {"a", "c"}}
	catalog := []string{"a", "b", "c", "d"}
	// Top 2: {a, b, c} of 4 -> 0.75; top 1: {a} -> 0.25.
	if got := Coverage(lists, 2, 4); !near(got, 0.75) {
		t.Errorf("coverage@2 = %v", got)
	}
	if got := Coverage(lists, 1, 4); !near(got, 0.25) {
		t.Errorf("coverage@1 = %v", got)
	}
	if got := Coverage(lists, 1, 0); got != 0 {
		t.Errorf("coverage of an empty catalog = %v", got)
	}
	tests := []struct {
		name  string
		lists [][]string
		k     int
		cat   []string
		want  float64
	}{
		// Exposure: a at position 1 twice = 2; b, c at position 2 =
		// 1/log2(3) = 0.6309298 each; d 0. Ascending x = [0, .6309, .6309, 2],
		// n = 4, Σx = 3.2618595: Σ(2i-n-1)x_i = -3*0 - 1*.6309 + 1*.6309 + 3*2 = 6
		// -> 6 / (4 * 3.2618595) = 0.4598604.
		{"position weighted", lists, 2, catalog, 0.4598603946},
		{"equal exposure", [][]string{{"a"}, {"b"}}, 1, []string{"a", "b"}, 0},
		// One item of four takes it all: (3x) / (4x) = (n-1)/n.
		{"one item takes all", [][]string{{"a"}, {"a"}}, 1, catalog, 0.75},
		{"nothing shown", nil, 5, catalog, 0},
	}
	for _, tc := range tests {
		if got := ExposureGini(tc.lists, tc.k, tc.cat); !near(got, tc.want) {
			t.Errorf("%s: gini = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNoveltyAndPopularity(t *testing.T) {
	// 4 training users: a by 2, b by 1, c by none.
	catalog := []string{"a", "b", "c"}
	p := Popularity(map[string]int{"a": 2, "b": 1}, catalog, 4, 0)
	if !near(p["a"], 0.5) || !near(p["b"], 0.25) {
		t.Errorf("popularity = %v", p)
	}
	if _, ok := p["c"]; ok {
		t.Error("unsmoothed popularity gave the cold item c a value")
	}
	// Add-one: a 3/5, b 2/5, c 1/5.
	ps := Popularity(map[string]int{"a": 2, "b": 1}, catalog, 4, 1)
	if !near(ps["a"], 0.6) || !near(ps["b"], 0.4) || !near(ps["c"], 0.2) {
		t.Errorf("smoothed popularity = %v", ps)
	}
	// Items a (-log2 .5 = 1) and b (-log2 .25 = 2) in the top 2 of one list,
	// a again in the other: (1 + 2 + 1) / 3 = 4/3.
	got, err := Novelty([][]string{{"a", "b", "c"}, {"a"}}, 2, p)
	if err != nil || !near(got, 4.0/3) {
		t.Errorf("novelty = %v, %v; want 4/3", got, err)
	}
	if _, err := Novelty([][]string{{"c"}}, 1, p); !errors.Is(err, ErrPopularity) {
		t.Errorf("novelty of a cold item without smoothing: %v, want ErrPopularity", err)
	}
	if got, err := Novelty(nil, 5, p); err != nil || got != 0 {
		t.Errorf("novelty of no lists = %v, %v", got, err)
	}
}

func TestRatingErrors(t *testing.T) {
	// Errors 1, 0, -2: RMSE = sqrt((1 + 0 + 4) / 3) = 1.2909944, MAE = 3/3 = 1.
	pred, truth := []float64{3, 4, 5}, []float64{2, 4, 7}
	if got, err := RMSE(pred, truth); err != nil || !near(got, 1.2909944487) {
		t.Errorf("RMSE = %v, %v", got, err)
	}
	if got, err := MAE(pred, truth); err != nil || !near(got, 1) {
		t.Errorf("MAE = %v, %v", got, err)
	}
	for _, tc := range []struct{ p, t []float64 }{{pred, truth[:2]}, {nil, nil}} {
		if _, err := RMSE(tc.p, tc.t); !errors.Is(err, ErrLength) {
			t.Errorf("RMSE(%v, %v): %v, want ErrLength", tc.p, tc.t, err)
		}
		if _, err := MAE(tc.p, tc.t); !errors.Is(err, ErrLength) {
			t.Errorf("MAE(%v, %v): %v, want ErrLength", tc.p, tc.t, err)
		}
	}
}
