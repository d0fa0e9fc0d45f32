package fusion_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/vecmath"
)

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

var concat = fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{
	{Model: "text@1", Modality: "text", Dim: 5, Weight: 0.3},
	{Model: "image@1", Modality: "image", Dim: 7, Weight: 0.5},
	{Model: "audio@1", Modality: "audio", Dim: 3, Weight: 0.2},
}}

// The stated property: cosine of fused vectors equals the weighted sum of
// per-modality cosines, and Explain's parts sum to it.
func TestWeightedConcatCosineProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		a := map[string][]float32{"text@1": randVec(r, 5), "image@1": randVec(r, 7), "audio@1": randVec(r, 3)}
		b := map[string][]float32{"text@1": randVec(r, 5), "image@1": randVec(r, 7), "audio@1": randVec(r, 3)}
		fa, err := concat.Fuse(a)
		if err != nil {
			t.Fatal(err)
		}
		fb, _ := concat.Fuse(b)
		want := 0.0
		for _, c := range concat.Components {
			want += c.Weight * cosine(t, a[c.Model], b[c.Model])
		}
		if got := cosine(t, fa, fb); math.Abs(got-want) > 1e-5 {
			t.Fatalf("trial %d: cos %v, weighted sum %v", trial, got, want)
		}
		sum := 0.0
		for _, p := range concat.Explain(fa, fb) {
			sum += p.Score
		}
		if math.Abs(sum-want) > 1e-5 {
			t.Fatalf("trial %d: explanation sums to %v, want %v", trial, sum, want)
		}
		if n := math.Sqrt(cosine(t, fa, fa) * 1); math.Abs(n-1) > 1e-6 {
			t.Fatalf("fused vector not unit length")
		}
	}
}

func TestMissingModalityRenormalises(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	a := map[string][]float32{"text@1": randVec(r, 5), "image@1": randVec(r, 7)} // no audio
	b := map[string][]float32{"text@1": randVec(r, 5), "image@1": randVec(r, 7), "audio@1": make([]float32, 3)}
	fa, err := concat.Fuse(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := concat.Fuse(b) // zero audio vector counts as missing
	if err != nil {
		t.Fatal(err)
	}
	want := (0.3*cosine(t, a["text@1"], b["text@1"]) + 0.5*cosine(t, a["image@1"], b["image@1"])) / 0.8
	if got := cosine(t, fa, fb); math.Abs(got-want) > 1e-5 {
		t.Errorf("cos %v, want renormalised %v", got, want)
	}
}

func TestFuseErrors(t *testing.T) {
	tests := []struct {
		name string
		vecs map[string][]float32
	}{
		{"nothing", map[string][]float32{}},
		{"wrong sizes", map[string][]float32{"text@1": {1, 2}, "image@1": {1}}},
		{"NaN", map[string][]float32{"text@1": {float32(math.NaN()), 0, 0, 0, 0}}},
		{"unknown model only", map[string][]float32{"other@1": {1, 2, 3}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := concat.Fuse(tc.vecs); !errors.Is(err, fusion.ErrNoModality) {
				t.Errorf("err %v, want ErrNoModality", err)
			}
		})
	}
}

func TestWeightedMean(t *testing.T) {
	s := fusion.Spec{Strategy: fusion.WeightedMean, Components: []fusion.Component{
		{Model: "clip-text@1", Modality: "text", Dim: 4, Weight: 1},
		{Model: "clip-image@1", Modality: "image", Dim: 4, Weight: 3},
	}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Fuse(map[string][]float32{"clip-text@1": {2, 0, 0, 0}, "clip-image@1": {0, 5, 0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	// 0.25*(1,0) + 0.75*(0,1), normalised.
	n := math.Hypot(0.25, 0.75)
	want := []float64{0.25 / n, 0.75 / n, 0, 0}
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-6 {
			t.Fatalf("fused %v, want %v", got, want)
		}
	}
	if s.Dim() != 4 {
		t.Errorf("dim %d", s.Dim())
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		spec fusion.Spec
		ok   bool
	}{
		{"concat", concat, true},
		{"bad strategy", fusion.Spec{Strategy: "sum", Components: concat.Components}, false},
		{"no components", fusion.Spec{Strategy: fusion.WeightedConcat}, false},
		{"zero weight", fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{{Model: "a", Dim: 2}}}, false},
		{"repeated model", fusion.Spec{Strategy: fusion.WeightedConcat, Components: []fusion.Component{{Model: "a", Dim: 2, Weight: 1}, {Model: "a", Dim: 2, Weight: 1}}}, false},
		{"mean with unequal dims", fusion.Spec{Strategy: fusion.WeightedMean, Components: []fusion.Component{{Model: "a", Dim: 2, Weight: 1}, {Model: "b", Dim: 3, Weight: 1}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if (err == nil) != tc.ok {
				t.Errorf("err %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, fusion.ErrInvalidSpec) {
				t.Errorf("err %v is not ErrInvalidSpec", err)
			}
		})
	}
	parsed, err := fusion.ParseSpec(concat.JSON())
	if err != nil || parsed.Dim() != 15 {
		t.Errorf("round trip: %+v %v", parsed, err)
	}
}

func TestSourceHash(t *testing.T) {
	h1 := concat.SourceHash(map[string][]byte{"text@1": {1}, "image@1": {2}})
	h2 := concat.SourceHash(map[string][]byte{"image@1": {2}, "text@1": {1}})
	h3 := concat.SourceHash(map[string][]byte{"text@1": {1}, "image@1": {3}})
	h4 := concat.WithWeights(map[string]float64{"text@1": 0.9}).SourceHash(map[string][]byte{"text@1": {1}, "image@1": {2}})
	if string(h1) != string(h2) {
		t.Error("hash depends on map order")
	}
	if string(h1) == string(h3) || string(h1) == string(h4) {
		t.Error("hash ignores an input or a weight change")
	}
}

func TestSameAsStoredJSONB(t *testing.T) {
	// PostgreSQL's jsonb reorders keys and adds spaces.
	stored := `{"strategy": "weighted_concat", "components": [{"dim": 5, "model": "text@1", "weight": 0.3, "modality": "text"}, {"dim": 7, "model": "image@1", "weight": 0.5, "modality": "image"}, {"dim": 3, "model": "audio@1", "weight": 0.2, "modality": "audio"}]}`
	if !concat.SameAs([]byte(stored)) {
		t.Error("same spec in jsonb form not recognised")
	}
	if concat.WithWeights(map[string]float64{"text@1": 0.4}).SameAs([]byte(stored)) {
		t.Error("different weights taken as the same spec")
	}
	if concat.SameAs([]byte("{")) {
		t.Error("garbage taken as the same spec")
	}
}

// cosine is vecmath.Cosine for vectors a test knows to be of one length.
func cosine(t *testing.T, a, b []float32) float64 {
	t.Helper()
	c, err := vecmath.Cosine(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
