package extractors_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrinehq/vitrine/bench/throughput"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// BenchmarkEncode measures, per modality and batch size, the whole encoder
// (path=vitrine: Encoder.EncodeBatch on real product text, catalog photos and
// speech clips, so decoding, tokenising, resampling, mel framing, tensor
// checks, output copies, pooling and normalisation included) against the
// floor (path=bare: the same .onnx files run through onnxruntime_go with
// pre-allocated tensors of exactly the shapes the pipeline builds for that
// batch, and no preprocessing). Both paths run in one process on one ORT
// environment with the same session settings, so vitrine/bare items/s is
// the share of the model's speed the pipeline keeps. Images come twice:
// the 148 shop photos (348 px) and the 12-megapixel photos of photogen,
// which the encoder decodes at a reduced scale. The measuring code is
// package bench/throughput's, shared with `vitrine bench extract`.
//
//	go test ./extractors/ -run '^$' -bench BenchmarkEncode -benchtime 20x -count 3
func BenchmarkEncode(b *testing.B) {
	cases := []struct {
		modality string
		model    string
		inputs   func(b *testing.B) [][]byte
	}{
		{"text", "glove-100d", func(*testing.B) [][]byte { return throughput.ProductTexts(64) }},
		{"image", "mobilenetv2-int8", catalogImages},
		{"image-12mp", "mobilenetv2-int8", func(b *testing.B) [][]byte { return largePhotos(b) }},
		{"audio", "speech-embedding", speechClips},
	}
	for _, c := range cases {
		b.Run("modality="+c.modality, func(b *testing.B) {
			m := testenv.Manifest(b, c.model)
			// Open the encoder first: its Runtime holds the process's ORT
			// environment, which the bare sessions below borrow (testenv's
			// Runtime is never closed in a test binary, so the environment
			// outlives every bare session).
			enc, err := extractors.Open(b.Context(), testenv.Runtime(b), m, testenv.ModelDir(b), extractors.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { enc.Close() })
			pool := c.inputs(b)
			// 64 is two model batches (MaxBatch 32), the second prepared
			// while the first runs, as ingestion encodes.
			for _, n := range []int{1, 8, 32, 64} {
				batch := throughput.Cycle(pool, n)
				b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
					b.Run("path=vitrine", func(b *testing.B) {
						bench(b, n, func() error { return throughput.EncodeBatch(b.Context(), enc, batch) })
					})
					b.Run("path=bare", func(b *testing.B) {
						// testenv's Runtime sets no thread counts, so zero
						// Threads are the encoders' session settings.
						bare, err := throughput.OpenBare(b.Context(), m, testenv.ModelDir(b), batch, throughput.Threads{})
						if err != nil {
							b.Fatal(err)
						}
						b.Cleanup(func() { bare.Close() })
						bench(b, n, func() error { return bare.Run(b.Context()) })
						// After the timer reset, which drops metrics reported before it.
						for unit, v := range bare.Metrics {
							b.ReportMetric(v, unit)
						}
					})
				})
			}
		})
	}
}

// bench times run (n items a call) after throughput.Warmups untimed calls.
func bench(b *testing.B, n int, run func() error) {
	for range throughput.Warmups {
		if err := run(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if err := run(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
}

// catalogImages are the demo catalog's product photos (JPEG).
func catalogImages(b *testing.B) [][]byte {
	paths, err := filepath.Glob(filepath.Join(testenv.Root(b), "demo", "grocery", "images", "*.jpg"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("demo catalog images: %v", err)
	}
	return readAll(b, paths)
}

// speechClips are the FSDD recordings (8 kHz 16-bit WAV, under a second).
func speechClips(b *testing.B) [][]byte {
	dir := filepath.Join(testenv.Root(b), "..", "shared", "data", "audio", "fsdd")
	if a := os.Getenv("VITRINE_ASSETS"); a != "" {
		dir = filepath.Join(a, "data", "audio", "fsdd")
	}
	paths, err := throughput.Files(dir, ".wav")
	if err != nil || len(paths) == 0 {
		b.Fatalf("FSDD clips in %s (set VITRINE_ASSETS to the shared directory): %v", dir, err)
	}
	return readAll(b, paths)
}

func readAll(b *testing.B, paths []string) [][]byte {
	out, err := throughput.ReadFiles(paths)
	if err != nil {
		b.Fatal(err)
	}
	return out
}
