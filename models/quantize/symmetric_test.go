package quantize

import (
	"math"
	"slices"
	"testing"
)

func TestSymmetric(t *testing.T) {
	tests := []struct {
		name       string
		w          []float32 // [2][3]
		perColumn  bool
		qmax       float32
		wantQ      []int8
		wantScales []float32
	}{
		{
			name: "per column, each column's largest value maps to ±qmax",
			w: []float32{
				1.27, -0.5, 0,
				-0.635, 0.25, 0,
			},
			perColumn: true, qmax: 127,
			wantQ:      []int8{127, -127, 0, -64, 64, 0}, // -63.5 and 63.5 round to even
			wantScales: []float32{0.01, 0.5 / 127, 1},    // an all-zero column gets scale 1
		},
		{
			name: "per tensor, one scale from the largest value",
			w: []float32{
				1.27, -0.5, 0,
				-0.635, 0.25, 0,
			},
			perColumn: false, qmax: 127,
			wantQ:      []int8{127, -50, 0, -64, 25, 0},
			wantScales: []float32{0.01},
		},
		{
			name:      "reduced range",
			w:         []float32{0.64, -0.32, 0.01, -0.64, 0.16, 0},
			perColumn: false, qmax: 64,
			wantQ:      []int8{64, -32, 1, -64, 16, 0},
			wantScales: []float32{0.01},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, scales, maxErr := symmetric(tc.w, 2, 3, tc.perColumn, tc.qmax)
			if !slices.Equal(q, tc.wantQ) {
				t.Errorf("q = %v, want %v", q, tc.wantQ)
			}
			if len(scales) != len(tc.wantScales) {
				t.Fatalf("scales %v, want %v", scales, tc.wantScales)
			}
			for i := range scales {
				if math.Abs(float64(scales[i]-tc.wantScales[i])) > 1e-7 {
					t.Errorf("scale %d = %v, want %v", i, scales[i], tc.wantScales[i])
				}
			}
			// No value moves by more than half a step of its scale.
			var half float64
			for _, s := range scales {
				half = max(half, float64(s)/2)
			}
			if maxErr > half+1e-7 {
				t.Errorf("max error %v > half a step %v", maxErr, half)
			}
		})
	}
}
