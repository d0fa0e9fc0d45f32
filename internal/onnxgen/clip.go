package onnxgen

import (
	"errors"
	"strconv"
)

// CLIPTextConfig sizes CLIP's text tower. Zero fields take the defaults
// noted.
type CLIPTextConfig struct {
	// VocabSize defaults to 49408, CLIP's; size it to the tokenizer the
	// model is paired with (tokenizer.VocabSize), or ids past it fail.
	VocabSize     int
	Hidden        int // default 32
	Layers        int // default 2
	Heads         int // default 4
	Intermediate  int // default 64
	MaxPositions  int // default 77, CLIP's context length
	ProjectionDim int // default 16
	Seed          uint64
}

func (c CLIPTextConfig) withDefaults() CLIPTextConfig {
	c.VocabSize = orDefault(c.VocabSize, 49408)
	c.Hidden = orDefault(c.Hidden, 32)
	c.Layers = orDefault(c.Layers, 2)
	c.Heads = orDefault(c.Heads, 4)
	c.Intermediate = orDefault(c.Intermediate, 64)
	c.MaxPositions = orDefault(c.MaxPositions, 77)
	c.ProjectionDim = orDefault(c.ProjectionDim, 16)
	return c
}

func (c CLIPTextConfig) validate() error {
	errs := sizes{c.Hidden, c.Layers, c.Heads, c.Intermediate}.check(nil)
	errs = positive(errs, "vocab size", c.VocabSize)
	errs = positive(errs, "max positions", c.MaxPositions)
	errs = positive(errs, "projection dim", c.ProjectionDim)
	return errors.Join(errs...)
}

// CLIPTextWeights are the parameters of a generated CLIP text tower.
type CLIPTextWeights struct {
	Config             CLIPTextConfig // with defaults applied
	TokenEmbeddings    []float32      // [VocabSize][Hidden]
	PositionEmbeddings []float32      // [MaxPositions][Hidden]
	Encoder            Encoder        // pre-norm, causal, quick GELU
	FinalNorm          LayerNorm
	Projection         Linear // Hidden -> ProjectionDim, no bias
}

// CLIPText builds CLIP's text tower (Hugging Face CLIPTextModelWithProjection
// semantics) with inputs input_ids and attention_mask, int64
// [batch, sequence], and outputs last_hidden_state [batch, sequence,
// Hidden] (after the final LayerNorm), pooler_output [batch, Hidden] and
// text_embeds [batch, ProjectionDim].
//
// Attention is causal and skips padded keys. The pooled token is the last
// one attention_mask marks, which is where the tokenizer puts the
// end-of-text token. Hugging Face finds it as the first end-of-text id instead
// (or the largest id, for OpenAI's vocabulary, where it is the last), which
// is the same position unless the text itself contains that token; the
// mask is used here because a small tokenizer may map unknown characters
// to the end-of-text id, as the BPE test fixture does.
func CLIPText(cfg CLIPTextConfig) ([]byte, *CLIPTextWeights, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	s := newSampler(cfg.Seed)
	h := cfg.Hidden
	w := &CLIPTextWeights{
		Config:             cfg,
		TokenEmbeddings:    s.embeddings(cfg.VocabSize, h),
		PositionEmbeddings: s.embeddings(cfg.MaxPositions, h),
		Encoder:            s.encoder(cfg.Layers, h, cfg.Heads, cfg.Intermediate, 1e-5, true, true, true, QuickGELU),
		FinalNorm:          s.layerNorm(h, 1e-5),
		Projection:         s.linear(h, cfg.ProjectionDim, false),
	}
	model, err := w.onnx()
	if err != nil {
		return nil, nil, err
	}
	return model, w, nil
}

func (w *CLIPTextWeights) onnx() ([]byte, error) {
	c := w.Config
	h := int64(c.Hidden)
	b := newGraph("clip_text")
	b.input(InputIDs, elemInt64, "batch", "sequence")
	b.input(AttentionMask, elemInt64, "batch", "sequence")

	tok := b.floats("embeddings.token", []int64{int64(c.VocabSize), h}, w.TokenEmbeddings)
	x := b.op("embeddings.token.gather", "Gather", []string{tok, InputIDs}, attrInt("axis", 0))
	seq := b.seqLen(InputIDs)
	pos := b.floats("embeddings.position", []int64{int64(c.MaxPositions), h}, w.PositionEmbeddings)
	x = b.op("embeddings.add_position", "Add", []string{x, b.positions(pos, seq)})

	bias := b.paddingBias(AttentionMask)
	if w.Encoder.Causal {
		bias = b.op("attention_bias", "Add", []string{bias, b.causalBias(seq, c.MaxPositions)})
	}

	x = b.encoder("encoder", x, bias, w.Encoder)
	x = b.layerNorm("final_norm", x, w.FinalNorm)
	b.output(LastHiddenState, x, "batch", "sequence", c.Hidden)

	// Pool the last attended token: argmax over positions of
	// mask·(position+1) finds it whichever side the padding is on, and a
	// one-hot row at it times the hidden states picks its vector. A row
	// with no attended token pools position 0 rather than failing.
	limit := b.op("eos.limit", "Squeeze", []string{seq, b.vec("eos.squeeze_axes", 0)})
	positions := b.op("eos.positions", "Range", []string{b.ints("eos.start", nil, 0), limit, b.ints("eos.delta", nil, 1)}) // [S]
	rank := b.op("eos.rank", "Cast", []string{b.op("eos.plus_one", "Add", []string{positions, b.ints("eos.one", nil, 1)})}, attrInt("to", int64(elemFloat)))
	maskF := b.op("eos.mask", "Cast", []string{AttentionMask}, attrInt("to", int64(elemFloat)))
	last := b.op("eos.index", "ArgMax", []string{b.op("eos.score", "Mul", []string{maskF, rank})}, attrInt("axis", 1), attrInt("keepdims", 1)) // [B,1]
	onehot := b.op("eos.onehot", "Cast", []string{b.op("eos.match", "Equal", []string{positions, last})}, attrInt("to", int64(elemFloat)))
	onehot = b.op("eos.onehot3", "Unsqueeze", []string{onehot, b.vec("eos.unsqueeze_axes", 1)}) // [B,1,S]
	pooled := b.op("eos.pooled3", "MatMul", []string{onehot, x})                                // [B,1,H]
	pooled = b.op("eos.pooled", "Squeeze", []string{pooled, b.vec("eos.pooled_axes", 1)})
	b.output(PoolerOutput, pooled, "batch", c.Hidden)
	b.output(TextEmbeds, b.linear("text_projection", pooled, w.Projection), "batch", c.ProjectionDim)

	return b.model("Small CLIP text tower with seeded random weights, generated by vitrine's internal/onnxgen for tests.",
		"vitrine.onnxgen.arch", "clip_text",
		"vitrine.onnxgen.seed", strconv.FormatUint(c.Seed, 10))
}

// CLIPVisionConfig sizes CLIP's vision tower. Zero fields take the
// defaults noted.
type CLIPVisionConfig struct {
	ImageSize     int // default 32
	PatchSize     int // default 8
	Hidden        int // default 32
	Layers        int // default 2
	Heads         int // default 4
	Intermediate  int // default 64
	ProjectionDim int // default 16, the CLIPTextConfig default, so a pair shares one space
	Seed          uint64
}

func (c CLIPVisionConfig) withDefaults() CLIPVisionConfig {
	c.ImageSize = orDefault(c.ImageSize, 32)
	c.PatchSize = orDefault(c.PatchSize, 8)
	c.Hidden = orDefault(c.Hidden, 32)
	c.Layers = orDefault(c.Layers, 2)
	c.Heads = orDefault(c.Heads, 4)
	c.Intermediate = orDefault(c.Intermediate, 64)
	c.ProjectionDim = orDefault(c.ProjectionDim, 16)
	return c
}

func (c CLIPVisionConfig) validate() error {
	errs := sizes{c.Hidden, c.Layers, c.Heads, c.Intermediate}.check(nil)
	errs = checkImage(errs, c.ImageSize, c.PatchSize)
	errs = positive(errs, "projection dim", c.ProjectionDim)
	return errors.Join(errs...)
}

// Tokens is the sequence length: one token per patch plus CLS.
func (c CLIPVisionConfig) Tokens() int { return tokens(c.ImageSize, c.PatchSize) }

// CLIPVisionWeights are the parameters of a generated CLIP vision tower.
type CLIPVisionWeights struct {
	Config             CLIPVisionConfig // with defaults applied
	Patch              PatchEmbedding   // no bias
	ClassEmbedding     []float32        // [Hidden]
	PositionEmbeddings []float32        // [Tokens][Hidden]
	PreNorm            LayerNorm        // CLIP's pre_layrnorm, on the embeddings
	Encoder            Encoder          // pre-norm, quick GELU
	PostNorm           LayerNorm        // on the CLS token only
	Projection         Linear           // Hidden -> ProjectionDim, no bias
}

// CLIPVision builds CLIP's vision tower (Hugging Face
// CLIPVisionModelWithProjection semantics) with input pixel_values float32
// [batch, 3, ImageSize, ImageSize] and outputs last_hidden_state
// [batch, Tokens, Hidden] (the encoder output, before the post norm),
// pooler_output [batch, Hidden] (the post-normed CLS token) and
// image_embeds [batch, ProjectionDim].
func CLIPVision(cfg CLIPVisionConfig) ([]byte, *CLIPVisionWeights, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	s := newSampler(cfg.Seed)
	h := cfg.Hidden
	w := &CLIPVisionWeights{
		Config:             cfg,
		Patch:              s.patch(h, cfg.PatchSize, false),
		ClassEmbedding:     s.embeddings(1, h),
		PositionEmbeddings: s.embeddings(cfg.Tokens(), h),
		PreNorm:            s.layerNorm(h, 1e-5),
		Encoder:            s.encoder(cfg.Layers, h, cfg.Heads, cfg.Intermediate, 1e-5, true, true, false, QuickGELU),
		PostNorm:           s.layerNorm(h, 1e-5),
		Projection:         s.linear(h, cfg.ProjectionDim, false),
	}
	model, err := w.onnx()
	if err != nil {
		return nil, nil, err
	}
	return model, w, nil
}

func (w *CLIPVisionWeights) onnx() ([]byte, error) {
	c := w.Config
	b := newGraph("clip_vision")
	b.input(PixelValues, elemFloat, "batch", Channels, c.ImageSize, c.ImageSize)
	x := b.patchTokens(PixelValues, w.Patch, w.ClassEmbedding, w.PositionEmbeddings, c.Hidden)
	x = b.layerNorm("pre_norm", x, w.PreNorm)
	x = b.encoder("encoder", x, "", w.Encoder)
	b.output(LastHiddenState, x, "batch", c.Tokens(), c.Hidden)
	pooled := b.layerNorm("post_norm", b.first("pooler.cls", x), w.PostNorm)
	b.output(PoolerOutput, pooled, "batch", c.Hidden)
	b.output(ImageEmbeds, b.linear("visual_projection", pooled, w.Projection), "batch", c.ProjectionDim)
	return b.model("Small CLIP vision tower with seeded random weights, generated by vitrine's internal/onnxgen for tests.",
		"vitrine.onnxgen.arch", "clip_vision",
		"vitrine.onnxgen.seed", strconv.FormatUint(c.Seed, 10))
}

// causalBias is the [S,S] score bias that hides later positions: a
// constant [maxPos,maxPos] upper triangle cut to the sequence length.
func (b *graph) causalBias(seq string, maxPos int) string {
	tri := make([]float32, maxPos*maxPos)
	for i := range maxPos {
		for j := i + 1; j < maxPos; j++ {
			tri[i*maxPos+j] = maskBias
		}
	}
	table := b.floats("causal_bias_table", []int64{int64(maxPos), int64(maxPos)}, tri)
	ends := b.op("causal_ends", "Concat", []string{seq, seq}, attrInt("axis", 0))
	return b.op("causal_bias", "Slice", []string{table, b.vec("causal_starts", 0, 0), ends, b.vec("causal_axes", 0, 1)})
}
