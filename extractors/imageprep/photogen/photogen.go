// Package photogen makes large test photos for imageprep's tests and the
// image benchmarks: camera-sized JPEGs (about 12 megapixels) upscaled from
// the small CC0 photos in extractors/imageprep/testdata, optionally with an
// EXIF orientation. Files of that size are too big to keep in the
// repository, and an upscaled photo is what matters for decoding speed: the
// decoder's work depends on the pixel count, not on the detail.
//
// Licence: the sources are CC0 or public domain (see
// extractors/imageprep/testdata/README.md), and so are the results.
package photogen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"

	"gocv.io/x/gocv"
)

// Spec is one large photo: a source image in the testdata directory, the
// pixel count to upscale it to (aspect ratio kept) and the EXIF orientation
// to mark it with (0 or 1: none).
type Spec struct {
	Name        string // file name of the result, e.g. chelsea-12mp.jpg
	Source      string // source file in the testdata directory
	Megapixels  float64
	Orientation uint16
}

// Large is the standard set: three 12-megapixel JPEGs, the last one marked
// "rotate 90° clockwise" as phone cameras write portrait photos.
func Large() []Spec {
	return []Spec{
		{Name: "chelsea-12mp.jpg", Source: "chelsea.png", Megapixels: 12},
		{Name: "coffee-12mp.jpg", Source: "coffee.png", Megapixels: 12},
		{Name: "rocket-12mp-rot90.jpg", Source: "rocket.jpg", Megapixels: 12, Orientation: 6},
	}
}

// Quality is the JPEG quality of the results, a typical camera setting.
const Quality = 90

// Make reads spec's source from dir (extractors/imageprep/testdata) and
// returns the upscaled JPEG.
func Make(dir string, spec Spec) ([]byte, error) {
	src, err := os.ReadFile(filepath.Join(dir, spec.Source))
	if err != nil {
		return nil, fmt.Errorf("photogen: %w", err)
	}
	return Upscale(src, spec.Megapixels, spec.Orientation)
}

// MakeAll makes every photo of specs from the sources in dir, in order.
func MakeAll(dir string, specs []Spec) ([][]byte, error) {
	out := make([][]byte, len(specs))
	for i, s := range specs {
		b, err := Make(dir, s)
		if err != nil {
			return nil, fmt.Errorf("photogen: %s: %w", s.Name, err)
		}
		out[i] = b
	}
	return out, nil
}

// Upscale decodes an image (any format OpenCV reads), resizes it bicubically
// to about megapixels million pixels, encodes it as a baseline JPEG of
// Quality and, for orientation > 1, inserts an EXIF segment carrying it.
func Upscale(src []byte, megapixels float64, orientation uint16) ([]byte, error) {
	img, err := gocv.IMDecode(src, gocv.IMReadColor)
	if err != nil {
		return nil, fmt.Errorf("photogen: decode: %w", err)
	}
	defer img.Close()
	if img.Empty() {
		return nil, fmt.Errorf("photogen: source does not decode")
	}
	f := math.Sqrt(megapixels * 1e6 / float64(img.Cols()*img.Rows()))
	w, h := int(math.Round(float64(img.Cols())*f)), int(math.Round(float64(img.Rows())*f))
	big := gocv.NewMat()
	defer big.Close()
	gocv.Resize(img, &big, image.Pt(w, h), 0, 0, gocv.InterpolationCubic)
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, big, []int{gocv.IMWriteJpegQuality, Quality})
	if err != nil {
		return nil, fmt.Errorf("photogen: encode: %w", err)
	}
	defer buf.Close()
	out := bytes.Clone(buf.GetBytes())
	if orientation > 1 {
		out = WithEXIFOrientation(out, orientation)
	}
	return out, nil
}

// WithEXIFOrientation inserts an APP1 Exif segment with one IFD0 entry,
// Orientation (0x0112) = o, right after the JPEG's SOI.
func WithEXIFOrientation(jpg []byte, o uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	le := binary.LittleEndian
	tiff.Write(le.AppendUint32(nil, 8)) // IFD0 offset
	tiff.Write(le.AppendUint16(nil, 1)) // one entry
	tiff.Write(le.AppendUint16(le.AppendUint16(nil, 0x0112), 3))
	tiff.Write(le.AppendUint32(nil, 1))
	tiff.Write(le.AppendUint16(le.AppendUint16(nil, o), 0))
	tiff.Write(le.AppendUint32(nil, 0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xff, 0xe1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{0xff, 0xd8}, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}
