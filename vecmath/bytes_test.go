package vecmath

import (
	"math"
	"slices"
	"testing"
)

func TestBytesRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    []float32
	}{
		{"empty", []float32{}},
		{"values", []float32{0, -1.5, 3.25e-7, float32(math.Inf(1)), math.MaxFloat32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendBytes([]byte{9}, tt.v)
			if len(b) != 1+4*len(tt.v) || b[0] != 9 {
				t.Fatalf("AppendBytes = %d bytes %v, want the prefix kept and 4 bytes a component", len(b), b)
			}
			got := FromBytes(b[1:])
			if got == nil || !slices.Equal(got, tt.v) {
				t.Fatalf("FromBytes = %v, want %v", got, tt.v)
			}
		})
	}
	if got := FromBytes([]byte{0, 0, 128, 63, 7}); !slices.Equal(got, []float32{1}) {
		t.Fatalf("FromBytes with a trailing partial component = %v, want [1]", got)
	}
}
