package ranking_test

import (
	"math"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/ranking"
)

func TestRRF(t *testing.T) {
	lists := []ranking.List{
		{Name: "lexical", IDs: []string{"a", "b", "c"}, Weight: 1},
		{Name: "vector", IDs: []string{"c", "a", "d"}, Weight: 1},
	}
	got := ranking.RRF(lists, 60)
	// a: 1/61 + 1/62; c: 1/63 + 1/61; b: 1/62; d: 1/63.
	want := []struct {
		id    string
		score float64
	}{{"a", 1.0/61 + 1.0/62}, {"c", 1.0/63 + 1.0/61}, {"b", 1.0 / 62}, {"d", 1.0 / 63}}
	if len(got) != len(want) {
		t.Fatalf("%d results", len(got))
	}
	for i, w := range want {
		if got[i].ProductID != w.id || math.Abs(got[i].Score-w.score) > 1e-12 {
			t.Errorf("rank %d: %s %.6f, want %s %.6f", i, got[i].ProductID, got[i].Score, w.id, w.score)
		}
		var sum float64
		for _, p := range got[i].Parts {
			sum += p.Score
		}
		if math.Abs(sum-got[i].Score) > 1e-12 {
			t.Errorf("%s: parts sum to %v, score %v", got[i].ProductID, sum, got[i].Score)
		}
	}
	// Weights shift the order: vector-only weighting puts c first.
	got = ranking.RRF([]ranking.List{{Name: "lexical", IDs: lists[0].IDs, Weight: 0.1}, {Name: "vector", IDs: lists[1].IDs, Weight: 1}}, 60)
	if got[0].ProductID != "c" {
		t.Errorf("vector-weighted first %s, want c", got[0].ProductID)
	}
}

func TestByVectorExplains(t *testing.T) {
	spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{
		{Model: "t@1", Modality: "text", Dim: 2, Weight: 0.5}, {Model: "i@1", Modality: "image", Dim: 2, Weight: 0.5}}}
	q, _ := spec.Fuse(map[string][]float32{"t@1": {1, 0}, "i@1": {0, 1}})
	near, _ := spec.Fuse(map[string][]float32{"t@1": {1, 0}, "i@1": {1, 0}})
	far, _ := spec.Fuse(map[string][]float32{"t@1": {0, 1}, "i@1": {1, 0}})
	rs := ranking.ByVector(spec, q, []ranking.Candidate{{"far", far}, {"near", near}, {"bad", []float32{1}}}, true)
	if len(rs) != 2 || rs[0].ProductID != "near" {
		t.Fatalf("order %+v", rs)
	}
	if rs[0].Parts[0].Name != "text" || math.Abs(rs[0].Parts[0].Score-0.5) > 1e-6 || math.Abs(rs[0].Parts[1].Score) > 1e-6 {
		t.Errorf("explanation %+v", rs[0].Parts)
	}
}

func TestUserUpdate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := []float32{1, 0}, []float32{0, 2}
	s := ranking.Update(ranking.UserState{}, a, ranking.EventWeight(catalog.Purchase, nil), t0, 24*time.Hour)
	if s.Vector[0] != 1 || s.Weight != 5 {
		t.Fatalf("first event: %+v", s)
	}
	// Much later, one click on b outweighs the decayed purchase of a.
	s2 := ranking.Update(s, b, ranking.EventWeight(catalog.Click, nil), t0.Add(10*24*time.Hour), 24*time.Hour)
	if s2.Vector[1] <= s2.Vector[0] {
		t.Errorf("decay did not let recent taste win: %+v", s2)
	}
	// The same click right away does not.
	s3 := ranking.Update(s, b, ranking.EventWeight(catalog.Click, nil), t0, 24*time.Hour)
	if s3.Vector[0] <= s3.Vector[1] {
		t.Errorf("fresh purchase lost to a click: %+v", s3)
	}
	if n := math.Hypot(float64(s3.Vector[0]), float64(s3.Vector[1])); math.Abs(n-1) > 1e-6 {
		t.Errorf("user vector not unit length: %v", n)
	}
	// A bad rating pushes away.
	one := 1.0
	s4 := ranking.Update(s, a, ranking.EventWeight(catalog.Rating, &one), t0, 24*time.Hour)
	if s4.Weight >= s.Weight {
		t.Errorf("bad rating raised the weight: %v", s4.Weight)
	}
}

func TestPersonalizeAndBecause(t *testing.T) {
	rs := []ranking.Result{{ProductID: "x", Score: 0.5}, {ProductID: "y", Score: 0.49}}
	ranking.Personalize(rs, []float32{0, 1}, map[string][]float32{"x": {1, 0}, "y": {0, 1}}, 0.1)
	if rs[0].ProductID != "y" || rs[0].Parts[0].Name != "personal" {
		t.Errorf("personalised order %+v", rs)
	}
	b := ranking.BecauseOf([]float32{1, 0}, []ranking.Candidate{{"h1", []float32{0, 1}}, {"h2", []float32{1, 0.1}}, {"h2", []float32{1, 0.1}}}, 1)
	if len(b) != 1 || b[0].ProductID != "h2" {
		t.Errorf("because %+v", b)
	}
}

// Missing vectors and vectors of another length never panic: they are left
// out (ByVector, Personalize, BecauseOf) or count as dissimilar (Cosine).
func TestMismatchedVectors(t *testing.T) {
	spec := fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{{Model: "t@1", Modality: "text", Dim: 2, Weight: 1}}}
	q := []float32{1, 0}
	tests := []struct {
		name string
		got  func() int
		want int
	}{
		{"ByVector drops candidates without a vector", func() int {
			return len(ranking.ByVector(spec, q, []ranking.Candidate{{ProductID: "a", Vector: q}, {ProductID: "b"}, {ProductID: "c", Vector: []float32{1, 0, 0}}}, true))
		}, 1},
		{"Personalize skips products without a vector", func() int {
			rs := []ranking.Result{{ProductID: "a", Score: 1}, {ProductID: "b", Score: 1}}
			ranking.Personalize(rs, q, map[string][]float32{"a": q}, 1)
			parts := 0
			for _, r := range rs {
				parts += len(r.Parts)
			}
			return parts
		}, 1},
		{"BecauseOf explains nothing for a product without a vector", func() int {
			return len(ranking.BecauseOf(nil, []ranking.Candidate{{ProductID: "h", Vector: q}}, 2))
		}, 0},
		{"BecauseOf skips history of another length", func() int {
			return len(ranking.BecauseOf(q, []ranking.Candidate{{ProductID: "h", Vector: q}, {ProductID: "x", Vector: []float32{1}}}, 2))
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.got(); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDecay(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		name          string
		age, halfLife time.Duration
		want          float64
	}{
		{"now", 0, 7 * day, 1},
		{"one half-life", 7 * day, 7 * day, 0.5},
		{"two half-lives", 14 * day, 7 * day, 0.25},
		{"no half-life: nothing fades", 30 * day, 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ranking.Decay(c.age, c.halfLife); math.Abs(got-c.want) > 1e-12 {
				t.Errorf("Decay(%v, %v) = %v, want %v", c.age, c.halfLife, got, c.want)
			}
		})
	}
}
