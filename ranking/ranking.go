// Package ranking orders candidate products: cosine scores with per-
// modality explanations, reciprocal rank fusion of several retrieval lists,
// personal re-ranking and the online user-vector update. It is pure Go: it
// takes vectors and lists and returns ordered results, with no SQL or HTTP.
package ranking

import (
	"math"
	"sort"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/vecmath"
)

// Part is one named component of a score.
type Part struct {
	Name  string  `json:"name"` // e.g. "text", "image", "lexical", "vector", "personal"
	Score float64 `json:"score"`
}

// Result is a ranked product.
type Result struct {
	ProductID string  `json:"id"`
	Score     float64 `json:"score"`
	Parts     []Part  `json:"explain,omitempty"`
}

// Candidate is a product with its fused vector.
type Candidate struct {
	ProductID string
	Vector    []float32
}

// ByVector scores candidates by cosine with query (both fused vectors of
// spec's space, unit length) and sorts them, best first; candidates whose
// vector is missing or of another length are left out. With explain, each
// result carries the per-modality parts of its cosine, which sum to it.
func ByVector(spec fusion.Spec, query []float32, cands []Candidate, explain bool) []Result {
	out := make([]Result, 0, len(cands))
	for _, c := range cands {
		cos, err := vecmath.Cosine(query, c.Vector)
		if err != nil {
			continue // no vector, or one of another space
		}
		r := Result{ProductID: c.ProductID, Score: cos}
		if explain {
			for _, p := range spec.Explain(query, c.Vector) {
				r.Parts = append(r.Parts, Part{Name: p.Modality, Score: p.Score})
			}
		}
		out = append(out, r)
	}
	Sort(out)
	return out
}

// Sort orders results by score, then id for a stable order.
func Sort(rs []Result) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Score != rs[j].Score {
			return rs[i].Score > rs[j].Score
		}
		return rs[i].ProductID < rs[j].ProductID
	})
}

// List is one ranked list (ids, best first) with its fusion weight.
type List struct {
	Name   string
	IDs    []string
	Weight float64
}

// RRFK is the usual reciprocal-rank-fusion constant (Cormack et al. 2009).
const RRFK = 60

// RRF fuses ranked lists: score(d) = Σ_l w_l / (k + rank_l(d)), rank from 1.
// Each result's parts are the lists' contributions.
func RRF(lists []List, k float64) []Result {
	if k <= 0 {
		k = RRFK
	}
	idx := map[string]int{}
	var out []Result
	for _, l := range lists {
		for rank, id := range l.IDs {
			s := l.Weight / (k + float64(rank+1))
			i, ok := idx[id]
			if !ok {
				i = len(out)
				idx[id] = i
				out = append(out, Result{ProductID: id})
			}
			out[i].Score += s
			out[i].Parts = append(out[i].Parts, Part{Name: l.Name, Score: s})
		}
	}
	Sort(out)
	return out
}

// Personalize blends each result's score with the user's affinity
// (cosine of user vector and product vector) scaled by weight.
func Personalize(rs []Result, user []float32, vecs map[string][]float32, weight float64) {
	if len(user) == 0 || weight == 0 {
		return
	}
	for i := range rs {
		cos, err := vecmath.Cosine(user, vecs[rs[i].ProductID])
		if err != nil {
			continue // no vector
		}
		p := weight * cos
		rs[i].Score += p
		rs[i].Parts = append(rs[i].Parts, Part{Name: "personal", Score: p})
	}
	Sort(rs)
}

// EventWeight is how much an event moves a user's taste toward (or, for a
// poor rating, away from) the product.
func EventWeight(t catalog.EventType, value *float64) float64 {
	switch t {
	case catalog.View:
		return 0.5
	case catalog.Click:
		return 1
	case catalog.AddToCart:
		return 3
	case catalog.Purchase:
		return 5
	case catalog.Rating:
		if value == nil {
			return 0
		}
		// 1..5 stars: 3 is neutral, 5 strongly positive, 1 negative.
		return (*value - 3) * 1.5
	}
	return 0
}

// UserState is a user's taste: a direction in the product space, the
// decayed total weight behind it and when it was last updated.
type UserState struct {
	Vector    []float32
	Weight    float64
	UpdatedAt time.Time
}

// Decay is how much evidence age old still weighs in a user's vector:
// halved every halfLife (1 when halfLife is not positive).
func Decay(age, halfLife time.Duration) float64 {
	if halfLife <= 0 {
		return 1
	}
	return math.Pow(0.5, age.Seconds()/halfLife.Seconds())
}

// Update folds one event into the state: older evidence decays with the
// half-life, then the product's unit vector is added with the event's
// weight. The stored vector is the weighted mean direction (unit length).
func Update(s UserState, product []float32, w float64, at time.Time, halfLife time.Duration) UserState {
	if w == 0 || len(product) == 0 {
		return s
	}
	decay := 1.0
	if !s.UpdatedAt.IsZero() && at.After(s.UpdatedAt) {
		decay = Decay(at.Sub(s.UpdatedAt), halfLife)
	}
	if len(s.Vector) != len(product) {
		s.Vector, s.Weight = nil, 0
	}
	sum := make([]float64, len(product))
	old := s.Weight * decay
	for i := range sum {
		if s.Vector != nil {
			sum[i] = old * float64(s.Vector[i])
		}
	}
	pn := vecmath.Norm(product)
	if pn == 0 {
		return s
	}
	for i, x := range product {
		sum[i] += w * float64(x) / pn
	}
	var n float64
	for _, x := range sum {
		n += x * x
	}
	n = math.Sqrt(n)
	next := UserState{Vector: make([]float32, len(product)), Weight: math.Max(0, old+w), UpdatedAt: at}
	if at.Before(s.UpdatedAt) {
		next.UpdatedAt = s.UpdatedAt
	}
	if n == 0 {
		return next
	}
	for i := range sum {
		next.Vector[i] = float32(sum[i] / n)
	}
	return next
}

// BecauseOf picks the history items most similar to a recommended product,
// best first, at most n: the "because you bought X" of an explanation.
// A product without a vector (or history items of another length) has no
// explanation.
func BecauseOf(product []float32, history []Candidate, n int) []Result {
	rs := make([]Result, 0, len(history))
	seen := map[string]bool{}
	for _, h := range history {
		cos, err := vecmath.Cosine(product, h.Vector)
		if seen[h.ProductID] || err != nil {
			continue
		}
		seen[h.ProductID] = true
		rs = append(rs, Result{ProductID: h.ProductID, Score: cos})
	}
	Sort(rs)
	if len(rs) > n {
		rs = rs[:n]
	}
	return rs
}
