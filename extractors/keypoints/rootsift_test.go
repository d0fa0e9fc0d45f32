package keypoints

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// TestRootSIFT: each descriptor becomes the square root of its
// L1-normalised values (unit L2 length, so L2 distance is the Hellinger
// distance), an all-zero descriptor stays zero, and a short encoding is
// refused.
func TestRootSIFT(t *testing.T) {
	desc := make([]byte, 2*DescLen)
	desc[0], desc[1], desc[2] = 1, 3, 0 // sums to 4: √(1/4), √(3/4), 0
	f := Features{Points: make([]Point, 2), Desc: desc}
	root, err := rootSIFT(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(root) != 4*2*DescLen {
		t.Fatalf("%d bytes, want %d", len(root), 4*2*DescLen)
	}
	at := func(i int) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(root[4*i:]))) }
	for i, want := range []float64{0.5, math.Sqrt(0.75), 0} {
		if math.Abs(at(i)-want) > 1e-6 {
			t.Errorf("value %d = %g, want %g", i, at(i), want)
		}
	}
	var norm, second float64
	for i := range DescLen {
		norm += at(i) * at(i)
		second += at(DescLen + i)
	}
	if math.Abs(norm-1) > 1e-6 || second != 0 {
		t.Errorf("first descriptor's squared length %g (want 1), zero descriptor's sum %g (want 0)", norm, second)
	}
	if _, err := rootSIFT(Features{Points: make([]Point, 3), Desc: desc}); !errors.Is(err, ErrBadEncoding) {
		t.Errorf("3 points with 2 descriptors: err %v, want ErrBadEncoding", err)
	}
}
