// Package keypoints owns the local features of product images and their
// geometric verification, the exact-package check of search by photo: the
// SIFT keypoints and descriptors of an image, their compact encoding for
// storage (a view's keypoints are derived data kept beside its embedding),
// and the number of ratio-test matches between two images that one
// RANSAC homography explains (its inliers). Two photos of the same printed
// package share dozens of such inliers; a look-alike package of the same
// shape and colours, or a piece of fruit, shares a handful at most.
//
// It is written by hand around OpenCV (through gocv) because no model of
// the project's ONNX runtime matches local features geometrically, and
// OpenCV's SIFT, brute-force matcher and RANSAC are the reference
// implementations; everything here is a pure function of its inputs.
package keypoints

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"

	"gocv.io/x/gocv"

	"github.com/vitrinehq/vitrine/extractors/imageprep"
)

// DescLen is the length of one SIFT descriptor. OpenCV computes its
// values as floats that are whole numbers from 0 to 255, so each is
// stored in a byte without loss.
const DescLen = 128

// Defaults of an Extractor and a Verifier.
const (
	DefaultMaxPoints = 1000
	DefaultMaxSide   = 256
	DefaultRatio     = 0.8
	DefaultThreshold = 5.0
	// maxPixels bounds the images decoded (an upload is untrusted).
	maxPixels = imageprep.DefaultMaxPixels
)

// ErrCorrupt is returned for bytes that do not decode to an image, and
// ErrBadEncoding for stored features that do not decode.
var (
	ErrCorrupt     = errors.New("keypoints: image does not decode")
	ErrBadEncoding = errors.New("keypoints: bad features encoding")
)

// Point is a keypoint's position in pixels of the image as extracted.
type Point struct{ X, Y float32 }

// Features are an image's keypoints, strongest first, and their
// descriptors (DescLen bytes each, in the same order).
type Features struct {
	Points []Point
	Desc   []byte
}

// Len is the number of keypoints.
func (f Features) Len() int { return len(f.Points) }

// Extractor computes Features of encoded images (JPEG, PNG, WebP).
type Extractor struct {
	maxPoints int
	maxSide   int
}

// Option configures an Extractor.
type Option func(*Extractor)

// WithMaxPoints keeps the n strongest keypoints (default 1000).
func WithMaxPoints(n int) Option { return func(e *Extractor) { e.maxPoints = max(n, 4) } }

// WithMaxSide shrinks images whose longer side exceeds n pixels before
// extraction (default 256; images are never enlarged).
func WithMaxSide(n int) Option { return func(e *Extractor) { e.maxSide = max(n, 32) } }

// NewExtractor returns an Extractor.
func NewExtractor(opts ...Option) *Extractor {
	e := &Extractor{maxPoints: DefaultMaxPoints, maxSide: DefaultMaxSide}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Extract decodes an image and computes its features. An image with no
// texture has no keypoints and empty Features.
func (e *Extractor) Extract(data []byte) (Features, error) {
	img, err := e.decode(data)
	if err != nil {
		return Features{}, err
	}
	defer img.Close()
	sift := gocv.NewSIFT()
	defer sift.Close()
	mask := gocv.NewMat()
	defer mask.Close()
	kps, desc := sift.DetectAndCompute(img, mask)
	defer desc.Close()
	if len(kps) == 0 || desc.Empty() || desc.Cols() != DescLen || desc.Rows() != len(kps) {
		return Features{}, nil
	}
	all, err := desc.DataPtrFloat32()
	if err != nil {
		return Features{}, fmt.Errorf("keypoints: descriptors: %w", err)
	}
	order := make([]int, len(kps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(kps[b].Response, kps[a].Response) })
	order = order[:min(len(order), e.maxPoints)]
	f := Features{Points: make([]Point, len(order)), Desc: make([]byte, 0, len(order)*DescLen)}
	for i, k := range order {
		f.Points[i] = Point{X: float32(kps[k].X), Y: float32(kps[k].Y)}
		for _, v := range all[k*DescLen : (k+1)*DescLen] {
			f.Desc = append(f.Desc, byte(min(max(math.Round(float64(v)), 0), 255)))
		}
	}
	return f, nil
}

// decode reads the image as grey, within the size limit, shrunk so that
// its longer side is at most maxSide.
func (e *Extractor) decode(data []byte) (gocv.Mat, error) {
	h, err := imageprep.ParseHeader(data)
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if h.Pixels() > maxPixels {
		return gocv.Mat{}, fmt.Errorf("%w: %dx%d is over %d pixels", imageprep.ErrTooLarge, h.Width, h.Height, maxPixels)
	}
	flag := gocv.IMReadGrayScale
	switch long := max(h.Width, h.Height); {
	case long >= 8*e.maxSide:
		flag = gocv.IMReadReducedGrayscale8
	case long >= 4*e.maxSide:
		flag = gocv.IMReadReducedGrayscale4
	case long >= 2*e.maxSide:
		flag = gocv.IMReadReducedGrayscale2
	}
	img, err := gocv.IMDecode(data, flag)
	if err != nil || img.Empty() {
		img.Close()
		return gocv.Mat{}, fmt.Errorf("%w: %s", ErrCorrupt, h.Format)
	}
	w, hh := img.Cols(), img.Rows()
	if long := max(w, hh); long > e.maxSide {
		s := float64(e.maxSide) / float64(long)
		small := gocv.NewMat()
		gocv.Resize(img, &small, image.Pt(max(int(float64(w)*s+0.5), 1), max(int(float64(hh)*s+0.5), 1)), 0, 0, gocv.InterpolationArea)
		img.Close()
		img = small
	}
	return img, nil
}

// encodingVersion is the first byte of Marshal's output.
const encodingVersion = 1

// Marshal encodes features for storage: a version byte, the count
// (uint32, little endian), the points (two float32 each), the descriptors.
func Marshal(f Features) []byte {
	n := len(f.Points)
	out := make([]byte, 0, 5+n*8+len(f.Desc))
	out = append(out, encodingVersion)
	out = binary.LittleEndian.AppendUint32(out, uint32(n))
	for _, p := range f.Points {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(p.X))
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(p.Y))
	}
	return append(out, f.Desc...)
}

// Unmarshal decodes Marshal's output.
func Unmarshal(b []byte) (Features, error) {
	if len(b) < 5 || b[0] != encodingVersion {
		return Features{}, fmt.Errorf("%w: header", ErrBadEncoding)
	}
	n := int(binary.LittleEndian.Uint32(b[1:5]))
	if n < 0 || len(b) != 5+n*(8+DescLen) {
		return Features{}, fmt.Errorf("%w: %d bytes for %d points", ErrBadEncoding, len(b), n)
	}
	f := Features{Points: make([]Point, n)}
	off := 5
	for i := range f.Points {
		f.Points[i].X = math.Float32frombits(binary.LittleEndian.Uint32(b[off:]))
		f.Points[i].Y = math.Float32frombits(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
	}
	f.Desc = slices.Clone(b[off:])
	return f, nil
}
