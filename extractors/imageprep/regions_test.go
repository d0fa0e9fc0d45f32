package imageprep

import (
	"math"
	"slices"
	"testing"
)

// TestPrepareRegionsMatchesPixels crops 224-pixel squares out of a 451x300
// PNG with a resize target of 224, so no resize happens and each tensor
// value must be exactly the normalised value of the region's pixel.
func TestPrepareRegionsMatchesPixels(t *testing.T) {
	b := fixture(t, "chelsea.png") // 451x300
	ref := decodeStd(t, b)
	cfg := imagenet()
	cfg.ResizeShorter = 224
	p := mustNew(t, cfg)
	const s = 224
	w, h := 451.0, 300.0
	tests := []struct {
		name      string
		r         Region
		left, top int
	}{
		{"top-left", Region{W: s / w, H: s / h}, 0, 0},
		{"bottom-right", Region{X: 1 - s/w, Y: 1 - s/h, W: s / w, H: s / h}, 451 - s, 300 - s},
		{"inner", Region{X: 100 / w, Y: 50 / h, W: s / w, H: s / h}, 100, 50},
	}
	regions := make([]Region, len(tests))
	for i, tc := range tests {
		regions[i] = tc.r
	}
	dst := make([]float32, len(regions)*p.Len())
	if err := p.PrepareRegions(t.Context(), b, regions, dst); err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := dst[i*p.Len() : (i+1)*p.Len()]
			for _, pt := range [][2]int{{0, 0}, {s - 1, 0}, {0, s - 1}, {s - 1, s - 1}, {112, 57}} {
				px := ref.RGBAAt(tc.left+pt[0], tc.top+pt[1])
				for c, v := range []uint8{px.R, px.G, px.B} {
					if g, w := at(got, s, true, c, pt[0], pt[1]), norm(cfg, v, c); g != w {
						t.Fatalf("pixel %v channel %d = %v, want %v", pt, c, g, w)
					}
				}
			}
		})
	}
}

// TestPrepareRegionsWholeIsPrepare: the whole region is what Prepare
// writes, for a JPEG decoded at reduced scale as for a PNG.
func TestPrepareRegionsWholeIsPrepare(t *testing.T) {
	for _, f := range []string{"chelsea.png", "rocket.jpg", "astronaut.png"} {
		t.Run(f, func(t *testing.T) {
			p := mustNew(t, imagenet())
			b := fixture(t, f)
			want, err := p.Prepare(t.Context(), b, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, 2*p.Len())
			if err := p.PrepareRegions(t.Context(), b, []Region{Whole(), Whole()}, got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got[:p.Len()], want) || !slices.Equal(got[p.Len():], want) {
				t.Error("whole region differs from Prepare")
			}
		})
	}
}

func TestPrepareRegionsShortBuffer(t *testing.T) {
	p := mustNew(t, imagenet())
	if err := p.PrepareRegions(t.Context(), fixture(t, "small.jpg"), []Region{Whole(), Whole()}, make([]float32, p.Len())); err == nil {
		t.Fatal("a buffer for one region accepted two")
	}
}

func TestCrops(t *testing.T) {
	tests := []struct {
		name  string
		w, h  int
		scale float64
		want  []Region
	}{
		{"square", 100, 100, 0.5, []Region{Whole(), {0.25, 0.25, 0.5, 0.5}, {0, 0, 0.5, 0.5}, {0.5, 0, 0.5, 0.5}, {0, 0.5, 0.5, 0.5}, {0.5, 0.5, 0.5, 0.5}}},
		{"landscape", 200, 100, 0.8, []Region{Whole(), {0.3, 0.1, 0.4, 0.8}, {0, 0, 0.4, 0.8}, {0.6, 0, 0.4, 0.8}, {0, 0.2, 0.4, 0.8}, {0.6, 0.2, 0.4, 0.8}}},
		{"scale out of range is whole", 100, 100, 1.5, []Region{Whole(), Whole(), Whole(), Whole(), Whole(), Whole()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Crops(tc.w, tc.h, tc.scale)
			if len(got) != len(tc.want) {
				t.Fatalf("%d regions, want %d", len(got), len(tc.want))
			}
			for i, r := range got {
				w := tc.want[i]
				if math.Abs(r.X-w.X)+math.Abs(r.Y-w.Y)+math.Abs(r.W-w.W)+math.Abs(r.H-w.H) > 1e-9 {
					t.Errorf("region %d = %+v, want %+v", i, r, w)
				}
			}
		})
	}
}

// TestPrepareCrops: the first crop is the whole image and the second the
// centre square, for a landscape photo.
func TestPrepareCrops(t *testing.T) {
	p := mustNew(t, imagenet())
	b := fixture(t, "rocket.jpg") // 640x427
	got := make([]float32, CropCount*p.Len())
	if err := p.PrepareCrops(t.Context(), b, 0.7, CropCount, got); err != nil {
		t.Fatal(err)
	}
	if err := p.PrepareCrops(t.Context(), b, 0.7, CropCount+1, make([]float32, 7*p.Len())); err == nil {
		t.Error("seven crops accepted")
	}
	want := make([]float32, 2*p.Len())
	if err := p.PrepareRegions(t.Context(), b, Crops(640, 427, 0.7)[:2], want); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[:2*p.Len()], want) {
		t.Error("crops differ from their regions")
	}
	if slices.Equal(got[:p.Len()], got[p.Len():2*p.Len()]) {
		t.Error("the centre crop equals the whole image")
	}
}
