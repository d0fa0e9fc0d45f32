package imageprep

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/vitrinehq/vitrine/models"
)

// FuzzPrepare feeds arbitrary bytes to Prepare. The seed corpus in
// testdata/fuzz/FuzzPrepare holds every small fixture (one file per format
// variant, plus the truncated, corrupt and huge-header ones). Properties:
// no panic or crash (a C++ exception in OpenCV would abort the process);
// every failure wraps exactly one of the input sentinels; every success has
// the right length and only values a pixel can produce.
func FuzzPrepare(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xd9})
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	cfg := models.ImagePrep{ResizeShorter: 32, CropSize: 24, Scale: 1.0 / 255,
		Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.25, 0.25, 0.25}}
	// Small limits keep each run cheap; the limits themselves are under
	// test too, since the fuzzer can write any header.
	p, err := New(cfg, WithMaxPixels(1<<20), WithMaxBytes(1<<20))
	if err != nil {
		f.Fatal(err)
	}
	lo, hi := (0-0.5)/0.25, (1-0.5)/0.25
	sentinels := []error{ErrEmpty, ErrUnsupportedFormat, ErrCorrupt, ErrTooLarge}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := p.Prepare(context.Background(), data, nil)
		if err != nil {
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %q matches %d sentinels, want 1", err, n)
			}
			return
		}
		if len(out) != p.Len() {
			t.Fatalf("len = %d, want %d", len(out), p.Len())
		}
		for i, v := range out {
			if math.IsNaN(float64(v)) || v < float32(lo) || v > float32(hi) {
				t.Fatalf("value %d = %v outside [%v,%v]", i, v, lo, hi)
			}
		}
		if _, err := p.Inspect(data); err != nil {
			t.Fatalf("Prepare succeeded but Inspect fails: %v", err)
		}
	})
}
