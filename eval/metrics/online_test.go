package metrics

import (
	"errors"
	"math"
	"testing"
)

// Reference values below were computed by hand from the formulas (and
// checked with Python's statistics.NormalDist):
//
//	Wilson: center = (p + z²/2n) / (1 + z²/n),
//	        half   = z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)
const z95 = 1.9599639845400536

func TestZForConfidence(t *testing.T) {
	for _, tc := range []struct{ conf, want float64 }{
		{0.95, z95}, {0.99, 2.5758293035489004}, {0.90, 1.6448536269514722}, {0.6826894921370859, 1},
	} {
		z, err := ZForConfidence(tc.conf)
		if err != nil || math.Abs(z-tc.want) > 1e-9 {
			t.Errorf("z(%v) = %v, %v; want %v", tc.conf, z, err, tc.want)
		}
	}
	for _, bad := range []float64{0, 1, -0.5, 95, math.NaN()} {
		if _, err := ZForConfidence(bad); !errors.Is(err, ErrConfidence) {
			t.Errorf("z(%v): err %v", bad, err)
		}
	}
}

func TestWilson(t *testing.T) {
	tests := []struct {
		name   string
		k, n   int
		z      float64
		lo, hi float64
	}{
		// 0/10: lo = 0, hi = z²/(n + z²) = 3.841459/13.841459.
		{"0 of 10", 0, 10, z95, 0, 0.2775327999},
		// 5/10: centred on 0.5, half = 1.96·√(0.025 + 0.0096036)/1.3841459.
		{"5 of 10", 5, 10, z95, 0.2365930905, 0.7634069095},
		// 10/10 mirrors 0/10.
		{"10 of 10", 10, 10, z95, 0.7224672001, 1},
		// 81/263 (p = 0.30798): center 0.3107490, half 0.0554605.
		{"81 of 263", 81, 263, z95, 0.2552885199, 0.3662095770},
		{"81 of 263 at 90%", 81, 263, 1.6448536269514722, 0.2633136172, 0.3565663496},
		{"1 of 3", 1, 3, z95, 0.0614919447, 0.7923403992},
		{"no trials", 0, 0, z95, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := Wilson(tc.k, tc.n, tc.z)
			if math.Abs(lo-tc.lo) > 1e-9 || math.Abs(hi-tc.hi) > 1e-9 {
				t.Errorf("Wilson(%d, %d) = [%.10f, %.10f], want [%.10f, %.10f]", tc.k, tc.n, lo, hi, tc.lo, tc.hi)
			}
			if p := float64(tc.k) / float64(max(tc.n, 1)); tc.n > 0 && (p < lo || p > hi) {
				t.Errorf("interval [%v, %v] misses p = %v", lo, hi, p)
			}
		})
	}
}

func TestTwoProportionTest(t *testing.T) {
	tests := []struct {
		name               string
		k1, n1, k2, n2     int
		diff, z, p         float64
		rel                float64
		diffLow, diffHigh  float64
		checkInterval, nan bool
	}{
		// 45/100 vs 30/100: pooled p = 0.375, se = √(0.375·0.625·0.02) =
		// 0.0684653, z = 0.15/0.0684653 = 2.19089, p = erfc(z/√2) = 0.028460.
		{name: "45/100 vs 30/100", k1: 45, n1: 100, k2: 30, n2: 100, diff: 0.15, z: 2.1908902300, p: 0.0284597369, rel: 0.5},
		// Newcombe (1998), Table II, example (a): 56/70 − 48/80, method 10
		// gives [0.0524, 0.3339]; pooled z = 2.65017, p = 0.008045.
		{name: "Newcombe 56/70 vs 48/80", k1: 56, n1: 70, k2: 48, n2: 80, diff: 0.2, z: 2.6501719513, p: 0.0080450814, rel: 1.0 / 3,
			diffLow: 0.0524314724, diffHigh: 0.3338726540, checkInterval: true},
		// 9/10 vs 3/10: pooled p = 0.6, se = √(0.6·0.4·0.2) = 0.2190890,
		// z = 2.738613, p = 0.006170; Wilson 9/10 = [0.5958, 0.9821], 3/10 =
		// [0.1078, 0.6032].
		{name: "9/10 vs 3/10", k1: 9, n1: 10, k2: 3, n2: 10, diff: 0.6, z: 2.7386127875, p: 0.0061698993, rel: 2,
			diffLow: 0.1705227239, diffHigh: 0.8090179735, checkInterval: true},
		{name: "equal", k1: 30, n1: 100, k2: 30, n2: 100, diff: 0, z: 0, p: 1, rel: 0},
		// Nothing happened in either arm: no evidence, p = 1.
		{name: "both zero", k1: 0, n1: 50, k2: 0, n2: 40, diff: 0, z: 0, p: 1, nan: true},
		// A worse variant: negative difference, same p as the mirror image.
		{name: "30/100 vs 45/100", k1: 30, n1: 100, k2: 45, n2: 100, diff: -0.15, z: -2.1908902300, p: 0.0284597369, rel: -1.0 / 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TwoProportionTest(tc.k1, tc.n1, tc.k2, tc.n2, z95)
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
			if !near(got.Diff, tc.diff) || !near(got.Z, tc.z) || !near(got.P, tc.p) {
				t.Errorf("diff %.10f z %.10f p %.10f, want %.10f %.10f %.10f", got.Diff, got.Z, got.P, tc.diff, tc.z, tc.p)
			}
			if tc.nan != math.IsNaN(got.Relative) || (!tc.nan && !near(got.Relative, tc.rel)) {
				t.Errorf("relative %v, want %v", got.Relative, tc.rel)
			}
			if tc.checkInterval && (!near(got.DiffLow, tc.diffLow) || !near(got.DiffHigh, tc.diffHigh)) {
				t.Errorf("interval [%.10f, %.10f], want [%.10f, %.10f]", got.DiffLow, got.DiffHigh, tc.diffLow, tc.diffHigh)
			}
			if got.DiffLow > got.Diff || got.DiffHigh < got.Diff {
				t.Errorf("interval [%v, %v] misses the difference %v", got.DiffLow, got.DiffHigh, got.Diff)
			}
		})
	}
	// An empty arm cannot be compared.
	if got := TwoProportionTest(3, 10, 0, 0, z95); got.P != 1 || !math.IsNaN(got.Relative) {
		t.Errorf("empty control: %+v", got)
	}
}
