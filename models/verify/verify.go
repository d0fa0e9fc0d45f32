// Package verify checks that a model works end to end through the code
// the service uses: it loads the model, encodes one synthesised input (a
// text, a PNG, a WAV) and holds the vector to what the manifest promises
// (dimension, finite values, unit length under l2). It also makes the
// synthesised inputs other tools fall back on when no real ones are at hand.
package verify

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math"
	"slices"
	"time"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
)

// ErrNoModel is returned by Targets when nothing is configured or named.
var ErrNoModel = errors.New("no model configured (models.text, models.image, models.audio) and none named")

// Targets resolves the models to verify: the named ones, else the
// configured text, image and audio models (each once). An unknown name
// fails before anything is loaded, as a typo should.
func Targets(ms []models.Manifest, names []string, dir string, configured []string) ([]models.Manifest, error) {
	if len(names) == 0 {
		for _, n := range configured {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return nil, ErrNoModel
		}
	}
	out := make([]models.Manifest, 0, len(names))
	for _, n := range names {
		m, ok := models.Find(ms, n)
		if !ok {
			return nil, fmt.Errorf("%w: no model %q in %s", extractors.ErrUnknownModel, n, dir)
		}
		out = append(out, m)
	}
	return out, nil
}

// Result is one model's verification.
type Result struct {
	// Load and Encode are zero when the step did not run.
	Load, Encode time.Duration
	Err          error
}

// Model loads one model and encodes its probe input. Load and encode
// are timed separately: a slow load is a disk or graph-optimisation
// problem, a slow encode a compute one.
func Model(ctx context.Context, rt *onnx.Runtime, m models.Manifest, modelDir string, o extractors.Options) Result {
	var r Result
	input, err := Probe(m)
	if err != nil {
		r.Err = err
		return r
	}
	start := time.Now()
	enc, err := extractors.Open(ctx, rt, m, modelDir, o)
	r.Load = time.Since(start)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w (run `vitrine models fetch %s`)", err, m.Name)
		}
		r.Err = err // Open's error already says "load model NAME@VERSION"
		return r
	}
	defer enc.Close()
	// EncodeBatch rather than Encode: the dynamic batcher would add its
	// wait for company to the encode time.
	start = time.Now()
	vecs, errs, err := enc.EncodeBatch(ctx, [][]byte{input})
	r.Encode = time.Since(start)
	switch {
	case err != nil:
		r.Err = fmt.Errorf("encode: %w", err)
	case errs[0] != nil:
		r.Err = fmt.Errorf("encode: input rejected: %w", errs[0])
	default:
		r.Err = CheckVector(m, vecs[0])
	}
	return r
}

// CheckVector holds a vector to what the manifest promises.
func CheckVector(m models.Manifest, v []float32) error {
	if len(v) != m.Dim {
		return fmt.Errorf("vector has %d dimensions, manifest says %d", len(v), m.Dim)
	}
	var sq float64
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return fmt.Errorf("value %d of the vector is %v", i, x)
		}
		sq += float64(x) * float64(x)
	}
	norm := math.Sqrt(sq)
	if norm == 0 {
		return errors.New("vector is all zeros")
	}
	// float32 rounding over a few thousand dimensions stays far below this.
	if m.Normalize == "l2" && math.Abs(norm-1) > 1e-3 {
		return fmt.Errorf("vector norm is %.6f, want 1 (normalize: l2)", norm)
	}
	return nil
}

// Probe is the one input each modality is verified with, made here so
// verify needs nothing but the model files.
func Probe(m models.Manifest) ([]byte, error) {
	switch m.Modality {
	case models.Text:
		return []byte("hello world"), nil
	case models.Image:
		return PNG(300, 200)
	case models.Audio:
		rate := 16000
		if ap := m.Preprocess.Audio; ap != nil && ap.SampleRate > 0 {
			rate = ap.SampleRate
		}
		return WAV(rate, time.Second, 440), nil
	}
	return nil, fmt.Errorf("no probe input for modality %q", m.Modality)
}

// PNG is a colour gradient with a dark disc off centre: edges,
// colour and a shape, so an image model sees more than a flat field.
func PNG(w, h int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	cx, cy, r := w*2/3, h/2, h/4
	for y := range h {
		for x := range w {
			c := color.RGBA{R: uint8(255 * x / w), G: uint8(255 * y / h), B: 128, A: 255}
			if dx, dy := x-cx, y-cy; dx*dx+dy*dy <= r*r {
				c = color.RGBA{R: 20, G: 20, B: 60, A: 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("synthesise probe image: %w", err)
	}
	return buf.Bytes(), nil
}

// WAV is a mono 16-bit PCM WAV of a sine tone at half full scale.
func WAV(rate int, d time.Duration, hz float64) []byte {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	var buf bytes.Buffer
	le := binary.LittleEndian
	data := uint32(2 * n)
	buf.WriteString("RIFF")
	buf.Write(le.AppendUint32(nil, 36+data))
	buf.WriteString("WAVEfmt ")
	buf.Write(le.AppendUint32(nil, 16))             // fmt chunk size
	buf.Write(le.AppendUint16(nil, 1))              // PCM
	buf.Write(le.AppendUint16(nil, 1))              // mono
	buf.Write(le.AppendUint32(nil, uint32(rate)))   // sample rate
	buf.Write(le.AppendUint32(nil, uint32(2*rate))) // byte rate
	buf.Write(le.AppendUint16(nil, 2))              // block align
	buf.Write(le.AppendUint16(nil, 16))             // bits per sample
	buf.WriteString("data")
	buf.Write(le.AppendUint32(nil, data))
	for i := range n {
		s := int16(math.Round(16383 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
		buf.Write(le.AppendUint16(nil, uint16(s)))
	}
	return buf.Bytes()
}

// SynthImages are verify's probe picture at several sizes, so resizing is
// exercised.
func SynthImages() ([][]byte, string, error) {
	var out [][]byte
	for _, wh := range [][2]int{{300, 200}, {224, 224}, {640, 480}, {120, 360}} {
		b, err := PNG(wh[0], wh[1])
		if err != nil {
			return nil, "", err
		}
		out = append(out, b)
	}
	return out, fmt.Sprintf("%d synthesised PNGs", len(out)), nil
}

// SynthWAVs are tones of different pitch and length at the model's rate.
func SynthWAVs(m models.Manifest) ([][]byte, string) {
	rate := 16000
	if ap := m.Preprocess.Audio; ap != nil && ap.SampleRate > 0 {
		rate = ap.SampleRate
	}
	var out [][]byte
	for i, hz := range []float64{220, 330, 440, 660, 880, 1320, 1760, 2640} {
		out = append(out, WAV(rate, time.Duration(1000+250*i)*time.Millisecond, hz))
	}
	return out, fmt.Sprintf("%d synthesised tones at %d Hz", len(out), rate)
}
