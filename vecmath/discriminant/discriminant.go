// Package discriminant learns a linear projection of embeddings from
// labelled examples, so that cosine similarity after it separates the
// labels better than before: the within-class whitening of Radenović,
// Tolias and Chum ("Fine-tuning CNN image retrieval with no human
// annotation", learned whitening Lw) and, on top of it, Fisher's linear
// discriminant (regularised LDA).
//
// Search by photo uses it on a catalog's product views: the shoppers'
// photos of one product vary in light, angle and clutter, and whitening
// by that variation discounts it, while the discriminant keeps only the
// directions along which the products' mean views differ.
//
// Written here because no Go library fits a (shrunk) LDA; the linear
// algebra is gonum's (Cholesky, symmetric eigendecomposition, dense
// products), in float64.
package discriminant

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// ErrTooFew means the examples cannot give a projection: fewer than two
// classes with two or more examples each.
var ErrTooFew = errors.New("discriminant: too few labelled examples")

// Projection maps a vector of the input dimension to its learned
// coordinates (Apply). It is immutable and safe for concurrent use.
type Projection struct {
	mean []float64
	p    *mat.Dense // input dimension × output dimension
	// Classes is how many classes (with two or more examples) it was
	// learned from; Discriminant whether it keeps only their discriminant
	// directions (else it is the whole whitened space).
	Classes      int
	Discriminant bool
}

// Dim is the dimension of Apply's output.
func (p *Projection) Dim() int { _, c := p.p.Dims(); return c }

// InputDim is the dimension of the vectors it projects.
func (p *Projection) InputDim() int { return len(p.mean) }

// Apply returns v's coordinates under the projection (v minus the
// examples' mean, projected), not normalised; nil when v has another
// dimension than the examples.
func (p *Projection) Apply(v []float32) []float32 { return p.ApplyAll([][]float32{v})[0] }

// applyChunk is how many vectors ApplyAll projects in one matrix product.
const applyChunk = 1024

// ApplyAll returns Apply of every vector, computed by blocked matrix
// products (several times faster than one Apply at a time); a vector of
// another dimension gets nil.
func (p *Projection) ApplyAll(vs [][]float32) [][]float32 {
	out := make([][]float32, len(vs))
	d, k := p.p.Dims()
	for start := 0; start < len(vs); start += applyChunk {
		chunk := vs[start:min(start+applyChunk, len(vs))]
		x := mat.NewDense(len(chunk), d, nil)
		for i, v := range chunk {
			if len(v) != d {
				continue
			}
			row := x.RawRowView(i)
			for j, f := range v {
				row[j] = float64(f) - p.mean[j]
			}
		}
		var y mat.Dense
		y.Mul(x, p.p)
		for i, v := range chunk {
			if len(v) != d {
				continue
			}
			res := make([]float32, k)
			for j, f := range y.RawRowView(i) {
				res[j] = float32(f)
			}
			out[start+i] = res
		}
	}
	return out
}

// options are Fit's settings.
type options struct {
	shrinkage    float64
	discriminant bool
	maxExamples  int
}

// Option sets one of Fit's settings.
type Option func(*options)

// WithShrinkage sets λ of the within-class covariance's shrinkage towards
// a multiple of the identity, (1−λ)·S + λ·tr(S)/d·I (default 0.3, chosen
// on development photos; 0 trusts the sample covariance, which is
// singular with fewer examples than dimensions).
func WithShrinkage(l float64) Option { return func(o *options) { o.shrinkage = l } }

// WithDiscriminant keeps only the discriminant directions (at most
// classes − 1 of them) instead of the whole whitened space.
func WithDiscriminant(on bool) Option { return func(o *options) { o.discriminant = on } }

// WithMaxExamples bounds how many examples the covariance is computed
// from (default 8,192): a deterministic subsample keeps every class and
// drops examples evenly, so a large catalog's fit stays seconds.
func WithMaxExamples(n int) Option { return func(o *options) { o.maxExamples = n } }

// Fit learns a projection from vectors and their labels (vecs[i] has
// label labels[i]). Only classes with two or more examples of the first
// example's dimension count; ErrTooFew when fewer than two remain.
func Fit(vecs [][]float32, labels []string, opts ...Option) (*Projection, error) {
	o := options{shrinkage: 0.3, maxExamples: 8192}
	for _, opt := range opts {
		opt(&o)
	}
	if len(vecs) != len(labels) {
		return nil, fmt.Errorf("discriminant: %d vectors and %d labels", len(vecs), len(labels))
	}
	if !(o.shrinkage >= 0 && o.shrinkage <= 1) {
		return nil, fmt.Errorf("discriminant: shrinkage %g is not in [0, 1]", o.shrinkage)
	}
	classes := group(vecs, labels, o.maxExamples)
	if len(classes) < 2 {
		return nil, fmt.Errorf("%w: %d classes with two or more examples", ErrTooFew, len(classes))
	}
	mean, means, within := scatter(classes)
	w, err := whitening(within, o.shrinkage)
	if err != nil {
		return nil, err
	}
	p := &Projection{mean: mean, p: w, Classes: len(classes), Discriminant: o.discriminant}
	if o.discriminant {
		p.p = discriminantOf(w, means, mean)
	}
	return p, nil
}

// group returns the examples of each class with two or more of them, in
// the order of the labels' first appearance, each as float64 rows; with
// more than limit examples in all, every class is thinned evenly (keeping
// at least two).
func group(vecs [][]float32, labels []string, limit int) [][][]float64 {
	if len(vecs) == 0 {
		return nil
	}
	dim := len(vecs[0])
	byLabel := map[string][]int{}
	var order []string
	for i, v := range vecs {
		if len(v) != dim || dim == 0 {
			continue
		}
		if _, ok := byLabel[labels[i]]; !ok {
			order = append(order, labels[i])
		}
		byLabel[labels[i]] = append(byLabel[labels[i]], i)
	}
	total := 0
	for _, l := range order {
		if n := len(byLabel[l]); n >= 2 {
			total += n
		}
	}
	keep := 1.0
	if limit > 0 && total > limit {
		keep = float64(limit) / float64(total)
	}
	var out [][][]float64
	for _, l := range order {
		idx := byLabel[l]
		if len(idx) < 2 {
			continue
		}
		n := min(len(idx), int(max(2, math.Round(keep*float64(len(idx))))))
		rows := make([][]float64, n)
		for k := range n {
			v := vecs[idx[k*len(idx)/n]]
			rows[k] = make([]float64, dim)
			for j, f := range v {
				rows[k][j] = float64(f)
			}
		}
		out = append(out, rows)
	}
	return out
}

// scatter returns the examples' mean, each class's mean and the
// within-class covariance (the examples minus their class's mean).
func scatter(classes [][][]float64) ([]float64, [][]float64, *mat.SymDense) {
	dim := len(classes[0][0])
	n := 0
	for _, c := range classes {
		n += len(c)
	}
	mean := make([]float64, dim)
	means := make([][]float64, len(classes))
	centred := mat.NewDense(n, dim, nil)
	r := 0
	for ci, c := range classes {
		m := make([]float64, dim)
		for _, x := range c {
			for j, f := range x {
				m[j] += f
				mean[j] += f
			}
		}
		for j := range m {
			m[j] /= float64(len(c))
		}
		means[ci] = m
		for _, x := range c {
			row := centred.RawRowView(r)
			for j, f := range x {
				row[j] = f - m[j]
			}
			r++
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	return mean, means, outerParallel(centred, 1/float64(n))
}

// outerParallel returns alpha × XᵀX for the rows of x, summed over row
// blocks computed on up to GOMAXPROCS goroutines: gonum's Dsyrk runs on
// one core, and this product is most of a fit.
func outerParallel(x *mat.Dense, alpha float64) *mat.SymDense {
	n, d := x.Dims()
	workers := max(1, min(runtime.GOMAXPROCS(0), n/256))
	parts := make([]*mat.SymDense, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Go(func() {
			part := mat.NewSymDense(d, nil)
			part.SymOuterK(alpha, x.Slice(lo, hi, 0, d).T())
			parts[w] = part
		})
	}
	wg.Wait()
	sum := parts[0]
	for _, p := range parts[1:] {
		sum.AddSym(sum, p)
	}
	return sum
}

// whitening returns W (d × d) with W·Wᵀ = S⁻¹ for the shrunk covariance
// S: W = L⁻ᵀ of S's Cholesky factor L, so xᵀW has identity within-class
// covariance.
func whitening(within *mat.SymDense, shrinkage float64) (*mat.Dense, error) {
	d := within.SymmetricDim()
	tr := mat.Trace(within) / float64(d)
	if !(tr > 0) {
		return nil, fmt.Errorf("%w: the examples of every class are identical", ErrTooFew)
	}
	for i := range d {
		for j := i; j < d; j++ {
			v := (1 - shrinkage) * within.At(i, j)
			if i == j {
				v += shrinkage * tr
			}
			within.SetSym(i, j, v)
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(within) {
		return nil, fmt.Errorf("discriminant: the within-class covariance is singular; shrink it (WithShrinkage > 0)")
	}
	var l, linv mat.TriDense
	chol.LTo(&l)
	if err := linv.InverseTri(&l); err != nil {
		return nil, fmt.Errorf("discriminant: invert the Cholesky factor: %w", err)
	}
	w := mat.DenseCopyOf(linv.T())
	return w, nil
}

// discriminantOf returns W·B, where B holds the right singular vectors of
// the whitened, centred class means with a non-zero singular value (at
// most classes − 1): the directions along which the classes differ most
// relative to their own spread.
func discriminantOf(w *mat.Dense, means [][]float64, mean []float64) *mat.Dense {
	d, _ := w.Dims()
	c := len(means)
	m := mat.NewDense(c, d, nil)
	for i, mi := range means {
		row := m.RawRowView(i)
		for j, f := range mi {
			row[j] = f - mean[j]
		}
	}
	var mw mat.Dense
	mw.Mul(m, w) // c × d
	var gram mat.SymDense
	gram.SymOuterK(1, &mw) // c × c
	var eig mat.EigenSym
	if !eig.Factorize(&gram, true) {
		return w
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	order := make([]int, c)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(vals[b], vals[a]) })
	tol := vals[order[0]] * 1e-9
	var keep []int
	for _, i := range order[:c-1] {
		if vals[i] > tol {
			keep = append(keep, i)
		}
	}
	if len(keep) == 0 {
		return w
	}
	// B's column k = mwᵀ u_k / σ_k.
	b := mat.NewDense(d, len(keep), nil)
	for k, i := range keep {
		var col mat.VecDense
		col.MulVec(mw.T(), vecs.ColView(i))
		col.ScaleVec(1/math.Sqrt(vals[i]), &col)
		b.SetCol(k, col.RawVector().Data)
	}
	var out mat.Dense
	out.Mul(w, b)
	return &out
}
