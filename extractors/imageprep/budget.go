package imageprep

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxJPEGScans bounds the scans of a JPEG: each progressive scan costs a
// pass over every pixel, so a small file with thousands of scans decodes
// for seconds. Encoders write at most a dozen or so.
const maxJPEGScans = 64

// checkDecodeBudget bounds what decoding will cost beyond the declared
// size, before the decoder runs: a PNG's compressed data is inflated
// (streamed, nothing kept) and refused as soon as it yields more bytes
// than the declared image can hold (ErrCorrupt), so a 64x64 PNG carrying a gigabyte of
// zeros is refused after a few kilobytes of work instead of being
// inflated in full; a JPEG may have at most maxJPEGScans scans.
func checkDecodeBudget(h Header, data []byte) error {
	switch h.Format {
	case PNG:
		return checkPNGInflate(h, data)
	case JPEG:
		scans := 0
		return walkJPEG(data, func(m byte, _ []byte) (bool, error) {
			if m == 0xda {
				if scans++; scans > maxJPEGScans {
					return false, fmt.Errorf("%w: JPEG with more than %d scans", ErrTooLarge, maxJPEGScans)
				}
			}
			return true, nil
		}, true)
	}
	return nil
}

// pngRawBytes is how many bytes a PNG's image data inflate to at most: a
// filter byte per row plus the packed samples (interlaced images add a
// filter byte per row of each of their 7 passes, and up to a byte of
// padding per row).
func pngRawBytes(h Header, depth, ctype, interlace byte) int64 {
	channels := map[byte]int64{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
	row := (int64(h.Width)*channels*int64(depth) + 7) / 8
	n := int64(h.Height) * (1 + row)
	if interlace == 1 {
		n += 7 * (int64(h.Height) + 2*int64(h.Height))
	}
	return n
}

func checkPNGInflate(h Header, data []byte) error {
	ihdr := data[16:29]
	budget := pngRawBytes(h, ihdr[8], ihdr[9], ihdr[12])
	zr, err := zlib.NewReader(&idatReader{data: data, i: len(pngSig)})
	if err != nil {
		return corrupt(PNG, "image data is not zlib")
	}
	defer zr.Close()
	n, err := io.Copy(io.Discard, io.LimitReader(zr, budget+1))
	switch {
	case n > budget:
		// More data than the declared image holds: a decompression bomb
		// or a broken file; either way not a valid PNG of that size.
		return corrupt(PNG, "image data inflate past the %d bytes a %dx%d image holds", budget, h.Width, h.Height)
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return corrupt(PNG, "image data does not inflate")
	}
	return nil
}

// idatReader streams the payloads of a PNG's IDAT chunks, in order, as one
// zlib stream (the structure was checked by checkPNG).
type idatReader struct {
	data []byte
	i    int    // next chunk
	cur  []byte // rest of the current IDAT payload
}

func (r *idatReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.i+8 > len(r.data) {
			return 0, io.EOF
		}
		n := int(binary.BigEndian.Uint32(r.data[r.i : r.i+4]))
		typ := r.data[r.i+4 : r.i+8]
		start, end := r.i+8, r.i+8+n
		if end+4 > len(r.data) || bytes.Equal(typ, []byte("IEND")) {
			return 0, io.EOF
		}
		if bytes.Equal(typ, []byte("IDAT")) {
			r.cur = r.data[start:end]
		}
		r.i = end + 4
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
