package speech

import (
	"cmp"
	"math"
	"slices"

	"gonum.org/v1/gonum/dsp/fourier"
)

// Spectral subtraction's frame: 32 ms windows every 16 ms at 16 kHz.
const (
	denoiseFrame = 512
	denoiseHop   = denoiseFrame / 2
)

// Denoiser settings: the share of the quietest frames whose mean power
// spectrum is taken as the noise's, how much of it is subtracted (more
// than once: the estimate is an average, the noise in a frame varies
// around it) and the floor of the gain (what is left of a bin that was
// all noise), which keeps the "musical" residue of the subtraction low.
const (
	noiseShare    = 0.1
	minNoiseFrame = 3
	overSubtract  = 2.0
	gainFloor     = 0.1
	// quietFloor: a clip whose quietest frames are this far below its
	// mean frame (30 dB) has no noise worth removing and is left as it
	// is, so that clean speech is decoded exactly as before.
	quietFloor = 1e-3
)

// Denoise removes stationary noise from 16 kHz samples by spectral
// subtraction: the noise's power spectrum is the mean of the quietest
// tenth of the clip's frames (a spoken query starts and ends in the noise
// it was recorded in), each frame's bins keep the power above twice that
// (at least a tenth of their magnitude), and the frames are added back
// together, divided by the sum of their windows. A clip without noise
// (its quietest frames 30 dB below its mean frame) comes back as it is,
// as does one shorter than four frames.
func Denoise(samples []float32) []float32 {
	n := (len(samples)-denoiseFrame)/denoiseHop + 1
	if len(samples) < denoiseFrame || n < 4 {
		return samples
	}
	fft := fourier.NewFFT(denoiseFrame)
	win := make([]float64, denoiseFrame)
	for i := range win {
		win[i] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/denoiseFrame) // periodic Hann
	}
	spectra := make([][]complex128, n)
	energy := make([]float64, n)
	frame := make([]float64, denoiseFrame)
	for f := range n {
		for i := range frame {
			frame[i] = float64(samples[f*denoiseHop+i]) * win[i]
		}
		spectra[f] = fft.Coefficients(nil, frame)
		for _, c := range spectra[f] {
			energy[f] += real(c)*real(c) + imag(c)*imag(c)
		}
	}
	noise := noiseSpectrum(spectra, energy)
	var noiseEnergy, meanEnergy float64
	for b := range noise {
		noiseEnergy += noise[b]
	}
	for _, e := range energy {
		meanEnergy += e / float64(n)
	}
	if noiseEnergy <= quietFloor*meanEnergy {
		return samples
	}
	sum := make([]float64, len(samples))  // the frames' overlap-added samples
	wsum := make([]float64, len(samples)) // and windows
	for f, spec := range spectra {
		for b, c := range spec {
			p := real(c)*real(c) + imag(c)*imag(c)
			g := 1.0
			if p > 0 {
				g = math.Sqrt(max(gainFloor*gainFloor, 1-overSubtract*noise[b]/p))
			}
			spec[b] = c * complex(g, 0)
		}
		seq := fft.Sequence(frame, spec)
		for i, v := range seq {
			sum[f*denoiseHop+i] += v / denoiseFrame
			wsum[f*denoiseHop+i] += win[i]
		}
	}
	out := make([]float32, len(samples))
	for i, v := range samples {
		out[i] = v // the edges no window covers fully are left as they were
		if wsum[i] > 0.5 {
			out[i] = float32(sum[i] / wsum[i])
		}
	}
	return out
}

// noiseSpectrum is the mean power spectrum of the quietest frames.
func noiseSpectrum(spectra [][]complex128, energy []float64) []float64 {
	order := make([]int, len(spectra))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(energy[a], energy[b]) })
	k := max(minNoiseFrame, int(noiseShare*float64(len(order))))
	noise := make([]float64, len(spectra[0]))
	for _, f := range order[:k] {
		for b, c := range spectra[f] {
			noise[b] += (real(c)*real(c) + imag(c)*imag(c)) / float64(k)
		}
	}
	return noise
}
