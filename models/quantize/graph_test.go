package quantize_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/internal/onnxpb"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models/quantize"
)

// These tests build one-layer graphs by hand, quantise them and run both
// versions through ONNX Runtime, holding the int8 output to a bound that
// follows from the quantisation steps alone: a transposed weight, a scale
// applied to the wrong column or a dropped bias is off by far more.

const (
	tK, tN = 96, 40 // weight [K,N]
	tRows  = 7      // activation rows
)

// gb builds a small graph with one float input x [rows, K] and output y.
type gb struct {
	g *onnxpb.GraphProto
	r *rand.Rand
}

func newGB(seed uint64) *gb {
	g := &onnxpb.GraphProto{Name: "t"}
	g.Input = append(g.Input, floatInfo("x", "rows", tK))
	return &gb{g: g, r: rand.New(rand.NewPCG(seed, 1))}
}

func floatInfo(name string, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		switch x := d.(type) {
		case string:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: x}
		case int:
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(x)}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{Name: name, Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: int32(onnxpb.TensorProto_FLOAT), Shape: shape}}}}
}

// weight adds a [rows,cols] initializer whose columns differ in range by up
// to 8×, as trained weights do, so per-column scales matter.
func (b *gb) weight(name string, rows, cols int) []float32 {
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32((2*b.r.Float64() - 1) * 0.2 * float64(1+(i%cols)%8))
	}
	b.init(name, []int64{int64(rows), int64(cols)}, w)
	return w
}

func (b *gb) init(name string, dims []int64, vals []float32) {
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{Name: name, DataType: int32(onnxpb.TensorProto_FLOAT), Dims: dims, RawData: raw})
}

// vec adds a bias of magnitude 3 to 5: larger than bound() allows, so a
// bias dropped or applied twice cannot pass for quantisation error.
func (b *gb) vec(name string, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(3 + 2*b.r.Float64())
		if i%2 == 1 {
			v[i] = -v[i]
		}
	}
	b.init(name, []int64{int64(n)}, v)
	return v
}

func (b *gb) node(op, name string, in []string, out string, attrs ...*onnxpb.AttributeProto) {
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{OpType: op, Name: name, Input: in, Output: []string{out}, Attribute: attrs})
}

func (b *gb) model(t *testing.T) []byte {
	t.Helper()
	if len(b.g.Output) == 0 {
		b.g.Output = append(b.g.Output, floatInfo("y", "rows", tN))
	}
	m := &onnxpb.ModelProto{IrVersion: 8, OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: 17}}, Graph: b.g}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func attrF(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_FLOAT, F: v}
}

func attrI(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: name, Type: onnxpb.AttributeProto_INT, I: v}
}

// run feeds x [tRows,tK] to model and returns y.
func run(t *testing.T, model []byte, x []float32) []float32 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, model, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := testenv.Runtime(t).OpenSession(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(t.Context(), []onnx.Tensor{onnx.Float32Tensor([]int64{tRows, tK}, x)})
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Float32s()
}

// bound is the most x·W can move when x is quantised to uint8 over its
// range (ONNX Runtime's DynamicQuantizeLinear: error up to one step at
// the clamped ends) and each column of W to [-qmax,qmax] with the given
// column scales (error up to half a step), summed over K.
func bound(x, w []float32, k, n int, wScale func(col int) float64) []float64 {
	lo, hi := 0.0, 0.0
	for _, v := range x {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	ea := (hi - lo) / 255
	out := make([]float64, tRows*n)
	for r := range tRows {
		for c := range n {
			ew := wScale(c) / 2
			var s float64
			for i := range k {
				s += math.Abs(float64(x[r*k+i]))*ew + ea*math.Abs(float64(w[i*n+c])) + ea*ew
			}
			out[r*n+c] = s + 1e-4 // float32 accumulation
		}
	}
	return out
}

// colScales returns each column's symmetric scale amax/qmax (one shared
// scale when perTensor).
func colScales(w []float32, k, n int, qmax float64, perTensor bool) func(int) float64 {
	amax := make([]float64, n)
	for i := range k {
		for c := range n {
			amax[c] = max(amax[c], math.Abs(float64(w[i*n+c])))
		}
	}
	all := slices.Max(amax)
	return func(c int) float64 {
		if perTensor {
			return all / qmax
		}
		return amax[c] / qmax
	}
}

func randX(seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, tRows*tK)
	for i := range x {
		x[i] = float32(4*r.Float64() - 2)
	}
	return x
}

func TestModelGraphs(t *testing.T) {
	type built struct {
		model []byte
		w     []float32 // effective [K,N] weight, alpha applied
		bias  []float32 // effective bias (beta applied), nil for none
	}
	tests := []struct {
		name string
		opts []quantize.Option
		// build returns the fp32 graph and what it computes as x·w + bias.
		build      func(t *testing.T) built
		qmax       float64
		perTensor  bool
		wantNodes  int // nodes after quantisation
		wantFolded int
		wantInits  []string // initializer names after
	}{
		{
			name: "MatMul then Add folds the bias",
			build: func(t *testing.T) built {
				b := newGB(1)
				w := b.weight("W", tK, tN)
				bias := b.vec("B", tN)
				b.node("MatMul", "mm", []string{"x", "W"}, "xw")
				b.node("Add", "add", []string{"xw", "B"}, "y")
				return built{b.model(t), w, bias}
			},
			qmax: 127, wantNodes: 1, wantFolded: 1, wantInits: []string{"B", "W_quantized", "W_scale"},
		},
		{
			name: "bias first in the Add",
			build: func(t *testing.T) built {
				b := newGB(2)
				w := b.weight("W", tK, tN)
				bias := b.vec("B", tN)
				b.node("MatMul", "mm", []string{"x", "W"}, "xw")
				b.node("Add", "add", []string{"B", "xw"}, "y")
				return built{b.model(t), w, bias}
			},
			qmax: 127, wantNodes: 1, wantFolded: 1, wantInits: []string{"B", "W_quantized", "W_scale"},
		},
		{
			name: "MatMul alone",
			build: func(t *testing.T) built {
				b := newGB(3)
				w := b.weight("W", tK, tN)
				b.node("MatMul", "mm", []string{"x", "W"}, "y")
				return built{b.model(t), w, nil}
			},
			qmax: 127, wantNodes: 1, wantInits: []string{"W_quantized", "W_scale"},
		},
		{
			name: "product read twice keeps its Add",
			build: func(t *testing.T) built {
				b := newGB(4)
				w := b.weight("W", tK, tN)
				zero := make([]float32, tN)
				b.init("Z", []int64{tN}, zero)
				b.node("MatMul", "mm", []string{"x", "W"}, "xw")
				b.node("Add", "add", []string{"xw", "Z"}, "xwz")
				b.node("Mul", "double", []string{"xw", "xwz"}, "sq") // a second reader
				b.node("Sub", "back", []string{"xwz", "sq"}, "d")
				b.node("Add", "restore", []string{"d", "sq"}, "y") // = xw + Z
				return built{b.model(t), w, zero}
			},
			qmax: 127, wantNodes: 5, wantInits: []string{"Z", "W_quantized", "W_scale"},
		},
		{
			name: "Gemm with transB, alpha and beta",
			build: func(t *testing.T) built {
				b := newGB(5)
				wt := b.weight("Wt", tN, tK) // [N,K]
				c := b.vec("C", tN)
				b.node("Gemm", "gemm", []string{"x", "Wt", "C"}, "y", attrF("alpha", 0.5), attrF("beta", 2), attrI("transB", 1))
				w := make([]float32, tK*tN)
				for n := range tN {
					for k := range tK {
						w[k*tN+n] = 0.5 * wt[n*tK+k]
					}
				}
				bias := make([]float32, tN)
				for i := range bias {
					bias[i] = 2 * c[i]
				}
				return built{b.model(t), w, bias}
			},
			qmax: 127, wantNodes: 1, wantInits: []string{"C_bias", "Wt_quantized", "Wt_scale"},
		},
		{
			name: "Gemm with a scalar C",
			build: func(t *testing.T) built {
				b := newGB(6)
				w := b.weight("W", tK, tN)
				b.init("C", nil, []float32{0.75})
				b.node("Gemm", "gemm", []string{"x", "W", "C"}, "y")
				return built{b.model(t), w, slices.Repeat([]float32{0.75}, tN)}
			},
			qmax: 127, wantNodes: 1, wantInits: []string{"C_bias", "W_quantized", "W_scale"},
		},
		{
			name: "one weight read by two MatMuls is stored once",
			build: func(t *testing.T) built {
				b := newGB(7)
				w := b.weight("W", tK, tN)
				b.node("MatMul", "mm1", []string{"x", "W"}, "a")
				b.node("MatMul", "mm2", []string{"x", "W"}, "b")
				b.node("Add", "sum", []string{"a", "b"}, "s")
				b.init("half", nil, []float32{0.5})
				b.node("Mul", "mean", []string{"s", "half"}, "y")
				return built{b.model(t), w, nil}
			},
			qmax: 127, wantNodes: 4, wantInits: []string{"half", "W_quantized", "W_scale"},
		},
		{
			name: "per tensor",
			opts: []quantize.Option{quantize.WithPerTensor()},
			build: func(t *testing.T) built {
				b := newGB(8)
				w := b.weight("W", tK, tN)
				b.node("MatMul", "mm", []string{"x", "W"}, "y")
				return built{b.model(t), w, nil}
			},
			qmax: 127, perTensor: true, wantNodes: 1, wantInits: []string{"W_quantized", "W_scale"},
		},
		{
			name: "reduce range",
			opts: []quantize.Option{quantize.WithReduceRange()},
			build: func(t *testing.T) built {
				b := newGB(9)
				w := b.weight("W", tK, tN)
				b.node("MatMul", "mm", []string{"x", "W"}, "y")
				return built{b.model(t), w, nil}
			},
			qmax: 64, wantNodes: 1, wantInits: []string{"W_quantized", "W_scale"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bt := tc.build(t)
			q, rep, err := quantize.Model(t.Context(), bt.model, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			var m onnxpb.ModelProto
			if err := proto.Unmarshal(q, &m); err != nil {
				t.Fatal(err)
			}
			var inits []string
			for _, in := range m.Graph.Initializer {
				inits = append(inits, in.GetName())
			}
			if !slices.Equal(inits, tc.wantInits) {
				t.Errorf("initializers %v, want %v", inits, tc.wantInits)
			}
			if len(m.Graph.Node) != tc.wantNodes || rep.FoldedBias != tc.wantFolded {
				t.Errorf("%d nodes, %d biases folded; want %d, %d", len(m.Graph.Node), rep.FoldedBias, tc.wantNodes, tc.wantFolded)
			}
			if len(rep.Weights) != 1 {
				t.Fatalf("%d weights quantised, want 1", len(rep.Weights))
			}
			if w := rep.Weights[0]; w.Rows != tK || w.Cols != tN || (w.Scales == 1) != tc.perTensor {
				t.Errorf("weight %+v, want [%d,%d], per tensor %t", w, tK, tN, tc.perTensor)
			}

			x := randX(10)
			got := run(t, q, x)
			fp32 := run(t, bt.model, x)
			lim := bound(x, bt.w, tK, tN, colScales(bt.w, tK, tN, tc.qmax, tc.perTensor))
			var worst, moved float64
			for i := range got {
				// The float64 product of the effective weights checks the
				// fp32 graph means what the case says it means.
				r, c := i/tN, i%tN
				want := 0.0
				for k := range tK {
					want += float64(x[r*tK+k]) * float64(bt.w[k*tN+c])
				}
				if bt.bias != nil {
					want += float64(bt.bias[c])
				}
				if d := math.Abs(float64(fp32[i]) - want); d > 1e-4 {
					t.Fatalf("fp32 graph: y[%d] = %v, want %v", i, fp32[i], want)
				}
				d := math.Abs(float64(got[i]) - want)
				worst = max(worst, d/lim[i])
				moved = max(moved, math.Abs(float64(got[i]-fp32[i])))
				if d > lim[i] {
					t.Errorf("y[%d,%d]: int8 %v, fp32 %v: off by %.4g > bound %.4g", r, c, got[i], want, d, lim[i])
				}
			}
			// The int8 kernel really ran: exact agreement would mean the
			// quantised path was bypassed.
			if moved == 0 {
				t.Error("int8 output equals the fp32 output exactly")
			}
			t.Logf("largest error %.0f%% of its bound; max |int8 - fp32| = %.3g", 100*worst, moved)
		})
	}
}

func TestModelSkips(t *testing.T) {
	tests := []struct {
		name   string
		opts   []quantize.Option
		build  func(b *gb)
		reason string
	}{
		{"activation × activation", nil, func(b *gb) {
			b.node("Transpose", "t", []string{"x"}, "xt", &onnxpb.AttributeProto{Name: "perm", Type: onnxpb.AttributeProto_INTS, Ints: []int64{1, 0}})
			b.node("MatMul", "mm", []string{"x", "xt"}, "y")
		}, "activation × activation"},
		{"rank-3 weight", nil, func(b *gb) {
			b.init("W", []int64{1, tK, tN}, make([]float32, tK*tN))
			b.node("MatMul", "mm", []string{"x", "W"}, "y")
		}, "rank 3"},
		{"weight that is also a graph input", nil, func(b *gb) {
			b.weight("W", tK, tN)
			b.g.Input = append(b.g.Input, floatInfo("W", tK, tN))
			b.node("MatMul", "mm", []string{"x", "W"}, "y")
		}, "graph input"},
		{"below the minimum size", []quantize.Option{quantize.WithMinElements(tK*tN + 1)}, func(b *gb) {
			b.weight("W", tK, tN)
			b.node("MatMul", "mm", []string{"x", "W"}, "y")
		}, "fewer than"},
		{"Gemm with transA", nil, func(b *gb) {
			b.weight("W", tK, tN)
			b.node("Gemm", "g", []string{"x", "W"}, "y", attrI("transA", 1))
		}, "transA"},
		{"Gemm with a full C matrix", nil, func(b *gb) {
			b.weight("W", tK, tN)
			b.init("C", []int64{tRows, tN}, make([]float32, tRows*tN))
			b.node("Gemm", "g", []string{"x", "W", "C"}, "y")
		}, "C has shape"},
		{"no MatMul at all", nil, func(b *gb) {
			b.node("Relu", "r", []string{"x"}, "y")
		}, "no MatMul or Gemm node"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newGB(1)
			tc.build(b)
			_, rep, err := quantize.Model(t.Context(), b.model(t), tc.opts...)
			if !errors.Is(err, quantize.ErrNoWeights) {
				t.Fatalf("got %v, want ErrNoWeights", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not say %q", err, tc.reason)
			}
			if rep == nil || len(rep.Weights) != 0 {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

func TestModelRejectsNonModels(t *testing.T) {
	for name, in := range map[string][]byte{
		"garbage":  []byte("this is not a protobuf \xff\xff\xff"),
		"no graph": {},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := quantize.Model(t.Context(), in); !errors.Is(err, quantize.ErrModel) {
				t.Fatalf("got %v, want ErrModel", err)
			}
		})
	}
}

func TestModelHonoursContext(t *testing.T) {
	b := newGB(1)
	b.weight("W", tK, tN)
	b.node("MatMul", "mm", []string{"x", "W"}, "y")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := quantize.Model(ctx, b.model(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
