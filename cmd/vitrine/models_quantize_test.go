package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/onnxgen"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
)

// quantFile is one file of a generated model.
type quantFile = testenv.ModelFile

// writeGenerated lays a generated model out as the fetcher would, with its
// manifest beside it: <dir>/<name>.yaml and <dir>/<name>/test/<file>, so
// dir serves as both the manifests and the model directory.
func writeGenerated(t *testing.T, dir string, m models.Manifest, files ...quantFile) {
	t.Helper()
	m.Version = "test"
	testenv.InstallModel(t, dir, m, files...)
}

// quantTexts returns n product-like texts of varied shape and length, the
// same every run.
func quantTexts(n int) []string {
	out := make([]string, n)
	for i := range out {
		p := synth.Gen(5, i, synth.Options{})
		switch i % 4 {
		case 0:
			out[i] = p.Title
		case 1:
			out[i] = p.Title + ". " + p.Description
		case 2:
			out[i] = fmt.Sprintf("%s %s, %.2f %s", p.Brand, p.Title, p.Price, p.Currency)
		default:
			out[i] = fmt.Sprintf("%s: %s (%s)", p.Title, p.Description, strings.Join(p.Category, " > "))
		}
	}
	return out
}

// comparison is what `vitrine models compare` printed.
type comparison struct {
	sizeRatio, speedRatio, cosMean, cosMin, recall float64
	itemsPerSec                                    [2]float64
}

func parseComparison(t *testing.T, out string) comparison {
	t.Helper()
	num := func(re string) []float64 {
		m := regexp.MustCompile(re).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("compare output lacks %s:\n%s", re, out)
		}
		var vs []float64
		for _, s := range m[1:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		return vs
	}
	var c comparison
	c.sizeRatio = num(`(?m)^size B/A:\s+([0-9.]+)$`)[0]
	c.speedRatio = num(`(?m)^speed B/A:\s+([0-9.]+) \(items/s`)[0]
	cos := num(`(?m)^cosine A,B:\s+mean ([0-9.]+)\s+min (-?[0-9.]+)`)
	c.cosMean, c.cosMin = cos[0], cos[1]
	c.recall = num(`(?m)^recall@10:\s+([0-9.]+)`)[0]
	c.itemsPerSec[0] = num(`(?m)^A\s+\S+\s+\S+\s+[0-9.]+ \S+\s+([0-9.]+)$`)[0]
	c.itemsPerSec[1] = num(`(?m)^B\s+\S+\s+\S+\s+[0-9.]+ \S+\s+([0-9.]+)$`)[0]
	return c
}

// TestModelsQuantizeAndCompare runs `vitrine models quantize` on a
// generated BERT (hidden 128, so weights dominate the MatMul cost) and
// `vitrine models compare` of the fp32 and int8 models on 1,000 product
// texts, as child processes.
func TestModelsQuantizeAndCompare(t *testing.T) {
	base := newEnv(t)
	dir := t.TempDir()
	cfg := onnxgen.BERTConfig{Hidden: 128, Layers: 2, Heads: 4, Intermediate: 512, Seed: 77}
	model, _, err := onnxgen.BERT(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(filepath.Join(testenv.Root(t), "extractors", "tokenizer", "testdata", "minilm", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeGenerated(t, dir, models.Manifest{
		Name: "tiny-bert", Modality: models.Text, Family: "bert",
		Inputs: map[string]string{"input_ids": onnxgen.InputIDs, "attention_mask": onnxgen.AttentionMask,
			"token_type_ids": onnxgen.TokenTypeIDs},
		Outputs:    map[string]string{"embedding": onnxgen.LastHiddenState},
		Preprocess: models.Preprocess{Text: &models.TextPrep{Tokenizer: "tokenizer.json", MaxLength: 128}},
		Pooling:    models.PoolMean, Dim: cfg.Hidden, Normalize: "l2",
	}, quantFile{Name: "model.onnx", Data: model}, quantFile{Name: "tokenizer.json", Data: tok})
	e := &env{t: t, url: base.url, vars: append(slices.Clone(base.vars),
		"VITRINE_MODELS_MANIFESTS="+dir, "VITRINE_MODELS_DIR="+dir)}

	code, out := e.run("models", "quantize", "tiny-bert")
	if code != 0 {
		t.Fatalf("quantize: exit %d\n%s", code, out)
	}
	t.Logf("quantize:\n%s", out)
	int8Manifest := filepath.Join(dir, "tiny-bert-int8.yaml")
	for _, want := range []string{
		"tiny-bert@test -> tiny-bert-int8@test: 13 weights as int8",
		"encoder.layers.0.attn.query.weight", "128x128", "64.0 KiB", "16.5 KiB", "25.8%",
		"encoder.layers.1.ff_out.weight", "512x128",
		"total (13 weights)", "1.56 MiB", "409.5 KiB", "25.6%",
		"model file model.onnx",
		"kept in fp32:", "Gather", "LayerNormalization", "Softmax", "activation × activation",
		"wrote " + int8Manifest,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("quantize output lacks %q", want)
		}
	}
	if _, err := models.LoadFile(int8Manifest); err != nil {
		t.Fatal(err)
	}

	texts := filepath.Join(t.TempDir(), "texts.txt")
	// A blank line and CRLF endings are tolerated, as hand-made lists have them.
	if err := os.WriteFile(texts, []byte(strings.Join(quantTexts(1000), "\r\n")+"\r\n\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		a, b  string
		check func(t *testing.T, c comparison)
	}{
		{"fp32 against int8", "tiny-bert", int8Manifest, func(t *testing.T, c comparison) {
			if c.cosMin < 0.99 {
				t.Errorf("min cosine %.5f between fp32 and int8, want >= 0.99", c.cosMin)
			}
			if c.sizeRatio >= 1 {
				t.Errorf("int8 graph is %.3f of the fp32 one", c.sizeRatio)
			}
		}},
		{"a model against itself", filepath.Join(dir, "tiny-bert.yaml"), "tiny-bert", func(t *testing.T, c comparison) {
			if c.sizeRatio != 1 || c.cosMean < 0.99999 || c.recall != 1 {
				t.Errorf("same model: size ratio %.3f, mean cosine %.5f, recall %.3f; want 1, 1, 1", c.sizeRatio, c.cosMean, c.recall)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.run("models", "compare", tc.a, tc.b, "--inputs", texts)
			if code != 0 {
				t.Fatalf("compare: exit %d\n%s", code, out)
			}
			t.Logf("compare:\n%s", out)
			c := parseComparison(t, out)
			if c.itemsPerSec[0] <= 0 || c.itemsPerSec[1] <= 0 || c.speedRatio <= 0 || c.recall < 0 || c.recall > 1 {
				t.Errorf("implausible comparison %+v", c)
			}
			if !strings.Contains(out, "over 1000 inputs, batch 32") {
				t.Errorf("compare did not run 1000 inputs in batches of 32:\n%s", out)
			}
			tc.check(t, c)
		})
	}
}

// TestModelsQuantizeImages quantises a generated ViT into --out-dir and
// compares it on images listed by path: the patch embedding (a Conv) stays
// fp32 and image inputs are read relative to the list.
func TestModelsQuantizeImages(t *testing.T) {
	base := newEnv(t)
	dir, out8 := t.TempDir(), t.TempDir()
	cfg := onnxgen.ViTConfig{ImageSize: 32, PatchSize: 8, Hidden: 64, Layers: 2, Heads: 4, Intermediate: 256, Seed: 78}
	model, _, err := onnxgen.ViT(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeGenerated(t, dir, models.Manifest{
		Name: "tiny-vit", Modality: models.Image, Family: "vit",
		Inputs:  map[string]string{"pixel_values": onnxgen.PixelValues},
		Outputs: map[string]string{"embedding": onnxgen.PoolerOutput},
		Preprocess: models.Preprocess{Image: &models.ImagePrep{ResizeShorter: 32, CropSize: 32, Scale: 1.0 / 255,
			Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.5, 0.5, 0.5}, Color: "RGB", Layout: "NCHW"}},
		Pooling: models.PoolNone, Dim: cfg.Hidden, Normalize: "l2",
	}, quantFile{Name: "model.onnx", Data: model})
	e := &env{t: t, url: base.url, vars: append(slices.Clone(base.vars),
		"VITRINE_MODELS_MANIFESTS="+dir, "VITRINE_MODELS_DIR="+dir)}

	code, out := e.run("models", "quantize", "tiny-vit", "--out-dir", out8)
	if code != 0 {
		t.Fatalf("quantize: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "Conv") || !strings.Contains(out, "wrote "+filepath.Join(out8, "tiny-vit-int8.yaml")) {
		t.Errorf("quantize output:\n%s", out)
	}

	// Absolute paths and one path relative to the list's directory.
	images := filepath.Join(testenv.Root(t), "extractors", "imageprep", "testdata")
	list := t.TempDir()
	var lines []string
	for _, f := range []string{"chelsea.png", "astronaut.png", "coffee.png", "rocket.jpg", "gray.png", "alpha.png", "small.webp"} {
		lines = append(lines, filepath.Join(images, f))
	}
	b, err := os.ReadFile(filepath.Join(images, "progressive.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(list, "local.jpg"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	lines = append(lines, "local.jpg")
	inputs := filepath.Join(list, "images.txt")
	if err := os.WriteFile(inputs, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = e.run("models", "compare", "tiny-vit", filepath.Join(out8, "tiny-vit-int8.yaml"), "--inputs", inputs, "--k", "3")
	if code != 0 {
		t.Fatalf("compare: exit %d\n%s", code, out)
	}
	t.Logf("compare:\n%s", out)
	if !strings.Contains(out, "over 8 inputs") || !strings.Contains(out, "recall@3:") {
		t.Errorf("compare output:\n%s", out)
	}
}

func TestModelsQuantizeCompareErrors(t *testing.T) {
	e := newEnv(t)
	texts := filepath.Join(t.TempDir(), "one.txt")
	if err := os.WriteFile(texts, []byte("only one line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"quantize an unknown model", []string{"models", "quantize", "no-such-model"}, `no model "no-such-model"`},
		{"quantize a model already int8", []string{"models", "quantize", "mobilenetv2-int8", "--out-dir", t.TempDir()}, "no MatMul or Gemm weight to quantise"},
		{"quantize needs a name", []string{"models", "quantize"}, "accepts 1 arg"},
		{"compare without inputs", []string{"models", "compare", "glove-100d", "glove-100d"}, `required flag(s) "inputs" not set`},
		{"compare across modalities", []string{"models", "compare", "glove-100d", "mobilenetv2-int8", "--inputs", texts}, "compare needs one modality"},
		{"compare one input", []string{"models", "compare", "glove-100d", "glove-100d", "--inputs", texts}, "compare needs at least 2"},
		{"compare a missing manifest file", []string{"models", "compare", "glove-100d", "/no/such.yaml", "--inputs", texts}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.run(tc.args...)
			if code == 0 || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want failure saying %q\n%s", code, tc.want, out)
			}
		})
	}
}
