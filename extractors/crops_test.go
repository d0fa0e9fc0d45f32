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

// TestImageAugmentCrops: under augment: crops (centre) an image's vector
// is the normalised mean of its crops' (the whole image's and its centre's)
// vectors (with flip, of each crop's
// flip-averaged vector), in a batch as alone, and the classification
// head still reads the whole image.
func TestImageAugmentCrops(t *testing.T) {
	photos := [][]byte{read(t, imagePath("rocket.jpg")), read(t, imagePath("chelsea.png"))}
	for _, tc := range []struct {
		base, aug string
		crops     int
	}{
		{"mobilenetv2-int8", "mobilenetv2-int8-crops", imageprep.CropCount},
		{"mobilenetv2-int8-flip", "mobilenetv2-int8-crops-flip", imageprep.CropCount},
		{"mobilenetv2-int8", "mobilenetv2-int8-centre", 2},
		{"mobilenetv2-int8-flip", "mobilenetv2-int8-centre-flip", 2},
	} {
		pair := [2]string{tc.base, tc.aug}
		t.Run(pair[1], func(t *testing.T) {
			base, aug := open(t, pair[0]), open(t, pair[1])
			vecs, errs, err := aug.EncodeBatch(t.Context(), append(photos, []byte("not an image")))
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(errs[2], imageprep.ErrUnsupportedFormat) {
				t.Errorf("garbage input: err %v", errs[2])
			}
			for i, p := range photos {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				crops, err := base.(extractors.CropEncoder).EncodeCrops(t.Context(), p, 0.7)
				if err != nil {
					t.Fatal(err)
				}
				mean := make([]float32, len(crops[0]))
				for _, c := range crops[:tc.crops] {
					for k, x := range c {
						mean[k] += x
					}
				}
				// The crops' vectors were normalised before averaging and
				// the augmented one after: near, not equal.
				if c := cosine(t, vecs[i], mean); c < 0.999 {
					t.Errorf("photo %d: cos(augmented, mean of crops) = %.5f", i, c)
				}
				if c := cosine(t, vecs[i], crops[0]); c > 0.999 {
					t.Errorf("photo %d: augmented vector is the whole photo's (cos %.5f)", i, c)
				}
			}
			logits, err := aug.(extractors.Classifier).Classify(t.Context(), photos[1])
			if err != nil || len(logits) != 1000 {
				t.Fatalf("classify: %d logits, %v", len(logits), err)
			}
		})
	}
}
