package speech_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vitrinehq/vitrine/speech"
)

// snr is the power of clean over that of noisy's difference from it, dB.
func snr(clean, noisy []float32) float64 {
	var ps, pn float64
	for i := range clean {
		d := float64(noisy[i] - clean[i])
		ps += float64(clean[i]) * float64(clean[i])
		pn += d * d
	}
	return 10 * math.Log10(ps/pn)
}

func TestDenoise(t *testing.T) {
	// A second of tone between quarter-second silences, and the same with
	// white noise at 5 dB below the tone.
	clean := make([]float32, 24000)
	for i := 4000; i < 20000; i++ {
		clean[i] = float32(0.3 * math.Sin(2*math.Pi*440*float64(i)/speech.SampleRate))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noisy := make([]float32, len(clean))
	for i := range noisy {
		noisy[i] = clean[i] + float32(0.3/math.Sqrt2*math.Pow(10, -5.0/20)*rng.NormFloat64())
	}
	for _, tc := range []struct {
		name   string
		in     []float32
		minSNR float64 // of the output against clean, dB
		same   bool
	}{
		{name: "noise is removed", in: noisy, minSNR: snr(clean, noisy) + 5},
		{name: "a clean clip is returned as it is", in: clean, same: true},
		{name: "a short clip is returned as it is", in: noisy[:1000], same: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := speech.Denoise(tc.in)
			if len(out) != len(tc.in) {
				t.Fatalf("%d samples out of %d", len(out), len(tc.in))
			}
			if tc.same {
				if &out[0] != &tc.in[0] {
					t.Error("the clip was copied")
				}
				return
			}
			if got := snr(clean, out); got < tc.minSNR {
				t.Errorf("SNR %.1f dB after denoising (%.1f before), want at least %.1f", got, snr(clean, tc.in), tc.minSNR)
			}
		})
	}
}
