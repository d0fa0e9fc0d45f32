package extractors_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/vitrinehq/vitrine/bench/throughput"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// BenchmarkThreads measures how ONNX Runtime's intra-op threads (and
// whether they spin when out of work) and the goroutines decoding a batch
// share the cores, on EncodeBatch of 64 images (two model batches of 32,
// the second decoded while the first runs: overlap forced on), for the shop photos and the
// 12-megapixel photos. Compare items/s across the settings of one run:
//
//	go test ./extractors/ -run '^$' -bench BenchmarkThreads -benchtime 3x -count 3
func BenchmarkThreads(b *testing.B) {
	lib := filepath.Join(testenv.Home(b), "lib", "libonnxruntime.so.1")
	m := testenv.Manifest(b, "mobilenetv2-int8")
	inputs := []struct {
		name string
		pool func(*testing.B) [][]byte
	}{{"photos", catalogImages}, {"12mp", func(b *testing.B) [][]byte { return largePhotos(b) }}}
	for _, in := range inputs {
		batch := throughput.Cycle(in.pool(b), 64)
		for _, intra := range []int{1, 2} {
			for _, spin := range []bool{true, false} {
				for _, prep := range []int{1, 2} {
					name := fmt.Sprintf("input=%s/intra=%d/spin=%t/prep=%d", in.name, intra, spin, prep)
					b.Run(name, func(b *testing.B) {
						rt, err := onnx.NewRuntime(b.Context(), onnx.WithLibraryPath(lib),
							onnx.WithIntraOpThreads(intra), onnx.WithIntraOpSpinning(spin))
						if err != nil {
							b.Fatal(err)
						}
						defer rt.Close()
						enc, err := extractors.Open(b.Context(), rt, m, testenv.ModelDir(b),
							extractors.Options{PrepWorkers: prep, Overlap: extractors.OverlapOn})
						if err != nil {
							b.Fatal(err)
						}
						defer enc.Close()
						bench(b, len(batch), func() error { return throughput.EncodeBatch(b.Context(), enc, batch) })
					})
				}
			}
		}
	}
}

// BenchmarkOverlap measures what overlapping buys: 64 inputs as one
// EncodeBatch call, two model batches of 32, with the second prepared while
// the first runs (overlap=on) or after it (overlap=off), in the same run.
//
//	go test ./extractors/ -run '^$' -bench BenchmarkOverlap -benchtime 3x -count 3
func BenchmarkOverlap(b *testing.B) {
	cases := []struct {
		modality, model string
		pool            func(*testing.B) [][]byte
	}{
		{"text", "glove-100d", func(*testing.B) [][]byte { return throughput.ProductTexts(64) }},
		{"image", "mobilenetv2-int8", catalogImages},
		{"image-12mp", "mobilenetv2-int8", func(b *testing.B) [][]byte { return largePhotos(b) }},
		{"audio", "speech-embedding", speechClips},
	}
	for _, c := range cases {
		b.Run("modality="+c.modality, func(b *testing.B) {
			batch := throughput.Cycle(c.pool(b), 64)
			for _, o := range []struct {
				name    string
				overlap extractors.Overlap
			}{{"on", extractors.OverlapOn}, {"off", extractors.OverlapOff}} {
				b.Run("overlap="+o.name, func(b *testing.B) {
					enc, err := extractors.Open(b.Context(), testenv.Runtime(b), testenv.Manifest(b, c.model), testenv.ModelDir(b),
						extractors.Options{MaxBatch: 32, Overlap: o.overlap})
					if err != nil {
						b.Fatal(err)
					}
					defer enc.Close()
					bench(b, len(batch), func() error { return throughput.EncodeBatch(b.Context(), enc, batch) })
				})
			}
		})
	}
}
