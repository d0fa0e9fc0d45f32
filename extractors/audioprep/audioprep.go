// Package audioprep turns WAV bytes into what an audio encoder takes: mono
// float32 samples at the model's sample rate, scaled as the model expects,
// cut into chunks of at most ChunkSeconds, as a models.AudioPrep describes.
//
// It reads RIFF/WAVE itself rather than through github.com/go-audio/wav
// v1.1.0, which (checked in its source) decodes IEEE-float files as if they
// were integers, ignores the WAVE_FORMAT_EXTENSIBLE sub-format, and
// allocates whatever a fmt chunk's size field says (up to 4 GiB from a
// 60-byte upload). Here nothing is allocated before the header's declared
// duration is checked against MaxSeconds and its declared size against the
// bytes actually present; go-audio/wav is kept as a cross-check in tests.
package audioprep

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/vitrinehq/vitrine/models"
)

const (
	// DefaultMaxSeconds applies when the manifest's max_seconds is 0.
	DefaultMaxSeconds = 600
	// DefaultMaxBytes bounds the input: ten minutes of 48 kHz stereo 16-bit
	// is 115 MB.
	DefaultMaxBytes = 128 << 20
)

// Option adjusts a Preparer's limits.
type Option func(*options)

type options struct {
	maxBytes int
}

// WithMaxBytes sets the largest input accepted (ErrTooLong beyond it).
// Default DefaultMaxBytes.
func WithMaxBytes(n int) Option { return func(o *options) { o.maxBytes = n } }

// Preparer prepares WAV clips for one model. It is immutable and safe for
// concurrent use.
type Preparer struct {
	rate       int
	scale      float32
	chunk      int // samples per chunk at rate; 0 means one chunk
	maxSeconds float64
	maxBytes   int
	resampler  *Resampler
}

// New validates cfg's SampleRate, SampleScale, ChunkSeconds and MaxSeconds
// (the mel and window fields belong to the embedder) and returns a
// Preparer. SampleScale 0 means 1 (samples stay in [-1,1]); ChunkSeconds 0
// means no chunking; MaxSeconds 0 means DefaultMaxSeconds. Every problem is
// reported at once, each as a *ConfigError naming the field.
func New(cfg models.AudioPrep, opts ...Option) (*Preparer, error) {
	o := options{maxBytes: DefaultMaxBytes}
	for _, opt := range opts {
		opt(&o)
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if cfg.SampleRate < minRate || cfg.SampleRate > maxRate {
		bad("sample_rate", "must be in %d..%d Hz, got %d", minRate, maxRate, cfg.SampleRate)
	}
	scale := cfg.SampleScale
	if scale == 0 {
		scale = 1
	}
	if !(scale > 0) || !finite(float64(scale)) {
		bad("sample_scale", "must be positive and finite, got %v", cfg.SampleScale)
	}
	maxSeconds := cfg.MaxSeconds
	if maxSeconds == 0 {
		maxSeconds = DefaultMaxSeconds
	}
	if !(maxSeconds > 0) || !finite(maxSeconds) {
		bad("max_seconds", "must be positive and finite, got %v", cfg.MaxSeconds)
	}
	chunk := 0
	if cfg.ChunkSeconds != 0 {
		if !(cfg.ChunkSeconds > 0) || !finite(cfg.ChunkSeconds) {
			bad("chunk_seconds", "must be positive and finite, got %v", cfg.ChunkSeconds)
		} else if chunk = int(math.Round(cfg.ChunkSeconds * float64(cfg.SampleRate))); chunk < 1 && cfg.SampleRate > 0 {
			bad("chunk_seconds", "%v s is less than one sample at %d Hz", cfg.ChunkSeconds, cfg.SampleRate)
		}
	}
	if o.maxBytes < 1 {
		bad("max_bytes", "must be positive, got %d", o.maxBytes)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Preparer{rate: cfg.SampleRate, scale: scale, chunk: chunk, maxSeconds: maxSeconds,
		maxBytes: o.maxBytes, resampler: NewResampler()}, nil
}

// SampleRate is the rate Prepare's output is at.
func (p *Preparer) SampleRate() int { return p.rate }

// Clip is decoded mono audio at its own sample rate.
type Clip struct {
	Header Header
	// Samples are in [-1, 1], channels averaged.
	Samples []float32
}

// Inspect does Decode's checks without reading samples: the byte limit, the
// header, the declared duration against MaxSeconds, and the declared size
// against the bytes present. It allocates nothing in proportion to the
// input.
func (p *Preparer) Inspect(data []byte) (Header, error) {
	if len(data) == 0 {
		return Header{}, ErrEmpty
	}
	if len(data) > p.maxBytes {
		return Header{}, fmt.Errorf("%w: %d bytes > max %d", ErrTooLong, len(data), p.maxBytes)
	}
	h, err := ParseHeader(data)
	if err != nil {
		return Header{}, err
	}
	// Duration first: a header claiming an hour is refused as too long
	// whether or not the hour is really there.
	if s := h.Seconds(); s > p.maxSeconds {
		return Header{}, fmt.Errorf("%w: %.1f s declared > max %.1f s", ErrTooLong, s, p.maxSeconds)
	}
	if have := int64(len(data) - h.DataOffset); h.DataSize > have {
		return Header{}, fmt.Errorf("%w: truncated: data chunk declares %d bytes, file has %d", ErrCorrupt, h.DataSize, have)
	}
	if h.Frames() == 0 {
		return Header{}, fmt.Errorf("%w: data chunk holds no whole frame", ErrEmpty)
	}
	return h, nil
}

// Decode checks data (see Inspect) and returns its samples as mono float32
// at the file's own rate. A partial frame at the end of the data chunk is
// dropped.
func (p *Preparer) Decode(ctx context.Context, data []byte) (Clip, error) {
	if err := ctx.Err(); err != nil {
		return Clip{}, err
	}
	h, err := p.Inspect(data)
	if err != nil {
		return Clip{}, err
	}
	samples, err := decodeMono(h, data, int(h.Frames()))
	if err != nil {
		return Clip{}, err
	}
	return Clip{Header: h, Samples: samples}, nil
}

// Prepare decodes data, resamples it to the model's rate, multiplies by
// SampleScale and splits it into chunks of ChunkSeconds (the last one may
// be shorter; none is empty). The chunks share one backing array, each
// capped so appending to one cannot overwrite the next. Resampling can
// overshoot full scale slightly near clipped input; samples are clamped to
// [-1, 1] before scaling, as a converter's output would be.
func (p *Preparer) Prepare(ctx context.Context, data []byte) ([][]float32, error) {
	clip, err := p.Decode(ctx, data)
	if err != nil {
		return nil, err
	}
	samples, err := p.resampler.Resample(ctx, clip.Samples, clip.Header.SampleRate, p.rate)
	if err != nil {
		return nil, err
	}
	for i, v := range samples {
		samples[i] = max(-1, min(1, v)) * p.scale
	}
	return p.split(samples), nil
}

func (p *Preparer) split(s []float32) [][]float32 {
	if p.chunk == 0 || len(s) <= p.chunk {
		return [][]float32{s}
	}
	out := make([][]float32, 0, (len(s)+p.chunk-1)/p.chunk)
	for i := 0; i < len(s); i += p.chunk {
		j := min(i+p.chunk, len(s))
		out = append(out, s[i:j:j])
	}
	return out
}
