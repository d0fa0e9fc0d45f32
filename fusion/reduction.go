package fusion

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vitrinehq/vitrine/fusion/reduce"
	"github.com/vitrinehq/vitrine/vecmath"
)

// MethodPCA is the reduction by a PCA fitted on a sample of the space's
// fused vectors (fusion/reduce).
const MethodPCA = "pca"

// ErrNotFitted means a spec asks for a reduction whose projection has not
// been fitted yet, so it cannot fuse vectors (backfill fits it).
var ErrNotFitted = errors.New("the space's reduction is not fitted")

// Reduction is a space's optional dimensionality reduction of its fused
// vectors: the definition (method and dimension) and, once a backfill has
// fitted it, the projection with what the fit measured. It is stored with
// the space's spec; a spec without one stores no "reduce" key, so specs of
// unreduced spaces encode, compare and hash as they always did.
type Reduction struct {
	// Method is MethodPCA.
	Method string `json:"method"`
	// Dim is the dimension of the space's vectors.
	Dim int `json:"dim"`
	// Fingerprint identifies the fitted projection (a hash of PCA's JSON),
	// so source hashes change with the fit without hashing its matrix.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Sample is how many fused vectors the projection was fitted on.
	Sample int `json:"sample,omitempty"`
	// Recall is the recall@10 of the projection against the full vectors
	// on the sample (reduce.Recall).
	Recall float64 `json:"recall_at_10,omitempty"`
	// PCA is the fitted projection; nil until fitted.
	PCA *reduce.PCA `json:"pca,omitempty"`
}

// Reduced returns a copy of s whose vectors are reduced to k dimensions by
// a PCA still to be fitted (WithFit); k ≤ 0 returns s without reduction.
func (s Spec) Reduced(k int) Spec {
	out := s.Full()
	if k > 0 {
		out.Reduce = &Reduction{Method: MethodPCA, Dim: k}
	}
	return out
}

// Full returns a copy of s without its reduction: the spec of the full
// fused vectors a reduction is fitted on.
func (s Spec) Full() Spec {
	return Spec{Strategy: s.Strategy, Components: s.Components}
}

// Fitted reports whether s has a reduction with its projection fitted.
func (s Spec) Fitted() bool { return s.Reduce != nil && s.Reduce.PCA != nil }

// WithFit returns a copy of s (which must ask for a reduction) with the
// fitted projection p, the sample size it was fitted on and its recall@10
// against the full vectors.
func (s Spec) WithFit(p *reduce.PCA, sample int, recall float64) (Spec, error) {
	if s.Reduce == nil {
		return s, fmt.Errorf("%w: a fit for a spec without reduction", ErrInvalidSpec)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return s, fmt.Errorf("%w: encode the fit: %w", ErrInvalidSpec, err)
	}
	sum := sha256.Sum256(b)
	out := s.Full()
	out.Reduce = &Reduction{Method: s.Reduce.Method, Dim: s.Reduce.Dim, Fingerprint: hex.EncodeToString(sum[:]),
		Sample: sample, Recall: recall, PCA: p}
	return out, out.Validate()
}

// FullDim is the dimension of the fused vectors before any reduction.
func (s Spec) FullDim() int {
	if s.Strategy == WeightedMean {
		if len(s.Components) == 0 {
			return 0
		}
		return s.Components[0].Dim
	}
	d := 0
	for _, c := range s.Components {
		d += c.Dim
	}
	return d
}

// validate checks the reduction against the full dimension full.
func (r *Reduction) validate(full int) []error {
	var errs []error
	if r.Method != MethodPCA {
		errs = append(errs, fmt.Errorf("%w: reduce.method %q is not %s", ErrInvalidSpec, r.Method, MethodPCA))
	}
	if r.Dim < 1 || r.Dim >= full {
		errs = append(errs, fmt.Errorf("%w: reduce.dim %d must be from 1 to less than the fused vectors' %d", ErrInvalidSpec, r.Dim, full))
	}
	if p := r.PCA; p != nil {
		ok := len(p.Mean) == full && len(p.Components) == r.Dim && p.Finite()
		for _, c := range p.Components {
			ok = ok && len(c) == full
		}
		if !ok {
			errs = append(errs, fmt.Errorf("%w: reduce.pca is not a finite %d x %d projection", ErrInvalidSpec, r.Dim, full))
		}
	}
	return errs
}

// definition is s with the fit left out: what identifies a space to a
// backfill that resumes it, and to SameAs.
func (s Spec) definition() Spec {
	if s.Reduce == nil {
		return s
	}
	return s.Reduced(s.Reduce.Dim)
}

// identity is what a source hash covers: the spec's JSON with the fitted
// matrix replaced by its fingerprint (the same bytes as JSON when there is
// no reduction).
func (s Spec) identity() []byte {
	if s.Reduce == nil {
		return s.JSON()
	}
	r := *s.Reduce
	r.PCA = nil
	out := s.Full()
	out.Reduce = &r
	return out.JSON()
}

// project maps a full fused vector, a product's or a query's, into a
// reduced space by the uncentred projection (reduce.PCA.ProjectUncentred
// says why). A vector that projects to zero has no direction there.
func (s Spec) project(full []float32) ([]float32, error) {
	if !s.Fitted() {
		return nil, fmt.Errorf("%w: %s to %d dimensions", ErrNotFitted, s.Reduce.Method, s.Reduce.Dim)
	}
	v, err := s.Reduce.PCA.ProjectUncentred(full)
	if err != nil {
		return nil, err
	}
	if vecmath.Norm(v) == 0 {
		return nil, fmt.Errorf("%w: the vector projects to zero in the reduced space", ErrNoModality)
	}
	return v, nil
}
