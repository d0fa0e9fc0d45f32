package recommend

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/vitrinehq/vitrine/ranking"
)

// ALS is implicit-feedback matrix factorisation (Hu, Koren, Volinsky 2008)
// fitted by alternating least squares in which each user's (item's) k×k
// system is not solved exactly but improved by a few conjugate-gradient
// steps from the previous sweep's factor (Takács, Pilászy, Tikk 2011; the
// `implicit` library's default). A CG step costs O(k² + n_u·k) instead of
// the O(k³ + n_u·k²) of a solve, and warm starts make three steps enough.
//
// It minimises Σ_ui c_ui (p_ui − x_u·y_i)² + λ(Σ|x_u|² + Σ|y_i|²) with
// p = [r > 0] and c = 1 + alpha·|r|: a negative r (a poor rating) is a
// confident zero, missing pairs are zeros with confidence 1.
type ALS struct {
	cfg  config
	f    *factorModel
	gram []float64 // YᵀY + λI of the fitted item factors, for FoldIn
}

// NewALS returns an unfitted model. Defaults: 64 factors, λ 0.01, alpha 1,
// 15 iterations, 3 CG steps, seed 1.
func NewALS(opts ...Option) *ALS {
	return &ALS{cfg: newConfig(config{factors: 64, reg: 0.01, alpha: 1, iterations: 15, cgSteps: 3}, opts)}
}

const alsStream = 0x616c73 // PCG stream: ALS's draws differ from BPR's for one seed

// Fit implements Scorer.
func (m *ALS) Fit(ctx context.Context, d *Dataset) error {
	c := m.cfg
	if err := checkFit(ctx, d); err != nil {
		return fitError("als", err)
	}
	if c.factors < 1 || c.reg < 0 || c.alpha < 0 || c.iterations < 0 || c.cgSteps < 0 {
		return fitError("als", fmt.Errorf("factors %d, regularization %v, alpha %v, iterations %d, cg steps %d: %w",
			c.factors, c.reg, c.alpha, c.iterations, c.cgSteps, ErrInvalidOption))
	}
	k := c.factors
	rng := rand.New(rand.NewPCG(c.seed, alsStream))
	// Small random factors: large ones would start CG far from the answer.
	x := randomFactors(rng, d.NumUsers(), k, 0.01)
	y := randomFactors(rng, d.NumItems(), k, 0.01)
	for it := range c.iterations {
		if err := alsSweep(ctx, c, &d.ui, x, y); err != nil {
			return fitError("als", err)
		}
		if err := alsSweep(ctx, c, &d.iu, y, x); err != nil {
			return fitError("als", err)
		}
		c.report(it+1, c.iterations)
	}
	g, err := gram(ctx, y, k, c.reg, c.workers)
	if err != nil {
		return fitError("als", err)
	}
	m.f = (&factorModel{d: d, name: "als", k: k, user: toFloat32(x), item: toFloat32(y)}).finish()
	m.gram = g
	return nil
}

// OnProgress makes Fit call fn(sweeps done, sweeps) after every sweep.
func (m *ALS) OnProgress(fn func(done, total int)) { m.cfg.progress = fn }

// alsSweep updates every row of x (the rows of m) given the fixed y.
func alsSweep(ctx context.Context, c config, m *CSR, x, y []float64) error {
	k := c.factors
	g, err := gram(ctx, y, k, c.reg, c.workers)
	if err != nil {
		return err
	}
	work := make([]*alsWork, c.workers)
	for w := range work {
		work[w] = newALSWork(k)
	}
	return parallelFor(ctx, m.Rows, c.workers, 16, func(w, lo, hi int) {
		s := work[w]
		for r := lo; r < hi; r++ {
			idx, vals := m.Row(r)
			xr := x[r*k : (r+1)*k]
			if c.cgSteps == 0 {
				s.solve(g, k, y, idx, vals, c.alpha, xr)
			} else {
				s.cg(g, k, y, idx, vals, c.alpha, xr, c.cgSteps)
			}
		}
	})
}

// gram returns the full (both triangles) k×k matrix FᵀF + λI of the
// row-major factors f. The rows are split into a fixed number of chunks
// summed in order, so the result does not depend on the workers.
func gram(ctx context.Context, f []float64, k int, reg float64, workers int) ([]float64, error) {
	const chunks = 8
	n := len(f) / k
	parts := make([]mat.Dense, chunks)
	err := parallelFor(ctx, chunks, workers, 1, func(_, lo, _ int) {
		a, b := lo*n/chunks, (lo+1)*n/chunks
		if a == b {
			parts[lo] = *mat.NewDense(k, k, nil)
			return
		}
		fc := mat.NewDense(b-a, k, f[a*k:b*k])
		parts[lo].Mul(fc.T(), fc)
	})
	if err != nil {
		return nil, err
	}
	g := mat.NewDense(k, k, nil)
	for i := range parts {
		g.Add(g, &parts[i])
	}
	for i := range k {
		g.Set(i, i, g.At(i, i)+reg)
	}
	return g.RawMatrix().Data, nil
}

// alsWork is one goroutine's scratch space.
type alsWork struct {
	r, p, ap []float64
	a        *mat.SymDense
	b, sol   *mat.VecDense
	chol     mat.Cholesky
}

func newALSWork(k int) *alsWork {
	return &alsWork{
		r: make([]float64, k), p: make([]float64, k), ap: make([]float64, k),
		a: mat.NewSymDense(k, nil), b: mat.NewVecDense(k, nil), sol: mat.NewVecDense(k, nil),
	}
}

func confidence(v, alpha float64) (c, pref float64) {
	c = 1 + alpha*math.Abs(v)
	if v > 0 {
		pref = 1
	}
	return c, pref
}

// gemv sets dst = g·v for the k×k row-major g.
func gemv(g []float64, k int, v, dst []float64) {
	blas64.Gemv(blas.NoTrans, 1, blas64.General{Rows: k, Cols: k, Stride: k, Data: g},
		blas64.Vector{N: k, Inc: 1, Data: v}, 0, blas64.Vector{N: k, Inc: 1, Data: dst})
}

// cg improves x toward the solution of A x = b with
// A = G + Σ_i (c_i−1) y_i y_iᵀ and b = Σ_i c_i p_i y_i, never forming A:
// A·v is G·v plus one dot and one axpy per event.
func (s *alsWork) cg(g []float64, k int, y []float64, idx []int32, vals []float64, alpha float64, x []float64, steps int) {
	r, p, ap := s.r, s.p, s.ap
	gemv(g, k, x, r)
	floats.Scale(-1, r)
	for n, i := range idx {
		yi := y[int(i)*k : int(i+1)*k]
		c, pref := confidence(vals[n], alpha)
		floats.AddScaled(r, c*pref-(c-1)*floats.Dot(yi, x), yi)
	}
	copy(p, r)
	rs := floats.Dot(r, r)
	const tiny = 1e-20
	for range steps {
		if rs < tiny {
			return
		}
		gemv(g, k, p, ap)
		for n, i := range idx {
			yi := y[int(i)*k : int(i+1)*k]
			c, _ := confidence(vals[n], alpha)
			if c != 1 {
				floats.AddScaled(ap, (c-1)*floats.Dot(yi, p), yi)
			}
		}
		pap := floats.Dot(p, ap)
		if pap <= 0 {
			return // A is positive definite; this is rounding noise
		}
		a := rs / pap
		floats.AddScaled(x, a, p)
		floats.AddScaled(r, -a, ap)
		next := floats.Dot(r, r)
		floats.Scale(next/rs, p)
		floats.Add(p, r)
		rs = next
	}
}

// solve sets x to the exact solution of the system cg approximates.
// If A is numerically singular (λ = 0 and too few events) x is left as is.
func (s *alsWork) solve(g []float64, k int, y []float64, idx []int32, vals []float64, alpha float64, x []float64) {
	raw := s.a.RawSymmetric()
	for i := range k {
		copy(raw.Data[i*raw.Stride+i:i*raw.Stride+k], g[i*k+i:i*k+k])
	}
	b := s.b.RawVector().Data
	clear(b)
	for n, i := range idx {
		yi := y[int(i)*k : int(i+1)*k]
		c, pref := confidence(vals[n], alpha)
		if c != 1 {
			blas64.Syr(c-1, blas64.Vector{N: k, Inc: 1, Data: yi}, raw)
		}
		if pref != 0 {
			floats.AddScaled(b, c, yi)
		}
	}
	if !s.chol.Factorize(s.a) {
		return
	}
	if err := s.chol.SolveVecTo(s.sol, s.b); err != nil {
		return
	}
	copy(x, s.sol.RawVector().Data)
}

// ScoreUser implements Scorer.
func (m *ALS) ScoreUser(u int, dst []float64) { m.f.scoreUser(u, dst) }

// Recommend implements Scorer.
func (m *ALS) Recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	if m.f == nil {
		return nil
	}
	return m.f.recommend(userID, k, exclude)
}

// SimilarItems implements ItemSimilarity: cosine of item factors.
func (m *ALS) SimilarItems(itemID string, k int) []ranking.Result {
	if m.f == nil {
		return nil
	}
	return m.f.similarItems(itemID, k)
}

// Similarity is the cosine of two items' factors, 0 if either is unknown:
// a similarity for MMR.
func (m *ALS) Similarity(a, b string) float64 {
	if m.f == nil {
		return 0
	}
	return m.f.similarity(a, b)
}

// UserFactors implements Factorizer (copies, indexed like the dataset).
func (m *ALS) UserFactors() [][]float32 {
	if m.f == nil {
		return nil
	}
	return export(m.f.user, m.f.k, nil)
}

// ItemFactors implements Factorizer (copies, indexed like the dataset).
func (m *ALS) ItemFactors() [][]float32 {
	if m.f == nil {
		return nil
	}
	return export(m.f.item, m.f.k, nil)
}

// Dataset is the dataset the model was fitted on (nil before Fit).
func (m *ALS) Dataset() *Dataset {
	if m.f == nil {
		return nil
	}
	return m.f.d
}

// FoldIn implements FoldInner: the exact least-squares user factor for
// these events against the fixed item factors, i.e. what a converged
// user sweep would give. Unknown items are ignored; it returns nil when no
// item is known, values do not match items, or the model is not fitted.
func (m *ALS) FoldIn(items []string, values []float64) []float32 {
	if m.f == nil {
		return nil
	}
	idx, vals, ok := foldInputs(m.f.d, items, values)
	if !ok || len(idx) == 0 {
		return nil
	}
	// The user's items' factors, gathered into float64 for the solve.
	k := m.f.k
	y := make([]float64, 0, len(idx)*k)
	local := make([]int32, len(idx))
	for n, i := range idx {
		for _, v := range m.f.row(m.f.item, int(i)) {
			y = append(y, float64(v))
		}
		local[n] = int32(n)
	}
	x := make([]float64, k)
	newALSWork(k).solve(m.gram, k, y, local, vals, m.cfg.alpha, x)
	return toFloat32(x)
}

// ScoreVector implements FoldInner.
func (m *ALS) ScoreVector(user []float32, dst []float64) { m.f.scoreVector(user, dst) }
