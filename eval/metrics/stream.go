package metrics

import (
	"math"
	"slices"
)

// IndexNDCG is NDCG@k of a ranking of item indices against a set of
// relevant indices, every relevant item with gain 1: the same figure as
// NDCG on ids with grade-1 relevance, without building strings (a blend
// tuner calls it for every grid point and user).
func IndexNDCG(ranked []int, relevant map[int]bool, k int) float64 {
	if k > 0 && len(ranked) > k {
		ranked = ranked[:k]
	}
	dcg := 0.0
	var seen map[int]bool
	for p, i := range ranked {
		if !relevant[i] || seen[i] {
			continue
		}
		if seen == nil {
			seen = map[int]bool{}
		}
		seen[i] = true
		dcg += discount(p + 1)
	}
	n := len(relevant)
	if k > 0 {
		n = min(n, k)
	}
	ideal := 0.0
	for p := range n {
		ideal += discount(p + 1)
	}
	if ideal == 0 {
		return 0
	}
	return dcg / ideal
}

// AUCCounter computes one user's full-ranking AUC in one pass over the
// candidates' scores, keeping only the relevant items' scores: the same
// figure as AUC over every (relevant, non-relevant) pair, a tie counting
// half, without holding the candidates.
type AUCCounter struct {
	pos     []float64 // relevant scores, ascending
	correct float64   // pairs ordered correctly (ties: ½)
	neg     float64
}

// Reset starts a user whose relevant candidates score pos (reused; NaN
// scores are left out).
func (a *AUCCounter) Reset(pos []float64) {
	a.pos = a.pos[:0]
	for _, s := range pos {
		if !math.IsNaN(s) {
			a.pos = append(a.pos, s)
		}
	}
	slices.Sort(a.pos)
	a.correct, a.neg = 0, 0
}

// Negative counts one non-relevant candidate's score (NaN is left out).
func (a *AUCCounter) Negative(s float64) {
	if math.IsNaN(s) {
		return
	}
	a.neg++
	if len(a.pos) == 1 { // leave-one-out: one comparison
		switch p := a.pos[0]; {
		case p > s:
			a.correct++
		case p == s:
			a.correct += 0.5
		}
		return
	}
	// Positives above s are ordered correctly, those equal to it tie.
	lo, _ := slices.BinarySearch(a.pos, s)
	hi := lo
	for hi < len(a.pos) && a.pos[hi] == s {
		hi++
	}
	a.correct += float64(len(a.pos)-hi) + 0.5*float64(hi-lo)
}

// AUC is the share of pairs ordered correctly; ok is false without a pair.
func (a *AUCCounter) AUC() (float64, bool) {
	if len(a.pos) == 0 || a.neg == 0 {
		return 0, false
	}
	return a.correct / (float64(len(a.pos)) * a.neg), true
}

// ListStats accumulates the beyond-accuracy figures of top-k lists of item
// indices one list at a time, in memory of the catalogue's size: the
// streaming form of Coverage, ExposureGini and Novelty (same figures for
// the same lists in the same order).
type ListStats struct {
	k        int
	exposure []float64 // per catalogue item
	shown    int       // items with exposure
	pop      []float64 // p(i) per item, for novelty
	novelty  float64
	n        int
}

// NewListStats accumulates lists cut at k over a catalogue of len(pop)
// items, pop[i] being item i's popularity in (0, 1] (see Popularity).
func NewListStats(k int, pop []float64) *ListStats {
	return &ListStats{k: k, exposure: make([]float64, len(pop)), pop: pop}
}

// Add counts one user's list, best first.
func (s *ListStats) Add(list []int) {
	if s.k > 0 && len(list) > s.k {
		list = list[:s.k]
	}
	for p, i := range list {
		if s.exposure[i] == 0 {
			s.shown++
		}
		s.exposure[i] += discount(p + 1)
		if q := s.pop[i]; q > 0 && q <= 1 {
			s.novelty -= math.Log2(q)
			s.n++
		}
	}
}

// Coverage is the share of the catalogue in at least one list.
func (s *ListStats) Coverage() float64 {
	if len(s.exposure) == 0 {
		return 0
	}
	return float64(s.shown) / float64(len(s.exposure))
}

// ExposureGini is the position-discounted exposure Gini over the catalogue
// (see ExposureGini).
func (s *ListStats) ExposureGini() float64 {
	xs := slices.Clone(s.exposure)
	slices.Sort(xs)
	return gini(xs)
}

// Novelty is the mean self-information of the listed items (see Novelty).
func (s *ListStats) Novelty() float64 {
	if s.n == 0 {
		return 0
	}
	return s.novelty / float64(s.n)
}
