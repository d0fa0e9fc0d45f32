package speech_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/speech"
)

// cpuTime is the process's user and system time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRecognize3s decodes a 3-second clip (a spoken product name
// padded with the quiet it was spoken in) with each language model: the
// issue's goal is an answer within a second. A catalog recognition of a
// product name is the catalog-only decode; of anything else, that plus
// the mixed one. cpu-s/op is the process's
// CPU time per decode, steadier than the wall time on a shared machine.
//
// catalog-served is a catalog recognition as served (voice.alternatives
// 4, voice.denoise on): the clip denoised, and the catalog model's
// n-best paths read after its decode; catalog-undithered is one without
// the dither, alternatives and denoising, as the recogniser was before
// them.
func BenchmarkRecognize3s(b *testing.B) {
	phrases := []string{"Arla Ecological Medium Fat Milk", "Oatly Oat Milk", "Alpro Blueberry Soyghurt", "Red Bell Pepper"}
	r := newBenchRecognizer(b, phrases)
	served := newBenchRecognizer(b, phrases, speech.WithAlternatives(4), speech.WithDenoise(true))
	plain := newBenchRecognizer(b, phrases, speech.WithDither(false))
	clip := threeSeconds(speak(b, "Arla Ecological Medium Fat Milk", "en-us+klatt2", "120"))
	for _, model := range []string{speech.Catalog, speech.CatalogOnly, speech.Mixed, speech.General} {
		b.Run(model, func(b *testing.B) { benchRecognize(b, r, clip, model) })
	}
	b.Run("catalog-served", func(b *testing.B) { benchRecognize(b, served, clip, speech.Catalog) })
	b.Run("catalog-undithered", func(b *testing.B) { benchRecognize(b, plain, clip, speech.Catalog) })
	// Something outside the catalog: the catalog recognition decodes twice.
	other := threeSeconds(speak(b, "where are the batteries", "en-us+klatt", "150"))
	b.Run("catalog-fallback", func(b *testing.B) { benchRecognize(b, r, other, speech.Catalog) })
	b.Run("catalog-fallback-served", func(b *testing.B) { benchRecognize(b, served, other, speech.Catalog) })
}

// newBenchRecognizer loads a recogniser and builds its catalog model.
func newBenchRecognizer(b *testing.B, phrases []string, opts ...speech.Option) *speech.Recognizer {
	r, err := speech.New(opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(r.Close)
	if err := r.Build(context.Background(), phrases); err != nil {
		b.Fatal(err)
	}
	return r
}

// threeSeconds pads or cuts a clip to 3 s.
func threeSeconds(clip []float32) []float32 {
	for len(clip) < 3*speech.SampleRate {
		clip = append(clip, 0)
	}
	return clip[:3*speech.SampleRate]
}

func benchRecognize(b *testing.B, r *speech.Recognizer, clip []float32, model string) {
	start := cpuTime(b)
	for b.Loop() {
		t, err := r.Recognize(context.Background(), clip, model)
		if err != nil {
			b.Fatal(err)
		}
		if t.Text == "" {
			b.Fatal("nothing heard")
		}
	}
	b.ReportMetric((cpuTime(b)-start).Seconds()/float64(b.N), "cpu-s/op")
}
