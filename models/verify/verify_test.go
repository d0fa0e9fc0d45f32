package verify

import (
	"errors"
	"math"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
)

func TestCheckVector(t *testing.T) {
	m := models.Manifest{Dim: 2, Normalize: "l2"}
	tests := []struct {
		name string
		v    []float32
		ok   bool
	}{
		{"unit", []float32{0.6, 0.8}, true},
		{"wrong dimension", []float32{1}, false},
		{"NaN", []float32{float32(math.NaN()), 1}, false},
		{"zero", []float32{0, 0}, false},
		{"not unit", []float32{3, 4}, false},
	}
	for _, tc := range tests {
		if err := CheckVector(m, tc.v); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestTargets(t *testing.T) {
	ms := testenv.Manifests(t)
	got, err := Targets(ms, nil, "models", []string{"glove-100d", "", "glove-100d"})
	if err != nil || len(got) != 1 || got[0].Name != "glove-100d" {
		t.Errorf("configured: %v, %v", got, err)
	}
	if _, err := Targets(ms, []string{"nope"}, "models", nil); !errors.Is(err, extractors.ErrUnknownModel) {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := Targets(ms, nil, "models", []string{""}); !errors.Is(err, ErrNoModel) {
		t.Errorf("nothing configured: %v", err)
	}
}

// TestModel verifies every configured model end to end on its probe input.
func TestModel(t *testing.T) {
	for _, name := range []string{"glove-100d", "mobilenetv2-int8", "speech-embedding"} {
		m := testenv.Manifest(t, name)
		r := Model(t.Context(), testenv.Runtime(t), m, testenv.ModelDir(t), extractors.Options{MaxBatch: 1})
		if r.Err != nil || r.Load <= 0 || r.Encode <= 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
	imgs, _, err := SynthImages()
	if err != nil || len(imgs) != 4 {
		t.Errorf("synthesised images: %d, %v", len(imgs), err)
	}
}
