package fusion

import (
	"context"
	"errors"
	"math"
	"sort"

	"github.com/vitrinehq/vitrine/vecmath"
)

// History is one user's interactions in time order (product ids).
type History []string

// LearnResult is the outcome of LearnWeights.
type LearnResult struct {
	Weights map[string]float64 // model key -> weight, summing to 1
	MRR     float64            // mean reciprocal rank of held-out items with Weights
	// Baseline is the MRR of the spec's own weights on the same task.
	Baseline float64
	Cases    int // users evaluated
}

// ErrTooFewHistories means there is not enough logged behaviour to learn.
var ErrTooFewHistories = errors.New("fusion: too few user histories with two or more products")

// LearnWeights fits the per-modality weights of spec to logged behaviour,
// so the catalog's own users decide how much image versus text matters:
// for every history of two or more products, the profile of all but the
// last product (the mean of their per-model vectors) ranks every candidate
// by Σ_m w_m·cos_m, and the weights on a simplex grid (step) that maximise
// the mean reciprocal rank of the held-out last product win. vecs holds the
// per-model embeddings of every candidate product (product -> model -> vec).
func LearnWeights(ctx context.Context, spec Spec, vecs map[string]map[string][]float32, histories []History, step float64) (LearnResult, error) {
	if step <= 0 || step > 0.5 {
		step = 0.1
	}
	models := make([]string, len(spec.Components))
	for i, c := range spec.Components {
		models[i] = c.Model
	}
	ids := make([]string, 0, len(vecs))
	for id := range vecs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	cases, err := learnCases(ctx, vecs, ids, models, histories)
	if err != nil {
		return LearnResult{}, err
	}
	if len(cases) < 5 {
		return LearnResult{}, ErrTooFewHistories
	}
	base := make([]float64, len(models))
	for m, c := range spec.Components {
		base[m] = c.Weight
	}
	res := LearnResult{Baseline: meanRR(cases, base, len(ids)), Cases: len(cases), MRR: -1}
	for _, w := range simplex(len(models), step) {
		if err := ctx.Err(); err != nil {
			return LearnResult{}, err
		}
		if v := meanRR(cases, w, len(ids)); v > res.MRR {
			res.MRR = v
			res.Weights = map[string]float64{}
			for m, key := range models {
				res.Weights[key] = w[m]
			}
		}
	}
	return res, nil
}

// learnCase is one held-out item: its index among the candidates and, per
// model, the cosine of the profile with every candidate (NaN: missing),
// computed once so that each grid point is a weighted sum.
type learnCase struct {
	target int
	cos    [][]float64 // model -> candidate -> cosine
}

// learnCases builds a case from every history of two or more products
// whose last product is a candidate.
func learnCases(ctx context.Context, vecs map[string]map[string][]float32, ids, models []string, histories []History) ([]learnCase, error) {
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	var cases []learnCase
	for _, h := range histories {
		if len(h) < 2 {
			continue
		}
		target, ok := index[h[len(h)-1]]
		if !ok {
			continue
		}
		k := learnCase{target: target, cos: make([][]float64, len(models))}
		for m, key := range models {
			prof := profile(vecs, h[:len(h)-1], key)
			col := make([]float64, len(ids))
			for i, id := range ids {
				col[i] = math.NaN()
				if v, ok := vecs[id][key]; ok && prof != nil {
					col[i] = cosine(prof, v)
				}
			}
			k.cos[m] = col
		}
		cases = append(cases, k)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return cases, nil
}

// meanRR is the mean reciprocal rank of the cases' held-out items among n
// candidates when they score Σ_m w_m·cos_m over the models they have, renormalised
// by the weights present (as Fuse does for missing modalities).
func meanRR(cases []learnCase, w []float64, n int) float64 {
	var sum float64
	for _, k := range cases {
		score := func(i int) float64 {
			var s, wt float64
			for m := range w {
				if c := k.cos[m][i]; !math.IsNaN(c) {
					s += w[m] * c
					wt += w[m]
				}
			}
			if wt == 0 {
				return math.Inf(-1)
			}
			return s / wt
		}
		t := score(k.target)
		rank := 1
		for i := range n {
			if i != k.target && score(i) > t {
				rank++
			}
		}
		sum += 1 / float64(rank)
	}
	return sum / float64(len(cases))
}

// profile is the mean of the normalised vectors of items for one model.
func profile(vecs map[string]map[string][]float32, items []string, model string) []float32 {
	var sum []float32
	for _, id := range items {
		v, ok := vecs[id][model]
		if !ok || (sum != nil && len(v) != len(sum)) {
			continue
		}
		n := vecmath.Norm(v)
		if n == 0 {
			continue
		}
		if sum == nil {
			sum = make([]float32, len(v))
		}
		for i, x := range v {
			sum[i] += float32(float64(x) / n)
		}
	}
	return sum
}

// cosine is vecmath.Cosine, but NaN (missing, not dissimilar) for a zero
// vector or a length mismatch.
func cosine(a, b []float32) float64 {
	c, err := vecmath.Cosine(a, b)
	if err != nil || vecmath.IsZero(a) || vecmath.IsZero(b) {
		return math.NaN()
	}
	return c
}

// simplex lists weight vectors of n components on a grid of the given step
// whose entries sum to 1 (all-zero excluded).
func simplex(n int, step float64) [][]float64 {
	steps := int(math.Round(1 / step))
	var out [][]float64
	var rec func(prefix []int, left int)
	rec = func(prefix []int, left int) {
		if len(prefix) == n-1 {
			w := make([]float64, n)
			for i, p := range prefix {
				w[i] = float64(p) / float64(steps)
			}
			w[n-1] = float64(left) / float64(steps)
			out = append(out, w)
			return
		}
		for p := 0; p <= left; p++ {
			rec(append(prefix, p), left-p)
		}
	}
	rec(nil, steps)
	return out
}
