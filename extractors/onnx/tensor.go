package onnx

import (
	"fmt"
	"slices"

	ort "github.com/yalue/onnxruntime_go"
)

// ElementType names a tensor's element type the way ONNX spells it.
type ElementType string

// Element types. Only float32 and int64 tensors cross the Go boundary: they
// cover image and audio features (float32) and token ids and masks (int64).
// The others appear only in TensorInfo, to say what a model wants.
const (
	ElementFloat32 ElementType = "float32"
	ElementInt64   ElementType = "int64"
)

// elementTypeOf names ORT's element types; unknown ones keep ORT's name so an
// error message still says what the model wants.
func elementTypeOf(t ort.TensorElementDataType) ElementType {
	switch t {
	case ort.TensorElementDataTypeFloat:
		return ElementFloat32
	case ort.TensorElementDataTypeInt64:
		return ElementInt64
	case ort.TensorElementDataTypeInt32:
		return "int32"
	case ort.TensorElementDataTypeUint8:
		return "uint8"
	case ort.TensorElementDataTypeInt8:
		return "int8"
	case ort.TensorElementDataTypeBool:
		return "bool"
	case ort.TensorElementDataTypeFloat16:
		return "float16"
	case ort.TensorElementDataTypeDouble:
		return "float64"
	case ort.TensorElementDataTypeString:
		return "string"
	}
	return ElementType(t.String())
}

func (t ElementType) supported() bool {
	return t == ElementFloat32 || t == ElementInt64
}

// TensorInfo describes one model input or output as the model declares it.
type TensorInfo struct {
	Name string
	Type ElementType
	// Shape has -1 for a dynamic dimension (batch size, sequence length).
	Shape []int64
}

func (i TensorInfo) String() string {
	return fmt.Sprintf("%s %s %v", i.Name, i.Type, i.Shape)
}

// Tensor is a dense row-major tensor held in Go memory: a shape and either
// float32 or int64 data. Build one with Float32Tensor or Int64Tensor. A
// Tensor shares its data slice; copy it first if you mean to mutate it while
// another goroutine still reads it.
type Tensor struct {
	shape []int64
	typ   ElementType
	f32   []float32
	i64   []int64
}

// Float32Tensor wraps data (row-major) with shape. It does not copy data.
func Float32Tensor(shape []int64, data []float32) Tensor {
	return Tensor{shape: slices.Clone(shape), typ: ElementFloat32, f32: data}
}

// Int64Tensor wraps data (row-major) with shape. It does not copy data.
func Int64Tensor(shape []int64, data []int64) Tensor {
	return Tensor{shape: slices.Clone(shape), typ: ElementInt64, i64: data}
}

// Shape returns a copy of the tensor's shape.
func (t Tensor) Shape() []int64 { return slices.Clone(t.shape) }

// Type returns the element type; "" for the zero Tensor.
func (t Tensor) Type() ElementType { return t.typ }

// Float32s returns the data of a float32 tensor (shared, not copied), else nil.
func (t Tensor) Float32s() []float32 { return t.f32 }

// Int64s returns the data of an int64 tensor (shared, not copied), else nil.
func (t Tensor) Int64s() []int64 { return t.i64 }

// Len is the number of values the tensor holds.
func (t Tensor) Len() int {
	if t.typ == ElementInt64 {
		return len(t.i64)
	}
	return len(t.f32)
}

// Validate checks that the shape is well formed and matches the data length.
func (t Tensor) Validate() error {
	if !t.typ.supported() {
		return fmt.Errorf("onnx: tensor: %w %q (build tensors with Float32Tensor or Int64Tensor)", ErrUnsupportedType, t.typ)
	}
	n, err := numElements(t.shape)
	if err != nil {
		return err
	}
	if n != int64(t.Len()) {
		return fmt.Errorf("onnx: tensor: shape %v needs %d values, have %d", t.shape, n, t.Len())
	}
	return nil
}

// numElements multiplies dims, refusing negative dims and int64 overflow so a
// hostile shape can never turn into a huge allocation or an out-of-range slice.
func numElements(shape []int64) (int64, error) {
	if len(shape) == 0 {
		// ORT's Go binding cannot build rank-0 tensors, and no encoder we run
		// takes scalars, so refuse them here rather than deep in cgo.
		return 0, fmt.Errorf("onnx: tensor: rank-0 (scalar) tensors are not supported")
	}
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("onnx: tensor: dimension %d is negative (%d)", i, d)
		}
		if d != 0 && n > (1<<62)/d {
			return 0, fmt.Errorf("onnx: tensor: shape %v overflows", shape)
		}
		n *= d
	}
	return n, nil
}

// ortValue wraps the tensor's Go memory in an ORT value without copying. The
// caller must Destroy it, and keep t alive until then.
func (t Tensor) ortValue() (ort.Value, error) {
	switch t.typ {
	case ElementFloat32:
		return ort.NewTensor(ort.NewShape(t.shape...), t.f32)
	case ElementInt64:
		return ort.NewTensor(ort.NewShape(t.shape...), t.i64)
	}
	return nil, fmt.Errorf("onnx: tensor: %w %q", ErrUnsupportedType, t.typ)
}

// Concat joins tensors along axis 0 (the batch axis). Every other axis is
// zero-padded at its end to the largest size among the parts, which is what
// variable-length inputs need: token ids (0 is the pad id of BERT-style
// vocabularies), attention masks (0 = ignore) and audio samples (0 = silence).
// Parts must share element type and rank. Equal shapes are copied without
// padding work.
func Concat(parts []Tensor) (Tensor, error) {
	return concat(parts, nil, nil)
}

// concat is Concat writing into f32 or i64 when they are big enough, so a
// batch loop can reuse one buffer instead of allocating (and page-faulting)
// megabytes per batch.
func concat(parts []Tensor, f32 []float32, i64 []int64) (Tensor, error) {
	if len(parts) == 0 {
		return Tensor{}, fmt.Errorf("onnx: concat: no tensors")
	}
	typ, rank := parts[0].typ, len(parts[0].shape)
	out := make([]int64, rank)
	padded := false
	for i, p := range parts {
		if err := p.Validate(); err != nil {
			return Tensor{}, fmt.Errorf("onnx: concat: part %d: %w", i, err)
		}
		if p.typ != typ || len(p.shape) != rank {
			return Tensor{}, fmt.Errorf("onnx: concat: part %d is %s %v, part 0 is %s %v", i, p.typ, p.shape, typ, parts[0].shape)
		}
		out[0] += p.shape[0]
		for d := 1; d < rank; d++ {
			padded = padded || p.shape[d] != parts[0].shape[d]
			out[d] = max(out[d], p.shape[d])
		}
	}
	n, err := numElements(out)
	if err != nil {
		return Tensor{}, fmt.Errorf("onnx: concat: %w", err)
	}
	switch typ {
	case ElementFloat32:
		data := reuse(f32, n, padded)
		concatInto(data, out, parts, func(t Tensor) []float32 { return t.f32 })
		return Tensor{shape: out, typ: typ, f32: data}, nil
	default:
		data := reuse(i64, n, padded)
		concatInto(data, out, parts, func(t Tensor) []int64 { return t.i64 })
		return Tensor{shape: out, typ: typ, i64: data}, nil
	}
}

// reuse returns buf[:n], or a new slice when buf is too small. Padding
// relies on zeros, so a reused buffer is cleared when the result is padded;
// otherwise every element is about to be overwritten.
func reuse[T float32 | int64](buf []T, n int64, padded bool) []T {
	if int64(cap(buf)) < n {
		return make([]T, n)
	}
	buf = buf[:n]
	if padded {
		clear(buf)
	}
	return buf
}

func concatInto[T float32 | int64](dst []T, shape []int64, parts []Tensor, data func(Tensor) []T) {
	strides := stridesOf(shape)
	off := int64(0)
	for _, p := range parts {
		src := data(p)
		if slices.Equal(p.shape[1:], shape[1:]) {
			off += int64(copy(dst[off:], src))
			continue
		}
		copyPadded(dst[off:], strides, src, p.shape, stridesOf(p.shape), 0)
		off += p.shape[0] * strides[0]
	}
}

// copyPadded copies src (shape srcShape) into the top-left corner of the
// larger region dst; the rest of dst keeps its zero values.
func copyPadded[T float32 | int64](dst []T, dstStrides []int64, src []T, srcShape, srcStrides []int64, axis int) {
	if axis == len(srcShape)-1 {
		copy(dst[:srcShape[axis]], src[:srcShape[axis]])
		return
	}
	for i := range srcShape[axis] {
		copyPadded(dst[i*dstStrides[axis]:], dstStrides, src[i*srcStrides[axis]:], srcShape, srcStrides, axis+1)
	}
}

func stridesOf(shape []int64) []int64 {
	s := make([]int64, len(shape))
	acc := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// Split cuts t along axis 0 into pieces of the given sizes, the inverse of
// Concat for outputs whose batch axis follows the inputs'. Pieces share t's
// memory (capacity-limited, so appending to one cannot overwrite the next).
// Padding on other axes is left in place: the caller knows each item's real
// length (e.g. from its attention mask).
func Split(t Tensor, sizes []int64) ([]Tensor, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("onnx: split: %w", err)
	}
	var total int64
	for _, s := range sizes {
		if s < 0 {
			return nil, fmt.Errorf("onnx: split: negative size %d", s)
		}
		total += s
	}
	if total != t.shape[0] {
		return nil, fmt.Errorf("onnx: split: sizes %v add up to %d, axis 0 of %v is %d", sizes, total, t.shape, t.shape[0])
	}
	row := int64(1)
	for _, d := range t.shape[1:] {
		row *= d
	}
	out := make([]Tensor, len(sizes))
	off := int64(0)
	for i, s := range sizes {
		shape := slices.Clone(t.shape)
		shape[0] = s
		lo, hi := off*row, (off+s)*row
		out[i] = Tensor{shape: shape, typ: t.typ}
		if t.typ == ElementFloat32 {
			out[i].f32 = t.f32[lo:hi:hi]
		} else {
			out[i].i64 = t.i64[lo:hi:hi]
		}
		off += s
	}
	return out, nil
}
