package imageprep

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"testing"
)

// idatBomb is a 64x64 RGB PNG whose image data inflate to raw bytes of
// zeros (the declared image holds 64*(1+192) = 12352).
func idatBomb(t *testing.T, raw int) []byte {
	t.Helper()
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 64)
	binary.BigEndian.PutUint32(ihdr[4:], 64)
	ihdr[8], ihdr[9] = 8, 2
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zeros := make([]byte, 1<<20)
	for left := raw; left > 0; left -= len(zeros) {
		if _, err := zw.Write(zeros[:min(left, len(zeros))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out := []byte(pngSig)
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// manyScans is an 8x8 greyscale JPEG skeleton with n scans.
func manyScans(n int) []byte {
	b := []byte{0xff, 0xd8}
	b = append(b, 0xff, 0xc0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0)
	for range n {
		b = append(b, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 0)
	}
	return append(b, 0xff, 0xd9)
}

func TestDecodeBudget(t *testing.T) {
	p, err := New(imagenet())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"IDAT bomb 256 MB in a 64x64 PNG", idatBomb(t, 256<<20), ErrCorrupt},
		{"one byte past the budget", idatBomb(t, 64*(1+192)+1), ErrCorrupt},
		{"JPEG with 65 scans", manyScans(maxJPEGScans + 1), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Prepare(context.Background(), tc.data, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Prepare = %v, want %v", err, tc.want)
			}
		})
	}
	// Exactly the declared size is a valid (black) image.
	if _, err := p.Prepare(context.Background(), idatBomb(t, 64*(1+192)), nil); err != nil {
		t.Fatalf("a PNG whose data fill its declared size: %v", err)
	}
}

func TestUnsupportedDoesNotQuoteBytes(t *testing.T) {
	_, err := ParseHeader([]byte("secret-token: 12345"))
	if !errors.Is(err, ErrUnsupportedFormat) || bytes.Contains([]byte(err.Error()), []byte("73 65 63")) || bytes.Contains([]byte(err.Error()), []byte("secret")) {
		t.Fatalf("ParseHeader = %v: want ErrUnsupportedFormat without the input's bytes", err)
	}
}
