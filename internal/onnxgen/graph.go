package onnxgen

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"google.golang.org/protobuf/proto"

	"github.com/vitrinehq/vitrine/internal/onnxpb"
)

// Opset and IR version of every generated model. Opset 17 is the first
// with LayerNormalization; IR 8 is what opset 17 needs and what ONNX
// Runtime 1.24 reads.
const (
	Opset     = 17
	IRVersion = 8
)

// maskBias is added to attention scores of keys a query must not see. It
// is large enough that exp underflows to exactly 0 after Softmax subtracts
// the row maximum, and small enough that adding two of them (causal and
// padding) stays finite in float32, so no row ever becomes NaN.
const maskBias = -1e9

var (
	elemFloat = int32(onnxpb.TensorProto_FLOAT)
	elemInt64 = int32(onnxpb.TensorProto_INT64)
)

// graph accumulates the nodes and initializers of one ONNX graph. Every
// node has one output, named after the node, so a builder reads like the
// forward pass it encodes.
type graph struct {
	g    *onnxpb.GraphProto
	seen map[string]bool
}

func newGraph(name string) *graph {
	return &graph{g: &onnxpb.GraphProto{Name: name}, seen: map[string]bool{}}
}

// unique returns name, or name with a numeric suffix if it is taken, so
// helper functions called once per layer never collide.
func (b *graph) unique(name string) string {
	n := name
	for i := 1; b.seen[n]; i++ {
		n = name + "_" + strconv.Itoa(i)
	}
	b.seen[n] = true
	return n
}

// floats adds a float32 initializer. Values are stored as raw little-endian
// bytes, which is what exporters write and what keeps large tables compact.
func (b *graph) floats(name string, dims []int64, data []float32) string {
	name = b.unique(name)
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: name, DataType: elemFloat, Dims: dims, RawData: rawFloats(data)})
	return name
}

// rawFloats is data as little-endian bytes. On a little-endian machine
// (every platform ONNX Runtime ships for) that is data's own memory, so a
// BERT-base's 440 MB of weights are not copied once more before
// marshalling; the builders never write to data afterwards.
func rawFloats(data []float32) []byte {
	if len(data) == 0 {
		return nil
	}
	if littleEndian() {
		return unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
	}
	raw := make([]byte, 4*len(data))
	for i, x := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return raw
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// scalar adds a rank-0 float32 initializer.
func (b *graph) scalar(name string, v float32) string { return b.floats(name, nil, []float32{v}) }

// ints adds an int64 initializer; nil dims makes a scalar.
func (b *graph) ints(name string, dims []int64, data ...int64) string {
	name = b.unique(name)
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: name, DataType: elemInt64, Dims: dims, Int64Data: data})
	return name
}

// vec adds a rank-1 int64 initializer, the usual form of shapes and axes.
func (b *graph) vec(name string, data ...int64) string {
	return b.ints(name, []int64{int64(len(data))}, data...)
}

// op adds a node and returns its output tensor name.
func (b *graph) op(name, opType string, in []string, attrs ...*onnxpb.AttributeProto) string {
	out := b.unique(name)
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: opType, Name: out, Input: in, Output: []string{out}, Attribute: attrs})
	return out
}

func (b *graph) input(name string, elem int32, dims ...any) {
	b.seen[name] = true
	b.g.Input = append(b.g.Input, valueInfo(name, elem, dims...))
}

// output exposes tensor as a graph output called name, through an Identity
// node so internal names stay free to change.
func (b *graph) output(name, tensor string, dims ...any) {
	if b.seen[name] {
		panic(fmt.Sprintf("onnxgen: output name %q already used", name)) // a builder bug, not input
	}
	b.seen[name] = true
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: "Identity", Name: name + "_Identity", Input: []string{tensor}, Output: []string{name}})
	b.g.Output = append(b.g.Output, valueInfo(name, elemFloat, dims...))
}

// model wraps the graph in a deterministic ModelProto; meta become
// metadata_props in the given order.
func (b *graph) model(doc string, meta ...string) ([]byte, error) {
	m := &onnxpb.ModelProto{
		IrVersion:    IRVersion,
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: "", Version: Opset}},
		ProducerName: "vitrine-onnxgen",
		DocString:    doc,
		Graph:        b.g,
	}
	for i := 0; i+1 < len(meta); i += 2 {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: meta[i], Value: meta[i+1]})
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnxgen: marshal %s: %w", b.g.Name, err)
	}
	return out, nil
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INT, I: v}
}

func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INTS, Ints: v}
}

func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_FLOAT, F: v}
}

// valueInfo describes a tensor; dims are sizes (int) or symbolic names.
func valueInfo(name string, elem int32, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch x := d.(type) {
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: x}
		case int:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(x)}
		default:
			panic(fmt.Sprintf("onnxgen: dimension %v of %s is %T", d, name, d)) // a builder bug
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: elem, Shape: shape}},
	}}
}

// linear is x·W (+ B) over the last axis of x.
func (b *graph) linear(prefix, x string, l Linear) string {
	w := b.floats(prefix+".weight", []int64{int64(l.In), int64(l.Out)}, l.W)
	y := b.op(prefix+".matmul", "MatMul", []string{x, w})
	if l.B == nil {
		return y
	}
	bias := b.floats(prefix+".bias", []int64{int64(l.Out)}, l.B)
	return b.op(prefix+".add", "Add", []string{y, bias})
}

// layerNorm normalises the last axis with the opset-17 operator.
func (b *graph) layerNorm(prefix, x string, ln LayerNorm) string {
	d := int64(len(ln.Scale))
	s := b.floats(prefix+".weight", []int64{d}, ln.Scale)
	bias := b.floats(prefix+".bias", []int64{d}, ln.Bias)
	return b.op(prefix, "LayerNormalization", []string{x, s, bias}, attrInt("axis", -1), attrFloat("epsilon", ln.Eps))
}

// activation applies the feed-forward non-linearity.
func (b *graph) activation(prefix, x string, act Activation) string {
	switch act {
	case QuickGELU:
		// CLIP's x·sigmoid(1.702x).
		k := b.scalar(prefix+".k", 1.702)
		s := b.op(prefix+".sigmoid", "Sigmoid", []string{b.op(prefix+".scaled", "Mul", []string{x, k})})
		return b.op(prefix+".quick_gelu", "Mul", []string{x, s})
	default:
		// Exact GELU, 0.5·x·(1+erf(x/√2)), as BERT and ViT use; the tanh
		// approximation differs by up to ~1e-3 and would hide real errors.
		e := b.op(prefix+".erf", "Erf", []string{b.op(prefix+".div", "Div", []string{x, b.scalar(prefix+".sqrt2", math.Sqrt2)})})
		one := b.op(prefix+".one_plus", "Add", []string{e, b.scalar(prefix+".one", 1)})
		half := b.op(prefix+".half_x", "Mul", []string{x, b.scalar(prefix+".half", 0.5)})
		return b.op(prefix+".gelu", "Mul", []string{half, one})
	}
}

// attention is multi-head self-attention of x [B,S,H]; bias broadcasts to
// the scores [B,heads,S,S] (empty for none).
func (b *graph) attention(prefix, x, bias string, l Layer, heads int) string {
	hidden := l.Query.Out
	hd := int64(hidden / heads)
	split := b.vec(prefix+".split_shape", 0, 0, int64(heads), hd)
	proj := func(name string, lin Linear, perm ...int64) string {
		y := b.linear(prefix+"."+name, x, lin)
		y = b.op(prefix+"."+name+".heads", "Reshape", []string{y, split})
		return b.op(prefix+"."+name+".transpose", "Transpose", []string{y}, attrInts("perm", perm...))
	}
	q := proj("query", l.Query, 0, 2, 1, 3) // [B,h,S,d]
	k := proj("key", l.Key, 0, 2, 3, 1)     // [B,h,d,S]
	v := proj("value", l.Value, 0, 2, 1, 3) // [B,h,S,d]
	scores := b.op(prefix+".scores", "MatMul", []string{q, k})
	scores = b.op(prefix+".scaled", "Mul", []string{scores, b.scalar(prefix+".scale", float32(1/math.Sqrt(float64(hd))))})
	if bias != "" {
		scores = b.op(prefix+".masked", "Add", []string{scores, bias})
	}
	probs := b.op(prefix+".probs", "Softmax", []string{scores}, attrInt("axis", -1))
	ctx := b.op(prefix+".context", "MatMul", []string{probs, v})
	ctx = b.op(prefix+".context.transpose", "Transpose", []string{ctx}, attrInts("perm", 0, 2, 1, 3))
	ctx = b.op(prefix+".context.merge", "Reshape", []string{ctx, b.vec(prefix+".merge_shape", 0, 0, int64(hidden))})
	return b.linear(prefix+".output", ctx, l.AttnOut)
}

// encoder runs every layer of e over x [B,S,H].
func (b *graph) encoder(prefix, x, bias string, e Encoder) string {
	for i, l := range e.Layers {
		p := fmt.Sprintf("%s.layers.%d", prefix, i)
		ff := func(h string) string {
			h = b.linear(p+".ff_in", h, l.FFIn)
			h = b.activation(p+".act", h, e.Activation)
			return b.linear(p+".ff_out", h, l.FFOut)
		}
		if e.PreNorm {
			// ViT and CLIP: x + attn(LN(x)), then x + ff(LN(x)).
			a := b.attention(p+".attn", b.layerNorm(p+".attn_norm", x, l.AttnNorm), bias, l, e.Heads)
			x = b.op(p+".attn_residual", "Add", []string{x, a})
			f := ff(b.layerNorm(p+".ff_norm", x, l.FFNorm))
			x = b.op(p+".ff_residual", "Add", []string{x, f})
			continue
		}
		// BERT: LN(x + attn(x)), then LN(x + ff(x)).
		a := b.attention(p+".attn", x, bias, l, e.Heads)
		x = b.layerNorm(p+".attn_norm", b.op(p+".attn_residual", "Add", []string{x, a}), l.AttnNorm)
		f := ff(x)
		x = b.layerNorm(p+".ff_norm", b.op(p+".ff_residual", "Add", []string{x, f}), l.FFNorm)
	}
	return x
}

// seqLen is the [1] int64 length of axis 1 of x.
func (b *graph) seqLen(x string) string {
	return b.op("seq_len", "Shape", []string{x}, attrInt("start", 1), attrInt("end", 2))
}

// positions returns the first seq rows of a [maxPos,H] position table, so
// the graph accepts any sequence length up to maxPos.
func (b *graph) positions(table string, seq string) string {
	return b.op("position_embeddings", "Slice", []string{table, b.vec("pos_starts", 0), seq, b.vec("pos_axes", 0)})
}

// paddingBias turns attention_mask [B,S] (1 keep, 0 pad) into an additive
// score bias [B,1,1,S] on the padded keys.
func (b *graph) paddingBias(mask string) string {
	m := b.op("mask_float", "Cast", []string{mask}, attrInt("to", int64(elemFloat)))
	inv := b.op("mask_inverted", "Sub", []string{b.scalar("mask_one", 1), m})
	neg := b.op("mask_bias_2d", "Mul", []string{inv, b.scalar("mask_neg", maskBias)})
	return b.op("mask_bias", "Unsqueeze", []string{neg, b.vec("mask_axes", 1, 2)})
}

// first takes position 0 of axis 1: [B,S,H] -> [B,H].
func (b *graph) first(name, x string) string {
	return b.op(name, "Gather", []string{x, b.ints(name+".index", nil, 0)}, attrInt("axis", 1))
}
