package ocr

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func decodeGray(t *testing.T, data []byte) *image.Gray {
	t.Helper()
	g, err := (&Reader{o: options{maxPixels: 50_000_000}}).decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDetect checks the text-line detector on printed lines, a shop photo
// of yoghurt cartons and a shop photo of lemons (Grocery Store Dataset,
// MIT licence, its dev split), which has no legible text.
func TestDetect(t *testing.T) {
	tests := []struct {
		name     string
		image    []byte
		minLines int
		maxLines int
	}{
		{"two printed lines", render(t, 24, "Standardmjölk", "Ekologisk"), 2, 2},
		{"large letters", render(t, 72, "Oatly"), 1, 1},
		{"yoghurt cartons", readFile(t, "yoghurt.jpg"), 1, defaultDetect.maxLines},
		{"lemons", readFile(t, "lemon.jpg"), 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := decodeGray(t, tc.image)
			got := detect(g, defaultDetect)
			if len(got) < tc.minLines || len(got) > tc.maxLines {
				t.Fatalf("%d lines %v, want %d to %d", len(got), got, tc.minLines, tc.maxLines)
			}
			for _, l := range got {
				if b := l.r; !b.In(g.Bounds()) || b.Dx() < b.Dy() || l.letterH <= 0 {
					t.Errorf("line %+v: want inside %v, wider than tall, with a letter height", l, g.Bounds())
				}
			}
		})
	}
}

// TestReadLightOnDark reads white letters on black, which the line reader
// turns dark on light before Tesseract sees them (its own inverted retry
// is off).
func TestReadLightOnDark(t *testing.T) {
	img, _ := png.Decode(bytes.NewReader(render(t, 20, "Orange Juice")))
	neg := image.NewGray(img.Bounds())
	draw.Draw(neg, neg.Bounds(), img, image.Point{}, draw.Src)
	for i, v := range neg.Pix {
		neg.Pix[i] = 255 - v
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, neg); err != nil {
		t.Fatal(err)
	}
	got, err := newReader(t, WithEngines(1)).Read(t.Context(), buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Fields(strings.ToLower(got.Query()))
	if !slices.Contains(words, "orange") || !slices.Contains(words, "juice") {
		t.Errorf("read %q, want orange and juice", got.Query())
	}
}

// TestLineImage checks the crop handed to Tesseract: the line with its
// margin, dark on light whatever the print's polarity, enlarged so that
// its tallest letter nears the wanted height.
func TestLineImage(t *testing.T) {
	tests := []struct {
		name         string
		bg, letter   uint8
		light        bool
		letterH, px  int
		wantW, wantH int
	}{
		{"dark on light, enlarged 3 times", 230, 20, false, 10, 30, 3 * 62, 3 * 20},
		{"light on dark, turned", 20, 230, true, 10, 30, 3 * 62, 3 * 20},
		{"tall letters kept as they are", 230, 20, false, 40, 30, 62, 20},
		{"tiny letters enlarged 4 times at most", 230, 20, false, 2, 30, 4 * 62, 4 * 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := image.NewGray(image.Rect(0, 0, 100, 40))
			draw.Draw(g, g.Bounds(), image.NewUniform(color.Gray{tc.bg}), image.Point{}, draw.Src)
			draw.Draw(g, image.Rect(20, 15, 70, 27), image.NewUniform(color.Gray{tc.letter}), image.Point{}, draw.Src)
			// a 12-pixel line: margins of 6 pixels across and 4 up and down
			got := lineImage(g, textLine{r: image.Rect(20, 14, 70, 26), letterH: tc.letterH, light: tc.light}, tc.px)
			if b := got.Bounds(); b.Dx() != tc.wantW || b.Dy() != tc.wantH {
				t.Errorf("size %v, want %dx%d", b.Size(), tc.wantW, tc.wantH)
			}
			if corner, centre := got.GrayAt(0, 0).Y, got.GrayAt(got.Bounds().Dx()/2, got.Bounds().Dy()/2).Y; corner < 128 || centre > 128 {
				t.Errorf("corner %d, centre %d: want light background and dark print", corner, centre)
			}
		})
	}
}
