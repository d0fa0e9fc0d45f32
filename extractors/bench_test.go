package extractors_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/audioprep"
	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/extractors/tokenizer"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
)

// BenchmarkEncode measures, per modality and batch size, the whole encoder
// (path=vitrine: Encoder.EncodeBatch on real product text, catalog photos and
// speech clips, so decoding, tokenising, resampling, mel framing, tensor
// checks, output copies, pooling and normalisation included) against the
// floor (path=bare: the same .onnx files run through onnxruntime_go with
// pre-allocated tensors of exactly the shapes the pipeline builds for that
// batch, and no preprocessing). Both paths run in one process on one ORT
// environment with the same session settings, so vitrine/bare items/s is
// the share of the model's speed the pipeline keeps.
//
//	go test ./extractors/ -run '^$' -bench BenchmarkEncode -benchtime 20x -count 3
func BenchmarkEncode(b *testing.B) {
	cases := []struct {
		modality string
		model    string
		inputs   func(b *testing.B) [][]byte
		bare     func(b *testing.B, m models.Manifest, dir string, batch [][]byte) bareModel
	}{
		{"text", "glove-100d", productTexts, bareText},
		{"image", "mobilenetv2-int8", catalogImages, bareImage},
		{"audio", "speech-embedding", speechClips, bareAudio},
	}
	for _, c := range cases {
		b.Run("modality="+c.modality, func(b *testing.B) {
			m := testenv.Manifest(b, c.model)
			// Open the encoder first: its Runtime holds the process's ORT
			// environment, which the bare sessions below borrow.
			enc, err := extractors.Open(b.Context(), testenv.Runtime(b), m, testenv.ModelDir(b), extractors.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { enc.Close() })
			pool := c.inputs(b)
			dir := filepath.Join(testenv.ModelDir(b), m.Name, m.Version)
			for _, n := range []int{1, 8, 32} {
				batch := make([][]byte, n)
				for i := range batch {
					batch[i] = pool[i%len(pool)]
				}
				b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
					b.Run("path=vitrine", func(b *testing.B) { benchPipeline(b, enc, batch) })
					b.Run("path=bare", func(b *testing.B) {
						requireSharedEnvironment(b)
						benchBare(b, n, c.bare(b, m, dir, batch))
					})
				})
			}
		})
	}
}

// benchWarmups untimed runs come first on each path: a fresh ORT session
// plans memory and grows its arena over its first runs.
const benchWarmups = 3

func reportItemsPerSec(b *testing.B, n int) {
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "items/s")
}

func benchPipeline(b *testing.B, enc extractors.Encoder, batch [][]byte) {
	ctx := b.Context()
	for range benchWarmups {
		_, errs, err := enc.EncodeBatch(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		// A rejected input would make the pipeline look faster than it is.
		for i, e := range errs {
			if e != nil {
				b.Fatalf("input %d: %v", i, e)
			}
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, _, err := enc.EncodeBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportItemsPerSec(b, len(batch))
}

// bareModel is one batch's work as bare ORT calls, each on pre-allocated
// tensors, with metrics describing that work.
type bareModel struct {
	calls   []func() error
	metrics map[string]float64
}

func benchBare(b *testing.B, n int, bm bareModel) {
	run := func() {
		for _, call := range bm.calls {
			if err := call(); err != nil {
				b.Fatal(err)
			}
		}
	}
	for range benchWarmups {
		run()
	}
	b.ResetTimer()
	for range b.N {
		run()
	}
	b.StopTimer()
	reportItemsPerSec(b, n)
	// After the timer reset, which drops metrics reported before it.
	for unit, v := range bm.metrics {
		b.ReportMetric(v, unit)
	}
}

// requireSharedEnvironment refuses to build bare sessions unless the
// extractors' onnx.Runtime has ORT's process-wide environment up. The bare
// path never initialises or destroys that environment itself: the onnx
// package reference-counts it, and a second InitializeEnvironment fails
// while a DestroyEnvironment here would unload the library under the
// encoders' sessions. testenv's Runtime is never closed in a test binary,
// so the environment outlives every bare session.
func requireSharedEnvironment(b *testing.B) {
	b.Helper()
	testenv.Runtime(b)
	if !ort.IsInitialized() {
		b.Fatal("ORT environment not initialised although a Runtime is open")
	}
}

// sessionOptions are the bare sessions' options. testenv's Runtime sets no
// thread counts (ORT's defaults: every core intra-op, sequential), and
// onnx.Runtime only touches options it is given, so plain options are the
// same settings the encoders' sessions run with.
func sessionOptions(b *testing.B) *ort.SessionOptions {
	b.Helper()
	so, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { so.Destroy() })
	return so
}

// keep registers an ORT object for destruction when the benchmark ends,
// after failing on the error that came with it.
func keep(b *testing.B, v interface{ Destroy() error }, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Destroy() })
}

// bareText feeds glove's graph the token ids and mask the tokenizer makes
// for this batch: [n, longest row], padded with the pad id and mask 0.
func bareText(b *testing.B, m models.Manifest, dir string, batch [][]byte) bareModel {
	tp := m.Preprocess.Text
	tok, err := tokenizer.LoadFile(b.Context(), filepath.Join(dir, tp.Tokenizer), tokenizer.WithMaxLength(tp.MaxLength))
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, len(batch))
	for i, t := range batch {
		texts[i] = string(t)
	}
	tb := tok.EncodeBatch(texts, tokenizer.BatchOptions{MaxLength: tp.MaxLength})
	shape := ort.NewShape(tb.Shape()...)
	ids, err := ort.NewTensor(shape, tb.InputIDs)
	keep(b, ids, err)
	mask, err := ort.NewTensor(shape, tb.AttentionMask)
	keep(b, mask, err)
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(int64(len(batch)), int64(m.Dim)))
	keep(b, out, err)
	s, err := ort.NewAdvancedSession(filepath.Join(dir, m.Graph()),
		[]string{m.Inputs["input_ids"], m.Inputs["attention_mask"]}, []string{m.Outputs["embedding"]},
		[]ort.Value{ids, mask}, []ort.Value{out}, sessionOptions(b))
	keep(b, s, err)
	return bareModel{calls: []func() error{s.Run}}
}

// bareImage feeds MobileNet the [n,3,224,224] tensor imageprep makes of
// these images, and fetches the same two outputs the encoder asks for (the
// feature map it pools and the logits Classify uses).
func bareImage(b *testing.B, m models.Manifest, dir string, batch [][]byte) bareModel {
	prep, err := imageprep.New(*m.Preprocess.Image)
	if err != nil {
		b.Fatal(err)
	}
	per := prep.Len()
	pixels := make([]float32, per*len(batch))
	for i, img := range batch {
		if _, err := prep.Prepare(b.Context(), img, pixels[i*per:(i+1)*per]); err != nil {
			b.Fatal(err)
		}
	}
	shape := prep.Shape()
	shape[0] = int64(len(batch))
	in, err := ort.NewTensor(ort.NewShape(shape...), pixels)
	keep(b, in, err)
	n := int64(len(batch))
	// Output shapes as the manifest declares them: the [N,1280,7,7]
	// feature map it adds and the [N,1000] ImageNet logits.
	feat, err := ort.NewEmptyTensor[float32](ort.NewShape(n, int64(m.Dim), 7, 7))
	keep(b, feat, err)
	logits, err := ort.NewEmptyTensor[float32](ort.NewShape(n, 1000))
	keep(b, logits, err)
	s, err := ort.NewAdvancedSession(filepath.Join(dir, m.Graph()),
		[]string{m.Inputs["pixel_values"]}, []string{m.Outputs["embedding"], m.Outputs["logits"]},
		[]ort.Value{in}, []ort.Value{feat, logits}, sessionOptions(b))
	keep(b, s, err)
	return bareModel{calls: []func() error{s.Run}}
}

// bareAudio runs what the audio encoder runs for this batch: the mel graph
// once per clip on [1, samples] (a short clip padded to one embedding
// window, as the encoder does), then the embedding graph on every window of
// every clip, at most 256 windows a run. Clip lengths differ, so these use
// a DynamicAdvancedSession with per-call pre-allocated inputs and outputs.
func bareAudio(b *testing.B, m models.Manifest, dir string, batch [][]byte) bareModel {
	ctx := b.Context()
	ap := *m.Preprocess.Audio
	prep, err := audioprep.New(ap)
	if err != nil {
		b.Fatal(err)
	}
	so := sessionOptions(b)
	mel, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, ap.MelModel),
		[]string{m.Inputs["samples"]}, []string{m.Outputs["mel"]}, so)
	keep(b, mel, err)
	emb, err := ort.NewDynamicAdvancedSession(filepath.Join(dir, m.Graph()),
		[]string{m.Inputs["mel_windows"]}, []string{m.Outputs["embedding"]}, so)
	keep(b, emb, err)
	// Mirrors openAudio: one window of mel frames (10 ms hop, 512-sample
	// FFT) is the shortest input the encoder runs the mel graph on.
	minLen := 512 + (ap.WindowFrames-1)*ap.SampleRate/100
	frameLen := ap.WindowFrames * ap.MelBins
	var calls []func() error
	var windows []float32
	for i, wav := range batch {
		chunks, err := prep.Prepare(ctx, wav)
		if err != nil {
			b.Fatalf("clip %d: %v", i, err)
		}
		for _, c := range chunks {
			samples := make([]float32, max(len(c), minLen))
			for j := range samples {
				samples[j] = c[j%len(c)]
			}
			in, err := ort.NewTensor(ort.NewShape(1, int64(len(samples))), samples)
			keep(b, in, err)
			out := runOnce(b, mel, in)
			frames := out.GetData()
			for start := 0; (start+ap.WindowFrames)*ap.MelBins <= len(frames); start += ap.HopFrames {
				windows = append(windows, frames[start*ap.MelBins:start*ap.MelBins+frameLen]...)
			}
			calls = append(calls, func() error { return mel.Run([]ort.Value{in}, []ort.Value{out}) })
		}
	}
	total := len(windows) / frameLen
	if total < len(batch) {
		b.Fatalf("%d windows for %d clips; every clip gives at least one", total, len(batch))
	}
	const maxWindows = 256 // the encoder's limit per embedding run
	for lo := 0; lo < total; lo += maxWindows {
		hi := min(lo+maxWindows, total)
		shape := ort.NewShape(int64(hi-lo), int64(ap.WindowFrames), int64(ap.MelBins), 1)
		in, err := ort.NewTensor(shape, windows[lo*frameLen:hi*frameLen])
		keep(b, in, err)
		out := runOnce(b, emb, in)
		calls = append(calls, func() error { return emb.Run([]ort.Value{in}, []ort.Value{out}) })
	}
	return bareModel{calls: calls, metrics: map[string]float64{"windows/clip": float64(total) / float64(len(batch))}}
}

// runOnce runs s on in with ORT allocating the output, so the output's
// shape need not be worked out by hand; later runs reuse that tensor.
func runOnce(b *testing.B, s *ort.DynamicAdvancedSession, in ort.Value) *ort.Tensor[float32] {
	b.Helper()
	outs := []ort.Value{nil}
	if err := s.Run([]ort.Value{in}, outs); err != nil {
		b.Fatal(err)
	}
	t, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		b.Fatalf("output is %T, want a float32 tensor", outs[0])
	}
	keep(b, t, nil)
	return t
}

// productTexts are synthetic catalog texts as the indexer builds them
// (title, brand, category, description).
func productTexts(b *testing.B) [][]byte {
	out := make([][]byte, 64)
	for i := range out {
		p := synth.Gen(1, i, synth.Options{})
		out[i] = fmt.Appendf(nil, "%s. %s. %s %s. %s", p.Title, p.Brand, p.Category[0], p.Category[1], p.Description)
	}
	return out
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
	paths, err := filepath.Glob(filepath.Join(dir, "*.wav"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("FSDD clips in %s (set VITRINE_ASSETS to the shared directory): %v", dir, err)
	}
	return readAll(b, paths)
}

func readAll(b *testing.B, paths []string) [][]byte {
	out := make([][]byte, len(paths))
	for i, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = data
	}
	return out
}
