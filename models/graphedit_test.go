package models

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/vitrinehq/vitrine/internal/onnxpb"
)

func parseModel(t *testing.T, b []byte) *onnxpb.ModelProto {
	t.Helper()
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatalf("parse ONNX: %v", err)
	}
	return &m
}

func dims(vi *onnxpb.ValueInfoProto) []string {
	var out []string
	for _, d := range vi.GetType().GetTensorType().GetShape().GetDim() {
		if p := d.GetDimParam(); p != "" {
			out = append(out, p)
		} else {
			out = append(out, strconv.FormatInt(d.GetDimValue(), 10))
		}
	}
	return out
}

func TestAddGraphOutputsMobileNet(t *testing.T) {
	src, err := os.ReadFile(mobilenetAsset)
	if err != nil {
		t.Fatal(err)
	}
	out := GraphOutput{Name: "627", ElemType: "float", Shape: []any{"batch_size", 1280, 7, 7}}
	got, err := AddGraphOutputs(src, out)
	if err != nil {
		t.Fatal(err)
	}
	before, after := parseModel(t, src), parseModel(t, got)
	var names []string
	for _, o := range after.Graph.Output {
		names = append(names, o.GetName())
	}
	if !slices.Equal(names, []string{"output", "627"}) {
		t.Fatalf("graph outputs %v, want [output 627]", names)
	}
	o := after.Graph.Output[1]
	if et := o.GetType().GetTensorType().GetElemType(); et != int32(onnxpb.TensorProto_FLOAT) {
		t.Errorf("627 elem type %d, want FLOAT", et)
	}
	if d := dims(o); !slices.Equal(d, []string{"batch_size", "1280", "7", "7"}) {
		t.Errorf("627 shape %v", d)
	}
	if len(after.Graph.Node) != len(before.Graph.Node) || len(after.Graph.Initializer) != len(before.Graph.Initializer) || after.Graph.Input[0].GetName() != "input" {
		t.Error("the rest of the graph changed")
	}
	// Deterministic, and applying it again changes nothing.
	again, err := AddGraphOutputs(src, out)
	if err != nil || !bytes.Equal(again, got) {
		t.Error("two runs gave different bytes")
	}
	twice, err := AddGraphOutputs(got, out)
	if err != nil || !bytes.Equal(twice, got) {
		t.Error("adding an existing output changed the model")
	}
	if sha256Hex(got) != mobilenet(t).Files[0].SHA256 {
		t.Errorf("result sha256 %s differs from the one pinned in mobilenetv2-int8.yaml", sha256Hex(got))
	}
}

func TestAddGraphOutputsErrors(t *testing.T) {
	src, err := os.ReadFile(mobilenetAsset)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		model   []byte
		out     GraphOutput
		wantErr error
		wantMsg string
	}{
		{"unknown tensor", src, GraphOutput{Name: "no_such_tensor"}, ErrNoTensor, "no_such_tensor"},
		{"input is not produced by a node", src, GraphOutput{Name: "input"}, ErrNoTensor, "input"},
		{"bad elem type", src, GraphOutput{Name: "627", ElemType: "float128"}, nil, "float128"},
		{"bad shape entry", src, GraphOutput{Name: "627", Shape: []any{1.5}}, nil, "shape entry"},
		{"not ONNX", []byte("this is not a protobuf \xff\xff\xff"), GraphOutput{Name: "627"}, nil, "parse ONNX model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AddGraphOutputs(tt.model, tt.out)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %v lacks %q", err, tt.wantMsg)
			}
		})
	}
}

func TestParseGraphOutputs(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]any
		want    []GraphOutput
		wantErr string
	}{
		{"names", map[string]any{"outputs": []any{"627", "a"}}, []GraphOutput{{Name: "627"}, {Name: "a"}}, ""},
		{"unquoted number", map[string]any{"outputs": []any{627}, "elem_type": "float16"}, []GraphOutput{{Name: "627", ElemType: "float16"}}, ""},
		{"mapping", map[string]any{"outputs": []any{map[string]any{"name": "627", "elem_type": "float", "shape": []any{"n", 1280}}}},
			[]GraphOutput{{Name: "627", ElemType: "float", Shape: []any{"n", 1280}}}, ""},
		{"no outputs", map[string]any{}, nil, "outputs"},
		{"unknown param", map[string]any{"outputs": []any{"a"}, "output": "b"}, nil, `"output"`},
		{"unknown key", map[string]any{"outputs": []any{map[string]any{"name": "a", "dtype": "float"}}}, nil, `"dtype"`},
		{"empty name", map[string]any{"outputs": []any{map[string]any{"elem_type": "float"}}}, nil, "empty name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGraphOutputs(tt.params)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error with %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v", got)
			}
			for i := range got {
				if got[i].Name != tt.want[i].Name || got[i].ElemType != tt.want[i].ElemType || len(got[i].Shape) != len(tt.want[i].Shape) {
					t.Errorf("[%d] = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
