package onnxgen_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/internal/onnxgen"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
)

// TestPresetSizes holds the presets to the parameter counts Hugging Face
// reports for the models they imitate (pooler included), so the
// benchmarks measure the real amount of work.
func TestPresetSizes(t *testing.T) {
	want := map[string]int64{
		"minilm":    22_713_216,  // sentence-transformers/all-MiniLM-L6-v2
		"bert-base": 109_482_240, // bert-base-uncased
		"vit-b16":   86_389_248,  // google/vit-base-patch16-224-in21k
		// CLIPVisionModelWithProjection / CLIPTextModelWithProjection of
		// openai/clip-vit-base-patch32.
		"clip-b32-vision": 87_456_000 + 768*512,
		"clip-b32-text":   63_165_952 + 512*512,
	}
	for _, p := range onnxgen.Presets() {
		if got := p.Params(); got != want[p.Name] {
			t.Errorf("%s: %d parameters, want %d", p.Name, got, want[p.Name])
		}
	}
}

func TestParsePresets(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"minilm, vit-b16", []string{"minilm", "vit-b16"}, false},
		{"clip-b32,CLIP-B32-text,minilm", []string{"clip-b32-text", "clip-b32-vision", "minilm"}, false},
		{"bert-large", nil, true},
	}
	for _, tc := range tests {
		ps, err := onnxgen.ParsePresets(tc.in)
		var got []string
		for _, p := range ps {
			got = append(got, p.Name)
		}
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("ParsePresets(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil && !errors.Is(err, onnxgen.ErrConfig) {
			t.Errorf("ParsePresets(%q): %v is not ErrConfig", tc.in, err)
		}
	}
}

// TestPresetInstallTiny installs every preset at test scale, reuses the
// cached build on a second call, and encodes through the manifest path
// (models.LoadFile, extractors.Open, EncodeBatch) on the real runtime.
func TestPresetInstallTiny(t *testing.T) {
	root := t.TempDir()
	img, err := os.ReadFile(filepath.Join(testenv.Root(t), "extractors", "imageprep", "testdata", "chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[models.Modality][][]byte{
		models.Text:  {[]byte("red running shoes"), []byte("Organic whole-grain sourdough bread, baked fresh every morning.")},
		models.Image: {img, img},
	}
	for _, full := range onnxgen.Presets() {
		p := full.Tiny()
		t.Run(p.Name, func(t *testing.T) {
			in, err := onnxgen.Install(t.Context(), root, p, 7)
			if err != nil {
				t.Fatal(err)
			}
			if !in.Built || in.Manifest.Name != "gen-"+p.Name || in.Manifest.Family != p.Arch {
				t.Fatalf("first install: built %v, manifest %s family %s", in.Built, in.Manifest.Key(), in.Manifest.Family)
			}
			again, err := onnxgen.Install(t.Context(), root, p, 7)
			if err != nil || again.Built || again.Manifest.Key() != in.Manifest.Key() {
				t.Fatalf("second install: built %v, %s, %v; want the cached build", again.Built, again.Manifest.Key(), err)
			}
			if other, err := onnxgen.Install(t.Context(), root, p, 8); err != nil || !other.Built || other.ModelDir == in.ModelDir {
				t.Fatalf("another seed: built %v in %s, %v; want a new build beside %s", other.Built, other.ModelDir, err, in.ModelDir)
			}
			enc, err := extractors.Open(t.Context(), testenv.Runtime(t), in.Manifest, in.ModelDir, extractors.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			vecs, errs, err := enc.EncodeBatch(t.Context(), inputs[in.Manifest.Modality])
			if err != nil || errors.Join(errs...) != nil {
				t.Fatalf("encode: %v %v", err, errs)
			}
			for i, v := range vecs {
				var norm float64
				for _, x := range v {
					norm += float64(x) * float64(x)
				}
				if len(v) != in.Manifest.Dim || math.Abs(norm-1) > 1e-4 {
					t.Errorf("vector %d: %d dimensions (want %d), norm² %v", i, len(v), in.Manifest.Dim, norm)
				}
			}
		})
	}
}
