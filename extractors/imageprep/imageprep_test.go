package imageprep

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"

	"gocv.io/x/gocv"

	"github.com/vitrinehq/vitrine/models"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*models.ImagePrep)
		opts   []Option
		fields []string // every field that must be named
	}{
		{"zero resize", func(c *models.ImagePrep) { c.ResizeShorter = 0 }, nil, []string{"resize_shorter"}},
		{"crop above resize", func(c *models.ImagePrep) { c.CropSize = 300 }, nil, []string{"crop_size"}},
		{"zero scale", func(c *models.ImagePrep) { c.Scale = 0 }, nil, []string{"scale"}},
		{"NaN scale", func(c *models.ImagePrep) { c.Scale = float32(math.NaN()) }, nil, []string{"scale"}},
		{"two means", func(c *models.ImagePrep) { c.Mean = []float32{1, 2} }, nil, []string{"mean"}},
		{"zero std", func(c *models.ImagePrep) { c.Std = []float32{0.2, 0, 0.2} }, nil, []string{"std"}},
		{"infinite mean", func(c *models.ImagePrep) { c.Mean = []float32{float32(math.Inf(1))} }, nil, []string{"mean"}},
		{"bad color", func(c *models.ImagePrep) { c.Color = "HSV" }, nil, []string{"color"}},
		{"bad layout", func(c *models.ImagePrep) { c.Layout = "CHW" }, nil, []string{"layout"}},
		{"max pixels", nil, []Option{WithMaxPixels(0)}, []string{"max_pixels"}},
		{"max pixels over OpenCV's", nil, []Option{WithMaxPixels(1 << 31)}, []string{"max_pixels"}},
		{"max bytes", nil, []Option{WithMaxBytes(-1)}, []string{"max_bytes"}},
		{"several at once", func(c *models.ImagePrep) { c.Scale, c.Layout = -1, "x" }, nil, []string{"scale", "layout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := imagenet()
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			p, err := New(cfg, tt.opts...)
			if p != nil || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, %v; want ErrInvalidConfig", p, err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%v is not a *ConfigError", err)
			}
			for _, f := range tt.fields {
				if !bytes.Contains([]byte(err.Error()), []byte(f+":")) {
					t.Errorf("error %q does not name field %s", err, f)
				}
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	p := mustNew(t, models.ImagePrep{ResizeShorter: 8, CropSize: 4, Scale: 1})
	if !p.rgb || !p.nchw {
		t.Errorf("empty color/layout: rgb=%v nchw=%v, want RGB NCHW", p.rgb, p.nchw)
	}
	if got := p.lut[1][200]; got != 200 {
		t.Errorf("empty mean/std: lut(200) = %v, want 200", got)
	}
	if got, want := p.Shape(), []int64{1, 3, 4, 4}; !slices.Equal(got, want) {
		t.Errorf("Shape = %v, want %v", got, want)
	}
	nhwc := mustNew(t, models.ImagePrep{ResizeShorter: 8, CropSize: 4, Scale: 1, Layout: "nhwc", Color: "bgr"})
	if got, want := nhwc.Shape(), []int64{1, 4, 4, 3}; !slices.Equal(got, want) || nhwc.rgb {
		t.Errorf("NHWC/BGR: Shape = %v rgb=%v", got, nhwc.rgb)
	}
}

// TestParseHeader checks the hand-written header parsers against decoders:
// the standard library's for PNG and JPEG, OpenCV's for WebP.
func TestParseHeader(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		w, h   int
	}{
		{"chelsea.png", PNG, 451, 300},
		{"coffee.png", PNG, 600, 400},
		{"astronaut.png", PNG, 512, 512},
		{"rocket.jpg", JPEG, 640, 427},
		{"small.jpg", JPEG, 96, 64},
		{"progressive.jpg", JPEG, 120, 80},
		{"gray.png", PNG, 80, 60},
		{"gray16.png", PNG, 40, 30},
		{"alpha.png", PNG, 64, 64},
		{"small.webp", WebP, 96, 64},
		{"small_lossless.webp", WebP, 96, 64},
		{"alpha.webp", WebP, 64, 64},
		{"huge.png", PNG, 20000, 20000},
		{"huge.jpg", JPEG, 60000, 60000},
		{"huge.webp", WebP, 16384, 16384},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := fixture(t, tt.file)
			h, err := ParseHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			if h != (Header{tt.format, tt.w, tt.h}) {
				t.Fatalf("ParseHeader = %+v, want %s %dx%d", h, tt.format, tt.w, tt.h)
			}
			if bytes.HasPrefix([]byte(tt.file), []byte("huge")) {
				return // header-only files: nothing to decode
			}
			var w, hh int
			if tt.format == WebP {
				m, err := gocv.IMDecode(b, gocv.IMReadUnchanged)
				if err != nil || m.Empty() {
					t.Fatalf("OpenCV cannot decode %s: %v", tt.file, err)
				}
				w, hh = m.Cols(), m.Rows()
				m.Close()
			} else {
				cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
				if err != nil {
					t.Fatal(err)
				}
				w, hh = cfg.Width, cfg.Height
			}
			if w != h.Width || hh != h.Height {
				t.Errorf("decoder says %dx%d, header parser %dx%d", w, hh, h.Width, h.Height)
			}
		})
	}
}

func TestPrepareShapeAndRange(t *testing.T) {
	files := []string{"chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "small.jpg", "progressive.jpg",
		"gray.png", "gray16.png", "alpha.png", "small.webp", "small_lossless.webp", "alpha.webp"}
	for _, layout := range []string{"NCHW", "NHWC"} {
		for _, f := range files {
			t.Run(layout+"/"+f, func(t *testing.T) {
				cfg := imagenet()
				cfg.Layout = layout
				p := mustNew(t, cfg)
				got, err := p.Prepare(t.Context(), fixture(t, f), nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 3*224*224 || len(got) != p.Len() {
					t.Fatalf("len = %d, want %d", len(got), 3*224*224)
				}
				finiteInRange(t, f, got, cfg)
				// A photo uses most of the range; a constant tensor would
				// mean the pixels never reached the output.
				if lo, hi := slices.Min(got), slices.Max(got); hi-lo < 1 {
					t.Errorf("values span only [%v, %v]", lo, hi)
				}
			})
		}
	}
}

// TestPrepareMatchesDecodedPixels uses a crop with no resize, so each
// tensor value must be exactly the normalised value of one pixel that the
// standard library's PNG decoder gives.
func TestPrepareMatchesDecodedPixels(t *testing.T) {
	b := fixture(t, "chelsea.png") // 451x300
	ref := decodeStd(t, b)
	// torchvision: left = round((451-224)/2) = round(113.5) = 114 (half to
	// even), top = (300-224)/2 = 38.
	const left, top, s = 114, 38, 224
	for _, color := range []string{"RGB", "BGR"} {
		for _, layout := range []string{"NCHW", "NHWC"} {
			t.Run(color+"/"+layout, func(t *testing.T) {
				cfg := imagenet()
				cfg.ResizeShorter, cfg.Color, cfg.Layout = 300, color, layout
				got, err := mustNew(t, cfg).Prepare(t.Context(), b, nil)
				if err != nil {
					t.Fatal(err)
				}
				nchw := layout == "NCHW"
				for y := range s {
					for x := range s {
						px := ref.RGBAAt(left+x, top+y)
						want := [3]uint8{px.R, px.G, px.B}
						if color == "BGR" {
							want = [3]uint8{px.B, px.G, px.R}
						}
						for c := range 3 {
							if g, w := at(got, s, nchw, c, x, y), norm(cfg, want[c], c); g != w {
								t.Fatalf("pixel (%d,%d) channel %d = %v, want %v", x, y, c, g, w)
							}
						}
					}
				}
				// The centre pixel spelled out, as a reader would check it.
				px := ref.RGBAAt(left+112, top+112)
				if color == "RGB" {
					if g, w := at(got, s, nchw, 0, 112, 112), (float32(px.R)/255-0.485)/0.229; math.Abs(float64(g-w)) > 1e-6 {
						t.Errorf("centre red = %v, want %v", g, w)
					}
				}
			})
		}
	}
}

// TestPrepareJPEGCentre compares against the standard library's JPEG
// decoder, whose IDCT differs from libjpeg-turbo's by a few levels.
func TestPrepareJPEGCentre(t *testing.T) {
	b := fixture(t, "rocket.jpg") // 640x427
	ref := decodeStd(t, b)
	cfg := imagenet()
	cfg.ResizeShorter = 427
	got, err := mustNew(t, cfg).Prepare(t.Context(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	left, top := centreOffset(640, 224), centreOffset(427, 224) // 208, 102 (101.5 to even)
	if left != 208 || top != 102 {
		t.Fatalf("centreOffset = %d,%d, want 208,102", left, top)
	}
	px := ref.RGBAAt(left+112, top+112)
	for c, v := range []uint8{px.R, px.G, px.B} {
		g, w := at(got, 224, true, c, 112, 112), norm(cfg, v, c)
		if tol := 4 / 255.0 / cfg.Std[c]; math.Abs(float64(g-w)) > float64(tol) {
			t.Errorf("channel %d = %v, want %v ± %v", c, g, w, tol)
		}
	}
}

// TestResizePreservesMeans: area resizing is an average, so the mean of each
// channel over the crop must match the mean over the same region of the
// original picture.
func TestResizePreservesMeans(t *testing.T) {
	b := fixture(t, "chelsea.png") // 451x300 -> 384x256, crop 224 at (80,16)
	ref := decodeStd(t, b)
	cfg := imagenet()
	got, err := mustNew(t, cfg).Prepare(t.Context(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := 300.0 / 256
	x0, x1 := int(math.Round(80*f)), int(math.Round((80+224)*f))
	y0, y1 := int(math.Round(16*f)), int(math.Round((16+224)*f))
	for c := range 3 {
		var want float64
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				px := ref.RGBAAt(x, y)
				want += float64([3]uint8{px.R, px.G, px.B}[c])
			}
		}
		want /= float64((x1 - x0) * (y1 - y0))
		var sum float64
		for _, v := range got[c*224*224 : (c+1)*224*224] {
			sum += float64(v*cfg.Std[c]+cfg.Mean[c]) * 255
		}
		if mean := sum / (224 * 224); math.Abs(mean-want) > 1.5 {
			t.Errorf("channel %d mean %.2f, original region %.2f", c, mean, want)
		}
	}
}

// TestMirror: preparing a mirrored photo gives the mirrored tensor. coffee
// is 600x400, so both crop margins are even and the crop is symmetric.
func TestMirror(t *testing.T) {
	b := fixture(t, "coffee.png")
	mb := encodePNG(t, mirror(decodeStd(t, b)))
	for _, tt := range []struct {
		resize int
		tol    float64
	}{{400, 0}, {256, 1e-5}} {
		cfg := imagenet()
		cfg.ResizeShorter = tt.resize
		p := mustNew(t, cfg)
		a, err := p.Prepare(t.Context(), b, nil)
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.Prepare(t.Context(), mb, nil)
		if err != nil {
			t.Fatal(err)
		}
		var worst float64
		for c := range 3 {
			for y := range 224 {
				for x := range 224 {
					worst = max(worst, math.Abs(float64(at(a, 224, true, c, x, y)-at(m, 224, true, c, 223-x, y))))
				}
			}
		}
		// Without resizing it must be exact; OpenCV's area filter could
		// round a mirrored row differently in the last bit.
		if worst > tt.tol {
			t.Errorf("resize %d: mirrored tensor differs by up to %v", tt.resize, worst)
		}
	}
}

func TestGrayscale(t *testing.T) {
	cfg := imagenet()
	cfg.ResizeShorter, cfg.CropSize = 60, 60 // 80x60: crop at x=10
	got, err := mustNew(t, cfg).Prepare(t.Context(), fixture(t, "gray.png"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for y := range 60 {
		for x := range 60 {
			g := uint8((x+10)*3 + y*2) // the generator's gradient
			for c := range 3 {
				if v, w := at(got, 60, true, c, x, y), norm(cfg, g, c); v != w {
					t.Fatalf("(%d,%d) channel %d = %v, want %v", x, y, c, v, w)
				}
			}
		}
	}

	// 16-bit grey: 40x30, crop 30 at x=5; centre sample 20*1500+15*100 =
	// 31500, which is 122.57 in 8 bits and rounds to 123.
	cfg.ResizeShorter, cfg.CropSize = 30, 30
	got, err = mustNew(t, cfg).Prepare(t.Context(), fixture(t, "gray16.png"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for c := range 3 {
		if v, w := at(got, 30, true, c, 15, 15), norm(cfg, 123, c); v != w {
			t.Errorf("16-bit centre channel %d = %v, want %v", c, v, w)
		}
	}
}

// TestAlphaComposited: alpha.png is opaque red, then blue at alpha 128,
// then transparent green; over white the green must vanish.
func TestAlphaComposited(t *testing.T) {
	cfg := models.ImagePrep{ResizeShorter: 64, CropSize: 64, Scale: 1.0 / 255}
	// (0*128 + 255*127 + 127) / 255 = 127 for the half-covered channels.
	const half = 127.0 / 255
	tests := []struct {
		file string
		bg   color.RGBA
		want map[int][3]float32 // column -> RGB
		tol  float32
	}{
		{"alpha.png", color.RGBA{255, 255, 255, 255}, map[int][3]float32{5: {1, 0, 0}, 30: {half, half, 1}, 50: {1, 1, 1}}, 0},
		{"alpha.png", color.RGBA{0, 0, 0, 255}, map[int][3]float32{5: {1, 0, 0}, 30: {0, 0, 128.0 / 255}, 50: {0, 0, 0}}, 0},
		// Lossy WebP: colours are approximate, but transparency must hold.
		{"alpha.webp", color.RGBA{255, 255, 255, 255}, map[int][3]float32{5: {1, 0, 0}, 50: {1, 1, 1}}, 0.1},
	}
	for _, tt := range tests {
		got, err := mustNew(t, cfg, WithBackground(tt.bg)).Prepare(t.Context(), fixture(t, tt.file), nil)
		if err != nil {
			t.Fatal(err)
		}
		for x, rgb := range tt.want {
			for c := range 3 {
				if v := at(got, 64, true, c, x, 32); math.Abs(float64(v-rgb[c])) > float64(tt.tol)+1e-6 {
					t.Errorf("%s over %v: column %d channel %d = %v, want %v", tt.file, tt.bg, x, c, v, rgb[c])
				}
			}
		}
	}
}

// TestEXIFOrientation: a JPEG marked "rotate 90° clockwise" is prepared as
// it is displayed.
func TestEXIFOrientation(t *testing.T) {
	b := fixture(t, "small.jpg") // 96x64
	rotated := withEXIFOrientation(b, 6)
	h, err := ParseHeader(rotated)
	if err != nil || h.Width != 96 || h.Height != 64 {
		t.Fatalf("ParseHeader = %+v, %v", h, err)
	}
	cfg := imagenet()
	cfg.ResizeShorter, cfg.CropSize = 64, 64
	p := mustNew(t, cfg)
	got, err := p.Prepare(t.Context(), rotated, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.Prepare(t.Context(), encodePNG(t, rotateCW(decodeStd(t, b))), nil)
	if err != nil {
		t.Fatal(err)
	}
	var diff float64
	for i := range got {
		diff += math.Abs(float64(got[i] - want[i]))
	}
	// Two JPEG decoders: allow a few levels on average, far below what a
	// wrong orientation gives (checked below).
	t.Logf("mean abs difference: rotated %v", diff/float64(len(got)))
	if mean := diff / float64(len(got)); mean > 0.05 {
		t.Errorf("mean abs difference to the rotated reference = %v", mean)
	}
	unrotated, err := p.Prepare(t.Context(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	diff = 0
	for i := range got {
		diff += math.Abs(float64(unrotated[i] - want[i]))
	}
	if mean := diff / float64(len(got)); mean < 0.2 {
		t.Errorf("unrotated image is as close (%v) as the rotated one: test cannot tell", mean)
	}
}

func TestBadInputs(t *testing.T) {
	sentinels := []error{ErrEmpty, ErrUnsupportedFormat, ErrCorrupt, ErrTooLarge}
	small := fixture(t, "small.webp")
	badCRC := pngHeaderOnly(10, 10)
	badCRC[29] ^= 1
	lossless := bytes.Clone(fixture(t, "huge.jpg"))
	lossless[3] = 0xc3 // SOF3
	animated := bytes.Clone(fixture(t, "huge.webp"))
	animated[20] |= 0x02
	tests := []struct {
		name string
		data []byte
		opts []Option
		want error
	}{
		{"empty", nil, nil, ErrEmpty},
		{"gif", fixture(t, "tiny.gif"), nil, ErrUnsupportedFormat},
		{"text", []byte("hello, this is not an image"), nil, ErrUnsupportedFormat},
		{"bmp", []byte("BM\x00\x00\x00\x00"), nil, ErrUnsupportedFormat},
		{"lossless jpeg", lossless, nil, ErrUnsupportedFormat},
		{"animated webp", animated, nil, ErrUnsupportedFormat},
		{"png signature cut", []byte("\x89PN"), nil, ErrCorrupt},
		{"png header cut", fixture(t, "alpha.png")[:20], nil, ErrCorrupt},
		{"png bad IHDR CRC", badCRC, nil, ErrCorrupt},
		{"truncated png", fixture(t, "truncated.png"), nil, ErrCorrupt},
		{"corrupt png data", fixture(t, "corrupt.png"), nil, ErrCorrupt},
		{"truncated jpeg", fixture(t, "truncated.jpg"), nil, ErrCorrupt},
		{"jpeg without EOI", fixture(t, "small.jpg")[:len(fixture(t, "small.jpg"))-2], nil, ErrCorrupt},
		{"jpeg SOI only", []byte{0xff, 0xd8, 0xff}, nil, ErrCorrupt},
		{"truncated webp", small[:len(small)/2], nil, ErrCorrupt},
		{"webp riff only", []byte("RIFF\x10\x00\x00\x00WEBP"), nil, ErrCorrupt},
		{"huge png", fixture(t, "huge.png"), nil, ErrTooLarge},
		{"huge jpeg", fixture(t, "huge.jpg"), nil, ErrTooLarge},
		{"huge webp", fixture(t, "huge.webp"), nil, ErrTooLarge},
		{"thin strip", pngHeaderOnly(1, 60000), nil, ErrTooLarge},
		{"side over 65536", pngHeaderOnly(70000, 1), []Option{WithMaxPixels(1 << 30)}, ErrTooLarge},
		{"over max pixels", fixture(t, "chelsea.png"), []Option{WithMaxPixels(100_000)}, ErrTooLarge},
		{"over max bytes", fixture(t, "chelsea.png"), []Option{WithMaxBytes(100_000)}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, imagenet(), tt.opts...)
			got, err := p.Prepare(t.Context(), tt.data, nil)
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("Prepare = %d values, %v; want %v", len(got), err, tt.want)
			}
			for _, s := range sentinels {
				if s != tt.want && errors.Is(err, s) {
					t.Errorf("error %v also matches %v", err, s)
				}
			}
		})
	}
}

// TestHugeHeaderIsCheap: a header declaring 20000x20000 (1.2 GB of RGB) is
// refused from the header alone, without allocating anything like a bitmap.
func TestHugeHeaderIsCheap(t *testing.T) {
	p := mustNew(t, imagenet())
	for _, f := range []string{"huge.png", "huge.jpg", "huge.webp"} {
		b := fixture(t, f)
		const runs = 200
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		allocs := testing.AllocsPerRun(runs, func() {
			if _, err := p.Prepare(context.Background(), b, nil); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("%s: %v", f, err)
			}
		})
		runtime.ReadMemStats(&after)
		perRun := (after.TotalAlloc - before.TotalAlloc) / (runs + 1) // AllocsPerRun adds a warm-up run
		if allocs > 20 || perRun > 4096 {
			t.Errorf("%s: %v allocations, %d bytes per rejected call", f, allocs, perRun)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := mustNew(t, imagenet()).Prepare(ctx, fixture(t, "chelsea.png"), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestBatchInPlace fills two windows of one batch buffer and checks the
// buffer was used, not copied.
func TestBatchInPlace(t *testing.T) {
	p := mustNew(t, imagenet())
	n := p.Len()
	batch := make([]float32, 2*n)
	for i, f := range []string{"chelsea.png", "coffee.png"} {
		got, err := p.Prepare(t.Context(), fixture(t, f), batch[i*n:(i+1)*n])
		if err != nil {
			t.Fatal(err)
		}
		if &got[0] != &batch[i*n] {
			t.Fatalf("%s: result does not alias the batch window", f)
		}
		alone, err := p.Prepare(t.Context(), fixture(t, f), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(alone, batch[i*n:(i+1)*n]) {
			t.Errorf("%s: batch window differs from a fresh result", f)
		}
	}
}

func TestConcurrentPrepare(t *testing.T) {
	p := mustNew(t, imagenet())
	files := []string{"chelsea.png", "rocket.jpg", "small.webp", "alpha.png"}
	want := make([][]float32, len(files))
	for i, f := range files {
		var err error
		if want[i], err = p.Prepare(t.Context(), fixture(t, f), nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			i := g % len(files)
			got, err := p.Prepare(t.Context(), fixture(t, files[i]), nil)
			if err != nil || !slices.Equal(got, want[i]) {
				t.Errorf("goroutine %d (%s): err %v or result differs", g, files[i], err)
			}
		})
	}
	wg.Wait()
}

func BenchmarkPrepare(b *testing.B) {
	p := mustNew(b, imagenet())
	data := fixture(b, "chelsea.png")
	dst := make([]float32, p.Len())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Prepare(context.Background(), data, dst); err != nil {
			b.Fatal(err)
		}
	}
}
