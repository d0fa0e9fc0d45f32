package recommend

import (
	"context"
	"errors"
	"fmt"
)

// Gram returns YᵀY + λI (row-major, k×k) of item factors: what a serving
// process stores beside the factors to fold new users in without the
// fitted model.
func Gram(ctx context.Context, items [][]float32, reg float64) ([]float64, error) {
	if len(items) == 0 {
		return nil, errors.New("recommend: no item factors")
	}
	k := len(items[0])
	f := make([]float64, 0, len(items)*k)
	for i, v := range items {
		if len(v) != k {
			return nil, fmt.Errorf("recommend: item %d has %d factors, want %d", i, len(v), k)
		}
		for _, x := range v {
			f = append(f, float64(x))
		}
	}
	return gram(ctx, f, k, reg, 0)
}

// FoldInImplicit solves a new user's implicit-ALS factor from the factors
// of the items they interacted with, their values (confidence 1+alpha·|v|,
// preference by sign) and the catalog's Gram matrix: the same least-squares
// step ALS.FoldIn takes, for processes that only hold stored factors.
func FoldInImplicit(g []float64, items [][]float32, values []float64, alpha float64) ([]float32, error) {
	if len(items) == 0 || len(items) != len(values) {
		return nil, errors.New("recommend: fold-in needs one value per item")
	}
	k := len(items[0])
	if len(g) != k*k {
		return nil, fmt.Errorf("recommend: Gram matrix has %d entries, want %d", len(g), k*k)
	}
	y := make([]float64, 0, len(items)*k)
	local := make([]int32, len(items))
	for n, v := range items {
		if len(v) != k {
			return nil, fmt.Errorf("recommend: item %d has %d factors, want %d", n, len(v), k)
		}
		for _, x := range v {
			y = append(y, float64(x))
		}
		local[n] = int32(n)
	}
	x := make([]float64, k)
	newALSWork(k).solve(g, k, y, local, values, alpha, x)
	return toFloat32(x), nil
}
