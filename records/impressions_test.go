package records

import (
	"slices"
	"testing"
)

// Surfaces lists each surface constant once, in report order.
func TestSurfaces(t *testing.T) {
	want := []string{SurfaceSearch, SurfaceRank, SurfaceRecommendations, SurfaceSimilar, SurfaceImageSearch, SurfaceTogether, SurfaceTrending}
	if got := Surfaces(); !slices.Equal(got, want) {
		t.Errorf("Surfaces() = %v, want %v", got, want)
	}
	// Callers may change the slice they get without changing the next one.
	Surfaces()[0] = "changed"
	if Surfaces()[0] != SurfaceSearch {
		t.Error("Surfaces returns a shared slice")
	}
}
