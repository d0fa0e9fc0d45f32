// Package reduce owns the optional dimensionality reduction of fused
// product vectors: a PCA projection fitted on a sample of a space's vectors
// (at backfill), and Matryoshka-style truncation for models trained so that
// a prefix of their vector is itself an embedding. Both map a unit vector
// to a shorter unit vector, so cosine search keeps working on the result;
// what they cost in recall is measured against the full vectors (Recall,
// which `vitrine backfill --reduce` prints for a catalog's own vectors;
// `vitrine bench hnsw --reduce` on synthetic ones). It is pure: no storage,
// no models.
//
// The fit needs only the top K eigenvectors of a d×d covariance (K ≪ d
// for fused vectors: 64–256 of 1,380), and gonum has no truncated
// symmetric eigensolver, so the package carries a small one of its own
// (randomized subspace iteration, eigen.go) written around gonum's dense
// products, Householder QR and EigenSym; gonum's full EigenSym remains for
// K close to d.
package reduce

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/vitrinehq/vitrine/vecmath"
)

// ErrBadFit means the sample cannot give the projection asked for.
var ErrBadFit = errors.New("cannot fit the reduction")

// PCA projects vectors onto the top principal directions of the sample it
// was fitted on (Project, ProjectUncentred). Its fields are exported so a
// fitted projection can be stored with the space it serves; its JSON form
// is pcaJSON.
type PCA struct {
	// Mean is the sample's mean, subtracted by Project.
	Mean []float32
	// Components are the principal directions, strongest first, each of
	// the input's dimension and unit length.
	Components [][]float32
	// Explained is the share of the sample's variance the components keep.
	Explained float64
}

// pcaJSON is PCA's stored form: the float32 vectors as base64 of their
// little-endian bytes (a fit is K × the full dimension floats, megabytes
// as JSON numbers, and a space's spec is read back often), exact and about
// 2.5 times smaller than decimal numbers.
type pcaJSON struct {
	Dim        int     `json:"dim"`
	Mean       []byte  `json:"mean"`
	Components []byte  `json:"components"` // row-major, Dim floats each
	Explained  float64 `json:"explained_variance"`
}

// MarshalJSON encodes the fit in its stored form.
func (p PCA) MarshalJSON() ([]byte, error) {
	out := pcaJSON{Dim: len(p.Mean), Mean: vecmath.AppendBytes(nil, p.Mean), Explained: p.Explained}
	for _, c := range p.Components {
		if len(c) != len(p.Mean) {
			return nil, fmt.Errorf("%w: a component of %d dimensions, the mean %d", ErrBadFit, len(c), len(p.Mean))
		}
		out.Components = vecmath.AppendBytes(out.Components, c)
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes the stored form.
func (p *PCA) UnmarshalJSON(b []byte) error {
	var in pcaJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	row := 4 * in.Dim
	if in.Dim < 1 || len(in.Mean) != row || len(in.Components)%row != 0 {
		return fmt.Errorf("%w: stored fit of %d dimensions holds %d mean and %d component bytes", ErrBadFit, in.Dim, len(in.Mean), len(in.Components))
	}
	*p = PCA{Mean: vecmath.FromBytes(in.Mean), Explained: in.Explained, Components: make([][]float32, len(in.Components)/row)}
	for c := range p.Components {
		p.Components[c] = vecmath.FromBytes(in.Components[c*row : (c+1)*row])
	}
	return nil
}

// Fit computes the top k principal directions of sample (at least two
// vectors, all of one dimension, k from 1 to that dimension): the top k
// eigenvectors of the sample's covariance, found by the solver opts pick
// (SolverAuto: the top-K solver when k is small against the dimension,
// gonum's full EigenSym otherwise). The fit is deterministic.
func Fit(sample [][]float32, k int, opts ...Option) (*PCA, error) {
	if len(sample) < 2 {
		return nil, fmt.Errorf("%w: %d vectors in the sample, want at least 2", ErrBadFit, len(sample))
	}
	d := len(sample[0])
	if k < 1 || k > d {
		return nil, fmt.Errorf("%w: %d components of %d dimensions", ErrBadFit, k, d)
	}
	mean := make([]float64, d)
	for i, v := range sample {
		if len(v) != d {
			return nil, fmt.Errorf("%w: vector %d has %d dimensions, the first %d", ErrBadFit, i, len(v), d)
		}
		for j, x := range v {
			mean[j] += float64(x)
		}
	}
	for j := range mean {
		mean[j] /= float64(len(sample))
	}
	cov := covariance(sample, mean)
	eig, err := newFitConfig(opts).topEigen(cov, k)
	if err != nil {
		return nil, err
	}
	p := &PCA{Mean: make([]float32, d), Components: make([][]float32, k)}
	for j, m := range mean {
		p.Mean[j] = float32(m)
	}
	var kept float64
	for c := range k {
		kept += max(eig.values[c], 0)
		p.Components[c] = make([]float32, d)
		for j := range d {
			p.Components[c][j] = float32(eig.vectors.At(j, c))
		}
	}
	// The total variance is the covariance's trace, the sum of all its
	// eigenvalues, which the top-K solver never sees.
	if total := mat.Trace(cov); total > 0 {
		p.Explained = min(kept/total, 1)
	}
	return p, nil
}

// covariance is the d x d covariance of sample around mean.
func covariance(sample [][]float32, mean []float64) *mat.SymDense {
	d := len(mean)
	x := mat.NewDense(len(sample), d, nil)
	for i, v := range sample {
		row := x.RawRowView(i)
		for j, f := range v {
			row[j] = float64(f) - mean[j]
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymOuterK(1/float64(len(sample)-1), x.T())
	return cov
}

// Dim is the dimension of the projected vectors.
func (p *PCA) Dim() int { return len(p.Components) }

// Project maps v (of the fitted dimension) to its unit-length centred
// projection, normalise(W (v - mean)). A vector at the mean projects to
// zero, which has no direction: it is returned as is. Vector spaces use
// ProjectUncentred, which keeps cosine neighbours better.
func (p *PCA) Project(v []float32) ([]float32, error) { return p.project(v, true) }

// ProjectUncentred maps v to normalise(W v), without taking the sample's
// mean off: the projection reduced vector spaces store and query with.
// Fused vectors are unit vectors sharing a large common part (the mean);
// centring removes it and so divides each product by its own distance from
// the mean, which reorders cosine neighbours, while uncentred
//
//	a·b ≈ (W a)·(W b) + the part common to all products
//
// keeps their order up to the variance the projection drops (on the demo
// grocery catalog at 64 of 1,380 dimensions, recall@10 of product queries
// against the full vectors: 0.85 centred, 0.95 uncentred). A text-only
// query, whose image block is zero, also gains no image term -mean·p, as it
// would centred. A vector orthogonal to every component stays zero.
func (p *PCA) ProjectUncentred(v []float32) ([]float32, error) { return p.project(v, false) }

// project is normalise(W (v - mean)) when centred, else normalise(W v).
func (p *PCA) project(v []float32, centred bool) ([]float32, error) {
	if len(v) != len(p.Mean) {
		return nil, fmt.Errorf("project a %d-d vector with a PCA fitted on %d-d vectors: %w", len(v), len(p.Mean), vecmath.ErrLengthMismatch)
	}
	out := make([]float32, len(p.Components))
	for c, w := range p.Components {
		var s float64
		for j, x := range v {
			y := float64(x)
			if centred {
				y -= float64(p.Mean[j])
			}
			s += float64(w[j]) * y
		}
		out[c] = float32(s)
	}
	vecmath.Normalize(out)
	return out, nil
}

// Recall is the recall@k of the uncentred projection (ProjectUncentred, as
// spaces store it) against the full vectors on sample (unit vectors, as
// fused vectors are): for queries members of the
// sample spread evenly over it, the share of each one's k nearest others
// by cosine among the full vectors that are also among its k nearest by
// cosine among the projections (both exact searches, the query itself left
// out). It says what a reduced space costs before it is built.
func Recall(sample [][]float32, p *PCA, queries, k int) (float64, error) {
	if k < 1 || len(sample) < k+1 || queries < 1 {
		return 0, fmt.Errorf("%w: recall@%d over %d vectors", ErrBadFit, k, len(sample))
	}
	proj := make([][]float32, len(sample))
	for i, v := range sample {
		var err error
		if proj[i], err = p.ProjectUncentred(v); err != nil {
			return 0, err
		}
	}
	queries = min(queries, len(sample))
	var hit int
	for q := range queries {
		i := q * len(sample) / queries
		want := nearest(sample, i, k)
		for j := range nearest(proj, i, k) {
			if want[j] {
				hit++
			}
		}
	}
	return float64(hit) / float64(queries*k), nil
}

// nearest is the set of the k vectors of vs with the largest dot product
// with vs[q], q itself left out (ties broken by index).
func nearest(vs [][]float32, q, k int) map[int]bool {
	type hit struct {
		i   int
		dot float64
	}
	top := make([]hit, 0, k+1)
	for i, v := range vs {
		if i == q {
			continue
		}
		d, _ := vecmath.Dot(v, vs[q])
		if len(top) == k && d <= top[k-1].dot {
			continue
		}
		at, _ := slices.BinarySearchFunc(top, d, func(h hit, d float64) int {
			if h.dot >= d { // an equal dot of a lower index stays first
				return -1
			}
			return 1
		})
		top = slices.Insert(top, at, hit{i, d})
		top = top[:min(len(top), k)]
	}
	out := make(map[int]bool, k)
	for _, h := range top {
		out[h.i] = true
	}
	return out
}

// Truncate is Matryoshka-style reduction: the first k dimensions of v,
// renormalised. It suits only models trained for it (their manifest says
// so); for others PCA is the reduction.
func Truncate(v []float32, k int) ([]float32, error) {
	if k < 1 || k > len(v) {
		return nil, fmt.Errorf("truncate a %d-d vector to %d: %w", len(v), k, ErrBadFit)
	}
	out := append([]float32(nil), v[:k]...)
	vecmath.Normalize(out)
	return out, nil
}

// Finite reports whether the fit holds only finite numbers (a sample with
// NaNs gives NaN directions).
func (p *PCA) Finite() bool {
	if math.IsNaN(p.Explained) || !vecmath.Finite(p.Mean) {
		return false
	}
	for _, c := range p.Components {
		if !vecmath.Finite(c) {
			return false
		}
	}
	return true
}
