package extractors_test

import (
	"testing"

	"github.com/vitrinehq/vitrine/vecmath"
)

// cosine is vecmath.Cosine for tests: vectors of different lengths fail
// the test instead of reading as orthogonal.
func cosine(t testing.TB, a, b []float32) float64 {
	t.Helper()
	c, err := vecmath.Cosine(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
