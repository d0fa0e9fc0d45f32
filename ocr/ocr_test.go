package ocr

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// render draws lines of black text on white, as a PNG, with the Go Bold
// font at size points.
func render(t *testing.T, size float64, lines ...string) []byte {
	t.Helper()
	f, err := opentype.Parse(gobold.TTF)
	if err != nil {
		t.Fatal(err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		t.Fatal(err)
	}
	defer face.Close()
	h := int(size * 1.6)
	img := image.NewRGBA(image.Rect(0, 0, int(size)*len(lines[0])+40, h*len(lines)+20))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(20, h*(i+1))
		d.DrawString(l)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newReader(t *testing.T, opts ...Option) *Reader {
	t.Helper()
	r, err := New(opts...)
	if err != nil {
		t.Fatalf("tesseract with eng and swe (scripts/setup installs it): %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestReadPrintedText(t *testing.T) {
	r := newReader(t, WithEngines(1), WithBudget(time.Hour)) // what is read, not how fast
	tests := []struct {
		name  string
		image []byte
		want  []string
	}{
		{"english", render(t, 36, "Vanilla Yoghurt"), []string{"vanilla", "yoghurt"}},
		{"swedish letters", render(t, 36, "Standardmjölk", "Ekologisk"), []string{"standardmjölk", "ekologisk"}},
		{"small text read enlarged", render(t, 13, "Orange Juice"), []string{"orange", "juice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Read(t.Context(), tc.image)
			if err != nil {
				t.Fatal(err)
			}
			words := strings.Fields(strings.ToLower(got.Query()))
			for _, w := range tc.want {
				if !slices.Contains(words, w) {
					t.Errorf("read %q, want the word %q", got.Query(), w)
				}
			}
			if got.Skipped || got.Confidence() < 0.6 {
				t.Errorf("skipped %v, confidence %.2f: want read with confidence ≥ 0.6", got.Skipped, got.Confidence())
			}
		})
	}
}

func TestReadSkipsPhotoWithoutText(t *testing.T) {
	r := newReader(t, WithEngines(1))
	img := image.NewRGBA(image.Rect(0, 0, 300, 300))
	for y := range 300 {
		for x := range 300 {
			img.Set(x, y, color.RGBA{uint8(60 + x/3), uint8(140 + y/4), 40, 255}) // a smooth, fruit-like gradient
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	got, err := r.Read(t.Context(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Skipped || len(got.Words) != 0 {
		t.Errorf("got %+v, want skipped with no words", got)
	}
}

func TestReadRefusesBadImages(t *testing.T) {
	r := newReader(t, WithEngines(1), WithMaxPixels(100*100))
	tests := []struct {
		name string
		data []byte
	}{
		{"not an image", []byte("hello")},
		{"too large", render(t, 36, "Too large")},
		{"truncated", render(t, 12, "ab")[:60]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Read(t.Context(), tc.data); !errors.Is(err, ErrImage) {
				t.Errorf("error %v, want ErrImage", err)
			}
		})
	}
}

// TestReadGroceryPhoto reads shop photos of cartons (Grocery Store
// Dataset, MIT licence, its dev split): the printed name comes out among
// the words. The yoghurt's "MILD YOGHURT" slants across two lines that the
// default single-line reads miss, so it is read whole with the inverted
// retry, as before the line detector; the juice's "orange" is read from
// its detected line.
func TestReadGroceryPhoto(t *testing.T) {
	tests := []struct {
		file string
		opts []Option
		want []string
	}{
		{"yoghurt.jpg", []Option{WithLook(LookTesseract), WithInvert(true)}, []string{"mild", "yoghurt"}},
		{"orange-grapefruit-juice.jpg", nil, []string{"orange"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			// no time budget: this checks what is read, not how fast (the
			// budget would cut the read short on a busy machine)
			got, err := newReader(t, append([]Option{WithEngines(1), WithBudget(time.Hour)}, tc.opts...)...).Read(t.Context(), data)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("read %q (confidence %.2f)", got.Query(), got.Confidence())
			words := strings.Fields(strings.ToLower(got.Query()))
			for _, w := range tc.want {
				if !slices.Contains(words, w) {
					t.Errorf("read %q, want %q", got.Query(), w)
				}
			}
		})
	}
}
