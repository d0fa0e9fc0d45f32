package recommend

import (
	"context"
	"fmt"
	"math"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/vitrinehq/vitrine/ranking"
)

// EASE is Steck's shallow autoencoder (2019): the item-item weights B
// minimising ‖X − XB‖² + λ‖B‖² with diag(B) = 0, in closed form
// P = (XᵀX + λI)⁻¹, B_ij = −P_ij / P_jj. A user's score for j is
// Σ_i B_ij over the user's items (positive events, as presence).
//
// It is dense in the items: the fit holds about three N×N float64
// matrices (Gram, Cholesky factor, inverse) and keeps B as N×N float32,
// and inverting costs about N³ floating-point operations. So it is
// restricted to the N most popular items (WithMaxItems, default 4,000:
// about 0.4 GB at peak and some tens of seconds on two cores; 20,000
// would need about 10 GB and hours). Items outside the N rank below every
// item inside, by popularity. Whatever WithMaxItems says, N is capped so
// that the fit's matrices stay within easeMaxBytes (about 6,000 items),
// and, when Fit's context has a deadline, so that the inversion's N³
// operations fit in the time left at a conservative easeFlops; a fit
// whose context ends during the inversion returns at once with its error.
type EASE struct {
	cfg   config
	d     *Dataset
	items []int32   // dataset indices of the modelled items
	col   []int32   // dataset index → position in items, or -1
	b     []float32 // B, row-major over items
	floor []float64 // popularity of each dataset item, for the ones outside
	buf   *scratch
}

// NewEASE returns an unfitted model. Defaults: λ 250 (WithRegularization),
// at most 4,000 items.
func NewEASE(opts ...Option) *EASE {
	return &EASE{cfg: newConfig(config{reg: 250, maxItems: 4000}, opts)}
}

// Fit implements Scorer.
func (m *EASE) Fit(ctx context.Context, d *Dataset) error {
	c := m.cfg
	if err := checkFit(ctx, d); err != nil {
		return fitError("ease", err)
	}
	if c.reg <= 0 || c.maxItems < 1 {
		return fitError("ease", fmt.Errorf("λ %v, max items %d: %w", c.reg, c.maxItems, ErrInvalidOption))
	}
	pos := positives(&d.ui)
	iu := transpose(pos)
	pop := make([]float64, d.NumItems())
	for i := range pop {
		pop[i] = float64(iu.Indptr[i+1] - iu.Indptr[i])
	}
	items := TopItems(pop, easeCap(ctx, c.maxItems), func(i int) bool { return pop[i] == 0 })
	n := len(items)
	col := make([]int32, d.NumItems())
	for i := range col {
		col[i] = -1
	}
	kept := make([]int32, n)
	for p, i := range items {
		col[i], kept[p] = int32(p), int32(i)
	}
	g := make([]float64, n*n)
	for u := range pos.Rows {
		if err := ctx.Err(); err != nil && u%1024 == 0 {
			return fitError("ease", err)
		}
		own, _ := pos.Row(u)
		for _, a := range own {
			pa := col[a]
			if pa < 0 {
				continue
			}
			row := g[int(pa)*n:]
			for _, b := range own {
				if pb := col[b]; pb >= 0 {
					row[pb]++
				}
			}
		}
	}
	for p := range n {
		g[p*n+p] += c.reg
	}
	b, err := easeWeightsCtx(ctx, g, n)
	if err != nil {
		return fitError("ease", err)
	}
	m.d, m.items, m.col, m.b, m.floor, m.buf = d, kept, col, b, normalisedPopularity(d), &scratch{}
	return nil
}

// easeMaxBytes bounds EASE's fit: three n×n float64 matrices and B as
// float32 (28·n² bytes) stay below it.
const easeMaxBytes = 1 << 30

// easeFlops is a conservative rate of the inversion (Cholesky and
// inverse, about n³ operations) on one loaded core, for sizing N to a
// deadline.
const easeFlops = 5e8

// easeCap is the most items a fit may model: maxItems, within
// easeMaxBytes, and, under a deadline, within the inversion time left.
func easeCap(ctx context.Context, maxItems int) int {
	n := min(maxItems, int(math.Sqrt(easeMaxBytes/28)))
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl).Seconds()
		n = min(n, max(1, int(math.Cbrt(left*easeFlops))))
	}
	return n
}

// easeWeightsCtx is easeWeights, abandoned when ctx ends first (the
// inversion cannot be interrupted: it finishes in the background and its
// result is dropped).
func easeWeightsCtx(ctx context.Context, g []float64, n int) ([]float32, error) {
	type out struct {
		b   []float32
		err error
	}
	done := make(chan out, 1)
	go func() {
		b, err := easeWeights(g, n)
		done <- out{b, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, r.err
		}
		return r.b, ctx.Err()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// easeWeights inverts the regularised Gram matrix g (n×n, symmetric
// positive definite, overwritten) and returns B = −P/diag(P), diag 0.
func easeWeights(g []float64, n int) ([]float32, error) {
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(n, g)) {
		return nil, fmt.Errorf("gram matrix is not positive definite: %w", ErrInvalidOption)
	}
	var p mat.SymDense
	if err := chol.InverseTo(&p); err != nil {
		return nil, err
	}
	b := make([]float32, n*n)
	for i := range n {
		for j := range n {
			if i != j {
				b[i*n+j] = float32(-p.At(i, j) / p.At(j, j))
			}
		}
	}
	return b, nil
}

// ScoreUser implements Scorer: modelled items by Σ_i B_ij, the others
// below the lowest of them, by popularity.
func (m *EASE) ScoreUser(u int, dst []float64) {
	if len(dst) != m.d.NumItems() {
		panic("recommend: ScoreUser dst length is not NumItems")
	}
	n := len(m.items)
	acc := m.buf.get(n)
	defer m.buf.put(acc)
	clear(acc)
	own, vals := m.d.UserItems(u)
	for k, i := range own {
		p := m.col[i]
		if p < 0 || vals[k] <= 0 {
			continue
		}
		for j, w := range m.b[int(p)*n : int(p+1)*n] {
			acc[j] += float64(w)
		}
	}
	lo := math.Inf(1)
	for _, v := range acc {
		lo = min(lo, v)
	}
	for i := range dst {
		dst[i] = lo - 2 + m.floor[i] // below every modelled item
	}
	for j, i := range m.items {
		dst[i] = acc[j]
	}
}

// Recommend implements Scorer.
func (m *EASE) Recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	if m.d == nil {
		return nil
	}
	u, ok := m.d.UserIndex(userID)
	if !ok {
		return nil
	}
	s := m.buf.get(m.d.NumItems())
	defer m.buf.put(s)
	m.ScoreUser(u, s)
	return results(m.d, "ease", s, u, k, exclude)
}

// SimilarItems implements ItemSimilarity: the largest weights B_ij of
// itemID's row.
func (m *EASE) SimilarItems(itemID string, k int) []ranking.Result {
	if m.d == nil {
		return nil
	}
	i, ok := m.d.ItemIndex(itemID)
	if !ok || m.col[i] < 0 {
		return nil
	}
	n := len(m.items)
	row := make([]float64, n)
	for j, w := range m.b[int(m.col[i])*n : int(m.col[i]+1)*n] {
		row[j] = float64(w)
	}
	var out []ranking.Result
	for _, j := range TopItems(row, k, func(j int) bool { return j == int(m.col[i]) || row[j] <= 0 }) {
		out = append(out, ranking.Result{ProductID: m.d.ItemID(int(m.items[j])), Score: row[j],
			Parts: []ranking.Part{{Name: "ease", Score: row[j]}}})
	}
	return out
}
