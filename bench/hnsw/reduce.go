package hnsw

import (
	"fmt"
	"slices"

	"github.com/vitrinehq/vitrine/fusion/reduce"
)

// fitSample is how many of the first vectors the PCA is fitted on, as
// backfill would fit it on a sample of the catalog.
const fitSample = 20_000

// fitReduction, with Reduce set, generates every vector (kept for the
// exact neighbours among them) and fits the projection on the first
// fitSample. It runs on a reused database too, so the queries that follow
// are the same as in the run that loaded it.
func (b *Bench) fitReduction(rep *Report) error {
	if b.Reduce <= 0 {
		return nil
	}
	if b.Reduce >= b.Dim {
		return fmt.Errorf("reduce to %d dimensions: want fewer than the vectors' %d", b.Reduce, b.Dim)
	}
	b.full = make([][]float32, b.Products)
	for i := range b.full {
		b.full[i] = b.near()
	}
	pca, err := reduce.Fit(b.full[:min(fitSample, len(b.full))], b.Reduce)
	if err != nil {
		return err
	}
	b.pca, rep.Explained = pca, pca.Explained
	return nil
}

// vector is product i's stored vector: drawn now, or with Reduce the
// projection of the one drawn by fitReduction, uncentred as reduced vector
// spaces store it.
func (b *Bench) vector(i int) ([]float32, error) {
	if b.pca == nil {
		return b.near(), nil
	}
	return b.pca.ProjectUncentred(b.full[i])
}

// project maps query vectors as the stored ones were mapped.
func (b *Bench) project(qs [][]float32) ([][]float32, error) {
	if b.pca == nil {
		return qs, nil
	}
	out := make([][]float32, len(qs))
	for i, q := range qs {
		var err error
		if out[i], err = b.pca.ProjectUncentred(q); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fullTruth is the ids of the K full vectors nearest to q by cosine (all
// are unit vectors, so by dot product), found by scanning them all.
func (b *Bench) fullTruth(q []float32) map[string]bool {
	type hit struct {
		i   int
		dot float64
	}
	top := make([]hit, 0, K+1)
	for i, v := range b.full {
		var d float64
		for j, x := range v {
			d += float64(x) * float64(q[j])
		}
		if len(top) == K && d <= top[K-1].dot {
			continue
		}
		at, _ := slices.BinarySearchFunc(top, d, func(h hit, d float64) int {
			switch {
			case h.dot > d:
				return -1
			case h.dot < d:
				return 1
			}
			return 0
		})
		top = slices.Insert(top, at, hit{i, d})
		if len(top) > K {
			top = top[:K]
		}
	}
	out := make(map[string]bool, K)
	for _, h := range top {
		out[productID(h.i)] = true
	}
	return out
}

// productID is the id of the i-th loaded product.
func productID(i int) string { return fmt.Sprintf("v%07d", i) }
