package reduce

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// Solver is the eigensolver Fit uses on the sample's covariance.
type Solver int

const (
	// SolverAuto uses SolverTopK when the components asked for plus the
	// oversampling are at most a quarter of the dimension, else
	// SolverFull.
	SolverAuto Solver = iota
	// SolverFull decomposes the whole d×d covariance (gonum's EigenSym,
	// O(d³)).
	SolverFull
	// SolverTopK finds only the top k eigenpairs by randomized subspace
	// iteration (O(d²(k+p)) a step).
	SolverTopK
)

// String names the solver as benchmarks print it.
func (s Solver) String() string {
	switch s {
	case SolverFull:
		return "full"
	case SolverTopK:
		return "topk"
	default:
		return "auto"
	}
}

// Defaults of the top-K solver (Halko, Martinsson and Tropp, "Finding
// structure with randomness", 2011, algorithms 4.4 and 5.3).
const (
	// DefaultOversample is the least p, the extra directions the
	// subspace carries beyond k; without WithOversample p is the larger
	// of it and k/4. The top k converge at the rate of the ratio of the
	// (k+p+1)-th eigenvalue to the k-th, which on slowly decaying
	// spectra such as fused vectors' (about 1/i) is close to 1: with a
	// fixed p of 10, the variance kept fell short of the optimum by
	// 0.9-1.6e-3 at K = 64-256 of 1,380 dimensions, with k/4 by 4e-4.
	DefaultOversample = 10
	// DefaultPowerIterations is q, the multiplications by the covariance
	// after the first: each sharpens the subspace's error by that ratio
	// squared (2 left 2.4e-3 of variance at K = 64, p = 16; 4 left 4e-4).
	DefaultPowerIterations = 4
	// defaultSeed makes fits reproducible: one sample gives one fit.
	defaultSeed = 0x5eed
)

// Option tunes Fit.
type Option func(*fitConfig)

// fitConfig is Fit's settings.
type fitConfig struct {
	solver     Solver
	seed       uint64
	power      int
	oversample int
}

// WithSolver picks the eigensolver (SolverAuto without it).
func WithSolver(s Solver) Option { return func(c *fitConfig) { c.solver = s } }

// WithSeed seeds the top-K solver's random test matrix (a fixed seed
// without it, so a fit is reproducible).
func WithSeed(seed uint64) Option { return func(c *fitConfig) { c.seed = seed } }

// WithPowerIterations sets the top-K solver's power iterations q (at least
// 0; DefaultPowerIterations without it).
func WithPowerIterations(q int) Option { return func(c *fitConfig) { c.power = max(q, 0) } }

// WithOversample sets the top-K solver's extra directions p (at least 0;
// the larger of DefaultOversample and k/4 without it).
func WithOversample(p int) Option { return func(c *fitConfig) { c.oversample = max(p, 0) } }

// autoOversample marks an oversampling left to oversampleFor.
const autoOversample = -1

// newFitConfig applies opts to the defaults.
func newFitConfig(opts []Option) fitConfig {
	c := fitConfig{seed: defaultSeed, power: DefaultPowerIterations, oversample: autoOversample}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// oversampleFor is p for k components.
func (c fitConfig) oversampleFor(k int) int {
	if c.oversample == autoOversample {
		return max(DefaultOversample, k/4)
	}
	return c.oversample
}

// topK reports whether the top-K solver handles k of d dimensions.
func (c fitConfig) topK(k, d int) bool {
	switch c.solver {
	case SolverFull:
		return false
	case SolverTopK:
		return true
	default:
		return 4*(k+c.oversampleFor(k)) <= d
	}
}

// eigenpairs are a symmetric matrix's k largest eigenvalues, strongest
// first, and their unit eigenvectors, the columns of vectors (d×k).
type eigenpairs struct {
	values  []float64
	vectors *mat.Dense
}

// topEigen is the top k eigenpairs of cov by the solver c picks.
func (c fitConfig) topEigen(cov *mat.SymDense, k int) (eigenpairs, error) {
	if c.topK(k, cov.SymmetricDim()) {
		return subspaceEigen(cov, k, c)
	}
	return fullEigen(cov, k)
}

// fullEigen decomposes all of cov (gonum's EigenSym) and keeps the top k.
func fullEigen(cov *mat.SymDense, k int) (eigenpairs, error) {
	var eig mat.EigenSym
	if ok := eig.Factorize(cov, true); !ok {
		return eigenpairs{}, fmt.Errorf("%w: the covariance's eigendecomposition did not converge", ErrBadFit)
	}
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	return strongest(eig.Values(nil), &vecs, nil, k), nil
}

// subspaceEigen is randomized subspace iteration: an orthonormal basis Q
// of C·Ω for a Gaussian d×(k+p) test matrix Ω, refined q times by
// Q ← orth(C·Q), then the Rayleigh–Ritz step: the eigenpairs (θ, u) of the
// small (k+p)×(k+p) matrix QᵀCQ give the eigenvalues θ and eigenvectors
// Q·u. gonum has no truncated symmetric eigensolver, so this is written
// here around its dense products, QR (LAPACK's Geqrf/Orgqr, which give the
// thin Q that mat.QR does not) and EigenSym.
func subspaceEigen(cov *mat.SymDense, k int, cfg fitConfig) (eigenpairs, error) {
	d := cov.SymmetricDim()
	l := min(k+cfg.oversampleFor(k), d)
	// Full storage: gonum's blocked, parallel Dgemm, not its Dsymm.
	c := mat.DenseCopyOf(cov)
	r := rand.New(rand.NewPCG(cfg.seed, uint64(d)<<32|uint64(l)))
	basis := mat.NewDense(d, l, nil)
	for i := range d {
		row := basis.RawRowView(i)
		for j := range row {
			row[j] = r.NormFloat64()
		}
	}
	next := mat.NewDense(d, l, nil)
	for range cfg.power + 1 {
		next.Mul(c, basis)
		orthonormalize(next)
		basis, next = next, basis
	}
	next.Mul(c, basis)
	var small mat.Dense
	small.Mul(basis.T(), next)
	sym := mat.NewSymDense(l, nil)
	for i := range l { // QᵀCQ is symmetric up to rounding: average it
		for j := i; j < l; j++ {
			sym.SetSym(i, j, (small.At(i, j)+small.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	if ok := eig.Factorize(sym, true); !ok {
		return eigenpairs{}, fmt.Errorf("%w: the projected covariance's eigendecomposition did not converge", ErrBadFit)
	}
	var u mat.Dense
	eig.VectorsTo(&u)
	return strongest(eig.Values(nil), &u, basis, k), nil
}

// orthonormalize replaces a's columns (a is d×l, d ≥ l) by an orthonormal
// basis of their span (Householder QR), so repeated products by the
// covariance do not collapse onto its top direction.
func orthonormalize(a *mat.Dense) {
	raw := a.RawMatrix()
	tau := make([]float64, raw.Cols)
	work := []float64{0}
	lapack64.Geqrf(raw, tau, work, -1)
	n := int(work[0])
	lapack64.Orgqr(raw, tau, work, -1)
	work = make([]float64, max(n, int(work[0]), raw.Rows))
	lapack64.Geqrf(raw, tau, work, len(work))
	lapack64.Orgqr(raw, tau, work, len(work))
}

// strongest keeps the k largest of ascending values and their vectors
// (columns of vecs, mapped through basis·vecs when basis is not nil),
// strongest first, each with its largest coordinate positive so a fit does
// not depend on the solver's choice of sign.
func strongest(values []float64, vecs, basis *mat.Dense, k int) eigenpairs {
	n := len(values)
	top := mat.NewDense(vecs.RawMatrix().Rows, k, nil)
	top.Copy(vecs.Slice(0, vecs.RawMatrix().Rows, n-k, n))
	if basis != nil {
		var mapped mat.Dense
		mapped.Mul(basis, top)
		top = &mapped
	}
	d, _ := top.Dims()
	out := eigenpairs{values: make([]float64, k), vectors: mat.NewDense(d, k, nil)}
	for c := range k {
		src := k - 1 - c // ascending: the strongest is last
		out.values[c] = values[n-1-c]
		var big float64
		for j := range d {
			if x := top.At(j, src); math.Abs(x) > math.Abs(big) {
				big = x
			}
		}
		sign := 1.0
		if big < 0 {
			sign = -1
		}
		for j := range d {
			out.vectors.Set(j, c, sign*top.At(j, src))
		}
	}
	return out
}
