package speech_test

import (
	"context"
	"testing"

	"github.com/vitrinehq/vitrine/speech"
)

// BenchmarkRecognize3s decodes a 3-second clip (a spoken product name
// padded with the quiet it was spoken in) with the catalog model: the
// issue's goal is an answer within a second.
func BenchmarkRecognize3s(b *testing.B) {
	r, err := speech.New()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if err := r.Build(context.Background(), []string{"Arla Ecological Medium Fat Milk", "Oatly Oat Milk", "Alpro Blueberry Soyghurt", "Red Bell Pepper"}); err != nil {
		b.Fatal(err)
	}
	clip := speak(b, "Arla Ecological Medium Fat Milk", "en-us+klatt2", "120")
	for len(clip) < 3*speech.SampleRate {
		clip = append(clip, 0)
	}
	clip = clip[:3*speech.SampleRate]
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Recognize(context.Background(), clip, speech.Catalog); err != nil {
			b.Fatal(err)
		}
	}
}
