package extractors_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// TestEncodeBatchChunksOverlapped: a call larger than MaxBatch, split into
// model batches whose pre-processing overlaps the previous run, gives each
// input the vector (or error) it gets alone and in order, for text and
// images, bad inputs included, with one decoding goroutine per batch, with
// the overlap forced on and off.
func TestEncodeBatchChunksOverlapped(t *testing.T) {
	photos := [][]byte{read(t, imagePath("chelsea.png")), read(t, imagePath("coffee.png")), read(t, imagePath("rocket.jpg"))}
	tests := []struct {
		model  string
		inputs [][]byte
		bad    []int // inputs that must fail with ErrEmptyInput or a decode error
	}{
		{"glove-100d", [][]byte{[]byte("red running shoes"), []byte("  "), []byte("organic whole milk"),
			[]byte("usb c cable"), []byte("coffee beans"), []byte("wireless headphones"), []byte(""),
			[]byte("stainless steel water bottle"), []byte("kids rain jacket"), []byte("desk lamp")}, []int{1, 6}},
		{"mobilenetv2-int8", [][]byte{photos[0], photos[1], []byte("not an image"), photos[2], photos[1], photos[0], photos[2]}, []int{2}},
	}
	for _, tt := range tests {
		for _, overlap := range []extractors.Overlap{extractors.OverlapOn, extractors.OverlapOff} {
			t.Run(fmt.Sprintf("%s/overlap=%d", tt.model, overlap), func(t *testing.T) {
				e, err := extractors.Open(t.Context(), testenv.Runtime(t), testenv.Manifest(t, tt.model), testenv.ModelDir(t),
					extractors.Options{MaxBatch: 3, PrepWorkers: 1, Overlap: overlap})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { e.Close() })
				checkAgainstAlone(t, e, tt.inputs, tt.bad)
			})
		}
	}
}

// checkAgainstAlone encodes inputs in one call and each good one alone:
// the vectors must agree, and the bad inputs must fail.
func checkAgainstAlone(t *testing.T, e extractors.Encoder, inputs [][]byte, badInputs []int) {
	t.Helper()
	vecs, errs, err := e.EncodeBatch(t.Context(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[int]bool{}
	for _, i := range badInputs {
		bad[i] = true
	}
	for i, in := range inputs {
		name := fmt.Sprintf("input %d", i)
		if bad[i] {
			if errs[i] == nil || vecs[i] != nil {
				t.Errorf("%s: got a vector, want an error", name)
			}
			continue
		}
		alone, aloneErrs, err := e.EncodeBatch(t.Context(), [][]byte{in})
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(aloneErrs[0], errs[i]); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c := cosine(t, vecs[i], alone[0]); c < 0.9999 {
			t.Errorf("%s: cosine to its vector alone %.6f, want 1", name, c)
		}
	}
}
