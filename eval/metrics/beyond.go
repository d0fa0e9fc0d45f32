package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Coverage is the share of a catalog of catalogSize items that appears in
// at least one user's top k.
func Coverage(lists [][]string, k, catalogSize int) float64 {
	if catalogSize <= 0 {
		return 0
	}
	seen := map[string]bool{}
	for _, l := range lists {
		for _, id := range cut(l, k) {
			seen[id] = true
		}
	}
	return float64(len(seen)) / float64(catalogSize)
}

// ExposureGini is the Gini coefficient of item exposure over the catalog:
// each appearance at position p of a top k adds 1/log2(p+1), the same
// discount as DCG, because a user sees the first slots far more than the
// last. 0 is equal exposure for every item, values near 1 mean a few items
// take all of it. Catalog items never shown count with zero exposure;
// recommended items missing from the catalog are counted too.
func ExposureGini(lists [][]string, k int, catalog []string) float64 {
	exp := make(map[string]float64, len(catalog))
	for _, id := range catalog {
		exp[id] = 0
	}
	for _, l := range lists {
		for i, id := range cut(l, k) {
			exp[id] += discount(i + 1)
		}
	}
	xs := make([]float64, 0, len(exp))
	for _, x := range exp {
		xs = append(xs, x)
	}
	// Sorted before summing, so the result does not depend on map order
	// down to the last bit.
	slices.Sort(xs)
	return gini(xs)
}

// gini is the Gini coefficient of xs, sorted ascending:
// G = Σ_i (2i - n - 1) x_i / (n Σ x), i from 1; 0 when all are zero.
func gini(xs []float64) float64 {
	total := 0.0
	for _, x := range xs {
		total += x
	}
	if len(xs) == 0 || total == 0 {
		return 0
	}
	n := float64(len(xs))
	s := 0.0
	for i, x := range xs {
		s += (2*float64(i+1) - n - 1) * x
	}
	return s / (n * total)
}

// ErrPopularity reports a recommended item without a usable popularity.
var ErrPopularity = errors.New("metrics: item popularity must be in (0, 1]")

// Novelty is the mean self-information -log2 p(i) of the items in the top
// k of every list, p(i) being the item's popularity (the share of training
// users who interacted with it). An item absent from pop, or with p outside
// (0, 1], is an error rather than a silent infinity: smooth the
// popularities (Popularity's smoothing) to score cold items.
func Novelty(lists [][]string, k int, pop map[string]float64) (float64, error) {
	sum, n := 0.0, 0
	for _, l := range lists {
		for _, id := range cut(l, k) {
			p, ok := pop[id]
			if !ok || !(p > 0 && p <= 1) {
				return 0, fmt.Errorf("%w: %q has %v", ErrPopularity, id, p)
			}
			sum -= math.Log2(p)
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	return sum / float64(n), nil
}

// Popularity turns per-item counts of distinct interacting users into
// p(i) = (count + smoothing) / (users + smoothing). catalog items without a
// count get the smoothed zero, so with smoothing > 0 every catalog item has
// a finite novelty.
func Popularity(counts map[string]int, catalog []string, users int, smoothing float64) map[string]float64 {
	out := make(map[string]float64, max(len(counts), len(catalog)))
	d := float64(users) + smoothing
	if d <= 0 {
		return out
	}
	for _, id := range catalog {
		if smoothing > 0 {
			out[id] = smoothing / d
		}
	}
	for id, c := range counts {
		out[id] = (float64(c) + smoothing) / d
	}
	return out
}
