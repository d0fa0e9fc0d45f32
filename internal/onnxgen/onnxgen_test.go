package onnxgen_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/internal/onnxgen"
	"github.com/vitrinehq/vitrine/internal/onnxgen/reference"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// tol bounds |ONNX Runtime (float32) - reference (float64)| on any output
// value; activations are O(1), so float32 rounding through two layers is
// around 1e-6.
const tol = 1e-4

// session writes model to a temporary file and opens it with the shared
// runtime, feeding and fetching the named tensors in the given order.
func session(t *testing.T, model []byte, in, out []string) *onnx.Session {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(path, model, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := testenv.Runtime(t).OpenSession(t.Context(), path, onnx.WithInputNames(in...), onnx.WithOutputNames(out...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// textBatch draws a batch padded like a tokenizer pads it: row 0 is seq
// tokens long, the others 1..seq, ids uniform in the vocabulary, padding
// id 0 with mask 0 on the right (or left), token types 0 then 1 after a
// random split within each row's tokens.
func textBatch(r *rand.Rand, batch, seq, vocab int, left bool) reference.TextInput {
	n := batch * seq
	in := reference.TextInput{Batch: batch, Seq: seq,
		InputIDs: make([]int64, n), AttentionMask: make([]int64, n), TokenTypeIDs: make([]int64, n)}
	for b := range batch {
		length := seq
		if b > 0 {
			length = 1 + r.IntN(seq)
		}
		off := 0
		if left {
			off = seq - length
		}
		split := r.IntN(length + 1)
		for i := range length {
			k := b*seq + off + i
			in.InputIDs[k] = r.Int64N(int64(vocab))
			in.AttentionMask[k] = 1
			if i >= split {
				in.TokenTypeIDs[k] = 1
			}
		}
	}
	return in
}

func textFeeds(in reference.TextInput, types bool) []onnx.Tensor {
	shape := []int64{int64(in.Batch), int64(in.Seq)}
	feeds := []onnx.Tensor{onnx.Int64Tensor(shape, in.InputIDs), onnx.Int64Tensor(shape, in.AttentionMask)}
	if types {
		feeds = append(feeds, onnx.Int64Tensor(shape, in.TokenTypeIDs))
	}
	return feeds
}

// maxDiff tracks the largest difference seen per output, for the log.
type maxDiff map[string]float64

func (m maxDiff) check(t *testing.T, what string, got onnx.Tensor, want reference.Tensor) {
	t.Helper()
	m.checkRows(t, what, got, want, nil)
}

// checkRows compares got with want; with a mask ([B·S] for a [B,S,H]
// tensor) only the rows it marks. Padded positions are no part of a text
// model's contract: under a causal mask a left-padded position may see no
// key at all, where the graph averages padding and the reference gives
// zeros.
func (m maxDiff) checkRows(t *testing.T, what string, got onnx.Tensor, want reference.Tensor, mask []int64) {
	t.Helper()
	gs := got.Shape()
	if len(gs) != len(want.Shape) {
		t.Fatalf("%s: shape %v, want %v", what, gs, want.Shape)
	}
	for i, d := range want.Shape {
		if gs[i] != int64(d) {
			t.Fatalf("%s: shape %v, want %v", what, gs, want.Shape)
		}
	}
	g, w := got.Float32s(), want.Data
	if mask != nil {
		h := want.Shape[len(want.Shape)-1]
		var gk []float32
		var wk []float64
		for r, keep := range mask {
			if keep != 0 {
				gk, wk = append(gk, g[r*h:(r+1)*h]...), append(wk, w[r*h:(r+1)*h]...)
			}
		}
		g, w = gk, wk
	}
	d := reference.MaxAbsDiff(g, w)
	name, _, _ := strings.Cut(what, " ")
	m[name] = max(m[name], d)
	if d > tol {
		t.Fatalf("%s: max |onnx - reference| = %.3g > %g", what, d, tol)
	}
}

func TestTransformerBERTMatchesReference(t *testing.T) {
	seqs := make([]int, 128)
	for i := range seqs {
		seqs[i] = i + 1
	}
	tests := []struct {
		name string
		cfg  onnxgen.BERTConfig
		seqs []int
	}{
		{"token types", onnxgen.BERTConfig{Seed: 1}, seqs},
		{"no token types", onnxgen.BERTConfig{Seed: 2, OmitTokenTypes: true}, []int{1, 2, 3, 9, 31, 64, 127, 128}},
		{"one head one layer", onnxgen.BERTConfig{Seed: 3, Heads: 1, Layers: 1, VocabSize: 100, MaxPositions: 16}, []int{1, 7, 16}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model, w, err := onnxgen.BERT(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(model) > 8<<20 {
				t.Errorf("model is %d bytes; the generator should stay at a few MB", len(model))
			}
			in := []string{onnxgen.InputIDs, onnxgen.AttentionMask}
			if !w.Config.OmitTokenTypes {
				in = append(in, onnxgen.TokenTypeIDs)
			}
			s := session(t, model, in, []string{onnxgen.LastHiddenState, onnxgen.PoolerOutput})
			r := rand.New(rand.NewPCG(uint64(len(tc.name)), 7))
			diffs := maxDiff{}
			for _, batch := range []int{1, 3, 8} {
				for _, seq := range tc.seqs {
					input := textBatch(r, batch, seq, w.Config.VocabSize, false)
					if w.Config.OmitTokenTypes {
						input.TokenTypeIDs = nil
					}
					outs, err := s.Run(t.Context(), textFeeds(input, !w.Config.OmitTokenTypes))
					if err != nil {
						t.Fatalf("batch %d, sequence %d: %v", batch, seq, err)
					}
					want, err := reference.BERT(w, input)
					if err != nil {
						t.Fatal(err)
					}
					diffs.checkRows(t, fmt.Sprintf("last_hidden_state batch=%d seq=%d", batch, seq), outs[0], want.LastHiddenState, input.AttentionMask)
					diffs.check(t, fmt.Sprintf("pooler_output batch=%d seq=%d", batch, seq), outs[1], want.PoolerOutput)
				}
			}
			t.Logf("%d bytes; max |onnx - reference|: %v", len(model), diffs)
		})
	}
}

// TestTransformerBERTPaddingInvariance runs one row alone and again beside
// a row 128 tokens long: its unpadded hidden states and pooled output must
// not move.
func TestTransformerBERTPaddingInvariance(t *testing.T) {
	model, w, err := onnxgen.BERT(onnxgen.BERTConfig{Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	s := session(t, model, []string{onnxgen.InputIDs, onnxgen.AttentionMask, onnxgen.TokenTypeIDs},
		[]string{onnxgen.LastHiddenState, onnxgen.PoolerOutput})
	r := rand.New(rand.NewPCG(4, 4))
	short := textBatch(r, 1, 5, w.Config.VocabSize, false)
	alone, err := s.Run(t.Context(), textFeeds(short, true))
	if err != nil {
		t.Fatal(err)
	}
	const seq = 128
	both := textBatch(r, 2, seq, w.Config.VocabSize, false)
	for k := range seq {
		both.InputIDs[seq+k], both.AttentionMask[seq+k], both.TokenTypeIDs[seq+k] = 0, 0, 0
	}
	copy(both.InputIDs[seq:], short.InputIDs)
	copy(both.AttentionMask[seq:], short.AttentionMask)
	copy(both.TokenTypeIDs[seq:], short.TokenTypeIDs)
	padded, err := s.Run(t.Context(), textFeeds(both, true))
	if err != nil {
		t.Fatal(err)
	}
	h := w.Config.Hidden
	hidden := padded[0].Float32s()[seq*h : seq*h+5*h]
	pooled := padded[1].Float32s()[h:]
	if d := diff32(alone[0].Float32s(), hidden); d > 1e-5 {
		t.Errorf("hidden states of the short row moved by %.3g when padded to %d", d, seq)
	}
	if d := diff32(alone[1].Float32s(), pooled); d > 1e-5 {
		t.Errorf("pooler_output of the short row moved by %.3g when padded to %d", d, seq)
	}
}

func TestTransformerViTMatchesReference(t *testing.T) {
	tests := []struct {
		name string
		cfg  onnxgen.ViTConfig
	}{
		{"32px patch 8", onnxgen.ViTConfig{Seed: 5}},
		{"24px patch 4 wide", onnxgen.ViTConfig{Seed: 6, ImageSize: 24, PatchSize: 4, Hidden: 48, Heads: 6, Layers: 3, Intermediate: 96}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model, w, err := onnxgen.ViT(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := session(t, model, []string{onnxgen.PixelValues}, []string{onnxgen.LastHiddenState, onnxgen.PoolerOutput})
			diffs := maxDiff{}
			r := rand.New(rand.NewPCG(5, 5))
			for _, batch := range []int{1, 3, 8} {
				pixels, outs := runPixels(t, s, r, batch, w.Config.ImageSize)
				want, err := reference.ViT(w, pixels, batch)
				if err != nil {
					t.Fatal(err)
				}
				diffs.check(t, fmt.Sprintf("last_hidden_state batch=%d", batch), outs[0], want.LastHiddenState)
				diffs.check(t, fmt.Sprintf("pooler_output batch=%d", batch), outs[1], want.PoolerOutput)
			}
			t.Logf("%d bytes, %d tokens; max |onnx - reference|: %v", len(model), w.Config.Tokens(), diffs)
		})
	}
}

// runPixels feeds batch images of values in [-2, 2), the range of
// mean/std-normalised pixels.
func runPixels(t *testing.T, s *onnx.Session, r *rand.Rand, batch, size int) ([]float32, []onnx.Tensor) {
	t.Helper()
	pixels := make([]float32, batch*onnxgen.Channels*size*size)
	for i := range pixels {
		pixels[i] = float32(4*r.Float64() - 2)
	}
	outs, err := s.Run(t.Context(), []onnx.Tensor{onnx.Float32Tensor([]int64{int64(batch), onnxgen.Channels, int64(size), int64(size)}, pixels)})
	if err != nil {
		t.Fatalf("batch %d: %v", batch, err)
	}
	return pixels, outs
}

func TestTransformerCLIPTextMatchesReference(t *testing.T) {
	tests := []struct {
		name string
		cfg  onnxgen.CLIPTextConfig
		left bool
	}{
		{"right padding", onnxgen.CLIPTextConfig{Seed: 7, VocabSize: 1000}, false},
		// Left padding moves the end-of-text token; the pooled position
		// must follow the mask, not the row length.
		{"left padding", onnxgen.CLIPTextConfig{Seed: 8, VocabSize: 1000}, true},
		{"default vocabulary", onnxgen.CLIPTextConfig{Seed: 9}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model, w, err := onnxgen.CLIPText(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := session(t, model, []string{onnxgen.InputIDs, onnxgen.AttentionMask},
				[]string{onnxgen.LastHiddenState, onnxgen.PoolerOutput, onnxgen.TextEmbeds})
			diffs := maxDiff{}
			r := rand.New(rand.NewPCG(9, 9))
			for _, batch := range []int{1, 3, 8} {
				for seq := 1; seq <= w.Config.MaxPositions; seq++ {
					input := textBatch(r, batch, seq, w.Config.VocabSize, tc.left)
					outs, err := s.Run(t.Context(), textFeeds(input, false))
					if err != nil {
						t.Fatalf("batch %d, sequence %d: %v", batch, seq, err)
					}
					want, err := reference.CLIPText(w, input)
					if err != nil {
						t.Fatal(err)
					}
					where := fmt.Sprintf(" batch=%d seq=%d", batch, seq)
					diffs.checkRows(t, "last_hidden_state"+where, outs[0], want.LastHiddenState, input.AttentionMask)
					diffs.check(t, "pooler_output"+where, outs[1], want.PoolerOutput)
					diffs.check(t, "text_embeds"+where, outs[2], want.Embeds)
				}
			}
			t.Logf("%d bytes; max |onnx - reference|: %v", len(model), diffs)
		})
	}
}

func TestTransformerCLIPVisionMatchesReference(t *testing.T) {
	model, w, err := onnxgen.CLIPVision(onnxgen.CLIPVisionConfig{Seed: 10})
	if err != nil {
		t.Fatal(err)
	}
	s := session(t, model, []string{onnxgen.PixelValues},
		[]string{onnxgen.LastHiddenState, onnxgen.PoolerOutput, onnxgen.ImageEmbeds})
	diffs := maxDiff{}
	r := rand.New(rand.NewPCG(10, 10))
	for _, batch := range []int{1, 3, 8} {
		pixels, outs := runPixels(t, s, r, batch, w.Config.ImageSize)
		want, err := reference.CLIPVision(w, pixels, batch)
		if err != nil {
			t.Fatal(err)
		}
		diffs.check(t, fmt.Sprintf("last_hidden_state batch=%d", batch), outs[0], want.LastHiddenState)
		diffs.check(t, fmt.Sprintf("pooler_output batch=%d", batch), outs[1], want.PoolerOutput)
		diffs.check(t, fmt.Sprintf("image_embeds batch=%d", batch), outs[2], want.Embeds)
	}
	t.Logf("%d bytes; max |onnx - reference|: %v", len(model), diffs)
}

// TestTransformerSequenceTooLong: past MaxPositions the graph must fail,
// not read past its position table.
func TestTransformerSequenceTooLong(t *testing.T) {
	model, w, err := onnxgen.BERT(onnxgen.BERTConfig{Seed: 11, VocabSize: 50, MaxPositions: 8})
	if err != nil {
		t.Fatal(err)
	}
	s := session(t, model, []string{onnxgen.InputIDs, onnxgen.AttentionMask, onnxgen.TokenTypeIDs}, []string{onnxgen.LastHiddenState})
	in := textBatch(rand.New(rand.NewPCG(11, 11)), 2, w.Config.MaxPositions+1, w.Config.VocabSize, false)
	if _, err := s.Run(t.Context(), textFeeds(in, true)); err == nil {
		t.Fatalf("a %d-token sequence ran on a model with %d positions", in.Seq, w.Config.MaxPositions)
	}
	if _, err := reference.BERT(w, in); !errors.Is(err, reference.ErrInput) {
		t.Fatalf("reference: got %v, want ErrInput", err)
	}
}

func TestTransformerDeterministic(t *testing.T) {
	build := map[string]func(seed uint64) ([]byte, error){
		"bert": func(seed uint64) ([]byte, error) {
			m, _, err := onnxgen.BERT(onnxgen.BERTConfig{Seed: seed, VocabSize: 64})
			return m, err
		},
		"vit": func(seed uint64) ([]byte, error) {
			m, _, err := onnxgen.ViT(onnxgen.ViTConfig{Seed: seed})
			return m, err
		},
		"clip_text": func(seed uint64) ([]byte, error) {
			m, _, err := onnxgen.CLIPText(onnxgen.CLIPTextConfig{Seed: seed, VocabSize: 64})
			return m, err
		},
		"clip_vision": func(seed uint64) ([]byte, error) {
			m, _, err := onnxgen.CLIPVision(onnxgen.CLIPVisionConfig{Seed: seed})
			return m, err
		},
	}
	for name, f := range build {
		t.Run(name, func(t *testing.T) {
			a, errA := f(42)
			b, errB := f(42)
			c, errC := f(43)
			if err := errors.Join(errA, errB, errC); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Error("two builds from one seed differ")
			}
			if bytes.Equal(a, c) {
				t.Error("seeds 42 and 43 gave the same model")
			}
		})
	}
}

func TestTransformerConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func() error
	}{
		{"bert hidden not divisible by heads", func() error {
			_, _, err := onnxgen.BERT(onnxgen.BERTConfig{Hidden: 30, Heads: 4})
			return err
		}},
		{"bert negative vocabulary", func() error {
			_, _, err := onnxgen.BERT(onnxgen.BERTConfig{VocabSize: -1})
			return err
		}},
		{"vit image not a multiple of patch", func() error {
			_, _, err := onnxgen.ViT(onnxgen.ViTConfig{ImageSize: 30, PatchSize: 8})
			return err
		}},
		{"clip text negative layers", func() error {
			_, _, err := onnxgen.CLIPText(onnxgen.CLIPTextConfig{Layers: -1})
			return err
		}},
		{"clip vision negative projection", func() error {
			_, _, err := onnxgen.CLIPVision(onnxgen.CLIPVisionConfig{ProjectionDim: -3})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.build(); !errors.Is(err, onnxgen.ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
}

// diff32 is the largest |a[i]-b[i]|, +Inf on a length mismatch or NaN.
func diff32(a, b []float32) float64 {
	w := make([]float64, len(b))
	for i, x := range b {
		w[i] = float64(x)
	}
	return reference.MaxAbsDiff(a, w)
}
