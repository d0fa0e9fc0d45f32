package extractors_test

import (
	"bytes"
	"image"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/imageprep/photogen"
)

// largePhotos are the 12-megapixel JPEGs of photogen.Large (upscaled CC0
// photos, one with an EXIF rotation), made from imageprep's test data.
func largePhotos(tb testing.TB) [][]byte {
	tb.Helper()
	photos, err := photogen.MakeAll(imagePath(""), photogen.Large())
	if err != nil {
		tb.Fatal(err)
	}
	return photos
}

// TestLargeJPEGEmbedding: a 12-megapixel JPEG, which the encoder decodes at
// a reduced scale, embeds like its full-scale decode. The reference is the
// photo decoded at full size (EXIF orientation applied), resized by area
// averaging to the manifest's 256-pixel shorter side and handed over as a
// lossless PNG, which the encoder never reduces: exactly what the pipeline
// gave before reduced decoding (cosine 1.00000, checked by hand). The int8
// MobileNetV2 moves visibly under any small change of its input, so the
// bound is calibrated in the test: the same reference re-encoded as a
// JPEG of quality 95, a change every upload goes through, measured
// 0.968-0.985; the reduced decode measured 0.983-0.989 and must do no
// worse than that less 0.01.
func TestLargeJPEGEmbedding(t *testing.T) {
	e := open(t, "mobilenetv2-int8")
	photos := largePhotos(t)
	refs := make([][]byte, 2*len(photos))
	for i, p := range photos {
		refs[i] = fullScaleReference(t, p, 256, gocv.PNGFileExt)
		refs[len(photos)+i] = fullScaleReference(t, p, 256, gocv.JPEGFileExt)
	}
	got := encodeAll(t, e, photos)
	want := encodeAll(t, e, refs)
	for i, spec := range photogen.Large() {
		c, floor := cosine(t, got[i], want[i]), cosine(t, want[len(photos)+i], want[i])
		t.Logf("%s: cosine to the full-scale decode %.5f (its JPEG q95 re-encoding: %.5f)", spec.Name, c, floor)
		if c < floor-0.01 || c < 0.97 {
			t.Errorf("%s: cosine to the full-scale decode %.5f, want >= %.5f and >= 0.97", spec.Name, c, floor-0.01)
		}
	}
	// Different photos stay apart, so the bound above says something.
	if c := cosine(t, got[0], want[1]); c > 0.9 {
		t.Errorf("chelsea and coffee have cosine %.3f: the test cannot tell photos apart", c)
	}
}

func encodeAll(t *testing.T, e extractors.Encoder, inputs [][]byte) [][]float32 {
	t.Helper()
	vecs, errs, err := e.EncodeBatch(t.Context(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
	}
	return vecs
}

// fullScaleReference decodes jpg at full size and resizes its shorter side
// to short pixels (the long side truncated, as imageprep does), encoded as
// ext (PNG: lossless; JPEG: quality 95).
func fullScaleReference(t *testing.T, jpg []byte, short int, ext gocv.FileExt) []byte {
	t.Helper()
	m, err := gocv.IMDecode(jpg, gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	w, h := m.Cols(), m.Rows()
	if w <= h {
		w, h = short, h*short/w
	} else {
		w, h = w*short/h, short
	}
	r := gocv.NewMat()
	defer r.Close()
	gocv.Resize(m, &r, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	buf, err := gocv.IMEncodeWithParams(ext, r, []int{gocv.IMWriteJpegQuality, 95})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}
