package extractors_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/extractors/imageprep"
	"github.com/vitrinehq/vitrine/extractors/tokenizer"
	"github.com/vitrinehq/vitrine/fusion"
	"github.com/vitrinehq/vitrine/internal/onnxgen"
	"github.com/vitrinehq/vitrine/internal/onnxgen/reference"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
)

// These tests run generated transformer graphs (internal/onnxgen) through
// the whole manifest path, models.LoadFile then extractors.Open, and hold
// Vitrine's vectors to an independent float64 forward pass of the same
// weights (internal/onnxgen/reference), pooled and normalised alike.

// tfTol bounds |Vitrine - reference| on any component of a unit vector.
const tfTol = 1e-4

const (
	tfBERTTokenizer = "tokenizer/testdata/minilm/tokenizer.json" // real BERT uncased WordPiece
	tfBPETokenizer  = "tokenizer/testdata/bpe/tokenizer.json"    // CLIP-like BPE, 37 tokens
	tfBERTMaxLen    = 128                                        // = the generated BERT's positions
	tfCLIPMaxLen    = 77                                         // = the generated CLIP's positions
)

// tfTexts are product texts of very different lengths, the last one far
// past 128 WordPiece tokens so truncation to the position table is
// exercised too.
var tfTexts = []string{
	"red running shoes",
	"Organic whole-grain sourdough bread, 800 g, baked fresh every morning in our stone oven.",
	"USB-C cable",
	"Stainless steel water bottle — keeps drinks cold for 24 hours and hot for 12; leak-proof lid, fits most cup holders.",
	"café au lait mug",
	"kids' rain jacket (waterproof, hooded)",
	"LED desk lamp with dimmer",
	strings.Repeat("An ergonomic office chair with lumbar support, adjustable armrests, breathable mesh back and a five-year warranty. ", 12),
}

// tfModelFile is one file of a generated model, by its name in the manifest.
type tfModelFile = testenv.ModelFile

// tfInstall lays a generated model out as the fetcher would
// (<dir>/<name>/<version>/<file>), writes its manifest as YAML beside it
// and loads it back through models.LoadFile, so the test sees exactly what
// a manifest on disk gives.
func tfInstall(t *testing.T, dir string, m models.Manifest, files ...tfModelFile) models.Manifest {
	t.Helper()
	m.Version = "test"
	return testenv.InstallModel(t, dir, m, files...)
}

func tfOpen(t *testing.T, m models.Manifest, dir string) extractors.Encoder {
	t.Helper()
	e, err := extractors.Open(t.Context(), testenv.Runtime(t), m, dir, extractors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func tfRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tfTextInput tokenises one text as the encoder does (same file, same
// maximum length), unpadded.
func tfTextInput(t *testing.T, tok *tokenizer.Tokenizer, text string, maxLen int) reference.TextInput {
	t.Helper()
	b := tok.EncodeBatch([]string{text}, tokenizer.BatchOptions{MaxLength: maxLen})
	return reference.TextInput{Batch: 1, Seq: b.SeqLen, InputIDs: b.InputIDs, AttentionMask: b.AttentionMask, TokenTypeIDs: b.TokenTypeIDs}
}

// tfEncodeAll encodes inputs in one EncodeBatch call, failing on any
// per-item error.
func tfEncodeAll(t *testing.T, e extractors.Encoder, inputs [][]byte) [][]float32 {
	t.Helper()
	vecs, errs, err := e.EncodeBatch(t.Context(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
	}
	return vecs
}

func tfBytes(texts []string) [][]byte {
	out := make([][]byte, len(texts))
	for i, s := range texts {
		out[i] = []byte(s)
	}
	return out
}

// tfDistinct fails when the vectors of two different inputs are nearly
// parallel: a model that maps everything to one direction would match an
// equally degenerate reference and prove nothing. With sources, inputs of
// one source (a photo and its thumbnail) are rightly close and are not
// compared.
func tfDistinct(t *testing.T, what string, vecs [][]float32, sources []string) {
	t.Helper()
	var worst float64
	for i := range vecs {
		for j := range i {
			if sources != nil && sources[i] == sources[j] {
				continue
			}
			worst = max(worst, tfCos(vecs[i], vecs[j]))
		}
	}
	t.Logf("%s: largest cosine between different inputs %.3f", what, worst)
	if worst > 0.999 {
		t.Errorf("%s: two different inputs have cosine %.4f; the model does not tell inputs apart", what, worst)
	}
}

func tfCos(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// tfCompare checks every vector against its expected unit vector and
// returns the largest difference seen.
func tfCompare(t *testing.T, what string, got [][]float32, want [][]float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d vectors, want %d", what, len(got), len(want))
	}
	var worst float64
	for i := range got {
		d := reference.MaxAbsDiff(got[i], want[i])
		worst = max(worst, d)
		if d > tfTol {
			t.Errorf("%s: item %d: max |vitrine - reference| = %.3g > %g", what, i, d, tfTol)
		}
	}
	return worst
}

func TestTransformerBERT(t *testing.T) {
	model, w, err := onnxgen.BERT(onnxgen.BERTConfig{Seed: 101})
	if err != nil {
		t.Fatal(err)
	}
	tokFile := tfRead(t, tfBERTTokenizer)
	tok, err := tokenizer.FromJSON(tokFile, tokenizer.WithMaxLength(tfBERTMaxLen))
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != w.Config.VocabSize {
		t.Fatalf("tokenizer has %d ids, the generated BERT %d", tok.VocabSize(), w.Config.VocabSize)
	}
	// The reference sees each text alone and unpadded, while Vitrine pads
	// each batch to its longest text: agreement also shows the mask works.
	refs := make([]reference.Output, len(tfTexts))
	masks := make([][]int64, len(tfTexts))
	for i, text := range tfTexts {
		in := tfTextInput(t, tok, text, tfBERTMaxLen)
		if refs[i], err = reference.BERT(w, in); err != nil {
			t.Fatal(err)
		}
		masks[i] = in.AttentionMask
	}
	if n := refs[len(refs)-1].LastHiddenState.Shape[1]; n != tfBERTMaxLen {
		t.Fatalf("the long text has %d tokens, want it truncated to %d", n, tfBERTMaxLen)
	}

	tests := []struct {
		pooling, output string
		want            func(i int) []float64
	}{
		{models.PoolMean, onnxgen.LastHiddenState, func(i int) []float64 {
			return reference.MeanPool(refs[i].LastHiddenState, masks[i])[0]
		}},
		{models.PoolCLS, onnxgen.LastHiddenState, func(i int) []float64 { return reference.CLS(refs[i].LastHiddenState)[0] }},
		{models.PoolNone, onnxgen.PoolerOutput, func(i int) []float64 { return refs[i].PoolerOutput.Rows()[0] }},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.pooling+"_"+tc.output, func(t *testing.T) {
			m := tfInstall(t, dir, models.Manifest{
				Name: "tiny-bert-" + tc.pooling, Modality: models.Text, Family: "bert",
				Inputs: map[string]string{"input_ids": onnxgen.InputIDs, "attention_mask": onnxgen.AttentionMask,
					"token_type_ids": onnxgen.TokenTypeIDs},
				Outputs:    map[string]string{"embedding": tc.output},
				Preprocess: models.Preprocess{Text: &models.TextPrep{Tokenizer: "tokenizer.json", MaxLength: tfBERTMaxLen}},
				Pooling:    tc.pooling, Dim: w.Config.Hidden, Normalize: "l2",
			}, tfModelFile{Name: "model.onnx", Data: model}, tfModelFile{Name: "tokenizer.json", Data: tokFile})
			e := tfOpen(t, m, dir)
			var worst float64
			for _, n := range []int{1, 3, 8} {
				want := make([][]float64, n)
				for i := range n {
					want[i] = reference.Normalize(tc.want(i))
				}
				got := tfEncodeAll(t, e, tfBytes(tfTexts[:n]))
				worst = max(worst, tfCompare(t, fmt.Sprintf("batch of %d", n), got, want))
				if n == len(tfTexts) {
					tfDistinct(t, tc.pooling, got, nil)
				}
			}
			t.Logf("pooling %s on %s: max |vitrine - reference| = %.3g", tc.pooling, tc.output, worst)
		})
	}
}

// TestTransformerPaddingInvariance encodes a short text alone and beside
// a text 128 tokens long: with a working attention mask and masked mean,
// the padding the long text forces on it changes nothing.
func TestTransformerPaddingInvariance(t *testing.T) {
	model, w, err := onnxgen.BERT(onnxgen.BERTConfig{Seed: 102})
	if err != nil {
		t.Fatal(err)
	}
	tokFile := tfRead(t, tfBERTTokenizer)
	dir := t.TempDir()
	short, long := tfTexts[0], tfTexts[len(tfTexts)-1]
	for _, pooling := range []string{models.PoolMean, models.PoolCLS} {
		t.Run(pooling, func(t *testing.T) {
			m := tfInstall(t, dir, models.Manifest{
				Name: "tiny-bert-padding-" + pooling, Modality: models.Text, Family: "bert",
				Inputs:     map[string]string{"input_ids": onnxgen.InputIDs, "attention_mask": onnxgen.AttentionMask, "token_type_ids": onnxgen.TokenTypeIDs},
				Outputs:    map[string]string{"embedding": onnxgen.LastHiddenState},
				Preprocess: models.Preprocess{Text: &models.TextPrep{Tokenizer: "tokenizer.json", MaxLength: tfBERTMaxLen}},
				Pooling:    pooling, Dim: w.Config.Hidden, Normalize: "l2",
			}, tfModelFile{Name: "model.onnx", Data: model}, tfModelFile{Name: "tokenizer.json", Data: tokFile})
			e := tfOpen(t, m, dir)
			alone := tfEncodeAll(t, e, tfBytes([]string{short}))[0]
			both := tfEncodeAll(t, e, tfBytes([]string{short, long}))
			shortFirst := tfEncodeAll(t, e, tfBytes([]string{long, short, long}))
			for _, got := range [][]float32{both[0], shortFirst[1]} {
				var d float64
				for i := range got {
					d = max(d, math.Abs(float64(got[i])-float64(alone[i])))
				}
				if d > 1e-5 {
					t.Errorf("%q moved by %.3g when padded to the length of a 128-token text", short, d)
				}
				t.Logf("pooling %s: |alone - padded| = %.3g", pooling, d)
			}
			// Single calls go through the dynamic batcher; the same vector
			// must come out of it.
			one, err := e.Encode(t.Context(), []byte(short))
			if err != nil {
				t.Fatal(err)
			}
			for i := range one {
				if math.Abs(float64(one[i])-float64(alone[i])) > 1e-5 {
					t.Fatalf("Encode and EncodeBatch differ at %d: %v vs %v", i, one[i], alone[i])
				}
			}
		})
	}
}

// tfImages are real photos and edge cases (grey, alpha, WebP, progressive
// JPEG), eight in all, with the photo each derives from (see
// imageprep/testdata/README.md).
var tfImages = []struct{ file, source string }{
	{"chelsea.png", "chelsea"}, {"astronaut.png", "astronaut"}, {"coffee.png", "coffee"}, {"rocket.jpg", "rocket"},
	{"small.webp", "chelsea"}, {"gray.png", "gray"}, {"alpha.png", "alpha"}, {"progressive.jpg", "rocket"},
}

func tfImageSources() []string {
	out := make([]string, len(tfImages))
	for i, im := range tfImages {
		out[i] = im.source
	}
	return out
}

// tfImagePrep matches the generated models' 32x32 input; mean/std 0.5 is
// ViT's normalisation, [0,1] to [-1,1].
var tfImagePrep = models.ImagePrep{ResizeShorter: 32, CropSize: 32, Scale: 1.0 / 255,
	Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.5, 0.5, 0.5}, Color: "RGB", Layout: "NCHW"}

// tfPixels prepares each image with extractors' own Preparer, as the
// manifest configures it, so the reference sees the tensor Vitrine feeds.
func tfPixels(t *testing.T, cfg models.ImagePrep) ([][]byte, [][]float32) {
	t.Helper()
	prep, err := imageprep.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([][]byte, len(tfImages))
	px := make([][]float32, len(tfImages))
	for i, im := range tfImages {
		raw[i] = tfRead(t, filepath.Join("imageprep", "testdata", im.file))
		if px[i], err = prep.Prepare(t.Context(), raw[i], nil); err != nil {
			t.Fatalf("%s: %v", im.file, err)
		}
	}
	return raw, px
}

func TestTransformerViT(t *testing.T) {
	model, w, err := onnxgen.ViT(onnxgen.ViTConfig{Seed: 103, ImageSize: 32, PatchSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	raw, px := tfPixels(t, tfImagePrep)
	refs := make([]reference.Output, len(px))
	for i := range px {
		if refs[i], err = reference.ViT(w, px[i], 1); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		pooling, output string
		want            func(i int) []float64
	}{
		{models.PoolCLS, onnxgen.LastHiddenState, func(i int) []float64 { return reference.CLS(refs[i].LastHiddenState)[0] }},
		{models.PoolNone, onnxgen.PoolerOutput, func(i int) []float64 { return refs[i].PoolerOutput.Rows()[0] }},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.pooling+"_"+tc.output, func(t *testing.T) {
			prep := tfImagePrep
			m := tfInstall(t, dir, models.Manifest{
				Name: "tiny-vit-" + tc.pooling, Modality: models.Image, Family: "vit",
				Inputs:     map[string]string{"pixel_values": onnxgen.PixelValues},
				Outputs:    map[string]string{"embedding": tc.output},
				Preprocess: models.Preprocess{Image: &prep},
				Pooling:    tc.pooling, Dim: w.Config.Hidden, Normalize: "l2",
			}, tfModelFile{Name: "model.onnx", Data: model})
			e := tfOpen(t, m, dir)
			var worst float64
			for _, n := range []int{1, 3, 8} {
				want := make([][]float64, n)
				for i := range n {
					want[i] = reference.Normalize(tc.want(i))
				}
				got := tfEncodeAll(t, e, raw[:n])
				worst = max(worst, tfCompare(t, fmt.Sprintf("batch of %d", n), got, want))
				if n == len(tfImages) {
					tfDistinct(t, tc.pooling, got, tfImageSources())
				}
			}
			t.Logf("pooling %s on %s: max |vitrine - reference| = %.3g", tc.pooling, tc.output, worst)
		})
	}
}

// TestTransformerCLIPPair loads a CLIP text tower and vision tower through
// their manifests; both land in one 16-d space, match the reference, and
// fuse with weighted_mean.
func TestTransformerCLIPPair(t *testing.T) {
	const proj = 16
	tokFile := tfRead(t, tfBPETokenizer)
	tok, err := tokenizer.FromJSON(tokFile, tokenizer.WithMaxLength(tfCLIPMaxLen))
	if err != nil {
		t.Fatal(err)
	}
	textModel, tw, err := onnxgen.CLIPText(onnxgen.CLIPTextConfig{Seed: 104, VocabSize: tok.VocabSize(), MaxPositions: tfCLIPMaxLen, ProjectionDim: proj})
	if err != nil {
		t.Fatal(err)
	}
	imageModel, iw, err := onnxgen.CLIPVision(onnxgen.CLIPVisionConfig{Seed: 105, ImageSize: 32, PatchSize: 8, ProjectionDim: proj})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	// CLIP's text tower runs on the "bert" code path: tokenizer, input_ids
	// and attention_mask in, and text_embeds [N,16] is already one vector
	// per text, so pooling none.
	tm := tfInstall(t, dir, models.Manifest{
		Name: "tiny-clip-text", Modality: models.Text, Family: "bert",
		Inputs:     map[string]string{"input_ids": onnxgen.InputIDs, "attention_mask": onnxgen.AttentionMask},
		Outputs:    map[string]string{"embedding": onnxgen.TextEmbeds},
		Preprocess: models.Preprocess{Text: &models.TextPrep{Tokenizer: "tokenizer.json", MaxLength: tfCLIPMaxLen}},
		Pooling:    models.PoolNone, Dim: proj, Normalize: "l2",
	}, tfModelFile{Name: "model.onnx", Data: textModel}, tfModelFile{Name: "tokenizer.json", Data: tokFile})
	prep := tfImagePrep
	im := tfInstall(t, dir, models.Manifest{
		Name: "tiny-clip-vision", Modality: models.Image, Family: "vit",
		Inputs:     map[string]string{"pixel_values": onnxgen.PixelValues},
		Outputs:    map[string]string{"embedding": onnxgen.ImageEmbeds},
		Preprocess: models.Preprocess{Image: &prep},
		Pooling:    models.PoolNone, Dim: proj, Normalize: "l2",
	}, tfModelFile{Name: "model.onnx", Data: imageModel})
	te, ie := tfOpen(t, tm, dir), tfOpen(t, im, dir)
	if te.Dim() != proj || ie.Dim() != proj {
		t.Fatalf("dimensions %d (text) and %d (image), want both %d", te.Dim(), ie.Dim(), proj)
	}

	// Texts in and out of the 37-token vocabulary (unknown characters
	// become <|endoftext|>), one truncated to 77 tokens.
	texts := []string{"hello red bread", "Red bread, hello!", "bread", "crème brûlée", "hello world",
		"toast", "a red shoe", strings.Repeat("hello bread ", 60)}
	textWant := make([][]float64, len(texts))
	for i, s := range texts {
		in := tfTextInput(t, tok, s, tfCLIPMaxLen)
		if i == len(texts)-1 && in.Seq != tfCLIPMaxLen {
			t.Fatalf("the long text has %d tokens, want it truncated to %d", in.Seq, tfCLIPMaxLen)
		}
		ref, err := reference.CLIPText(tw, in)
		if err != nil {
			t.Fatal(err)
		}
		textWant[i] = reference.Normalize(ref.Embeds.Rows()[0])
	}
	textVecs := tfEncodeAll(t, te, tfBytes(texts))
	textDiff := tfCompare(t, "text_embeds", textVecs, textWant)
	tfDistinct(t, "text_embeds", textVecs, nil)

	raw, px := tfPixels(t, tfImagePrep)
	imageWant := make([][]float64, len(px))
	for i := range px {
		ref, err := reference.CLIPVision(iw, px[i], 1)
		if err != nil {
			t.Fatal(err)
		}
		imageWant[i] = reference.Normalize(ref.Embeds.Rows()[0])
	}
	imageVecs := tfEncodeAll(t, ie, raw)
	imageDiff := tfCompare(t, "image_embeds", imageVecs, imageWant)
	tfDistinct(t, "image_embeds", imageVecs, tfImageSources())

	spec := fusion.Spec{Strategy: fusion.WeightedMean, Components: []fusion.Component{
		{Model: te.Key(), Modality: string(models.Text), Dim: te.Dim(), Weight: 1},
		{Model: ie.Key(), Modality: string(models.Image), Dim: ie.Dim(), Weight: 3},
	}}
	if err := spec.Validate(); err != nil {
		t.Fatalf("a CLIP pair must make a valid weighted_mean space: %v", err)
	}
	var fuseDiff float64
	for i := range min(len(texts), len(raw)) {
		fused, err := spec.Fuse(map[string][]float32{te.Key(): textVecs[i], ie.Key(): imageVecs[i]})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float64, proj)
		for k := range want {
			want[k] = 0.25*textWant[i][k] + 0.75*imageWant[i][k]
		}
		d := reference.MaxAbsDiff(fused, reference.Normalize(want))
		fuseDiff = max(fuseDiff, d)
		if d > tfTol {
			t.Errorf("pair %d: fused vector off the reference by %.3g", i, d)
		}
	}
	// A product with only text falls back to the text vector itself.
	alone, err := spec.Fuse(map[string][]float32{te.Key(): textVecs[0]})
	if err != nil {
		t.Fatal(err)
	}
	if d := reference.MaxAbsDiff(alone, textWant[0]); d > tfTol {
		t.Errorf("text-only fusion is off the text vector by %.3g", d)
	}
	t.Logf("max |vitrine - reference|: text_embeds %.3g, image_embeds %.3g, weighted_mean %.3g", textDiff, imageDiff, fuseDiff)
}
