package metrics

import (
	"errors"
	"math"
)

// Online metrics are proportions (lists clicked out of lists served, lists
// that led to a purchase): these functions give their confidence
// intervals and compare two of them, as an A/B test report needs.

// ErrConfidence is returned for a confidence level outside (0, 1).
var ErrConfidence = errors.New("confidence must be strictly between 0 and 1")

// ZForConfidence is the two-sided standard normal quantile of a confidence
// level: 1.959964 for 0.95, 2.575829 for 0.99.
func ZForConfidence(confidence float64) (float64, error) {
	if !(confidence > 0 && confidence < 1) {
		return 0, ErrConfidence
	}
	return math.Sqrt2 * math.Erfinv(confidence), nil
}

// Wilson is the Wilson score interval of a proportion of successes out
// of n trials at the two-sided normal quantile z (1.96 for 95%). Unlike
// the textbook p ± z·√(p(1−p)/n) it stays inside [0, 1] and keeps its
// coverage for small n and for proportions near 0 or 1 (0 of 10 gives
// [0, 0.278], not [0, 0]). With n = 0 nothing is known: [0, 1].
func Wilson(successes, n int, z float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	k := min(max(successes, 0), n)
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	center := (p + z2/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	lo, hi = center-half, center+half
	// Exact at the edges (the formula gives them up to rounding).
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return max(lo, 0), min(hi, 1)
}

// ProportionTest compares a variant's proportion with the control's.
type ProportionTest struct {
	// Diff is p_variant − p_control (absolute difference).
	Diff float64
	// DiffLow and DiffHigh are Newcombe's hybrid score interval of Diff
	// (his method 10, built from the two Wilson intervals).
	DiffLow  float64
	DiffHigh float64
	// Relative is Diff / p_control (the lift), NaN when p_control is 0.
	Relative float64
	// Z and P are the pooled two-proportion z statistic and its two-sided
	// p-value (the chance of a difference at least this large if both
	// proportions were equal). P is 1 when there is nothing to compare.
	Z float64
	P float64
}

// TwoProportionTest compares k1 of n1 (the variant) with k2 of n2 (the
// control) by the pooled two-proportion z-test, and bounds the difference
// with Newcombe's interval at quantile z. It assumes independent trials:
// when trials cluster (many lists per user), the p-value is optimistic.
func TwoProportionTest(k1, n1, k2, n2 int, z float64) ProportionTest {
	t := ProportionTest{Relative: math.NaN(), P: 1, DiffLow: -1, DiffHigh: 1}
	if n1 <= 0 || n2 <= 0 {
		return t
	}
	k1, k2 = min(max(k1, 0), n1), min(max(k2, 0), n2)
	p1, p2 := float64(k1)/float64(n1), float64(k2)/float64(n2)
	t.Diff = p1 - p2
	if p2 > 0 {
		t.Relative = t.Diff / p2
	}
	l1, u1 := Wilson(k1, n1, z)
	l2, u2 := Wilson(k2, n2, z)
	t.DiffLow = t.Diff - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2))
	t.DiffHigh = t.Diff + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
	pool := float64(k1+k2) / float64(n1+n2)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		// Both all successes or all failures: identical, no evidence of a
		// difference.
		return t
	}
	t.Z = t.Diff / se
	t.P = math.Erfc(math.Abs(t.Z) / math.Sqrt2)
	return t
}
