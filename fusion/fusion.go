// Package fusion combines per-model embeddings of a product into one
// product vector according to a vector space's fusion strategy and weights.
//
// weighted_concat: each model's vector is L2-normalised, scaled by
// sqrt(w_i/W) (W the sum of the weights of the models present) and
// concatenated. The result has unit length, and for two products with the
// same models present,
//
//	cos(fuse(a), fuse(b)) = Σ_i (w_i/W) · cos(a_i, b_i)
//
// so cosine search on the fused vector ranks by the weighted sum of
// per-modality similarities. A missing modality leaves its block zero and
// the remaining weights are renormalised.
//
// weighted_mean: for encoders that share one space (a CLIP pair), the
// normalised vectors are averaged with their weights and renormalised.
//
// A spec may also reduce the fused vectors (Reduction): a PCA fitted at
// backfill on a sample of the full fused vectors projects each one to
// fewer dimensions, so Fuse, Query and Dim are those of the reduced space.
package fusion

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/vitrinehq/vitrine/vecmath"
)

// Strategy names a fusion method.
type Strategy string

// Supported strategies.
const (
	WeightedConcat Strategy = "weighted_concat"
	WeightedMean   Strategy = "weighted_mean"
)

// Component is one model's part in a space.
type Component struct {
	Model    string  `json:"model"` // manifest name@version
	Modality string  `json:"modality"`
	Dim      int     `json:"dim"`
	Weight   float64 `json:"weight"`
}

// Spec is a vector space's definition: stored as the space's spec.
type Spec struct {
	Strategy   Strategy    `json:"strategy"`
	Components []Component `json:"components"`
	// Reduce, when set, reduces the fused vectors to fewer dimensions.
	Reduce *Reduction `json:"reduce,omitempty"`
}

// Errors.
var (
	ErrInvalidSpec = errors.New("invalid fusion spec")
	// ErrNoModality means a product has no usable vector for any component.
	ErrNoModality = errors.New("no usable modality")
)

// Validate checks the spec.
func (s Spec) Validate() error {
	var errs []error
	if s.Strategy != WeightedConcat && s.Strategy != WeightedMean {
		errs = append(errs, fmt.Errorf("%w: strategy %q is not weighted_concat or weighted_mean", ErrInvalidSpec, s.Strategy))
	}
	if len(s.Components) == 0 {
		errs = append(errs, fmt.Errorf("%w: no components", ErrInvalidSpec))
	}
	seen := map[string]bool{}
	for i, c := range s.Components {
		if c.Model == "" || seen[c.Model] {
			errs = append(errs, fmt.Errorf("%w: components[%d].model %q empty or repeated", ErrInvalidSpec, i, c.Model))
		}
		seen[c.Model] = true
		if c.Dim < 1 {
			errs = append(errs, fmt.Errorf("%w: components[%d].dim must be positive", ErrInvalidSpec, i))
		}
		if !(c.Weight > 0) || math.IsInf(c.Weight, 0) {
			errs = append(errs, fmt.Errorf("%w: components[%d].weight must be positive", ErrInvalidSpec, i))
		}
		if s.Strategy == WeightedMean && c.Dim != s.Components[0].Dim {
			errs = append(errs, fmt.Errorf("%w: weighted_mean needs equal dimensions, components[%d] has %d, components[0] %d", ErrInvalidSpec, i, c.Dim, s.Components[0].Dim))
		}
	}
	if s.Reduce != nil {
		errs = append(errs, s.Reduce.validate(s.FullDim())...)
	}
	return errors.Join(errs...)
}

// Dim is the dimension of the space's vectors: the reduced dimension when
// the spec has a reduction, else FullDim.
func (s Spec) Dim() int {
	if s.Reduce != nil {
		return s.Reduce.Dim
	}
	return s.FullDim()
}

// JSON encodes the spec for storage.
func (s Spec) JSON() json.RawMessage {
	b, _ := json.Marshal(s) // plain fields; cannot fail
	return b
}

// ParseSpec decodes and validates a stored spec.
func ParseSpec(b []byte) (Spec, error) {
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return s, s.Validate()
}

// WithWeights returns a copy with weights replaced by model key; models
// not named keep theirs. A reduction is kept but not its fit, which was
// fitted on vectors fused with the old weights: a backfill refits it.
func (s Spec) WithWeights(w map[string]float64) Spec {
	out := s.definition()
	out.Components = slices.Clone(s.Components)
	for i, c := range out.Components {
		if v, ok := w[c.Model]; ok {
			out.Components[i].Weight = v
		}
	}
	return out
}

// Fuse combines vecs (model key -> embedding) into the fused vector. Models
// the spec does not name are ignored; an empty, zero or wrong-sized vector
// counts as missing. ErrNoModality if nothing usable remains. With a
// reduction the full fused vector is projected to the reduced dimension
// and has unit length; ErrNotFitted before the fit.
func (s Spec) Fuse(vecs map[string][]float32) ([]float32, error) {
	full, err := s.fuseFull(vecs)
	if err != nil || s.Reduce == nil {
		return full, err
	}
	return s.project(full)
}

// fuseFull is Fuse before any reduction.
func (s Spec) fuseFull(vecs map[string][]float32) ([]float32, error) {
	var total float64
	present := make([]bool, len(s.Components))
	norms := make([]float64, len(s.Components))
	for i, c := range s.Components {
		v := vecs[c.Model]
		if len(v) != c.Dim {
			continue
		}
		n := vecmath.Norm(v)
		if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
			continue
		}
		present[i], norms[i] = true, n
		total += c.Weight
	}
	if total == 0 {
		return nil, fmt.Errorf("%w: none of %s has a vector", ErrNoModality, s.models())
	}
	out := make([]float32, s.FullDim())
	switch s.Strategy {
	case WeightedMean:
		for i, c := range s.Components {
			if !present[i] {
				continue
			}
			f := c.Weight / total / norms[i]
			for j, x := range vecs[c.Model] {
				out[j] += float32(f * float64(x))
			}
		}
		n := vecmath.Norm(out)
		if n == 0 {
			return nil, fmt.Errorf("%w: vectors cancel out", ErrNoModality)
		}
		for j := range out {
			out[j] = float32(float64(out[j]) / n)
		}
	default:
		off := 0
		for i, c := range s.Components {
			if present[i] {
				f := math.Sqrt(c.Weight/total) / norms[i]
				for j, x := range vecs[c.Model] {
					out[off+j] = float32(f * float64(x))
				}
			}
			off += c.Dim
		}
	}
	return out, nil
}

func (s Spec) models() []string {
	out := make([]string, len(s.Components))
	for i, c := range s.Components {
		out[i] = c.Model
	}
	return out
}

// Query builds a query vector in the fused space from the query's own
// embeddings (for example only a text embedding for a text query). With
// weighted_concat the blocks of absent models stay zero, so the cosine
// against a product is the similarity of the present modalities, weighted.
// With a reduction the query is projected as products are, without the
// sample's mean (reduce.PCA.ProjectUncentred), which keeps that order up to
// what the projection drops.
func (s Spec) Query(vecs map[string][]float32) ([]float32, error) { return s.Fuse(vecs) }

// Reduced is the model and modality of Explain's one part in a reduced
// space.
const Reduced = "reduced"

// Contribution is one component's share of a cosine score.
type Contribution struct {
	Model    string  `json:"model"`
	Modality string  `json:"modality"`
	Score    float64 `json:"score"`
}

// Explain splits cos(a, b) of two fused weighted_concat vectors into the
// per-model dot products of their blocks, which sum to the cosine (fused
// vectors have unit length). For weighted_mean there is one shared block.
// A reduced space's vectors mix every model in every dimension, so there
// the cosine is one part, model and modality "reduced", rather than a
// split that would not be true.
func (s Spec) Explain(a, b []float32) []Contribution {
	if len(a) != s.Dim() || len(b) != s.Dim() {
		return nil
	}
	if s.Reduce != nil {
		return []Contribution{{Model: Reduced, Modality: Reduced, Score: blockDot(a, b)}}
	}
	if s.Strategy == WeightedMean {
		return []Contribution{{Model: "shared", Modality: "shared", Score: blockDot(a, b)}}
	}
	out := make([]Contribution, 0, len(s.Components))
	off := 0
	for _, c := range s.Components {
		out = append(out, Contribution{Model: c.Model, Modality: c.Modality, Score: blockDot(a[off:off+c.Dim], b[off:off+c.Dim])})
		off += c.Dim
	}
	return out
}

// SourceHash identifies the inputs of a fused vector (spec and each
// model's input hash) so an unchanged product is not re-fused. A fitted
// reduction counts by its fingerprint, not its matrix.
func (s Spec) SourceHash(inputHashes map[string][]byte) []byte {
	h := sha256.New()
	h.Write(s.identity())
	keys := make([]string, 0, len(inputHashes))
	for k := range inputHashes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var n [8]byte
	for _, k := range keys {
		binary.LittleEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write([]byte(k))
		h.Write(inputHashes[k])
	}
	return h.Sum(nil)
}

// blockDot is the dot product of two blocks Explain has already checked
// to be of the same length (so vecmath.Dot cannot fail).
func blockDot(a, b []float32) float64 {
	d, _ := vecmath.Dot(a, b)
	return d
}

// Describe is a stored spec in one line: "weighted_concat text@1=0.70
// image@1=0.30", and " pca to 64" for a reduced space, whose stored fit is
// megabytes; a spec that does not parse is shown as is, cut at 200 bytes.
func Describe(raw []byte) string {
	spec, err := ParseSpec(raw)
	if err != nil {
		if len(raw) > 200 {
			return string(raw[:200]) + "…"
		}
		return string(raw)
	}
	desc := string(spec.Strategy)
	for _, c := range spec.Components {
		desc += fmt.Sprintf(" %s=%.2f", c.Model, c.Weight)
	}
	if r := spec.Reduce; r != nil {
		desc += fmt.Sprintf(" %s to %d", r.Method, r.Dim)
	}
	return desc
}

// SameAs reports whether a stored spec (as PostgreSQL returns it: jsonb
// reorders keys and spacing) defines the same space as s. Reductions
// compare by method and dimension, not by fit: a configured spec asking
// for 64 dimensions is the space a backfill fitted to 64 dimensions.
func (s Spec) SameAs(stored []byte) bool {
	other, err := ParseSpec(stored)
	if err != nil {
		return false
	}
	return string(other.definition().JSON()) == string(s.definition().JSON())
}
