package recommend

import (
	"math"

	"github.com/vitrinehq/vitrine/vecmath"
)

// The sources of the hybrid blend, as the API and the stored blend weights
// name them.
const (
	SourceCollaborative = "collaborative" // user factors · item factors
	SourceContent       = "content"       // cosine of the user's and the item's fused vectors
	SourcePopularity    = "popularity"    // log1p of the item's popularity
)

// ServingPool is how many candidates each retrieval of a hybrid request
// returns for k recommendations (the API's max(3k, 30): re-rankers need
// room to choose); popularity contributes half as many.
func ServingPool(k int) int { return max(3*k, 30) }

// ServingGrid is the weight grid the serving blend is tuned on (by
// `vitrine train`, and by `vitrine eval recs` for its hybrid), without the
// content source when there are no content vectors.
func ServingGrid(content bool) map[string][]float64 {
	g := map[string][]float64{SourceCollaborative: {0, 0.5, 1}, SourcePopularity: {0, 0.1, 0.3}}
	if content {
		g[SourceContent] = []float64{0, 0.25, 0.5, 1}
	}
	return g
}

// HybridUser is one user's source scores over the whole catalogue (item
// indices), from which HybridCandidates builds what the API would blend.
type HybridUser struct {
	// CF is the user's collaborative score of every item; nil when the
	// user has no factors.
	CF []float64
	// Content is the cosine of the user's vector with every item's, NaN
	// for an item without a vector; nil when the user has no vector.
	Content []float64
	// Popular are the most popular items, best first, at least pool/2 of
	// them when the catalogue has them; Popularity is every item's
	// popularity score (before log1p). Both are the same for every user.
	Popular    []int
	Popularity []float64
	// Exclude reports the items never to recommend (the user's own).
	Exclude func(i int) bool
}

// HybridCandidates mirrors the API's hybrid retrieval offline: the pool
// best items by CF, then the pool best by content, then the pool/2 most
// popular, each without excluded items and without repeats, in that order.
// parts holds each source's score over the candidates as the API computes
// it: collaborative score (NaN without CF), content cosine (NaN without a
// vector), and log1p popularity for the popular candidates, 0 for the
// others (the API knows only the popular page's scores). Blend(parts,
// weights) then gives the API's blended scores. Nil when the user has
// neither CF scores nor content.
func HybridCandidates(h HybridUser, pool int) (cands []int, parts map[string][]float64) {
	if h.CF == nil && h.Content == nil {
		return nil, nil
	}
	seen := map[int]bool{}
	add := func(i int) {
		if !seen[i] && (h.Exclude == nil || !h.Exclude(i)) {
			seen[i] = true
			cands = append(cands, i)
		}
	}
	if h.CF != nil {
		for _, i := range TopItems(h.CF, pool, h.Exclude) {
			add(i)
		}
	}
	if h.Content != nil {
		for _, i := range TopItems(h.Content, pool, h.Exclude) {
			add(i)
		}
	}
	popular := h.Popular[:min(pool/2, len(h.Popular))]
	inPopular := map[int]bool{}
	for _, i := range popular {
		inPopular[i] = true
		add(i)
	}
	if len(cands) == 0 {
		return nil, nil
	}
	cf, content, pop := make([]float64, len(cands)), make([]float64, len(cands)), make([]float64, len(cands))
	for n, i := range cands {
		cf[n], content[n] = math.NaN(), math.NaN()
		if h.CF != nil {
			cf[n] = h.CF[i]
		}
		if h.Content != nil {
			content[n] = h.Content[i]
		}
		if inPopular[i] {
			pop[n] = math.Log1p(h.Popularity[i])
		}
	}
	return cands, map[string][]float64{SourceCollaborative: cf, SourceContent: content, SourcePopularity: pop}
}

// HybridTuneCase is HybridCandidates of one held-out user as a TuneCase:
// the candidates' parts, and the held-out items among them as relevant
// (a held-out item that is no candidate gets a negative index, so it
// counts in the metric's ideal but can never be ranked, as in serving).
// ok is false when the user has no candidates.
func HybridTuneCase(h HybridUser, pool int, heldOut []int) (tc TuneCase, ok bool) {
	cands, parts := HybridCandidates(h, pool)
	if cands == nil {
		return TuneCase{}, false
	}
	at := make(map[int]int, len(cands))
	for n, i := range cands {
		at[i] = n
	}
	rel := make(map[int]bool, len(heldOut))
	for m, i := range heldOut {
		if n, ok := at[i]; ok {
			rel[n] = true
		} else {
			rel[-1-m] = true
		}
	}
	return TuneCase{Parts: parts, Relevant: rel}, true
}

// ContentProfile is a user's content vector offline: the sum of the
// unit-normalised vectors of the items they have (zero vectors and items
// without a vector skipped); nil when none has one.
func ContentProfile(vecs [][]float32) []float32 {
	var sum []float32
	for _, v := range vecs {
		if v == nil || vecmath.IsZero(v) {
			continue
		}
		if sum == nil {
			sum = make([]float32, len(v))
		} else if len(v) != len(sum) {
			continue
		}
		inv := 1 / vecmath.Norm(v)
		for k, x := range v {
			sum[k] += float32(float64(x) * inv)
		}
	}
	return sum
}

// ContentScores writes the cosine of profile with each item's vector
// (indexed like the catalogue; nil: no vector) into dst, NaN for items
// without a vector or of another dimension.
func ContentScores(profile []float32, items [][]float32, dst []float64) {
	for i, v := range items {
		dst[i] = math.NaN()
		if v == nil {
			continue
		}
		if c, err := vecmath.Cosine(profile, v); err == nil {
			dst[i] = c
		}
	}
}
