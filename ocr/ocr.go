// Package ocr reads the printed text on a photo (a product's package, say)
// with Tesseract, for search by photo to match against titles and brands.
// It owns the pool of initialised Tesseract engines, the safe hand-over of
// untrusted photos to them (header checked for size, decoded in Go and
// passed on as an uncompressed greyscale image, never parsed by
// Leptonica), the text-line detector that finds where a photo has print
// (classical morphology in OpenCV, a few milliseconds, no model) so that
// Tesseract reads only those lines and photos without text skip it, and
// the words kept.
//
// Tesseract's LSTM runs on OpenMP threads, which spin while they wait: on
// a machine with few, busy cores run the process with OMP_THREAD_LIMIT=1
// (libgomp reads it at start-up, so it cannot be set from Go); lines then
// read about three times faster here.
//
// The binding is github.com/otiai10/gosseract/v2 over Debian bookworm's
// libtesseract 5 (packages libtesseract-dev and libleptonica-dev, with the
// language data tesseract-ocr-eng and tesseract-ocr-swe; scripts/setup
// installs them): it builds against that library as is, and its word
// boxes carry the per-word confidences this package needs, so a
// hand-written cgo wrapper over the C API would add nothing.
package ocr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // photos are mostly JPEG
	_ "image/png"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/otiai10/gosseract/v2"
	_ "golang.org/x/image/webp" // the third format search by photo accepts
)

// ErrUnavailable is returned by New when Tesseract cannot start (the
// library or a language's data is missing).
var ErrUnavailable = errors.New("ocr: tesseract unavailable")

// ErrImage is returned by Read for a photo it cannot decode or that is
// larger than the configured limit.
var ErrImage = errors.New("ocr: unreadable image")

// Word is one word read, with Tesseract's confidence in it from 0 to 1.
type Word struct {
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"`
}

// Text is what was read on a photo: the words kept, in reading order.
// Skipped is true when the cheap first look found no legible text, so
// the full read did not run.
type Text struct {
	Words   []Word `json:"words"`
	Skipped bool   `json:"skipped"`
}

// Query is the words joined by spaces, a search query.
func (t Text) Query() string {
	ws := make([]string, len(t.Words))
	for i, w := range t.Words {
		ws[i] = w.Text
	}
	return strings.Join(ws, " ")
}

// Confidence is the mean confidence of the words kept (0 with none).
func (t Text) Confidence() float64 {
	if len(t.Words) == 0 {
		return 0
	}
	var s float64
	for _, w := range t.Words {
		s += w.Confidence
	}
	return s / float64(len(t.Words))
}

type options struct {
	languages []string
	engines   int
	minConf   float64
	minLetter int
	maxPixels int
	upscale   int
	look      Look
	detect    detectParams
	lineH     int
	linePSM   gosseract.PageSegMode
	budget    time.Duration
	invert    bool
}

// Option configures a Reader.
type Option func(*options)

// WithLanguages sets Tesseract's languages (default swe and eng: Swedish first, so å, ä and ö are read as such).
func WithLanguages(langs ...string) Option { return func(o *options) { o.languages = langs } }

// WithEngines sets how many photos are read at once, each by its own
// initialised engine (default 2; each holds its language data, tens of
// MB).
func WithEngines(n int) Option { return func(o *options) { o.engines = max(n, 1) } }

// WithMinConfidence drops words Tesseract is less sure of (0 to 1,
// default 0.6).
func WithMinConfidence(c float64) Option { return func(o *options) { o.minConf = c } }

// WithMinLetters drops words with fewer letters (default 3: OCR of
// packages yields many one- and two-letter fragments).
func WithMinLetters(n int) Option { return func(o *options) { o.minLetter = n } }

// WithMaxPixels refuses photos larger than width·height n (default 50
// MP, as search by photo).
func WithMaxPixels(n int) Option { return func(o *options) { o.maxPixels = n } }

// WithUpscale enlarges photos whose shorter side is under 600 pixels by
// this integer factor before reading (default 2; 1 reads them as they
// are): Tesseract wants letters some 20 pixels high.
func WithUpscale(f int) Option { return func(o *options) { o.upscale = max(f, 1) } }

// Look is how Read finds where to read on a photo.
type Look int

const (
	// LookLines (the default) finds candidate lines of print with a
	// classical detector (rows of letter-shaped blobs of a local
	// threshold) in a few milliseconds and reads only those lines, each
	// turned dark on light and enlarged to a height Tesseract reads well,
	// the largest first within a time budget; a photo with no candidate
	// (many fruit and vegetables) is skipped without running Tesseract.
	LookLines Look = iota
	// LookTesseract is a first Tesseract pass at the photo's own size,
	// and the full read of the enlarged photo only when that found a word:
	// it skips as many photos but the first pass costs a full read's time.
	LookTesseract
	// LookNone reads the whole enlarged photo every time.
	LookNone
)

// WithLook sets how Read finds where to read (default LookLines).
func WithLook(l Look) Option { return func(o *options) { o.look = l } }

// WithLineHeight sets the height in pixels a detected line's tallest
// letter is enlarged towards, by an integer factor up to 4, before
// Tesseract reads it (default 40, which puts the x-height near the 20
// to 30 pixels Tesseract reads best; lines already as tall are read as
// they are).
func WithLineHeight(px int) Option { return func(o *options) { o.lineH = max(px, 8) } }

// WithBudget sets how long LookLines goes on reading lines (default 200
// ms): once it is spent no further line is started, so that a photo with
// many candidate lines still answers within search by photo's 300 ms.
// The first line is always read.
func WithBudget(d time.Duration) Option { return func(o *options) { o.budget = d } }

// WithInvert lets Tesseract also try each low-confidence word as white
// on black (its tessedit_do_invert, default off: it roughly doubles the
// time spent on unsure words, and with LookLines each line is already
// turned dark on light before it is read).
func WithInvert(on bool) Option { return func(o *options) { o.invert = on } }

// Reader reads text on photos with a pool of Tesseract engines; it is
// safe for concurrent use, at most the pool's size at a time.
type Reader struct {
	o       options
	engines chan *gosseract.Client
}

// New starts the engines and reads a blank image with each, so that the
// first photo does not pay for loading the language data. ErrUnavailable
// when Tesseract cannot start.
func New(opts ...Option) (*Reader, error) {
	o := options{languages: []string{"swe", "eng"}, engines: 2, minConf: 0.6, minLetter: 3, maxPixels: 50_000_000,
		upscale: 2, detect: defaultDetect, lineH: 40, linePSM: gosseract.PSM_SINGLE_LINE, budget: 200 * time.Millisecond}
	for _, opt := range opts {
		opt(&o)
	}
	r := &Reader{o: o, engines: make(chan *gosseract.Client, o.engines)}
	blank := pgm(image.NewGray(image.Rect(0, 0, 32, 32)))
	for range o.engines {
		c, err := start(o.languages, o.invert, blank)
		if err != nil {
			_ = r.Close()
			return nil, err
		}
		r.engines <- c
	}
	return r, nil
}

// start initialises one engine for langs and reads blank with it.
func start(langs []string, invert bool, blank []byte) (*gosseract.Client, error) {
	c := gosseract.NewClient()
	err := c.SetLanguage(langs...)
	if err == nil && !invert {
		err = c.SetVariable("tessedit_do_invert", "0")
	}
	if err == nil {
		err = c.SetImageFromBytes(blank)
	}
	if err == nil {
		_, err = c.Text()
	}
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("%w: languages %v: %w", ErrUnavailable, langs, err)
	}
	return c, nil
}

// Close stops the engines not in use; call it once no Read is running.
func (r *Reader) Close() error {
	for {
		select {
		case c := <-r.engines:
			_ = c.Close()
		default:
			return nil
		}
	}
}

// Read returns the legible words on the photo. It decodes the photo
// (ErrImage when it cannot or the photo is too large), waits for a free
// engine (or the context) and reads it as the Look option says: by
// default only the lines of text a cheap detector finds, none when it
// finds none (Skipped).
func (r *Reader) Read(ctx context.Context, data []byte) (Text, error) {
	g, err := r.decode(data)
	if err != nil {
		return Text{}, err
	}
	var lines []textLine
	if r.o.look == LookLines {
		if lines = detect(g, r.o.detect); len(lines) == 0 {
			return Text{Skipped: true}, nil
		}
	}
	var c *gosseract.Client
	select {
	case c = <-r.engines:
	case <-ctx.Done():
		return Text{}, ctx.Err()
	}
	defer func() { r.engines <- c }()
	switch r.o.look {
	case LookLines:
		ws, err := r.readLines(ctx, c, g, lines)
		return Text{Words: ws}, err
	case LookTesseract:
		// whole-photo reads as a single block: what they always were, since
		// the sparse-text mode this package set before Tesseract's
		// initialisation was reset by it
		ws, err := r.words(c, g, gosseract.PSM_SINGLE_BLOCK)
		if err != nil || len(ws) == 0 || r.upscale(g) == 1 {
			return Text{Words: ws, Skipped: err == nil && len(ws) == 0}, err
		}
		if err := ctx.Err(); err != nil {
			return Text{}, err
		}
	}
	ws, err := r.words(c, enlarge(g, r.upscale(g)), gosseract.PSM_SINGLE_BLOCK)
	return Text{Words: ws}, err
}

// readLines reads the line boxes of g, each as a single line of text
// (which on the dev photos kept fewer stray words than reading each box
// as a block, and matched better), the largest first (detect's order) until the time budget is spent, and
// returns the words in reading order (top to bottom, then left to right).
func (r *Reader) readLines(ctx context.Context, c *gosseract.Client, g *image.Gray, lines []textLine) ([]Word, error) {
	start := time.Now()
	type line struct {
		at    image.Point
		words []Word
	}
	var read []line
	for _, l := range lines {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(read) > 0 && time.Since(start) >= r.o.budget {
			break
		}
		ws, err := r.words(c, lineImage(g, l, r.o.lineH), r.o.linePSM)
		if err != nil {
			return nil, err
		}
		read = append(read, line{l.r.Min, ws})
	}
	slices.SortFunc(read, func(a, b line) int {
		if a.at.Y != b.at.Y {
			return a.at.Y - b.at.Y
		}
		return a.at.X - b.at.X
	})
	var out []Word
	for _, l := range read {
		out = append(out, l.words...)
	}
	return out, nil
}

// upscale is the factor g is read at.
func (r *Reader) upscale(g *image.Gray) int {
	b := g.Bounds()
	if min(b.Dx(), b.Dy()) >= 600 {
		return 1
	}
	return r.o.upscale
}

// decode checks the photo's header against the pixel limit, then decodes
// it to greyscale.
func (r *Reader) decode(data []byte) (*image.Gray, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > r.o.maxPixels {
		return nil, fmt.Errorf("%w: %d×%d pixels, at most %d", ErrImage, cfg.Width, cfg.Height, r.o.maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrImage, err)
	}
	g := image.NewGray(image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy()))
	draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	return g, nil
}

// words reads g with engine c and keeps the words that pass the
// confidence and letter thresholds.
func (r *Reader) words(c *gosseract.Client, g *image.Gray, psm gosseract.PageSegMode) ([]Word, error) {
	if err := c.SetPageSegMode(psm); err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	if err := c.SetImageFromBytes(pgm(g)); err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	boxes, err := c.GetBoundingBoxes(gosseract.RIL_WORD)
	if err != nil {
		return nil, fmt.Errorf("ocr: %w", err)
	}
	var out []Word
	for _, b := range boxes {
		w := strings.TrimFunc(b.Word, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		conf := b.Confidence / 100
		if conf < r.o.minConf || letters(w) < r.o.minLetter || !utf8.ValidString(w) {
			continue
		}
		out = append(out, Word{Text: w, Confidence: conf})
	}
	return out, nil
}

func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

// pgm encodes g as a binary PGM, which Leptonica reads without a codec.
func pgm(g *image.Gray) []byte {
	b := g.Bounds()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "P5\n%d %d\n255\n", b.Dx(), b.Dy())
	for y := range b.Dy() {
		buf.Write(g.Pix[y*g.Stride : y*g.Stride+b.Dx()])
	}
	return buf.Bytes()
}

// enlarge scales g by an integer factor f with bilinear interpolation.
func enlarge(g *image.Gray, f int) *image.Gray {
	if f <= 1 {
		return g
	}
	w, h := g.Bounds().Dx(), g.Bounds().Dy()
	out := image.NewGray(image.Rect(0, 0, w*f, h*f))
	at := func(x, y int) float64 { return float64(g.Pix[min(y, h-1)*g.Stride+min(x, w-1)]) }
	for y := range h * f {
		sy := (float64(y)+0.5)/float64(f) - 0.5
		y0 := max(int(sy), 0)
		fy := max(sy-float64(y0), 0)
		for x := range w * f {
			sx := (float64(x)+0.5)/float64(f) - 0.5
			x0 := max(int(sx), 0)
			fx := max(sx-float64(x0), 0)
			v := (1-fy)*((1-fx)*at(x0, y0)+fx*at(x0+1, y0)) + fy*((1-fx)*at(x0, y0+1)+fx*at(x0+1, y0+1))
			out.Pix[y*out.Stride+x] = uint8(v + 0.5)
		}
	}
	return out
}

// ReadText is Read as search by photo's PhotoReader wants it: the words
// kept, joined, and their mean confidence.
func (r *Reader) ReadText(ctx context.Context, image []byte) (string, float64, error) {
	t, err := r.Read(ctx, image)
	return t.Query(), t.Confidence(), err
}
