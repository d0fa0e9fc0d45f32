package imageprep

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/draw"
	_ "image/jpeg" // decodeStd reads the JPEG fixtures
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrinehq/vitrine/extractors/imageprep/photogen"
	"github.com/vitrinehq/vitrine/models"
)

// imagenet is the preprocessing of torchvision's ImageNet models, the one
// the shared MobileNetV2 manifest uses.
func imagenet() models.ImagePrep {
	return models.ImagePrep{
		ResizeShorter: 256, CropSize: 224, Scale: 1.0 / 255,
		Mean: []float32{0.485, 0.456, 0.406}, Std: []float32{0.229, 0.224, 0.225},
		Color: "RGB", Layout: "NCHW",
	}
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustNew(t testing.TB, cfg models.ImagePrep, opts ...Option) *Preparer {
	t.Helper()
	p, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return p
}

// norm is the expected normalised value, computed with the same float32
// operations the manifest implies, independently of the Preparer's table.
func norm(cfg models.ImagePrep, v uint8, c int) float32 {
	mean, std := float32(0), float32(1)
	if len(cfg.Mean) == 3 {
		mean = cfg.Mean[c]
	}
	if len(cfg.Std) == 3 {
		std = cfg.Std[c]
	}
	return (float32(v)*cfg.Scale - mean) / std
}

// at reads output channel c of pixel (x, y) from a prepared tensor.
func at(t []float32, s int, nchw bool, c, x, y int) float32 {
	if nchw {
		return t[c*s*s+y*s+x]
	}
	return t[(y*s+x)*3+c]
}

// decodeStd decodes with the standard library, an implementation
// independent of OpenCV, into 8-bit RGBA.
func decodeStd(t testing.TB, b []byte) *image.RGBA {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out := image.NewRGBA(img.Bounds())
	draw.Draw(out, out.Bounds(), img, img.Bounds().Min, draw.Src)
	return out
}

// mirror flips an image left to right (test-only helper).
func mirror(img *image.RGBA) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.SetRGBA(b.Max.X-1-(x-b.Min.X), y, img.RGBAAt(x, y))
		}
	}
	return out
}

// rotateCW turns an image a quarter turn clockwise, what EXIF orientation 6
// asks a viewer to do.
func rotateCW(img *image.RGBA) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.SetRGBA(b.Dy()-1-y, x, img.RGBAAt(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withEXIFOrientation inserts an APP1 Exif segment with one IFD0 entry,
// Orientation (0x0112) = o, right after the JPEG's SOI.
func withEXIFOrientation(jpg []byte, o uint16) []byte { return photogen.WithEXIFOrientation(jpg, o) }

func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// pngHeaderOnly is a PNG signature, an IHDR for w x h 8-bit RGB, an empty
// IDAT and IEND.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	out := []byte(pngSig)
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", nil)...)
	return append(out, pngChunk("IEND", nil)...)
}

func finiteInRange(t *testing.T, name string, got []float32, cfg models.ImagePrep) {
	t.Helper()
	for i, v := range got {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("%s: value %d is %v", name, i, v)
		}
	}
	nchw := cfg.Layout != "NHWC"
	s := cfg.CropSize
	for c := range 3 {
		lo, hi := norm(cfg, 0, c), norm(cfg, 255, c)
		for y := range s {
			for x := range s {
				if v := at(got, s, nchw, c, x, y); v < lo || v > hi {
					t.Fatalf("%s: channel %d pixel (%d,%d) = %v outside [%v,%v]", name, c, x, y, v, lo, hi)
				}
			}
		}
	}
}
