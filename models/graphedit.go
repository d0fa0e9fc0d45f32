package models

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/vitrinehq/vitrine/internal/onnxpb"
)

// GraphOutput names an internal tensor to expose as a graph output, so ONNX
// Runtime can return it (for example a CNN's last feature map, which gives
// a better embedding than the logits).
type GraphOutput struct {
	Name string
	// ElemType is an ONNX TensorProto data type name (FLOAT, INT64, ...);
	// empty means FLOAT.
	ElemType string
	// Shape is optional documentation for tools: each entry is an int (a
	// fixed size) or a string (a symbolic dimension such as batch_size).
	Shape []any
}

// ErrNoTensor marks a requested output that no node of the graph produces.
var ErrNoTensor = errors.New("tensor not produced by any node")

// AddGraphOutputs appends the named tensors to a serialized model's graph
// outputs and returns the re-serialized model. Outputs already present are
// left alone, so applying it twice changes nothing. Marshalling is
// deterministic, so the result can be pinned by sha256.
func AddGraphOutputs(model []byte, outs ...GraphOutput) ([]byte, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, fmt.Errorf("parse ONNX model: %w", err)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, errors.New("ONNX model has no graph")
	}
	produced := map[string]bool{}
	for _, n := range g.Node {
		for _, o := range n.Output {
			produced[o] = true
		}
	}
	for _, o := range outs {
		if slices.ContainsFunc(g.Output, func(v *onnxpb.ValueInfoProto) bool { return v.GetName() == o.Name }) {
			continue
		}
		if !produced[o.Name] {
			return nil, fmt.Errorf("output %q: %w", o.Name, ErrNoTensor)
		}
		// Reuse the type shape inference already recorded, if any; a tensor
		// listed both as value_info and output is redundant, so move it.
		if i := slices.IndexFunc(g.ValueInfo, func(v *onnxpb.ValueInfoProto) bool { return v.GetName() == o.Name }); i >= 0 {
			g.Output = append(g.Output, g.ValueInfo[i])
			g.ValueInfo = slices.Delete(g.ValueInfo, i, i+1)
			continue
		}
		vi, err := o.valueInfo()
		if err != nil {
			return nil, err
		}
		g.Output = append(g.Output, vi)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
	if err != nil {
		return nil, fmt.Errorf("write ONNX model: %w", err)
	}
	return b, nil
}

func (o GraphOutput) valueInfo() (*onnxpb.ValueInfoProto, error) {
	et := o.ElemType
	if et == "" {
		et = "FLOAT"
	}
	code, ok := onnxpb.TensorProto_DataType_value[strings.ToUpper(et)]
	if !ok || code == 0 {
		return nil, fmt.Errorf("output %q: unknown elem_type %q", o.Name, o.ElemType)
	}
	tt := &onnxpb.TypeProto_Tensor{ElemType: code}
	if o.Shape != nil {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for _, d := range o.Shape {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			if s, ok := d.(string); ok {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: s}
			} else if n, ok := asInt(d); ok && n >= 0 {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(n)}
			} else {
				return nil, fmt.Errorf("output %q: shape entry %v is neither a size nor a name", o.Name, d)
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &onnxpb.ValueInfoProto{
		Name: o.Name,
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}},
	}, nil
}

// parseGraphOutputs reads add_outputs params: outputs is a list whose items
// are a tensor name or {name, elem_type, shape}; elem_type applies to plain
// names.
func parseGraphOutputs(p map[string]any) ([]GraphOutput, error) {
	for k := range p {
		if k != "outputs" && k != "elem_type" {
			return nil, fmt.Errorf("unknown parameter %q (want outputs, elem_type)", k)
		}
	}
	defType, _ := p["elem_type"].(string)
	list, ok := p["outputs"].([]any)
	if !ok || len(list) == 0 {
		return nil, errors.New("outputs: want a non-empty list of tensor names")
	}
	var outs []GraphOutput
	for i, item := range list {
		switch v := item.(type) {
		case string:
			outs = append(outs, GraphOutput{Name: v, ElemType: defType})
		case int:
			// YAML reads an unquoted 627 as a number; tensor names are strings.
			outs = append(outs, GraphOutput{Name: fmt.Sprint(v), ElemType: defType})
		case map[string]any:
			o := GraphOutput{ElemType: defType}
			for k, x := range v {
				switch k {
				case "name":
					o.Name = fmt.Sprint(x)
				case "elem_type":
					o.ElemType, _ = x.(string)
				case "shape":
					o.Shape, _ = x.([]any)
				default:
					return nil, fmt.Errorf("outputs[%d]: unknown key %q", i, k)
				}
			}
			outs = append(outs, o)
		default:
			return nil, fmt.Errorf("outputs[%d]: %v is not a name or a mapping", i, item)
		}
		if outs[len(outs)-1].Name == "" {
			return nil, fmt.Errorf("outputs[%d]: empty name", i)
		}
	}
	return outs, nil
}
