package recommend

import (
	"maps"
	"math"
	"slices"

	"github.com/vitrinehq/vitrine/ranking"
)

// The re-rankers take a ranked list (best first, as Recommend or
// ranking.RRF return it) and return a new list of at most k of its
// results in a new order, scores untouched: the order carries the
// re-ranking, the scores still say how relevant each item is. They are
// greedy, O(k·n), and pure.

// MMR re-ranks by maximal marginal relevance (Carbonell and Goldstein
// 1998): each next item maximises λ·rel(d) − (1−λ)·max_{s chosen} sim(d, s).
// Relevance is the score min-max normalised over rs, so that λ trades it
// against a similarity in [0, 1] (or [−1, 1]) whatever the scorer's unit.
// λ = 1 keeps the order; small λ favours items unlike those already
// chosen. λ is clamped to [0, 1]; ties go to the better-ranked item.
func MMR(rs []ranking.Result, k int, lambda float64, sim func(a, b string) float64) []ranking.Result {
	k = min(k, len(rs))
	if k <= 0 {
		return nil
	}
	lambda = min(max(lambda, 0), 1)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rs {
		lo, hi = min(lo, r.Score), max(hi, r.Score)
	}
	rel := make([]float64, len(rs))
	for i, r := range rs {
		if hi > lo {
			rel[i] = (r.Score - lo) / (hi - lo)
		} else {
			rel[i] = 1
		}
	}
	maxSim := make([]float64, len(rs)) // to the chosen so far
	used := make([]bool, len(rs))
	out := make([]ranking.Result, 0, k)
	for len(out) < k {
		best, bestV := -1, math.Inf(-1)
		for i := range rs {
			if used[i] {
				continue
			}
			v := lambda * rel[i]
			if len(out) > 0 {
				v -= (1 - lambda) * maxSim[i]
			}
			if v > bestV {
				best, bestV = i, v
			}
		}
		used[best] = true
		out = append(out, rs[best])
		for i := range rs {
			if !used[i] {
				s := sim(rs[i].ProductID, rs[best].ProductID)
				if len(out) == 1 || s > maxSim[i] {
					maxSim[i] = s
				}
			}
		}
	}
	return out
}

// CapPerGroup keeps rs's order but admits at most maxPerGroup items of any
// group (a category, a brand) into the first k: items over their group's
// cap are dropped, so the list can come out shorter than k when few groups
// remain. Items whose group is "" are not capped.
func CapPerGroup(rs []ranking.Result, k int, group func(id string) string, maxPerGroup int) []ranking.Result {
	if k <= 0 || maxPerGroup <= 0 {
		return nil
	}
	count := map[string]int{}
	out := make([]ranking.Result, 0, min(k, len(rs)))
	for _, r := range rs {
		if len(out) == k {
			break
		}
		g := group(r.ProductID)
		if g != "" {
			if count[g] >= maxPerGroup {
				continue
			}
			count[g]++
		}
		out = append(out, r)
	}
	return out
}

// PositionExposure is the exposure of rank r (from 1): 1/log2(r+1), the
// DCG discount, i.e. how likely a user is to look that far down.
func PositionExposure(rank int) float64 { return 1 / math.Log2(float64(rank)+1) }

// FairExposure re-ranks so that no group (a brand, a seller) takes more
// than maxShare of the list's position-weighted exposure: the k positions
// have a total exposure E = Σ_r 1/log2(r+1), each group a budget
// maxShare·E, and each position goes to the best remaining item whose
// group can still afford that position's exposure. When no remaining item
// fits (too few groups for the share, e.g. maxShare < 1/groups), the best
// remaining item takes the position: the bound is a target, never a reason
// to serve a short list. Items whose group is "" are not bounded.
func FairExposure(rs []ranking.Result, k int, group func(id string) string, maxShare float64) []ranking.Result {
	k = min(k, len(rs))
	if k <= 0 {
		return nil
	}
	var total float64
	for r := 1; r <= k; r++ {
		total += PositionExposure(r)
	}
	budget := maxShare * total
	groups := make([]string, len(rs))
	for i, r := range rs {
		groups[i] = group(r.ProductID)
	}
	spent := map[string]float64{}
	used := make([]bool, len(rs))
	out := make([]ranking.Result, 0, k)
	for rank := 1; rank <= k; rank++ {
		e := PositionExposure(rank)
		pick := -1
		for i := range rs {
			if used[i] {
				continue
			}
			if pick < 0 {
				pick = i // fallback: the best remaining
			}
			if g := groups[i]; g == "" || spent[g]+e <= budget+1e-12 {
				pick = i
				break
			}
		}
		used[pick] = true
		spent[groups[pick]] += e
		out = append(out, rs[pick])
	}
	return out
}

// Groups maps a result list to its items' groups, rank by rank: the input
// of GroupExposure and GroupExposureGini.
func Groups(rs []ranking.Result, group func(id string) string) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = group(r.ProductID)
	}
	return out
}

// GroupExposure sums each group's position-weighted exposure over served
// lists, each list being its items' groups by rank.
func GroupExposure(lists [][]string) map[string]float64 {
	exp := map[string]float64{}
	for _, l := range lists {
		for r, g := range l {
			exp[g] += PositionExposure(r + 1)
		}
	}
	return exp
}

// GroupExposureGini is the Gini coefficient of the groups' (brands',
// sellers') position-weighted exposure over one or many served lists (each
// list its items' groups by rank): 0 when every group gets the same
// exposure, toward 1 when one takes it all. all names every group that
// should be exposed, so groups never shown count with zero; nil counts
// only the groups that appear. It measures groups within served lists;
// eval/metrics.ExposureGini measures items over a whole catalog.
func GroupExposureGini(lists [][]string, all []string) float64 {
	exp := GroupExposure(lists)
	for _, g := range all {
		if _, ok := exp[g]; !ok {
			exp[g] = 0
		}
	}
	vals := make([]float64, 0, len(exp))
	for _, g := range slices.Sorted(maps.Keys(exp)) {
		vals = append(vals, exp[g])
	}
	return Gini(vals)
}

// Gini is the Gini coefficient of non-negative values: the mean absolute
// difference of all pairs over twice the mean, 0 for equal values and
// (n−1)/n when one value holds everything.
func Gini(values []float64) float64 {
	n := len(values)
	if n < 2 {
		return 0
	}
	x := slices.Clone(values)
	slices.Sort(x)
	var sum, weighted float64
	for i, v := range x {
		sum += v
		weighted += float64(i+1) * v
	}
	if sum <= 0 {
		return 0
	}
	return 2*weighted/(float64(n)*sum) - float64(n+1)/float64(n)
}
