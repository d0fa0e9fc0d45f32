// Package onnxpb holds the Go types of ONNX's protobuf schema (onnx.proto,
// IR version 8, from the ONNX project, Apache-2.0: see onnx.proto and
// LICENSE), so Vitrine can read, edit and write .onnx model files with
// google.golang.org/protobuf. Messages of newer IR versions still round-trip:
// fields this schema does not know are kept as unknown fields.
//
// onnx.pb.go is generated and committed, so building never needs protoc.
// To regenerate (protoc 3.21+ and protoc-gen-go v1.36.12 on PATH):
//
//	go generate ./internal/onnxpb
package onnxpb

//go:generate protoc -I../.. --go_out=../.. --go_opt=paths=source_relative internal/onnxpb/onnx.proto
