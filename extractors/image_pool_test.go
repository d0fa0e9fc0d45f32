package extractors

import (
	"math"
	"testing"

	"github.com/vitrinehq/vitrine/models"
)

func TestSpatialGeM(t *testing.T) {
	// One image, two channels of a 2×2 map.
	data := []float32{1, 1, 1, 1, 0, 0, 0, 2}
	shape := []int64{1, 2, 2, 2}
	tests := []struct {
		name string
		p    float64
		want []float64
	}{
		{"p=1 is the mean", 1, []float64{1, 0.5}},
		{"default p=3", 0, []float64{1, math.Cbrt(8.0 / 4)}},
		{"large p nears the max", 64, []float64{1, 2 * math.Pow(0.25, 1.0/64)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := models.Manifest{Name: "m", Version: "1", Pooling: models.PoolSpatialGeM, PoolingP: tc.p}
			got, err := spatialGeM(m, shape, data)
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tc.want {
				if math.Abs(float64(got[0][i])-w) > 1e-4 {
					t.Errorf("channel %d = %v, want %v", i, got[0][i], w)
				}
			}
		})
	}
	if _, err := spatialGeM(models.Manifest{}, []int64{1, 2}, data); err == nil {
		t.Error("a [N,D] output pooled spatially: no error")
	}
}

func TestMirrorAndAverage(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6} // two rows of width 3
	dst := make([]float32, len(src))
	mirror(dst, src, 3)
	want := []float32{3, 2, 1, 6, 5, 4}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("mirror = %v, want %v", dst, want)
		}
	}
	avg := averageHalves([][]float32{{1, 2}, {3, 4}, {3, 6}, {5, 8}})
	if len(avg) != 2 || avg[0][0] != 2 || avg[0][1] != 4 || avg[1][0] != 4 || avg[1][1] != 6 {
		t.Errorf("averageHalves = %v", avg)
	}
}
