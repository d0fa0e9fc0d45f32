package onnxgen

import (
	"math"
	"math/rand/v2"
)

// Activation is a feed-forward non-linearity.
type Activation string

// The activations the builders use.
const (
	// GELU is the exact 0.5·x·(1+erf(x/√2)) of BERT and ViT.
	GELU Activation = "gelu"
	// QuickGELU is CLIP's x·sigmoid(1.702·x).
	QuickGELU Activation = "quick_gelu"
)

// Linear is y = x·W + B over the last axis.
type Linear struct {
	In, Out int
	// W is row-major [In][Out], the layout ONNX MatMul takes (the transpose
	// of a PyTorch nn.Linear weight).
	W []float32
	// B has Out values, or is nil for a layer without bias.
	B []float32
}

// LayerNorm normalises the last axis: (x-mean)/sqrt(var+Eps)·Scale + Bias,
// with the biased variance.
type LayerNorm struct {
	Scale, Bias []float32
	Eps         float32
}

// Layer is one transformer encoder layer.
type Layer struct {
	Query, Key, Value, AttnOut Linear
	// AttnNorm follows the attention residual in a post-norm encoder (BERT)
	// and precedes attention in a pre-norm one (ViT, CLIP); FFNorm is the
	// same for the feed-forward block.
	AttnNorm    LayerNorm
	FFIn, FFOut Linear
	FFNorm      LayerNorm
}

// Encoder is a stack of layers and how they are wired.
type Encoder struct {
	Heads      int
	PreNorm    bool
	Activation Activation
	// Causal lets position i attend only to positions <= i (CLIP text).
	Causal bool
	Layers []Layer
}

// sampler draws weights from a PCG stream. Scales follow the usual
// 1/sqrt(fan_in) so activations stay O(1) through every layer; a
// BERT-style 0.02 would make attention nearly uniform, and a test could
// then not tell masked from unmasked keys.
type sampler struct{ r *rand.Rand }

func newSampler(seed uint64) *sampler {
	// The second PCG word is fixed: the seed alone picks the stream.
	return &sampler{r: rand.New(rand.NewPCG(seed, 0x5eed_0f_0a_77e2))}
}

// uniform returns n values uniform in [-a, a]. Uniform rather than normal:
// Float64 on PCG is a plain bit shift, so the weights of a seed do not
// hinge on a sampling algorithm.
func (g *sampler) uniform(n int, a float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32((2*g.r.Float64() - 1) * a)
	}
	return out
}

func (g *sampler) linear(in, out int, bias bool) Linear {
	l := Linear{In: in, Out: out, W: g.uniform(in*out, math.Sqrt(3/float64(in)))}
	if bias {
		l.B = g.uniform(out, 0.1)
	}
	return l
}

func (g *sampler) layerNorm(d int, eps float32) LayerNorm {
	s := g.uniform(d, 0.2)
	for i := range s {
		s[i]++
	}
	return LayerNorm{Scale: s, Bias: g.uniform(d, 0.1), Eps: eps}
}

// embeddings returns rows×d values of unit-ish variance, like trained
// token tables after their LayerNorm.
func (g *sampler) embeddings(rows, d int) []float32 { return g.uniform(rows*d, math.Sqrt(3)) }

func (g *sampler) encoder(layers, hidden, heads, inter int, eps float32, bias, preNorm, causal bool, act Activation) Encoder {
	e := Encoder{Heads: heads, PreNorm: preNorm, Activation: act, Causal: causal}
	for range layers {
		e.Layers = append(e.Layers, Layer{
			Query:    g.linear(hidden, hidden, bias),
			Key:      g.linear(hidden, hidden, bias),
			Value:    g.linear(hidden, hidden, bias),
			AttnOut:  g.linear(hidden, hidden, bias),
			AttnNorm: g.layerNorm(hidden, eps),
			FFIn:     g.linear(hidden, inter, bias),
			FFOut:    g.linear(inter, hidden, bias),
			FFNorm:   g.layerNorm(hidden, eps),
		})
	}
	return e
}
