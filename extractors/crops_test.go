package extractors_test

import (
	"errors"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/imageprep"
)

// TestImageEncodeCrops: the first crop is the whole photo (Encode's
// vector), the others are the centre and corners, each normalised and
// different from the whole photo; with flip the whole photo's vector is
// the flip model's Encode too.
func TestImageEncodeCrops(t *testing.T) {
	photo := read(t, imagePath("rocket.jpg"))
	for _, model := range []string{"mobilenetv2-int8", "mobilenetv2-int8-flip"} {
		t.Run(model, func(t *testing.T) {
			e := open(t, model)
			ce, ok := e.(extractors.CropEncoder)
			if !ok {
				t.Fatalf("%T is not a CropEncoder", e)
			}
			vecs, err := ce.EncodeCrops(t.Context(), photo, 0.7)
			if err != nil {
				t.Fatal(err)
			}
			if len(vecs) != imageprep.CropCount {
				t.Fatalf("%d vectors, want %d", len(vecs), imageprep.CropCount)
			}
			whole, err := e.Encode(t.Context(), photo)
			if err != nil {
				t.Fatal(err)
			}
			if c := cosine(t, vecs[0], whole); c < 0.9999 {
				t.Errorf("cos(first crop, whole photo) = %.6f, want 1", c)
			}
			for i, v := range vecs[1:] {
				if n := cosine(t, v, v); n < 0.9999 || n > 1.0001 {
					t.Errorf("crop %d not normalised (%.4f)", i+1, n)
				}
				if c := cosine(t, v, whole); c > 0.999 || c < 0.3 {
					t.Errorf("cos(crop %d, whole) = %.3f: want a different view of the same photo", i+1, c)
				}
			}
			if _, err := ce.EncodeCrops(t.Context(), []byte("not an image"), 0.7); !errors.Is(err, imageprep.ErrUnsupportedFormat) {
				t.Errorf("garbage input: err %v", err)
			}
		})
	}
}
