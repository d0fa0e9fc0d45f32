// Package vecmath is Vitrine's one contract for vector arithmetic on
// float32 embeddings: dot product, Euclidean norm, cosine similarity and
// normalisation, accumulated in float64; and their compact byte form
// (AppendBytes, FromBytes) where one is stored outside pgvector.
//
// The rules, which every caller can rely on:
//   - Vectors of different lengths are an error (ErrLengthMismatch), never
//     an index panic and never a silently truncated result.
//   - A zero vector (every component 0, or an empty vector) has no
//     direction: its cosine with anything is 0, and Normalize leaves it
//     unchanged and reports false.
//   - NaN or Inf components propagate as IEEE arithmetic dictates; callers
//     that accept vectors from outside validate them at the boundary
//     (Finite).
//
// Hand-written rather than taken from gonum: gonum's float64 BLAS would
// need a copy of every float32 vector per call on the serving path.
package vecmath

import (
	"errors"
	"fmt"
	"math"
)

// ErrLengthMismatch is returned (wrapped) when two vectors differ in length.
var ErrLengthMismatch = errors.New("vector lengths differ")

func sameLen(a, b []float32) error {
	if len(a) != len(b) {
		return fmt.Errorf("%w: %d and %d", ErrLengthMismatch, len(a), len(b))
	}
	return nil
}

// Dot returns the dot product of a and b.
func Dot(a, b []float32) (float64, error) {
	if err := sameLen(a, b); err != nil {
		return 0, err
	}
	return dot(a, b), nil
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// Norm returns the Euclidean (L2) norm of v; 0 for an empty vector.
func Norm(v []float32) float64 { return math.Sqrt(dot(v, v)) }

// Cosine returns the cosine similarity of a and b in [-1, 1]; 0 when either
// is a zero vector.
func Cosine(a, b []float32) (float64, error) {
	if err := sameLen(a, b); err != nil {
		return 0, err
	}
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0, nil
	}
	return ab / math.Sqrt(aa*bb), nil
}

// Normalize scales v in place to unit length and reports whether it could:
// a zero vector is left unchanged and gives false.
func Normalize(v []float32) bool {
	n := Norm(v)
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return false
	}
	inv := 1 / n
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return true
}

// IsZero reports whether every component of v is 0 (true for an empty v).
func IsZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// Finite reports whether every component of v is a finite number.
func Finite(v []float32) bool {
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}
