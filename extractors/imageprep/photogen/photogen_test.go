package photogen

import (
	"testing"

	"gocv.io/x/gocv"
)

// TestLarge: every standard photo decodes to about 12 megapixels, and the
// rotated one is turned by its EXIF orientation.
func TestLarge(t *testing.T) {
	photos, err := MakeAll("../testdata", Large())
	if err != nil {
		t.Fatal(err)
	}
	for i, spec := range Large() {
		m, err := gocv.IMDecode(photos[i], gocv.IMReadColor)
		if err != nil {
			t.Fatal(err)
		}
		w, h := m.Cols(), m.Rows()
		m.Close()
		t.Logf("%s: %dx%d, %d bytes", spec.Name, w, h, len(photos[i]))
		if px := float64(w*h) / 1e6; px < 11.9 || px > 12.1 {
			t.Errorf("%s: %dx%d is %.2f MP, want 12", spec.Name, w, h, px)
		}
		// OpenCV applies the EXIF orientation: the landscape rocket
		// comes out portrait.
		if portrait := h > w; portrait != (spec.Orientation == 6) {
			t.Errorf("%s: decoded %dx%d, orientation %d not applied as expected", spec.Name, w, h, spec.Orientation)
		}
	}
}
