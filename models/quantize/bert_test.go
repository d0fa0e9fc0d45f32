package quantize_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/internal/onnxgen"
	"github.com/vitrinehq/vitrine/internal/synth"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/models/quantize"
)

// The generated BERT is sized so its MatMul weights matter: hidden 128
// (per-column scales then cost 4/128 of a column's int8 bytes, inside the
// 26% budget), four times that in the feed-forward layer, as BERT has.
var testBERT = onnxgen.BERTConfig{Hidden: 128, Layers: 2, Heads: 4, Intermediate: 512, Seed: 2024}

const (
	testTokenizer = "../../extractors/tokenizer/testdata/minilm/tokenizer.json" // real BERT uncased WordPiece
	testMaxLen    = 128                                                         // = the generated BERT's positions
)

// productTexts returns n product-like texts of varied shape and length
// (titles alone, with descriptions, brands and prices, category paths),
// the same for every run.
func productTexts(n int) []string {
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

// installBERT writes a generated BERT, the MiniLM tokenizer and a manifest
// to dir in the fetcher's layout (<dir>/<name>/<version>/ and
// <dir>/<name>.yaml), and loads the manifest back.
func installBERT(t testing.TB, dir, name, pooling, output string) models.Manifest {
	t.Helper()
	model, w, err := onnxgen.BERT(testBERT)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := os.ReadFile(testTokenizer)
	if err != nil {
		t.Fatal(err)
	}
	m := models.Manifest{
		Name: name, Version: "test", Modality: models.Text, Family: "bert",
		Inputs: map[string]string{"input_ids": onnxgen.InputIDs, "attention_mask": onnxgen.AttentionMask,
			"token_type_ids": onnxgen.TokenTypeIDs},
		Outputs:    map[string]string{"embedding": output},
		Preprocess: models.Preprocess{Text: &models.TextPrep{Tokenizer: "tokenizer.json", MaxLength: testMaxLen}},
		Pooling:    pooling, Dim: w.Config.Hidden, Normalize: "l2",
	}
	return testenv.InstallModel(t, dir, m, testenv.ModelFile{Name: "model.onnx", Data: model}, testenv.ModelFile{Name: "tokenizer.json", Data: tok})
}

func encodeAll(t *testing.T, m models.Manifest, dir string, texts []string) [][]float32 {
	t.Helper()
	e, err := extractors.Open(t.Context(), testenv.Runtime(t), m, dir, extractors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	in := make([][]byte, len(texts))
	for i, s := range texts {
		in[i] = []byte(s)
	}
	vecs, errs, err := e.EncodeBatch(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: input %d: %v", m.Key(), i, err)
		}
	}
	return vecs
}

// TestBERTInt8 quantises a generated BERT through Install and holds the
// int8 model to the fp32 one on 1,000 product texts, run by ONNX Runtime
// through the same manifest path the service uses.
func TestBERTInt8(t *testing.T) {
	texts := productTexts(1000)
	tests := []struct {
		pooling, output string
	}{
		{models.PoolMean, onnxgen.LastHiddenState},
		{models.PoolNone, onnxgen.PoolerOutput},
	}
	for _, tc := range tests {
		t.Run(tc.pooling+"_"+tc.output, func(t *testing.T) {
			dir := t.TempDir()
			src := installBERT(t, dir, "tiny-bert", tc.pooling, tc.output)
			got, err := quantize.Install(t.Context(), src, dir, dir)
			if err != nil {
				t.Fatal(err)
			}
			m, rep := got.Manifest, got.Report

			if m.Name != "tiny-bert-int8" || m.Version != src.Version || m.Dim != src.Dim || m.Pooling != src.Pooling ||
				m.Family != src.Family || m.Normalize != src.Normalize || m.Outputs["embedding"] != tc.output ||
				m.Preprocess.Text.Tokenizer != "tokenizer.json" || len(m.Files) != 2 {
				t.Errorf("int8 manifest does not carry the source's settings: %+v", m)
			}
			for _, f := range m.Files {
				b, err := os.ReadFile(filepath.Join(dir, m.Name, m.Version, f.Name))
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(b)
				if h := hex.EncodeToString(sum[:]); h != f.SHA256 || f.Source.SHA256 != h || f.Source.Local != m.Name+"/test/"+f.Name {
					t.Errorf("file %s: pinned %s (source %s at %q), on disk %s", f.Name, f.SHA256, f.Source.SHA256, f.Source.Local, h)
				}
			}

			// Six matrices per layer (Q, K, V, attention out, FF in, FF out)
			// and the pooler, each followed by its bias Add.
			if want := 6*testBERT.Layers + 1; len(rep.Weights) != want || rep.FoldedBias != want {
				t.Errorf("%d weights quantised and %d biases folded, want %d each", len(rep.Weights), rep.FoldedBias, want)
			}
			for _, w := range rep.Weights {
				if w.Ratio() > 0.26 {
					t.Errorf("%s [%d,%d]: %d int8 bytes for %d fp32 bytes (%.1f%%), want <= 26%%", w.Name, w.Rows, w.Cols, w.Int8Bytes, w.FP32Bytes, 100*w.Ratio())
				}
				if w.FP32Kept || w.Scales != w.Cols {
					t.Errorf("%s: fp32 kept %t, %d scales for %d columns", w.Name, w.FP32Kept, w.Scales, w.Cols)
				}
			}
			fp32, int8 := rep.WeightBytes()
			t.Logf("weights %d -> %d bytes (%.1f%%); model %d -> %d bytes (%.1f%%)", fp32, int8, 100*float64(int8)/float64(fp32),
				rep.BytesBefore, rep.BytesAfter, 100*float64(rep.BytesAfter)/float64(rep.BytesBefore))
			if saved := rep.BytesBefore - rep.BytesAfter; saved < fp32-int8-4096 {
				t.Errorf("model shrank by %d bytes, the weights by %d: fp32 copies left behind?", saved, fp32-int8)
			}

			kept := map[string]quantize.OpCount{}
			for _, c := range rep.FP32 {
				kept[c.OpType] = c
				t.Logf("fp32: %s ×%d: %s", c.OpType, c.Count, c.Reason)
			}
			for op, n := range map[string]int{
				"Gather":             2 + 1, // word and token-type tables, the CLS pick
				"LayerNormalization": 1 + 2*testBERT.Layers,
				"Softmax":            testBERT.Layers,
				"MatMul":             2 * testBERT.Layers, // scores and context: activation × activation
			} {
				if kept[op].Count != n || kept[op].Reason == "" {
					t.Errorf("fp32 %s: %+v, want %d with a reason", op, kept[op], n)
				}
			}
			if !strings.Contains(kept["MatMul"].Reason, "activation × activation") {
				t.Errorf("attention MatMuls kept for %q", kept["MatMul"].Reason)
			}

			want := encodeAll(t, src, dir, texts)
			int8Vecs := encodeAll(t, m, dir, texts)
			var sum, worst float64 = 0, 1
			for i := range texts {
				c := cosine(t, want[i], int8Vecs[i])
				sum += c
				if c < worst {
					worst = c
				}
				if c < 0.99 {
					t.Errorf("%q: cosine %.4f between fp32 and int8 embeddings, want >= 0.99", texts[i], c)
				}
			}
			t.Logf("cosine fp32·int8 over %d texts: mean %.5f, min %.5f", len(texts), sum/float64(len(texts)), worst)
		})
	}
}

// TestInstallDeterministic quantises one model into two directories: the
// model, the tokenizer copy and the manifest must be the same bytes, so a
// pinned sha256 can be reproduced.
func TestInstallDeterministic(t *testing.T) {
	src := t.TempDir()
	m := installBERT(t, src, "tiny-bert", models.PoolMean, onnxgen.LastHiddenState)
	var outs []string
	for range 2 {
		out := t.TempDir()
		if _, err := quantize.Install(t.Context(), m, src, out); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	for _, rel := range []string{"tiny-bert-int8.yaml", "tiny-bert-int8/test/model.onnx", "tiny-bert-int8/test/tokenizer.json"} {
		a, err := os.ReadFile(filepath.Join(outs[0], rel))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(outs[1], rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", rel)
		}
	}
}

// TestInstallRefusesChangedFile: a prepared file that no longer matches
// its pinned sha256 is not quantised.
func TestInstallRefusesChangedFile(t *testing.T) {
	dir := t.TempDir()
	m := installBERT(t, dir, "tiny-bert", models.PoolMean, onnxgen.LastHiddenState)
	path := filepath.Join(dir, m.Name, m.Version, "model.onnx")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = quantize.Install(t.Context(), m, dir, t.TempDir())
	var ce *models.ChecksumError
	if !errors.Is(err, models.ErrChecksum) || !errors.As(err, &ce) || ce.File != "tiny-bert@test/model.onnx" {
		t.Fatalf("got %v, want a checksum error for tiny-bert@test/model.onnx", err)
	}

	_, err = quantize.Install(t.Context(), m, t.TempDir(), t.TempDir())
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "vitrine models fetch tiny-bert") {
		t.Fatalf("missing files: got %v", err)
	}
}

// BenchmarkBERTInt8 encodes the same 1,000 product texts in batches of 32
// with the generated BERT in fp32 and in int8. Each iteration runs both,
// in alternating order, so load from elsewhere on the machine falls on
// both alike; it reports each one's items/s and their ratio:
//
//	go test ./models/quantize -run '^$' -bench BERTInt8 -count 5
func BenchmarkBERTInt8(b *testing.B) {
	texts := productTexts(1000)
	in := make([][]byte, len(texts))
	for i, s := range texts {
		in[i] = []byte(s)
	}
	dir := b.TempDir()
	src := installBERT(b, dir, "tiny-bert", models.PoolMean, onnxgen.LastHiddenState)
	q, err := quantize.Install(b.Context(), src, dir, dir)
	if err != nil {
		b.Fatal(err)
	}
	var encs [2]extractors.Encoder // fp32, int8
	for i, m := range []models.Manifest{src, q.Manifest} {
		if encs[i], err = extractors.Open(b.Context(), testenv.Runtime(b), m, dir, extractors.Options{MaxBatch: 32}); err != nil {
			b.Fatal(err)
		}
		defer encs[i].Close()
		if _, _, err := encs[i].EncodeBatch(b.Context(), in[:32]); err != nil { // warm-up
			b.Fatal(err)
		}
	}
	var took [2]time.Duration
	n := 0
	for b.Loop() {
		for j := range 2 {
			i := (j + n) % 2
			start := time.Now()
			if _, _, err := encs[i].EncodeBatch(b.Context(), in); err != nil {
				b.Fatal(err)
			}
			took[i] += time.Since(start)
		}
		n++
	}
	fp32 := float64(n*len(in)) / took[0].Seconds()
	int8 := float64(n*len(in)) / took[1].Seconds()
	b.ReportMetric(fp32, "fp32-items/s")
	b.ReportMetric(int8, "int8-items/s")
	b.ReportMetric(int8/fp32, "int8/fp32")
}
