package vecmath

import (
	"errors"
	"math"
	"testing"
)

func TestCosine(t *testing.T) {
	tests := []struct {
		name string
		a, b []float32
		want float64
		err  error
	}{
		{"same direction", []float32{1, 2}, []float32{2, 4}, 1, nil},
		{"opposite", []float32{1, 0}, []float32{-3, 0}, -1, nil},
		{"orthogonal", []float32{1, 0}, []float32{0, 5}, 0, nil},
		{"zero vector", []float32{0, 0}, []float32{1, 1}, 0, nil},
		{"both empty", nil, nil, 0, nil},
		{"length mismatch", []float32{1, 2, 3}, []float32{1, 2}, 0, ErrLengthMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Cosine(tc.a, tc.b)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("Cosine = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDotAndNorm(t *testing.T) {
	d, err := Dot([]float32{1, 2, 3}, []float32{4, 5, 6})
	if err != nil || d != 32 {
		t.Fatalf("Dot = %v, %v; want 32", d, err)
	}
	if _, err := Dot([]float32{1}, nil); !errors.Is(err, ErrLengthMismatch) {
		t.Fatalf("Dot mismatch err = %v", err)
	}
	if n := Norm([]float32{3, 4}); n != 5 {
		t.Fatalf("Norm = %v, want 5", n)
	}
}

func TestNormalize(t *testing.T) {
	v := []float32{3, 4}
	if !Normalize(v) || math.Abs(Norm(v)-1) > 1e-6 || math.Abs(float64(v[0])-0.6) > 1e-6 {
		t.Fatalf("Normalize(3,4) = %v", v)
	}
	z := []float32{0, 0}
	if Normalize(z) || z[0] != 0 || z[1] != 0 {
		t.Fatalf("Normalize(zero) changed or succeeded: %v", z)
	}
	if !IsZero(z) || IsZero(v) {
		t.Fatal("IsZero wrong")
	}
	if Finite([]float32{1, float32(math.Inf(1))}) || !Finite(v) {
		t.Fatal("Finite wrong")
	}
}
