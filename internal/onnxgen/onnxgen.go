// Package onnxgen writes small transformer encoders as ONNX models, with
// fixed pseudo-random weights drawn from a seed, so Vitrine can test its
// transformer code paths (tokenisation, attention masks, pooling, image
// preparation, shared CLIP spaces) without pretrained weights on disk.
//
// Four architectures are built, each wired as its Hugging Face
// counterpart exports (tensor names, post- or pre-norm, activation):
//
//   - BERT: word + position + token-type embeddings, post-norm encoder,
//     outputs last_hidden_state and pooler_output (tanh(dense(CLS))).
//   - ViT: Conv patch embedding, CLS token, pre-norm encoder, final
//     LayerNorm, outputs last_hidden_state and pooler_output.
//   - CLIPText: causal pre-norm encoder with quick GELU, final LayerNorm,
//     the hidden state of the last attended token projected to text_embeds.
//   - CLIPVision: CLIP's vision tower, with image_embeds in the same
//     projection space as CLIPText when both use one ProjectionDim.
//
// Graphs use only standard opset-17 operators. Every builder returns the
// serialized model and the weights it holds, so a reference forward pass
// (package reference) can recompute the outputs independently.
//
// Presets (Presets, ParsePresets) size these builders as published models
// (all-MiniLM-L6-v2, BERT-base, ViT-B/16, CLIP ViT-B/32's two towers), and
// Install builds one into a model directory with its manifest (and a real
// BERT tokenizer for text), cached by preset, seed and configuration, so
// benchmarks measure Vitrine at the sizes users run. Such weights are for
// speed only.
package onnxgen

import (
	"errors"
	"fmt"
)

// ErrConfig marks a configuration no model can be built from.
var ErrConfig = errors.New("onnxgen: invalid config")

// Tensor names of the generated graphs, as Hugging Face exports name them.
const (
	InputIDs        = "input_ids"
	AttentionMask   = "attention_mask"
	TokenTypeIDs    = "token_type_ids"
	PixelValues     = "pixel_values"
	LastHiddenState = "last_hidden_state"
	PoolerOutput    = "pooler_output"
	TextEmbeds      = "text_embeds"
	ImageEmbeds     = "image_embeds"
)

// Channels is the number of image channels a vision model takes (RGB).
const Channels = 3

// sizes are the shape parameters every encoder shares.
type sizes struct {
	hidden, layers, heads, inter int
}

func (s sizes) check(errs []error) []error {
	if s.hidden < 1 || s.layers < 1 || s.heads < 1 || s.inter < 1 {
		errs = append(errs, fmt.Errorf("%w: hidden %d, layers %d, heads %d and intermediate %d must be positive", ErrConfig, s.hidden, s.layers, s.heads, s.inter))
	} else if s.hidden%s.heads != 0 {
		errs = append(errs, fmt.Errorf("%w: hidden %d is not a multiple of heads %d", ErrConfig, s.hidden, s.heads))
	}
	return errs
}

// orDefault returns v, or def when v is zero, so a zero config field means
// "the small default".
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func checkImage(errs []error, image, patch int) []error {
	if image < 1 || patch < 1 || image%patch != 0 {
		errs = append(errs, fmt.Errorf("%w: image size %d must be a positive multiple of patch size %d", ErrConfig, image, patch))
	}
	return errs
}

func positive(errs []error, name string, v int) []error {
	if v < 1 {
		errs = append(errs, fmt.Errorf("%w: %s must be positive, got %d", ErrConfig, name, v))
	}
	return errs
}
