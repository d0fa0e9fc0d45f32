package audioprep

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
)

// edge is how many output samples at each end to ignore: there the kernel
// runs off the signal, which is taken as silence.
const edge = 2 * zeroCrossings

func TestResampleTones(t *testing.T) {
	r := NewResampler()
	tests := []struct {
		name      string
		from, to  int
		freq, amp float64
		// wantAmp is the expected output amplitude: amp in the passband,
		// ~0 above the new Nyquist frequency.
		wantAmp, ampTol, maxResidual float64
	}{
		{"1 kHz, 8k to 16k", 8000, 16000, 1000, 0.5, 0.5, 0.005, 1e-4},
		{"3 kHz, 8k to 16k", 8000, 16000, 3000, 0.5, 0.5, 0.005, 1e-4},
		{"1 kHz, 16k to 8k", 16000, 8000, 1000, 0.5, 0.5, 0.005, 1e-4},
		{"3 kHz, 16k to 8k", 16000, 8000, 3000, 0.5, 0.5, 0.005, 1e-4},
		{"1 kHz, 44.1k to 16k", 44100, 16000, 1000, 0.8, 0.8, 0.008, 1e-4},
		{"5 kHz, 48k to 16k", 48000, 16000, 5000, 0.8, 0.8, 0.008, 1e-4},
		// Above the new Nyquist frequency: must be removed, not folded to
		// 3 kHz, 6 kHz or 4 kHz.
		{"5 kHz, 16k to 8k", 16000, 8000, 5000, 0.5, 0, 0, 0},
		{"10 kHz, 44.1k to 16k", 44100, 16000, 10000, 0.8, 0, 0, 0},
		{"12 kHz, 48k to 16k", 48000, 16000, 12000, 0.8, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sine(tt.freq, tt.amp, tt.from, tt.from) // one second
			out, err := r.Resample(t.Context(), in, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != tt.to {
				t.Fatalf("%d samples, want %d", len(out), tt.to)
			}
			mid := out[edge : len(out)-edge]
			if tt.wantAmp == 0 {
				// Attenuation: at least 80 dB below the input (the filter
				// is designed for about 100).
				if got := rms(mid) / (tt.amp / math.Sqrt2); got > 1e-4 {
					t.Errorf("stopband tone kept at %.1f dB", 20*math.Log10(got))
				}
				return
			}
			amp, res := fitSine(mid, tt.freq, tt.to) // phase is fitted, so the offset does not matter
			if math.Abs(amp-tt.wantAmp) > tt.ampTol {
				t.Errorf("amplitude %v, want %v ± %v", amp, tt.wantAmp, tt.ampTol)
			}
			// A small residual after fitting a tone at exactly freq means
			// the frequency was kept (a shifted tone leaves a residual the
			// size of the signal).
			if res > tt.maxResidual {
				t.Errorf("residual %v after fitting %v Hz (%.1f dB)", res, tt.freq, 20*math.Log10(res/tt.wantAmp))
			}
		})
	}
}

// TestResampleInterpolatingPath: 44101 Hz and 16000 Hz are coprime, so the
// polyphase bank would need 16000 phases and the interpolating path runs.
// It must give the same answers as the bank does where both apply.
func TestResampleInterpolatingPath(t *testing.T) {
	r := NewResampler()
	in := sine(1000, 0.5, 44101, 44101)
	out, err := r.Resample(t.Context(), in, 44101, 16000)
	if err != nil {
		t.Fatal(err)
	}
	if amp, res := fitSine(out[edge:len(out)-edge], 1000, 16000); math.Abs(amp-0.5) > 0.005 || res > 1e-4 {
		t.Errorf("1 kHz through 44101 -> 16000: amplitude %v, residual %v", amp, res)
	}
	loud := sine(11000, 0.5, 44101, 44101)
	if out, _ := r.Resample(t.Context(), loud, 44101, 16000); rms(out[edge:len(out)-edge]) > 0.5/math.Sqrt2*1e-4 {
		t.Errorf("11 kHz above the new Nyquist kept at RMS %v", rms(out[edge:len(out)-edge]))
	}

	x := decode(t, fixture(t, "fsdd/0_jackson_0.wav")).Samples
	for _, rates := range [][2]int{{8000, 16000}, {8000, 6000}} {
		poly, err := r.Resample(t.Context(), x, rates[0], rates[1])
		if err != nil {
			t.Fatal(err)
		}
		interp := make([]float32, len(poly))
		scale := min(1, float64(rates[1])/float64(rates[0]))
		if err := r.interpolate(t.Context(), x, interp, rates[0], rates[1], scale); err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i := range poly {
			worst = max(worst, math.Abs(float64(poly[i]-interp[i])))
		}
		if worst > 1e-5 {
			t.Errorf("%v: polyphase and interpolating paths differ by %v", rates, worst)
		}
	}
}

func TestResampleDCAndLength(t *testing.T) {
	r := NewResampler()
	for _, rates := range [][2]int{{8000, 16000}, {16000, 8000}, {44100, 16000}, {22050, 16000}, {16000, 48000}, {11025, 16000}} {
		in := make([]float32, 3000)
		for i := range in {
			in[i] = 0.5
		}
		out, err := r.Resample(t.Context(), in, rates[0], rates[1])
		if err != nil {
			t.Fatal(err)
		}
		if want := OutLen(len(in), rates[0], rates[1]); len(out) != want {
			t.Errorf("%v: %d samples, want %d", rates, len(out), want)
		}
		// The kernel's DC gain is 1: a constant stays put away from the
		// edges (within the kernel table's interpolation error).
		margin := 2 * edge * max(1, rates[0]/rates[1])
		for i, v := range out[margin : len(out)-margin] {
			if math.Abs(float64(v)-0.5) > 1e-3 {
				t.Fatalf("%v: sample %d = %v, want 0.5", rates, i+margin, v)
			}
		}
	}
}

func TestOutLen(t *testing.T) {
	tests := []struct{ n, from, to, want int }{
		{5148, 8000, 16000, 10296},
		{9600, 48000, 16000, 3200},
		{8820, 44100, 16000, 3200},
		{1, 44100, 16000, 1},
		{7, 48000, 16000, 3},
		{0, 8000, 16000, 0},
	}
	for _, tt := range tests {
		if got := OutLen(tt.n, tt.from, tt.to); got != tt.want {
			t.Errorf("OutLen(%d, %d, %d) = %d, want %d", tt.n, tt.from, tt.to, got, tt.want)
		}
	}
}

func TestResampleSameRateAndErrors(t *testing.T) {
	r := NewResampler()
	in := []float32{0.1, 0.2, 0.3}
	out, err := r.Resample(t.Context(), in, 16000, 16000)
	if err != nil || !slices.Equal(out, in) || &out[0] == &in[0] {
		t.Errorf("same rate: %v, %v (must be an equal copy)", out, err)
	}
	if _, err := r.Resample(t.Context(), in, 0, 16000); err == nil {
		t.Error("rate 0 accepted")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Resample(ctx, in, 8000, 16000); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func BenchmarkResample(b *testing.B) {
	r := NewResampler()
	in := sine(440, 0.5, 44100, 44100)
	for b.Loop() {
		if _, err := r.Resample(context.Background(), in, 44100, 16000); err != nil {
			b.Fatal(err)
		}
	}
}
