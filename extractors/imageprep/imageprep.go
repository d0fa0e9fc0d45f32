// Package imageprep turns encoded image bytes (JPEG, PNG, WebP) into the
// float32 tensor an image encoder takes, as a models.ImagePrep describes:
// resize the shorter side, centre-crop a square, order the colour channels,
// scale, subtract the mean, divide by the standard deviation, and lay the
// values out as NCHW or NHWC.
//
// Untrusted uploads are the normal input, so the header is read and checked
// against size limits before anything is decoded, and the container is
// walked to its end marker so that truncated files are refused instead of
// being decoded with grey filler (which libjpeg does silently).
//
// Decoding and resizing use OpenCV through gocv. Colour handling:
//   - JPEG is decoded to BGR with its EXIF orientation applied, so the
//     tensor shows what a person sees; grey and CMYK JPEGs become BGR.
//   - PNG and WebP are decoded unchanged; 16-bit samples are reduced to
//     8 bits (v/257), grey images are replicated into three channels, and
//     an alpha channel is composited over a solid background (white by
//     default, see WithBackground), since catalogue photos with transparent
//     backgrounds are meant to be seen on white. EXIF orientation in PNG or
//     WebP is not applied.
package imageprep

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"

	"gocv.io/x/gocv"

	"github.com/vitrinehq/vitrine/models"
)

// Default limits. 50 MP decodes to about 150 MB of BGR, the most one
// request should cost; 32 MiB is well above any camera JPEG.
const (
	DefaultMaxPixels = 50_000_000
	DefaultMaxBytes  = 32 << 20
	// maxPixelsCeiling is OpenCV's own CV_IO_MAX_IMAGE_PIXELS; past it
	// imdecode throws, which through cgo aborts the process.
	maxPixelsCeiling = 1 << 30
	maxResize        = 8192
)

// Option adjusts a Preparer's limits and compositing.
type Option func(*options)

type options struct {
	maxPixels int64
	maxBytes  int
	bg        color.RGBA
	fullScale bool
}

// WithMaxPixels sets the largest width*height accepted, judged from the
// header before decoding, and also bounds the resized image. Default
// DefaultMaxPixels.
func WithMaxPixels(n int64) Option { return func(o *options) { o.maxPixels = n } }

// WithMaxBytes sets the largest encoded input accepted. Default
// DefaultMaxBytes.
func WithMaxBytes(n int) Option { return func(o *options) { o.maxBytes = n } }

// WithBackground sets the colour that transparent pixels are composited
// over (its alpha is ignored). Default opaque white.
func WithBackground(c color.RGBA) Option { return func(o *options) { o.bg = c } }

// WithFullScaleDecode turns off reduced-scale JPEG decoding: every JPEG is
// decoded at its full size before resizing. By default a JPEG at least
// four times as large as the resize target is decoded at 1/2, 1/4 or 1/8
// scale by libjpeg's DCT scaling (OpenCV's IMREAD_REDUCED_COLOR_*), the
// largest reduction that keeps the shorter side at least twice the target:
// a 12-megapixel photo then prepares 4 to 7 times faster
// (BenchmarkPrepareLarge: 51-57 against 11-15 images/s in one run, 44 ms
// against 300 ms in a run on a loaded machine) with a sixteenth of the
// decoded pixels, and the prepared tensor stays within about one grey level
// of the full decode's on average. Tests and benchmarks use this option
// for the comparison.
func WithFullScaleDecode() Option { return func(o *options) { o.fullScale = true } }

// Preparer turns image bytes into a model's input tensor. It is immutable
// and safe for concurrent use.
type Preparer struct {
	resize, crop int
	rgb          bool // output channel order R,G,B; else B,G,R
	nchw         bool
	// lut[c][v] is the normalised value of 8-bit sample v in output channel
	// c: (v*scale - mean[c]) / std[c], computed once so the per-pixel work
	// is a table look-up.
	lut       [3][256]float32
	maxPixels int64
	maxBytes  int
	bgBGR     [3]uint8
	fullScale bool // never decode JPEGs at a reduced scale
}

// New validates cfg and returns a Preparer. Empty Color means RGB and empty
// Layout means NCHW (torchvision's conventions); empty Mean means zeros and
// empty Std ones; a single Mean or Std value applies to all channels. Mean
// and Std are indexed in the output channel order, so for Color BGR
// mean[0] is the blue mean. Every problem is reported at once, each as a
// *ConfigError naming the field.
func New(cfg models.ImagePrep, opts ...Option) (*Preparer, error) {
	o := options{maxPixels: DefaultMaxPixels, maxBytes: DefaultMaxBytes, bg: color.RGBA{255, 255, 255, 255}}
	for _, opt := range opts {
		opt(&o)
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if cfg.ResizeShorter < 1 || cfg.ResizeShorter > maxResize {
		bad("resize_shorter", "must be in 1..%d, got %d", maxResize, cfg.ResizeShorter)
	}
	if cfg.CropSize < 1 || (cfg.ResizeShorter >= 1 && cfg.CropSize > cfg.ResizeShorter) {
		bad("crop_size", "must be in 1..resize_shorter (%d), got %d", cfg.ResizeShorter, cfg.CropSize)
	}
	if !(cfg.Scale > 0) || math.IsInf(float64(cfg.Scale), 0) {
		bad("scale", "must be positive and finite (1/255 for [0,1] input), got %v", cfg.Scale)
	}
	mean, err := perChannel(cfg.Mean, 0)
	if err != nil {
		bad("mean", "%v", err)
	}
	std, err := perChannel(cfg.Std, 1)
	if err != nil {
		bad("std", "%v", err)
	}
	for c, s := range std {
		if !(s > 0) {
			bad("std", "element %d must be positive, got %v", c, s)
			break
		}
	}
	p := &Preparer{resize: cfg.ResizeShorter, crop: cfg.CropSize, maxPixels: o.maxPixels, maxBytes: o.maxBytes,
		bgBGR: [3]uint8{o.bg.B, o.bg.G, o.bg.R}, fullScale: o.fullScale}
	switch strings.ToUpper(cfg.Color) {
	case "", "RGB":
		p.rgb = true
	case "BGR":
	default:
		bad("color", "must be RGB or BGR, got %q", cfg.Color)
	}
	switch strings.ToUpper(cfg.Layout) {
	case "", "NCHW":
		p.nchw = true
	case "NHWC":
	default:
		bad("layout", "must be NCHW or NHWC, got %q", cfg.Layout)
	}
	if o.maxPixels < 1 || o.maxPixels > maxPixelsCeiling {
		bad("max_pixels", "must be in 1..%d, got %d", maxPixelsCeiling, o.maxPixels)
	}
	if o.maxBytes < 1 {
		bad("max_bytes", "must be positive, got %d", o.maxBytes)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for c := range 3 {
		for v := range 256 {
			p.lut[c][v] = (float32(v)*cfg.Scale - mean[c]) / std[c]
		}
	}
	return p, nil
}

// perChannel expands a manifest's 0, 1 or 3 values to three.
func perChannel(v []float32, def float32) ([3]float32, error) {
	var out [3]float32
	switch len(v) {
	case 0:
		out = [3]float32{def, def, def}
	case 1:
		out = [3]float32{v[0], v[0], v[0]}
	case 3:
		copy(out[:], v)
	default:
		return out, fmt.Errorf("want 0, 1 or 3 values, got %d", len(v))
	}
	for c, x := range out {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return out, fmt.Errorf("element %d is not finite", c)
		}
	}
	return out, nil
}

// Len is the number of float32 values in one prepared image (3*crop*crop).
func (p *Preparer) Len() int { return 3 * p.crop * p.crop }

// Shape is the tensor shape of one prepared image with a batch dimension of
// 1: [1,3,S,S] for NCHW, [1,S,S,3] for NHWC.
func (p *Preparer) Shape() []int64 {
	s := int64(p.crop)
	if p.nchw {
		return []int64{1, 3, s, s}
	}
	return []int64{1, s, s, 3}
}

// Inspect does every check Prepare does before decoding: size limits
// against the byte count and the header's dimensions, format sniffing, and
// a walk of the container to its end. It allocates nothing in proportion to
// the image, so an upload handler can use it to refuse early.
func (p *Preparer) Inspect(data []byte) (Header, error) {
	if len(data) == 0 {
		return Header{}, ErrEmpty
	}
	if len(data) > p.maxBytes {
		return Header{}, fmt.Errorf("%w: %d bytes > max %d", ErrTooLarge, len(data), p.maxBytes)
	}
	h, err := ParseHeader(data)
	if err != nil {
		return Header{}, err
	}
	if h.Width > maxSide || h.Height > maxSide || h.Pixels() > p.maxPixels {
		return Header{}, fmt.Errorf("%w: %s %dx%d (%d pixels, max %d, max side %d)",
			ErrTooLarge, h.Format, h.Width, h.Height, h.Pixels(), p.maxPixels, maxSide)
	}
	// A 1x40000 strip is small but would resize to 256x10240000.
	if rw, rh := p.resizedSize(h.Width, h.Height); int64(rw)*int64(rh) > p.maxPixels {
		return Header{}, fmt.Errorf("%w: %dx%d resizes to %dx%d, over max %d pixels",
			ErrTooLarge, h.Width, h.Height, rw, rh, p.maxPixels)
	}
	if err := checkStructure(h, data); err != nil {
		return Header{}, err
	}
	if err := checkDecodeBudget(h, data); err != nil {
		return Header{}, err
	}
	return h, nil
}

// resizedSize gives the size after scaling the shorter side to resize. The
// longer side is truncated, as torchvision's Resize does, so tensors match
// the preprocessing the published models were evaluated with.
func (p *Preparer) resizedSize(w, h int) (int, int) {
	short, long := min(w, h), max(w, h)
	newLong := int(int64(p.resize) * int64(long) / int64(short))
	if w <= h {
		return p.resize, newLong
	}
	return newLong, p.resize
}

// Prepare decodes data and writes the normalised tensor into dst, which is
// used if it has capacity for Len() values and allocated otherwise; the
// filled slice is returned. To fill a batch, pass successive Len()-sized
// windows of one buffer. Errors wrap ErrEmpty, ErrUnsupportedFormat,
// ErrCorrupt or ErrTooLarge, or are the context's error.
func (p *Preparer) Prepare(ctx context.Context, data []byte, dst []float32) ([]float32, error) {
	if cap(dst) >= p.Len() {
		dst = dst[:p.Len()]
	} else {
		dst = nil // allocated once the image is known to decode
	}
	return p.prepareRegions(ctx, data, func(int, int) []Region { return []Region{Whole()} }, dst)
}

// Region is a rectangle of an image in fractions of its width and height
// (after EXIF orientation): X and Y its top-left corner, W and H its size.
type Region struct{ X, Y, W, H float64 }

// Whole is the region covering the whole image: preparing it is Prepare.
func Whole() Region { return Region{W: 1, H: 1} }

// whole reports whether r covers the whole image.
func (r Region) whole() bool { return r.X <= 0 && r.Y <= 0 && r.X+r.W >= 1 && r.Y+r.H >= 1 }

// Crops returns the whole image followed by five square crops whose side
// is scale times the image's shorter side: the centre and the four
// corners (top-left, top-right, bottom-left, bottom-right), the layout of
// multi-crop test-time augmentation. scale is clamped to (0, 1].
func Crops(w, h int, scale float64) []Region {
	if scale <= 0 || scale > 1 {
		scale = 1
	}
	side := scale * float64(min(w, h))
	cw, ch := side/float64(max(w, 1)), side/float64(max(h, 1))
	return []Region{Whole(),
		{X: (1 - cw) / 2, Y: (1 - ch) / 2, W: cw, H: ch},
		{X: 0, Y: 0, W: cw, H: ch}, {X: 1 - cw, Y: 0, W: cw, H: ch},
		{X: 0, Y: 1 - ch, W: cw, H: ch}, {X: 1 - cw, Y: 1 - ch, W: cw, H: ch}}
}

// PrepareRegions decodes data once and writes the normalised tensor of
// each region (resize its shorter side, centre-crop, as for a whole image)
// into successive Len()-sized windows of dst, which must hold
// len(regions)×Len() values. Errors are Prepare's.
func (p *Preparer) PrepareRegions(ctx context.Context, data []byte, regions []Region, dst []float32) error {
	if len(dst) < len(regions)*p.Len() {
		return fmt.Errorf("imageprep: %d values for %d regions of %d", len(dst), len(regions), p.Len())
	}
	_, err := p.prepareRegions(ctx, data, func(int, int) []Region { return regions }, dst)
	return err
}

// CropCount is how many crops the multi-crop layout has (see Crops).
const CropCount = 6

// PrepareCrops decodes data once and writes the tensors of the first n
// (1 to CropCount) of its Crops at scale (the whole image, the centre and
// four corners, computed on the image as seen, EXIF orientation applied)
// into successive Len()-sized windows of dst, which must hold n×Len()
// values.
func (p *Preparer) PrepareCrops(ctx context.Context, data []byte, scale float64, n int, dst []float32) error {
	if n < 1 || n > CropCount || len(dst) < n*p.Len() {
		return fmt.Errorf("imageprep: %d values for %d crops of %d", len(dst), n, p.Len())
	}
	_, err := p.prepareRegions(ctx, data, func(w, h int) []Region { return Crops(w, h, scale)[:n] }, dst)
	return err
}

// prepareRegions prepares the regions that regionsOf gives for the
// decoded image's full-scale size, allocating dst when it is nil after the
// image decoded (a rejected upload costs no tensor).
func (p *Preparer) prepareRegions(ctx context.Context, data []byte, regionsOf func(w, h int) []Region, dst []float32) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := p.Inspect(data)
	if err != nil {
		return nil, err
	}
	decoded, fullW, fullH, err := p.decode(h, data)
	if err != nil {
		return nil, err
	}
	defer decoded.Close()
	regions := regionsOf(fullW, fullH)
	if dst == nil {
		dst = make([]float32, len(regions)*p.Len())
	}
	for i, r := range regions {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := p.prepareRegion(decoded, fullW, fullH, r, dst[i*p.Len():(i+1)*p.Len()]); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// prepareRegion resizes region r of the decoded image (whose full-scale
// size is fullW×fullH) and writes its centre crop into dst.
func (p *Preparer) prepareRegion(decoded gocv.Mat, fullW, fullH int, r Region, dst []float32) error {
	img := decoded // the Mat to read from; each Mat is closed once, by its own defer
	if !r.whole() {
		rect := regionRect(r, decoded.Cols(), decoded.Rows())
		roi := decoded.Region(rect)
		defer roi.Close()
		// Resizing needs a continuous Mat; a region of one is not.
		sub := roi.Clone()
		defer sub.Close()
		img = sub
		fullW = max(1, int(math.Round(r.W*float64(fullW))))
		fullH = max(1, int(math.Round(r.H*float64(fullH))))
	}
	// The target size comes from the full-size dimensions, so a reduced
	// decode resizes to exactly what a full one would.
	rw, rh := p.resizedSize(fullW, fullH)
	if rw != img.Cols() || rh != img.Rows() {
		interp := gocv.InterpolationLinear
		if rw < img.Cols() {
			// Area averaging is OpenCV's anti-aliased downscale; bilinear
			// alone would alias when shrinking a photo several times.
			interp = gocv.InterpolationArea
		}
		resized := gocv.NewMat()
		defer resized.Close()
		gocv.Resize(img, &resized, image.Pt(rw, rh), 0, 0, interp)
		img = resized
	}
	pix, err := img.DataPtrUint8()
	if err != nil {
		return fmt.Errorf("imageprep: read resized pixels: %w", err)
	}
	p.write(dst, pix, img.Cols(), img.Rows(), img.Channels())
	return nil
}

// regionRect turns r into whole pixels of a w×h image, at least one pixel
// and inside the image.
func regionRect(r Region, w, h int) image.Rectangle {
	x0 := min(max(int(math.Round(r.X*float64(w))), 0), w-1)
	y0 := min(max(int(math.Round(r.Y*float64(h))), 0), h-1)
	x1 := min(max(int(math.Round((r.X+r.W)*float64(w))), x0+1), w)
	y1 := min(max(int(math.Round((r.Y+r.H)*float64(h))), y0+1), h)
	return image.Rect(x0, y0, x1, y1)
}

// jpegScale picks the largest DCT scale-down (8, 4 or 2; 1 for none) that
// keeps the decoded shorter side at least twice the resize target, and the
// matching OpenCV flag. The factor two is measured: at a 12-megapixel
// photo, decoding to just the target (1/8) is faster still (about 30 ms
// against 44 ms in the same loaded run) but libjpeg's 1/8 scaling is an 8x8
// box average with its chroma even coarser, and the prepared tensor moves
// by about 2.5 grey levels on average (up to 80 at colour edges); with the
// margin the area resize does the last step and the mean stays near one.
func (p *Preparer) jpegScale(h Header) (int, gocv.IMReadFlag) {
	if p.fullScale {
		return 1, gocv.IMReadColor
	}
	// libjpeg rounds a scaled side up; flooring here keeps a safe margin.
	switch short, want := min(h.Width, h.Height), 2*p.resize; {
	case short/8 >= want:
		return 8, gocv.IMReadReducedColor8
	case short/4 >= want:
		return 4, gocv.IMReadReducedColor4
	case short/2 >= want:
		return 2, gocv.IMReadReducedColor2
	}
	return 1, gocv.IMReadColor
}

// decode returns an 8-bit image with one (grey) or three (BGR) channels,
// and the size it has at full scale (EXIF orientation applied): a large
// JPEG is decoded at a reduced scale (see jpegScale).
func (p *Preparer) decode(h Header, data []byte) (m gocv.Mat, fullW, fullH int, err error) {
	flags, denom := gocv.IMReadUnchanged, 1
	if h.Format == JPEG {
		denom, flags = p.jpegScale(h)
	}
	m, err = gocv.IMDecode(data, flags)
	if err != nil {
		return m, 0, 0, fmt.Errorf("%w: %s: %w", ErrCorrupt, h.Format, err)
	}
	fail := func(err error) (gocv.Mat, int, int, error) {
		m.Close()
		return gocv.Mat{}, 0, 0, err
	}
	if m.Empty() {
		return fail(corrupt(h.Format, "decoder rejected the data"))
	}
	// libjpeg's scaled sides are the full ones divided and rounded up.
	sw, sh := (h.Width+denom-1)/denom, (h.Height+denom-1)/denom
	w, hh := m.Cols(), m.Rows()
	fullW, fullH = h.Width, h.Height
	switch {
	case w == sw && hh == sh:
	case h.Format == JPEG && w == sh && hh == sw:
		fullW, fullH = h.Height, h.Width // EXIF orientation turned it
	default:
		return fail(corrupt(h.Format, "decoded %dx%d (scale 1/%d) but header says %dx%d", w, hh, denom, h.Width, h.Height))
	}
	switch depth := m.Type() & 7; depth {
	case gocv.MatTypeCV8U:
	case gocv.MatTypeCV16U:
		m8 := gocv.NewMat()
		m.ConvertToWithParams(&m8, gocv.MatTypeCV8U, 1.0/257, 0)
		m.Close()
		m = m8
	default:
		return fail(fmt.Errorf("%w: %s: sample depth %d", ErrUnsupportedFormat, h.Format, depth))
	}
	switch m.Channels() {
	case 1, 3:
		return m, fullW, fullH, nil
	case 2, 4:
		out, err := p.composite(m)
		m.Close()
		return out, fullW, fullH, err
	default:
		return fail(fmt.Errorf("%w: %s: %d channels", ErrUnsupportedFormat, h.Format, m.Channels()))
	}
}

// composite blends a grey+alpha or BGRA image over the background into a
// grey or BGR image. It runs at full resolution, before resizing, because
// resizing non-premultiplied colour would bleed the hidden colour of
// transparent pixels into their visible neighbours.
func (p *Preparer) composite(src gocv.Mat) (gocv.Mat, error) {
	cn := src.Channels() - 1
	typ := gocv.MatTypeCV8UC3
	if cn == 1 {
		typ = gocv.MatTypeCV8UC1
	}
	in, err := src.DataPtrUint8()
	if err != nil {
		return gocv.Mat{}, fmt.Errorf("imageprep: read decoded pixels: %w", err)
	}
	dst := gocv.NewMatWithSize(src.Rows(), src.Cols(), typ)
	out, err := dst.DataPtrUint8()
	if err != nil {
		dst.Close()
		return gocv.Mat{}, fmt.Errorf("imageprep: write composited pixels: %w", err)
	}
	bg := p.bgBGR
	if cn == 1 {
		// Rec. 601 luma of the background, as OpenCV's BGR2GRAY would.
		bg[0] = uint8((299*uint32(bg[2]) + 587*uint32(bg[1]) + 114*uint32(bg[0]) + 500) / 1000)
	}
	n := src.Rows() * src.Cols()
	for i := range n {
		s, d := in[i*(cn+1):i*(cn+1)+cn+1], out[i*cn:i*cn+cn]
		a := uint32(s[cn])
		for c := range cn {
			d[c] = uint8((uint32(s[c])*a + uint32(bg[c])*(255-a) + 127) / 255)
		}
	}
	return dst, nil
}

// write centre-crops the resized image (continuous 8-bit, 1 or 3 channels,
// BGR) and writes normalised values in the configured order and layout.
func (p *Preparer) write(dst []float32, pix []uint8, w, h, cn int) {
	s := p.crop
	top, left := centreOffset(h, s), centreOffset(w, s)
	plane := s * s
	// src channel index for each output channel: BGR storage.
	order := [3]int{2, 1, 0}
	if !p.rgb {
		order = [3]int{0, 1, 2}
	}
	if cn == 1 {
		order = [3]int{0, 0, 0}
	}
	l0, l1, l2 := &p.lut[0], &p.lut[1], &p.lut[2]
	for y := range s {
		row := pix[((top+y)*w+left)*cn : ((top+y)*w+left+s)*cn]
		for x := range s {
			px := row[x*cn : x*cn+cn]
			v0, v1, v2 := l0[px[order[0]]], l1[px[order[1]]], l2[px[order[2]]]
			if p.nchw {
				i := y*s + x
				dst[i], dst[plane+i], dst[2*plane+i] = v0, v1, v2
			} else {
				i := (y*s + x) * 3
				dst[i], dst[i+1], dst[i+2] = v0, v1, v2
			}
		}
	}
}

// centreOffset is torchvision's CenterCrop offset, int(round((n-s)/2)) with
// Python's round-half-to-even, so an odd margin splits the same way.
func centreOffset(n, s int) int {
	d := n - s
	off := d / 2
	if d%2 == 1 && off%2 == 1 {
		off++
	}
	return off
}
