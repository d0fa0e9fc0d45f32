package onnx

import (
	"errors"
	"slices"
	"testing"
)

func TestTensorValidate(t *testing.T) {
	tests := []struct {
		name string
		t    Tensor
		ok   bool
	}{
		{"float32", Float32Tensor([]int64{2, 3}, make([]float32, 6)), true},
		{"int64", Int64Tensor([]int64{1, 4}, make([]int64, 4)), true},
		{"zero dimension, no data", Float32Tensor([]int64{0, 3}, nil), true},
		{"zero value", Tensor{}, false},
		{"scalar", Float32Tensor(nil, []float32{1}), false},
		{"short", Float32Tensor([]int64{2, 3}, make([]float32, 5)), false},
		{"long", Int64Tensor([]int64{2}, make([]int64, 3)), false},
		{"negative", Float32Tensor([]int64{-2, -3}, make([]float32, 6)), false},
		{"overflow", Float32Tensor([]int64{1 << 40, 1 << 40}, nil), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.t.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestTensorShapeIsCopied(t *testing.T) {
	shape := []int64{1, 2}
	x := Float32Tensor(shape, []float32{1, 2})
	shape[1] = 7
	x.Shape()[0] = 9
	if got := x.Shape(); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("Shape() = %v after outside mutation, want [1 2]", got)
	}
}

func TestConcat(t *testing.T) {
	tests := []struct {
		name      string
		parts     []Tensor
		wantShape []int64
		wantF32   []float32
		wantI64   []int64
	}{
		{
			name:      "equal shapes",
			parts:     []Tensor{Float32Tensor([]int64{1, 2}, []float32{1, 2}), Float32Tensor([]int64{2, 2}, []float32{3, 4, 5, 6})},
			wantShape: []int64{3, 2},
			wantF32:   []float32{1, 2, 3, 4, 5, 6},
		},
		{
			name: "token ids padded to the longest",
			parts: []Tensor{
				Int64Tensor([]int64{1, 3}, []int64{101, 7, 102}),
				Int64Tensor([]int64{1, 5}, []int64{101, 8, 9, 10, 102}),
				Int64Tensor([]int64{1, 1}, []int64{101}),
			},
			wantShape: []int64{3, 5},
			wantI64:   []int64{101, 7, 102, 0, 0, 101, 8, 9, 10, 102, 101, 0, 0, 0, 0},
		},
		{
			name: "padding on two axes",
			parts: []Tensor{
				Float32Tensor([]int64{1, 1, 2}, []float32{1, 2}),
				Float32Tensor([]int64{1, 2, 1}, []float32{3, 4}),
			},
			wantShape: []int64{2, 2, 2},
			wantF32:   []float32{1, 2, 0, 0, 3, 0, 4, 0},
		},
		{
			name:      "rank 1",
			parts:     []Tensor{Int64Tensor([]int64{2}, []int64{1, 2}), Int64Tensor([]int64{1}, []int64{3})},
			wantShape: []int64{3},
			wantI64:   []int64{1, 2, 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Concat(tc.parts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Shape(), tc.wantShape) {
				t.Errorf("shape %v, want %v", got.Shape(), tc.wantShape)
			}
			if !slices.Equal(got.Float32s(), tc.wantF32) || !slices.Equal(got.Int64s(), tc.wantI64) {
				t.Errorf("data %v%v, want %v%v", got.Float32s(), got.Int64s(), tc.wantF32, tc.wantI64)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("result invalid: %v", err)
			}
		})
	}
}

func TestConcatErrors(t *testing.T) {
	tests := []struct {
		name  string
		parts []Tensor
	}{
		{"nothing", nil},
		{"mixed types", []Tensor{Float32Tensor([]int64{1}, []float32{1}), Int64Tensor([]int64{1}, []int64{1})}},
		{"mixed ranks", []Tensor{Float32Tensor([]int64{1, 1}, []float32{1}), Float32Tensor([]int64{1}, []float32{1})}},
		{"invalid part", []Tensor{Float32Tensor([]int64{1, 2}, []float32{1})}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := Concat(tc.parts); err == nil {
				t.Fatalf("Concat = %v, want an error", got)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	x := Float32Tensor([]int64{3, 2}, []float32{1, 2, 3, 4, 5, 6})
	parts, err := Split(x, []int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(parts[0].Shape(), []int64{1, 2}) || !slices.Equal(parts[0].Float32s(), []float32{1, 2}) {
		t.Errorf("part 0 = %v %v", parts[0].Shape(), parts[0].Float32s())
	}
	if !slices.Equal(parts[1].Shape(), []int64{2, 2}) || !slices.Equal(parts[1].Float32s(), []float32{3, 4, 5, 6}) {
		t.Errorf("part 1 = %v %v", parts[1].Shape(), parts[1].Float32s())
	}
	// Appending to a piece must not overwrite its neighbour.
	_ = append(parts[0].Float32s(), 99)
	if parts[1].Float32s()[0] != 3 {
		t.Error("appending to part 0 overwrote part 1")
	}
	// Concat undoes Split.
	back, err := Concat(parts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Float32s(), x.Float32s()) {
		t.Errorf("Concat(Split(x)) = %v, want %v", back.Float32s(), x.Float32s())
	}

	for _, sizes := range [][]int64{{1, 1}, {4}, {-1, 4}} {
		if _, err := Split(x, sizes); err == nil {
			t.Errorf("Split(%v) of axis 3 succeeded", sizes)
		}
	}
	if _, err := Split(Tensor{}, []int64{1}); !errors.Is(err, ErrUnsupportedType) {
		t.Errorf("Split of the zero Tensor = %v, want ErrUnsupportedType", err)
	}
}

// A recycled buffer still holds the previous batch; padding must not leak it.
func TestConcatReusedBufferIsPaddedWithZeros(t *testing.T) {
	dirty := []int64{9, 9, 9, 9, 9, 9, 9, 9}
	parts := []Tensor{Int64Tensor([]int64{1, 3}, []int64{1, 2, 3}), Int64Tensor([]int64{1, 1}, []int64{4})}
	got, err := concat(parts, nil, dirty)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{1, 2, 3, 4, 0, 0}; !slices.Equal(got.Int64s(), want) {
		t.Fatalf("data %v, want %v", got.Int64s(), want)
	}
	if &got.Int64s()[0] != &dirty[0] {
		t.Error("a large enough buffer was not reused")
	}
}
