package onnxpb

import (
	"os"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestReadsRealModel checks the renamed protobuf package still reads ONNX
// files (the package name is not on the wire) and writes them back.
func TestReadsRealModel(t *testing.T) {
	b, err := os.ReadFile("../../models/assets/mobilenetv2-12-int8.onnx")
	if err != nil {
		t.Fatal(err)
	}
	var m ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	g := m.GetGraph()
	if m.GetIrVersion() != 7 || len(g.GetNode()) != 73 || g.GetInput()[0].GetName() != "input" || g.GetOutput()[0].GetName() != "output" {
		t.Fatalf("ir %d, %d nodes, input %q, output %q", m.GetIrVersion(), len(g.GetNode()), g.GetInput()[0].GetName(), g.GetOutput()[0].GetName())
	}
	if dt := g.GetInput()[0].GetType().GetTensorType().GetElemType(); dt != int32(TensorProto_FLOAT) {
		t.Errorf("input elem type %d", dt)
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	var back ModelProto
	if err := proto.Unmarshal(out, &back); err != nil || !proto.Equal(&m, &back) {
		t.Fatalf("round trip differs: %v", err)
	}
}
