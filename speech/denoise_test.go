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
	tone := make([]float32, 24000)
	for i := 4000; i < 20000; i++ {
		tone[i] = float32(0.3 * math.Sin(2*math.Pi*440*float64(i)/speech.SampleRate))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noisyTone := make([]float32, len(tone))
	for i := range noisyTone {
		noisyTone[i] = tone[i] + float32(0.3/math.Sqrt2*math.Pow(10, -5.0/20)*rng.NormFloat64())
	}
	// A spoken product name (espeak-ng) with white noise 10 dB below its
	// mean power.
	said := speak(t, "Arla Ecological Medium Fat Milk", "en-us+klatt2", "150")
	var power float64
	for _, v := range said {
		power += float64(v) * float64(v) / float64(len(said))
	}
	heard := make([]float32, len(said))
	for i := range heard {
		heard[i] = said[i] + float32(math.Sqrt(power/10)*rng.NormFloat64())
	}
	for _, tc := range []struct {
		name      string
		clean, in []float32
		gain      float64 // least SNR gain against clean, dB
		same      bool    // in comes back as it is
	}{
		{name: "noise is removed from a tone", clean: tone, in: noisyTone, gain: 5},
		{name: "noise is removed from a spoken query", clean: said, in: heard, gain: 3},
		{name: "a clean clip is returned as it is", in: tone, same: true},
		{name: "a short clip is returned as it is", in: noisyTone[:1000], same: true},
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
			if before, after := snr(tc.clean, tc.in), snr(tc.clean, out); after < before+tc.gain {
				t.Errorf("SNR %.1f dB after denoising, %.1f before; want a gain of %g dB", after, before, tc.gain)
			}
		})
	}
}
