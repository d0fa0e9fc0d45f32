package audioprep

import (
	"context"
	"fmt"
	"math"
)

// Resampler parameters. A Kaiser-windowed sinc with 64 zero crossings each
// side and beta 10 has about 100 dB of stopband attenuation and a
// transition band about 10% of Nyquist wide; with the cutoff at 94% of the
// lower rate's Nyquist frequency the stopband starts just below Nyquist, so
// nothing folds back, and content up to about 89% of Nyquist passes flat.
// 512 table entries per zero crossing with linear interpolation keep the
// kernel's own error near -100 dB.
//
// No pure-Go resampler on the module proxy is both well established and
// maintained (the best-known one, github.com/zaf/resample, wraps libsoxr
// through cgo), so this is Julius O. Smith's bandlimited interpolation,
// the method resampy and libsamplerate's sinc converters use, evaluated as
// a polyphase filter bank when the rate ratio is a small fraction.
const (
	zeroCrossings = 64
	kaiserBeta    = 10.0
	rolloff       = 0.94
	precision     = 512
	// maxPhaseTaps bounds the per-call polyphase table (4 MiB); ratios
	// that would need more (coprime odd rates) use the interpolating path.
	maxPhaseTaps = 1 << 20
)

// Resampler converts mono float32 audio between sample rates with a
// band-limited (windowed-sinc) interpolator. It holds only a read-only
// kernel table and is safe for concurrent use.
type Resampler struct {
	// table[i] is the kernel at i/precision zero crossings from its centre;
	// slope[i] = table[i+1]-table[i] for the linear interpolation.
	table, slope []float32
}

// NewResampler builds the kernel table (about 16k entries).
func NewResampler() *Resampler {
	n := zeroCrossings*precision + 1
	r := &Resampler{table: make([]float32, n+1), slope: make([]float32, n)}
	i0b := besselI0(kaiserBeta)
	for i := range n {
		u := float64(i) / precision // distance in zero crossings of the output's band
		x := u / zeroCrossings
		w := besselI0(kaiserBeta*math.Sqrt(max(0, 1-x*x))) / i0b
		r.table[i] = float32(rolloff * sinc(rolloff*u) * w)
	}
	// table[n] stays 0: the kernel ends at the window's edge.
	for i := range n {
		r.slope[i] = r.table[i+1] - r.table[i]
	}
	return r
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order 0, by
// its power series (converges fast for the arguments a Kaiser window uses).
func besselI0(x float64) float64 {
	sum, term, q := 1.0, 1.0, x*x/4
	for k := 1; k < 200; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// OutLen is the number of samples Resample returns for n input samples:
// ceil(n*to/from), so that every output instant up to the input's last
// sample period is produced.
func OutLen(n, from, to int) int {
	return int((int64(n)*int64(to) + int64(from) - 1) / int64(from))
}

// Resample converts in, sampled at from Hz, to to Hz. When downsampling the
// kernel is widened so the cutoff follows the new Nyquist frequency and
// anything above it is removed rather than aliased. The signal is taken as
// zero outside in, so the first and last ~zeroCrossings output samples see
// a partial kernel. The output is a new slice; from == to returns a copy.
// The rates may be any positive integers; common pairs (8/16/22.05/44.1/48
// kHz) run as a polyphase filter bank, others through the interpolated
// kernel table.
func (r *Resampler) Resample(ctx context.Context, in []float32, from, to int) ([]float32, error) {
	if from <= 0 || to <= 0 {
		return nil, fmt.Errorf("audioprep: resample %d Hz to %d Hz: rates must be positive", from, to)
	}
	if from == to {
		return append([]float32(nil), in...), nil
	}
	out := make([]float32, OutLen(len(in), from, to))
	// scale < 1 stretches the kernel over more input samples when
	// downsampling, lowering its cutoff to the output's Nyquist frequency.
	scale := min(1, float64(to)/float64(from))
	g := gcd(from, to)
	up, down := to/g, from/g
	taps := 2 * (int(math.Ceil(zeroCrossings/scale)) + 1)
	var err error
	if up*taps <= maxPhaseTaps {
		err = r.polyphase(ctx, in, out, up, down, taps, scale)
	} else {
		err = r.interpolate(ctx, in, out, from, to, scale)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// kernel is the scaled kernel at d input samples from its centre.
func (r *Resampler) kernel(d, scale float64) float32 {
	pos := math.Abs(d) * scale * precision
	idx := int(pos)
	if idx >= len(r.slope) {
		return 0
	}
	return float32(scale * float64(r.table[idx]+float32(pos-float64(idx))*r.slope[idx]))
}

// polyphase resamples by up/down. Output j falls at input instant
// j*down/up: input sample base = j*down/up plus phase (j*down mod up)/up.
// There are only up distinct phases, so each phase's taps are computed once
// and every output is a plain dot product.
func (r *Resampler) polyphase(ctx context.Context, in, out []float32, up, down, taps int, scale float64) error {
	half := taps / 2
	bank := make([]float32, up*taps)
	for ph := range up {
		frac := float64(ph) / float64(up)
		for m := range taps {
			// tap m multiplies input base-half+1+m, at distance
			// (base+frac) - (base-half+1+m) from the output instant.
			bank[ph*taps+m] = r.kernel(frac+float64(half-1-m), scale)
		}
	}
	n := len(in)
	for j := range out {
		if j%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		pos := int64(j) * int64(down)
		base, ph := int(pos/int64(up)), int(pos%int64(up))
		w := bank[ph*taps : (ph+1)*taps]
		first := base - half + 1
		lo, hi := max(0, -first), min(taps, n-first) // zero outside the signal
		var acc float32
		if lo < hi {
			x := in[first+lo : first+hi]
			w := w[lo:hi]
			for m, v := range x {
				acc += v * w[m]
			}
		}
		out[j] = acc
	}
	return nil
}

// interpolate evaluates the kernel afresh for every tap, for ratios whose
// polyphase bank would be too large.
func (r *Resampler) interpolate(ctx context.Context, in, out []float32, from, to int, scale float64) error {
	half := zeroCrossings / scale // kernel half-width in input samples
	n := len(in)
	for j := range out {
		if j%(1<<16) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		// t is output j's instant in input samples, from the exact integer
		// product so that no error accumulates over long clips.
		t := float64(int64(j)*int64(from)) / float64(to)
		lo := max(0, int(math.Ceil(t-half)))
		hi := min(n-1, int(math.Floor(t+half)))
		var acc float32
		for k := lo; k <= hi; k++ {
			acc += in[k] * r.kernel(t-float64(k), scale)
		}
		out[j] = acc
	}
	return nil
}
