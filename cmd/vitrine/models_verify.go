package main

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
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/models"
)

func newModelsVerifyCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "verify [NAME...]",
		Short: "Load each configured model (or the named ones) and encode one real input end to end",
		Long: `Verify loads each configured model (models.text, models.image and
models.audio; or the named models) through the same code the service uses,
and runs one input through its whole pipeline: the text "hello world", a
synthesised 300x200 PNG, or a synthesised one-second 440 Hz 16-bit WAV.

The vector must have the manifest's dimension and finite values, and unit
length when the manifest normalises with l2. One line per model gives its
modality, dimension, load time, encode time (the first run, warm-up
included) and OK or FAIL with the reason. The exit status is 1 when any
model fails.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			ctx := cmd.Context()
			ms, err := a.manifests()
			if err != nil {
				return err
			}
			todo, err := verifyTargets(ms, names, a.cfg.Models.Manifests, []string{a.cfg.Models.Text, a.cfg.Models.Image, a.cfg.Models.Audio})
			if err != nil {
				return err
			}
			rt, err := a.runtime(ctx)
			if err != nil {
				return err
			}
			defer rt.Close()
			o := extractors.Options{MaxBatch: a.cfg.ORT.MaxBatch, MaxWait: a.cfg.ORT.MaxWait, QueueSize: a.cfg.ORT.QueueSize, Logger: a.log}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tMODALITY\tDIM\tLOAD\tENCODE\tRESULT")
			var failed []error
			for _, m := range todo {
				r := verifyModel(ctx, rt, m, a.cfg.ModelDir(), o)
				result := "OK"
				if r.err != nil {
					result = "FAIL: " + r.err.Error()
					failed = append(failed, fmt.Errorf("%s: %w", m.Key(), r.err))
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", m.Key(), m.Modality, m.Dim, verifyDuration(r.load), verifyDuration(r.encode), result)
				if ctx.Err() != nil {
					break
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(failed) > 0 {
				return fmt.Errorf("models verify: %d of %d models failed: %w", len(failed), len(todo), errors.Join(failed...))
			}
			return nil
		},
	}
}

// verifyTargets resolves the models to verify: the named ones, else the
// configured text, image and audio models (each once). An unknown name
// fails before anything is loaded, as a typo should.
func verifyTargets(ms []models.Manifest, names []string, dir string, configured []string) ([]models.Manifest, error) {
	if len(names) == 0 {
		for _, n := range configured {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return nil, errors.New("no model configured (models.text, models.image, models.audio) and none named")
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

type verifyResult struct {
	load, encode time.Duration // zero when the step did not run
	err          error
}

// verifyModel loads one model and encodes its probe input. Load and encode
// are timed separately: a slow load is a disk or graph-optimisation
// problem, a slow encode a compute one.
func verifyModel(ctx context.Context, rt *onnx.Runtime, m models.Manifest, modelDir string, o extractors.Options) verifyResult {
	var r verifyResult
	input, err := probeInput(m)
	if err != nil {
		r.err = err
		return r
	}
	start := time.Now()
	enc, err := extractors.Open(ctx, rt, m, modelDir, o)
	r.load = time.Since(start)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w (run `vitrine models fetch %s`)", err, m.Name)
		}
		r.err = err // Open's error already says "load model NAME@VERSION"
		return r
	}
	defer enc.Close()
	// EncodeBatch rather than Encode: the dynamic batcher would add its
	// wait for company to the encode time.
	start = time.Now()
	vecs, errs, err := enc.EncodeBatch(ctx, [][]byte{input})
	r.encode = time.Since(start)
	switch {
	case err != nil:
		r.err = fmt.Errorf("encode: %w", err)
	case errs[0] != nil:
		r.err = fmt.Errorf("encode: input rejected: %w", errs[0])
	default:
		r.err = checkVector(m, vecs[0])
	}
	return r
}

// checkVector holds a vector to what the manifest promises.
func checkVector(m models.Manifest, v []float32) error {
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

// probeInput is the one input each modality is verified with, made here so
// verify needs nothing but the model files.
func probeInput(m models.Manifest) ([]byte, error) {
	switch m.Modality {
	case models.Text:
		return []byte("hello world"), nil
	case models.Image:
		return probePNG(300, 200)
	case models.Audio:
		rate := 16000
		if ap := m.Preprocess.Audio; ap != nil && ap.SampleRate > 0 {
			rate = ap.SampleRate
		}
		return probeWAV(rate, time.Second, 440), nil
	}
	return nil, fmt.Errorf("no probe input for modality %q", m.Modality)
}

// probePNG is a colour gradient with a dark disc off centre: edges,
// colour and a shape, so an image model sees more than a flat field.
func probePNG(w, h int) ([]byte, error) {
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

// probeWAV is a mono 16-bit PCM WAV of a sine tone at half full scale.
func probeWAV(rate int, d time.Duration, hz float64) []byte {
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

// verifyDuration prints a step's time, or "-" when it did not run.
func verifyDuration(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(100 * time.Microsecond).String()
}
