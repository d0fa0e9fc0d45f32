package vecmath

import (
	"encoding/binary"
	"math"
)

// AppendBytes appends v to dst as little-endian IEEE float32 bytes, 4 a
// component: the compact lossless form stored vectors take outside
// pgvector (a fitted projection, a stored retrieval).
func AppendBytes(dst []byte, v []float32) []byte {
	for _, x := range v {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
	}
	return dst
}

// FromBytes reads what AppendBytes wrote: len(b)/4 components (never nil;
// a trailing partial component is ignored).
func FromBytes(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
