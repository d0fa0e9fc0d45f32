// Package reference recomputes the models of package onnxgen in plain Go,
// in float64, from their weight structs, so tests can check what ONNX
// Runtime computes from the generated graphs. It shares no code with the
// graph builders: each sequence is computed on its own, loop by loop, and
// masked keys are left out of the softmax rather than given a large
// negative bias, so a graph whose mask leaked would disagree with it.
//
// It is slow and meant for tests only.
package reference

import (
	"errors"
	"fmt"
	"math"

	"github.com/vitrinehq/vitrine/internal/onnxgen"
)

// ErrInput marks inputs the models cannot take.
var ErrInput = errors.New("reference: invalid input")

// Tensor is a dense row-major array.
type Tensor struct {
	Shape []int
	Data  []float64
}

// Rows splits a tensor into its last-axis vectors: [B,D] gives B rows,
// [B,S,D] gives B·S.
func (t Tensor) Rows() [][]float64 {
	if len(t.Shape) == 0 {
		return nil
	}
	d := t.Shape[len(t.Shape)-1]
	out := make([][]float64, 0, len(t.Data)/max(d, 1))
	for i := 0; i+d <= len(t.Data) && d > 0; i += d {
		out = append(out, t.Data[i:i+d])
	}
	return out
}

// Output is a model's outputs, named as the graph names them.
type Output struct {
	LastHiddenState Tensor // [B,S,H]
	PoolerOutput    Tensor // [B,H]
	// Embeds is text_embeds (CLIPText) or image_embeds (CLIPVision),
	// [B,ProjectionDim]; empty for BERT and ViT.
	Embeds Tensor
}

// TextInput is a batch of token rows, each Seq long, row-major.
type TextInput struct {
	Batch, Seq    int
	InputIDs      []int64
	AttentionMask []int64
	// TokenTypeIDs may be nil, meaning type 0 everywhere.
	TokenTypeIDs []int64
}

func (in TextInput) check(vocab, maxPos int) error {
	n := in.Batch * in.Seq
	switch {
	case in.Batch < 1 || in.Seq < 1:
		return fmt.Errorf("%w: batch %d, sequence %d", ErrInput, in.Batch, in.Seq)
	case in.Seq > maxPos:
		return fmt.Errorf("%w: sequence %d longer than %d positions", ErrInput, in.Seq, maxPos)
	case len(in.InputIDs) != n || len(in.AttentionMask) != n || (in.TokenTypeIDs != nil && len(in.TokenTypeIDs) != n):
		return fmt.Errorf("%w: want %d values per input", ErrInput, n)
	}
	for i, id := range in.InputIDs {
		if id < 0 || id >= int64(vocab) {
			return fmt.Errorf("%w: input_ids[%d] = %d outside vocabulary of %d", ErrInput, i, id, vocab)
		}
	}
	for b := range in.Batch {
		if sum(in.AttentionMask[b*in.Seq:(b+1)*in.Seq]) == 0 {
			// The softmax over no keys is undefined; the graphs give
			// something finite but meaningless, and nothing should rely on it.
			return fmt.Errorf("%w: row %d has no attended token", ErrInput, b)
		}
	}
	return nil
}

func sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

// BERT runs a generated BERT.
func BERT(w *onnxgen.BERTWeights, in TextInput) (Output, error) {
	c := w.Config
	if err := in.check(c.VocabSize, c.MaxPositions); err != nil {
		return Output{}, err
	}
	for i, t := range in.TokenTypeIDs {
		if t < 0 || t >= int64(c.TypeVocabSize) || (c.OmitTokenTypes && t != 0) {
			return Output{}, fmt.Errorf("%w: token_type_ids[%d] = %d", ErrInput, i, t)
		}
	}
	h := c.Hidden
	out := newOutput(in.Batch, in.Seq, h, 0)
	for b := range in.Batch {
		x := make([][]float64, in.Seq)
		for i := range x {
			k := b*in.Seq + i
			var typ int64
			if in.TokenTypeIDs != nil {
				typ = in.TokenTypeIDs[k]
			}
			x[i] = add(row(w.WordEmbeddings, int(in.InputIDs[k]), h), row(w.PositionEmbeddings, i, h), row(w.TokenTypeEmbeddings, int(typ), h))
			x[i] = layerNorm(x[i], w.EmbeddingNorm)
		}
		mask := in.AttentionMask[b*in.Seq : (b+1)*in.Seq]
		x = encoder(x, w.Encoder, func(_, j int) bool { return mask[j] != 0 })
		out.put(x, tanh(linear(x[0], w.Pooler)), nil)
	}
	return out, nil
}

// CLIPText runs a generated CLIP text tower. The pooled token of each row
// is the last one attention_mask marks.
func CLIPText(w *onnxgen.CLIPTextWeights, in TextInput) (Output, error) {
	c := w.Config
	if err := in.check(c.VocabSize, c.MaxPositions); err != nil {
		return Output{}, err
	}
	h := c.Hidden
	out := newOutput(in.Batch, in.Seq, h, c.ProjectionDim)
	for b := range in.Batch {
		x := make([][]float64, in.Seq)
		for i := range x {
			x[i] = add(row(w.TokenEmbeddings, int(in.InputIDs[b*in.Seq+i]), h), row(w.PositionEmbeddings, i, h))
		}
		mask := in.AttentionMask[b*in.Seq : (b+1)*in.Seq]
		x = encoder(x, w.Encoder, func(_, j int) bool { return mask[j] != 0 })
		eos := 0
		for i := range x {
			x[i] = layerNorm(x[i], w.FinalNorm)
			if mask[i] != 0 {
				eos = i
			}
		}
		out.put(x, x[eos], linear(x[eos], w.Projection))
	}
	return out, nil
}

// ViT runs a generated ViT on pixels [batch,3,S,S].
func ViT(w *onnxgen.ViTWeights, pixels []float32, batch int) (Output, error) {
	c := w.Config
	if err := checkPixels(pixels, batch, c.ImageSize); err != nil {
		return Output{}, err
	}
	per := onnxgen.Channels * c.ImageSize * c.ImageSize
	out := newOutput(batch, c.Tokens(), c.Hidden, 0)
	for b := range batch {
		x := patchTokens(pixels[b*per:(b+1)*per], c.ImageSize, c.Hidden, w.Patch, w.CLS, w.PositionEmbeddings)
		x = encoder(x, w.Encoder, all)
		for i := range x {
			x[i] = layerNorm(x[i], w.FinalNorm)
		}
		out.put(x, tanh(linear(x[0], w.Pooler)), nil)
	}
	return out, nil
}

// CLIPVision runs a generated CLIP vision tower on pixels [batch,3,S,S].
func CLIPVision(w *onnxgen.CLIPVisionWeights, pixels []float32, batch int) (Output, error) {
	c := w.Config
	if err := checkPixels(pixels, batch, c.ImageSize); err != nil {
		return Output{}, err
	}
	per := onnxgen.Channels * c.ImageSize * c.ImageSize
	out := newOutput(batch, c.Tokens(), c.Hidden, c.ProjectionDim)
	for b := range batch {
		x := patchTokens(pixels[b*per:(b+1)*per], c.ImageSize, c.Hidden, w.Patch, w.ClassEmbedding, w.PositionEmbeddings)
		for i := range x {
			x[i] = layerNorm(x[i], w.PreNorm)
		}
		x = encoder(x, w.Encoder, all)
		pooled := layerNorm(x[0], w.PostNorm)
		out.put(x, pooled, linear(pooled, w.Projection))
	}
	return out, nil
}

func all(_, _ int) bool { return true }

func checkPixels(pixels []float32, batch, size int) error {
	if want := batch * onnxgen.Channels * size * size; batch < 1 || len(pixels) != want {
		return fmt.Errorf("%w: %d pixel values for batch %d, want %d", ErrInput, len(pixels), batch, want)
	}
	return nil
}

func newOutput(batch, seq, hidden, proj int) Output {
	o := Output{
		LastHiddenState: Tensor{Shape: []int{batch, seq, hidden}, Data: make([]float64, 0, batch*seq*hidden)},
		PoolerOutput:    Tensor{Shape: []int{batch, hidden}, Data: make([]float64, 0, batch*hidden)},
	}
	if proj > 0 {
		o.Embeds = Tensor{Shape: []int{batch, proj}, Data: make([]float64, 0, batch*proj)}
	}
	return o
}

// put appends one row's results; rows arrive in batch order.
func (o *Output) put(hidden [][]float64, pooled, embeds []float64) {
	for _, r := range hidden {
		o.LastHiddenState.Data = append(o.LastHiddenState.Data, r...)
	}
	o.PoolerOutput.Data = append(o.PoolerOutput.Data, pooled...)
	o.Embeds.Data = append(o.Embeds.Data, embeds...)
}

// patchTokens is the class token then one token per patch in row-major
// order, each plus its position embedding. The convolution is written out
// as the sum it is.
func patchTokens(img []float32, size, hidden int, pe onnxgen.PatchEmbedding, cls, pos []float32) [][]float64 {
	p := pe.Patch
	g := size / p
	x := [][]float64{add(f64(cls), row(pos, 0, hidden))}
	for gy := range g {
		for gx := range g {
			t := make([]float64, hidden)
			for o := range hidden {
				var s float64
				if pe.Bias != nil {
					s = float64(pe.Bias[o])
				}
				for ch := range onnxgen.Channels {
					for ky := range p {
						for kx := range p {
							wv := pe.Weight[((o*onnxgen.Channels+ch)*p+ky)*p+kx]
							pv := img[(ch*size+gy*p+ky)*size+gx*p+kx]
							s += float64(wv) * float64(pv)
						}
					}
				}
				t[o] = s
			}
			x = append(x, add(t, row(pos, len(x), hidden)))
		}
	}
	return x
}

// encoder runs the layers; allowed(i, j) says whether query i may attend
// to key j (after the encoder's own causal rule).
func encoder(x [][]float64, e onnxgen.Encoder, allowed func(i, j int) bool) [][]float64 {
	see := allowed
	if e.Causal {
		see = func(i, j int) bool { return j <= i && allowed(i, j) }
	}
	for _, l := range e.Layers {
		ff := func(v []float64) []float64 {
			return linear(activate(linear(v, l.FFIn), e.Activation), l.FFOut)
		}
		if e.PreNorm {
			a := attention(mapRows(x, func(v []float64) []float64 { return layerNorm(v, l.AttnNorm) }), l, e.Heads, see)
			x = addRows(x, a)
			f := mapRows(x, func(v []float64) []float64 { return ff(layerNorm(v, l.FFNorm)) })
			x = addRows(x, f)
			continue
		}
		a := attention(x, l, e.Heads, see)
		x = mapRows(addRows(x, a), func(v []float64) []float64 { return layerNorm(v, l.AttnNorm) })
		f := mapRows(x, ff)
		x = mapRows(addRows(x, f), func(v []float64) []float64 { return layerNorm(v, l.FFNorm) })
	}
	return x
}

// attention is multi-head scaled dot-product self-attention over the keys
// see allows; the others are not in the softmax at all.
func attention(x [][]float64, l onnxgen.Layer, heads int, see func(i, j int) bool) [][]float64 {
	q := mapRows(x, func(v []float64) []float64 { return linear(v, l.Query) })
	k := mapRows(x, func(v []float64) []float64 { return linear(v, l.Key) })
	v := mapRows(x, func(v []float64) []float64 { return linear(v, l.Value) })
	hidden := l.Query.Out
	hd := hidden / heads
	scale := 1 / math.Sqrt(float64(hd))
	ctx := make([][]float64, len(x))
	for i := range x {
		ctx[i] = make([]float64, hidden)
		for h := range heads {
			lo, hi := h*hd, (h+1)*hd
			var keys []int
			var scores []float64
			peak := math.Inf(-1)
			for j := range x {
				if !see(i, j) {
					continue
				}
				s := dot(q[i][lo:hi], k[j][lo:hi]) * scale
				keys, scores = append(keys, j), append(scores, s)
				peak = math.Max(peak, s)
			}
			var z float64
			for n, s := range scores {
				scores[n] = math.Exp(s - peak)
				z += scores[n]
			}
			for n, j := range keys {
				p := scores[n] / z
				for d := lo; d < hi; d++ {
					ctx[i][d] += p * v[j][d]
				}
			}
		}
	}
	return mapRows(ctx, func(v []float64) []float64 { return linear(v, l.AttnOut) })
}

func linear(x []float64, l onnxgen.Linear) []float64 {
	out := make([]float64, l.Out)
	if l.B != nil {
		for j := range out {
			out[j] = float64(l.B[j])
		}
	}
	for i, xv := range x {
		w := l.W[i*l.Out : (i+1)*l.Out]
		for j := range out {
			out[j] += xv * float64(w[j])
		}
	}
	return out
}

func layerNorm(x []float64, ln onnxgen.LayerNorm) []float64 {
	var mean, variance float64
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	variance /= float64(len(x))
	inv := 1 / math.Sqrt(variance+float64(ln.Eps))
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = (v-mean)*inv*float64(ln.Scale[i]) + float64(ln.Bias[i])
	}
	return out
}

func activate(x []float64, act onnxgen.Activation) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		switch act {
		case onnxgen.QuickGELU:
			out[i] = v / (1 + math.Exp(-1.702*v))
		default:
			out[i] = 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
		}
	}
	return out
}

func tanh(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Tanh(v)
	}
	return out
}

func row(table []float32, i, d int) []float64 { return f64(table[i*d : (i+1)*d]) }

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func add(vs ...[]float64) []float64 {
	out := make([]float64, len(vs[0]))
	for _, v := range vs {
		for i, x := range v {
			out[i] += x
		}
	}
	return out
}

func addRows(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = add(a[i], b[i])
	}
	return out
}

func mapRows(x [][]float64, f func([]float64) []float64) [][]float64 {
	out := make([][]float64, len(x))
	for i, v := range x {
		out[i] = f(v)
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// MeanPool averages each row's token vectors where mask is 1: the
// sentence-transformers mean pooling. last is [B,S,H], mask [B·S].
func MeanPool(last Tensor, mask []int64) [][]float64 {
	b, s, h := last.Shape[0], last.Shape[1], last.Shape[2]
	out := make([][]float64, b)
	for i := range b {
		v := make([]float64, h)
		var n float64
		for j := range s {
			if mask[i*s+j] == 0 {
				continue
			}
			n++
			for k := range h {
				v[k] += last.Data[(i*s+j)*h+k]
			}
		}
		for k := range v {
			v[k] /= max(n, 1)
		}
		out[i] = v
	}
	return out
}

// CLS takes each row's first token vector from last [B,S,H].
func CLS(last Tensor) [][]float64 {
	b, s, h := last.Shape[0], last.Shape[1], last.Shape[2]
	out := make([][]float64, b)
	for i := range b {
		out[i] = last.Data[i*s*h : i*s*h+h]
	}
	return out
}

// Normalize returns v scaled to unit L2 length (v itself if it is zero).
func Normalize(v []float64) []float64 {
	n := math.Sqrt(dot(v, v))
	if n == 0 {
		return v
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x / n
	}
	return out
}

// MaxAbsDiff is the largest |got[i]-want[i]|, or +Inf when the lengths
// differ or a value is NaN, so a mismatch can never pass a tolerance.
func MaxAbsDiff(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	var m float64
	for i, g := range got {
		d := math.Abs(float64(g) - want[i])
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = math.Max(m, d)
	}
	return m
}
