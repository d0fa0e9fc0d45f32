package reduce

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// knownSpectrum is V·diag(values)·Vᵀ for a random orthogonal V, with V.
func knownSpectrum(r *rand.Rand, values []float64) (*mat.SymDense, *mat.Dense) {
	d := len(values)
	g := mat.NewDense(d, d, nil)
	for i := range d {
		for j := range d {
			g.Set(i, j, r.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var v mat.Dense
	qr.QTo(&v)
	var vl mat.Dense
	vl.Apply(func(_, j int, x float64) float64 { return x * values[j] }, &v)
	var full mat.Dense
	full.Mul(&vl, v.T())
	cov := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			cov.SetSym(i, j, (full.At(i, j)+full.At(j, i))/2)
		}
	}
	return cov, &v
}

// spectrum is n eigenvalues, strongest first, from f(i), i from 0.
func spectrum(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// minCosine is the cosine of the largest principal angle between the
// spans of a's and b's (orthonormal) columns: 1 when the spans agree.
func minCosine(t *testing.T, a, b mat.Matrix) float64 {
	t.Helper()
	var m mat.Dense
	m.Mul(a.T(), b)
	var svd mat.SVD
	if !svd.Factorize(&m, mat.SVDNone) {
		t.Fatal("SVD did not converge")
	}
	s := svd.Values(nil)
	return s[len(s)-1]
}

// TestSubspaceEigenKnownSpectrum: on covariances with a known spectrum the
// top-K solver gives the eigenvalues and the top-k subspace of the truth
// and of the full solver. Where the spectrum falls slowly past k (power
// law) only the leading eigenpairs, far from the subspace's edge, are
// tight; every eigenvalue is a Ritz value, never above the true one.
func TestSubspaceEigenKnownSpectrum(t *testing.T) {
	cases := []struct {
		name   string
		values []float64
		k      int
		// the leading head eigenvalues within headTol (relative) and
		// their subspace inside the solver's within angleTol (1 − the
		// cosine of the largest principal angle); all k within allTol
		head                      int
		headTol, allTol, angleTol float64
	}{
		{"geometric 0.9^i", spectrum(200, func(i int) float64 { return math.Pow(0.9, float64(i)) }), 16, 16, 1e-5, 1e-5, 1e-5},
		{"power law 1/(i+1)", spectrum(300, func(i int) float64 { return 1 / float64(i+1) }), 32, 16, 1e-3, 5e-2, 1e-3},
		{"planted 8 + flat noise", spectrum(240, func(i int) float64 { return 0.01 + float64(max(8-i, 0)) }), 8, 8, 1e-9, 1e-9, 1e-9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(c.k)))
			cov, v := knownSpectrum(r, c.values)
			got, err := subspaceEigen(cov, c.k, newFitConfig(nil))
			if err != nil {
				t.Fatal(err)
			}
			full, err := fullEigen(cov, c.k)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range c.values[:c.k] {
				tol := c.allTol
				if i < c.head {
					tol = c.headTol
				}
				if e := math.Abs(got.values[i]-want) / want; e > tol || got.values[i] > want*(1+1e-9) {
					t.Errorf("eigenvalue %d: %.9g, want %.9g (relative error %.2g, tolerance %.0g)", i, got.values[i], want, e, tol)
				}
				if e := math.Abs(full.values[i]-want) / want; e > 1e-9 {
					t.Errorf("full solver's eigenvalue %d: %.9g, want %.9g", i, full.values[i], want)
				}
			}
			truth := v.Slice(0, len(c.values), 0, c.head)
			if cos := minCosine(t, truth, got.vectors); 1-cos > c.angleTol {
				t.Errorf("largest principal angle of the true top %d in the solver's subspace: cosine %.9f", c.head, cos)
			}
			fullHead := full.vectors.Slice(0, len(c.values), 0, c.head)
			if cos := minCosine(t, fullHead, got.vectors); 1-cos > c.angleTol {
				t.Errorf("largest principal angle of the full solver's top %d in the solver's subspace: cosine %.9f", c.head, cos)
			}
			for j := range c.k { // unit vectors
				col := mat.Col(nil, j, got.vectors)
				if n := mat.Norm(mat.NewVecDense(len(col), col), 2); math.Abs(n-1) > 1e-9 {
					t.Errorf("vector %d has norm %f", j, n)
				}
			}
		})
	}
}

// powerLawSample is n vectors of d dimensions whose covariance's spectrum
// decays as 1/(i+1) in a random basis, like real fused vectors (a few
// dozen directions keep most of the variance, a long tail the rest),
// around a common offset.
func powerLawSample(r *rand.Rand, n, d int) [][]float32 {
	_, v := knownSpectrum(r, make([]float64, d))
	z := mat.NewDense(n, d, nil)
	for i := range n {
		for j := range d {
			z.Set(i, j, r.NormFloat64()/math.Sqrt(float64(j+1)))
		}
	}
	var x mat.Dense
	x.Mul(z, v.T())
	offset := make([]float64, d)
	for j := range offset {
		offset[j] = r.NormFloat64()
	}
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, d)
		for j, f := range x.RawRowView(i) {
			out[i][j] = float32(f + offset[j])
		}
	}
	return out
}

// TestFitTopKMatchesFull: Fit with the top-K solver keeps the variance the
// full solver keeps, within 1e-3, on planted and power-law samples, and
// projects the planted vectors onto the same subspace.
func TestFitTopKMatchesFull(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	planted, _ := planted(r, 1500, 160, 8, 0.01)
	power := powerLawSample(r, 1500, 160)
	cases := []struct {
		name   string
		sample [][]float32
		k      int
		span   bool // a clear gap after k: the subspaces must agree too
	}{
		{"planted k=8", planted, 8, true},
		{"power law k=8", power, 8, false},
		{"power law k=24", power, 24, false},
		{"power law k=155 of 160 (the whole space)", power, 155, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			full, err := Fit(c.sample, c.k, WithSolver(SolverFull))
			if err != nil {
				t.Fatal(err)
			}
			top, err := Fit(c.sample, c.k, WithSolver(SolverTopK))
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(full.Explained - top.Explained); d > 1e-3 || !top.Finite() {
				t.Errorf("variance kept: full %.6f, top-K %.6f (finite %v)", full.Explained, top.Explained, top.Finite())
			}
			if top.Explained > full.Explained+1e-9 {
				t.Errorf("top-K keeps %.9f, more than the optimum %.9f", top.Explained, full.Explained)
			}
			if !c.span {
				return
			}
			if cos := minCosine(t, components(full), components(top)); 1-cos > 1e-6 {
				t.Errorf("largest principal angle between the fits: cosine %.9f", cos)
			}
		})
	}
}

// components is p's components as the columns of a d×k matrix.
func components(p *PCA) *mat.Dense {
	m := mat.NewDense(len(p.Mean), len(p.Components), nil)
	for c, w := range p.Components {
		for j, x := range w {
			m.Set(j, c, float64(x))
		}
	}
	return m
}

// TestFitDeterministic: one sample and seed give one fit, bit for bit.
func TestFitDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	sample := powerLawSample(r, 600, 120)
	a, err := Fit(sample, 6, WithSolver(SolverTopK))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(sample, 6, WithSolver(SolverTopK))
	if err != nil {
		t.Fatal(err)
	}
	for c := range a.Components {
		for j := range a.Components[c] {
			if a.Components[c][j] != b.Components[c][j] {
				t.Fatalf("component %d differs at %d: %v, %v", c, j, a.Components[c][j], b.Components[c][j])
			}
		}
	}
	if a.Explained != b.Explained {
		t.Errorf("explained %v, then %v", a.Explained, b.Explained)
	}
}

// TestSolverChoice: SolverAuto takes the top-K solver only when k and its
// oversampling are small against the dimension.
func TestSolverChoice(t *testing.T) {
	cases := []struct {
		opts []Option
		k, d int
		topK bool
	}{
		{nil, 64, 1380, true},
		{nil, 256, 1380, true},
		{nil, 280, 1380, false},
		{nil, 8, 64, false},
		{[]Option{WithSolver(SolverFull)}, 64, 1380, false},
		{[]Option{WithSolver(SolverTopK)}, 60, 64, true},
		{[]Option{WithOversample(0)}, 16, 64, true},
	}
	for _, c := range cases {
		if got := newFitConfig(c.opts).topK(c.k, c.d); got != c.topK {
			t.Errorf("k %d of %d with %d options: top-K %v, want %v", c.k, c.d, len(c.opts), got, c.topK)
		}
	}
}

// cpuSeconds is the process's user + system CPU time so far.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkFit compares the solvers on a fit of fused-vector size: 2,788
// vectors (the grocery photo catalog) of 1,380 dimensions with a
// power-law spectrum, K = 64, 128 and 256; "fit" is the whole Fit
// (covariance included), "eigen" the eigensolver alone on the same
// covariance. Beside the wall time it reports CPU seconds an operation
// (cpu-s/op, the process's user + system time), which a loaded machine
// disturbs less.
func BenchmarkFit(b *testing.B) {
	const n, d = 2788, 1380
	sample := powerLawSample(rand.New(rand.NewPCG(21, 22)), n, d)
	mean := make([]float64, d)
	for _, v := range sample {
		for j, x := range v {
			mean[j] += float64(x) / n
		}
	}
	cov := covariance(sample, mean)
	for _, k := range []int{64, 128, 256} {
		for _, s := range []Solver{SolverFull, SolverTopK} {
			b.Run(fmt.Sprintf("eigen/k=%d/%s", k, s), func(b *testing.B) {
				cfg := newFitConfig([]Option{WithSolver(s)})
				cpu := cpuSeconds(b)
				for b.Loop() {
					if _, err := cfg.topEigen(cov, k); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cpuSeconds(b)-cpu)/float64(b.N), "cpu-s/op")
			})
			b.Run(fmt.Sprintf("fit/k=%d/%s", k, s), func(b *testing.B) {
				cpu := cpuSeconds(b)
				for b.Loop() {
					if _, err := Fit(sample, k, WithSolver(s)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cpuSeconds(b)-cpu)/float64(b.N), "cpu-s/op")
			})
		}
	}
}
