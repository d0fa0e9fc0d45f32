package recommend

import (
	"context"
	"math"
)

// topProducts computes, for every item i, the k items j ≠ i with the
// highest finish(i, j, Σ_u A[i,u]·B[u,j]) over the users u item i shares
// with j, best first (the item-item product A·B, kept sparse per row).
// A is items × users and B users × items. It costs O(Σ_u n_u²) in all: fine
// for e-commerce baskets, costly for users with tens of thousands of
// events. Rows are computed in parallel; the result does not depend on
// the number of workers. A non-positive or NaN finish value is dropped.
func topProducts(ctx context.Context, a, b *CSR, k, workers int, finish func(i, j int, dot float64) float64) (CSR, error) {
	ni := a.Rows
	lists := make([][]int32, ni)
	sims := make([][]float64, ni)
	type work struct {
		acc     []float64
		touched []int32
		heap    topHeap
	}
	ws := make([]*work, workers)
	for w := range ws {
		ws[w] = &work{acc: make([]float64, b.Cols), heap: topHeap{k: k}}
	}
	err := parallelFor(ctx, ni, workers, 16, func(w, lo, hi int) {
		s := ws[w]
		for i := lo; i < hi; i++ {
			users, uv := a.Row(i)
			for n, u := range users {
				items, iv := b.Row(int(u))
				for m, j := range items {
					if s.acc[j] == 0 {
						s.touched = append(s.touched, j)
					}
					s.acc[j] += uv[n] * iv[m]
				}
			}
			for _, j := range s.touched {
				if int(j) != i {
					if v := finish(i, int(j), s.acc[j]); v > 0 && !math.IsNaN(v) {
						s.heap.push(j, v)
					}
				}
				s.acc[j] = 0
			}
			s.touched = s.touched[:0]
			top, sc := s.heap.drain()
			lists[i] = make([]int32, len(top))
			for n, j := range top {
				lists[i][n] = int32(j)
			}
			sims[i] = sc
		}
	})
	if err != nil {
		return CSR{}, err
	}
	nbr := CSR{Rows: ni, Cols: b.Cols, Indptr: make([]int, 1, ni+1)}
	for i := range ni {
		nbr.Indices = append(nbr.Indices, lists[i]...)
		nbr.Values = append(nbr.Values, sims[i]...)
		nbr.Indptr = append(nbr.Indptr, len(nbr.Indices))
	}
	return nbr, nil
}

// scoreNeighbours writes Σ_i w_i·nbr[i, j] over the weighted items into
// dst (cleared first).
func scoreNeighbours(nbr *CSR, items []int32, weights []float64, dst []float64) {
	clear(dst)
	for n, i := range items {
		if weights[n] <= 0 {
			continue
		}
		js, sims := nbr.Row(int(i))
		for q, j := range js {
			dst[j] += weights[n] * sims[q]
		}
	}
}

// recencyWeights are a user's items weighted by how recently they were
// seen: each event of the user's sequence counts 0.5^(age/halfLife), age
// being the number of the user's events after it (the latest counts 1).
// Items are distinct and ascending; halfLife ≤ 0 gives the summed values
// of the dataset instead.
func recencyWeights(d *Dataset, u int, halfLife float64, items []int32, weights []float64) ([]int32, []float64) {
	if halfLife <= 0 {
		own, vals := d.UserItems(u)
		return own, vals
	}
	seq, _ := d.UserSequence(u)
	items, weights = items[:0], weights[:0]
	own, _ := d.UserItems(u)
	items = append(items, own...)
	for range own {
		weights = append(weights, 0)
	}
	for n, i := range seq {
		age := float64(len(seq) - 1 - n)
		if at, ok := searchInt32(items, i); ok {
			weights[at] += math.Exp2(-age / halfLife)
		}
	}
	return items, weights
}

// searchInt32 finds x in the ascending xs.
func searchInt32(xs []int32, x int32) (int, bool) {
	lo, hi := 0, len(xs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if xs[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(xs) && xs[lo] == x
}
