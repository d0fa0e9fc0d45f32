package imageprep

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
)

// Format is a supported container format.
type Format string

// The formats Prepare decodes.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
	WebP Format = "webp"
)

// Header is what the first bytes of an image say about it.
type Header struct {
	Format Format
	// Width and Height are as stored. A JPEG whose EXIF orientation asks for
	// a quarter turn decodes with the two swapped.
	Width, Height int
}

// Pixels is Width*Height as int64, so that it cannot overflow on 32-bit.
func (h Header) Pixels() int64 { return int64(h.Width) * int64(h.Height) }

const (
	pngSig = "\x89PNG\r\n\x1a\n"
	// maxSide bounds either side whatever MaxPixels says: OpenCV throws a
	// C++ exception (which aborts the process through cgo) past 1<<20, and
	// no JPEG can exceed 65535 anyway.
	maxSide = 1 << 16
)

// ParseHeader sniffs the format from magic bytes and reads the declared
// dimensions from the PNG IHDR, the JPEG SOFn or the WebP VP8/VP8L/VP8X
// chunk. It reads only the header, allocates nothing in proportion to the
// input, and does not check that the rest of the file is intact (see
// Preparer.Inspect), so that an absurd size can be refused before anything
// else is looked at.
func ParseHeader(data []byte) (Header, error) {
	if len(data) == 0 {
		return Header{}, ErrEmpty
	}
	switch {
	case hasPrefixOrIsPrefix(data, pngSig):
		return parsePNG(data)
	case hasPrefixOrIsPrefix(data, "\xff\xd8\xff"):
		return parseJPEG(data)
	case hasPrefixOrIsPrefix(data, "RIFF") && (len(data) < 12 || string(data[8:12]) == "WEBP"):
		return parseWebP(data)
	}
	// unsupportedMagics names formats we recognise only to reject them with a
	// helpful message.
	unsupportedMagics := [...]struct {
		off   int
		magic string
		name  string
	}{
		{0, "GIF87a", "GIF"},
		{0, "GIF89a", "GIF"},
		{0, "BM", "BMP"},
		{0, "II*\x00", "TIFF"},
		{0, "MM\x00*", "TIFF"},
		{0, "\x00\x00\x01\x00", "ICO"},
		{0, "8BPS", "PSD"},
		{0, "%PDF", "PDF"},
		{0, "\xff\x0a", "JPEG XL"},
		{4, "ftypavif", "AVIF"},
		{4, "ftypheic", "HEIC"},
		{4, "ftypmif1", "HEIF"},
		{4, "ftyp", "ISO-BMFF (HEIF/AVIF)"},
		{0, "<svg", "SVG"},
		{0, "<?xml", "XML/SVG"},
	}
	for _, m := range unsupportedMagics {
		if len(data) >= m.off+len(m.magic) && string(data[m.off:m.off+len(m.magic)]) == m.magic {
			return Header{}, fmt.Errorf("%w: %s", ErrUnsupportedFormat, m.name)
		}
	}
	// The bytes themselves are not quoted: they may be the start of a file
	// or an internal response that a client must not read through us.
	return Header{}, fmt.Errorf("%w: not JPEG, PNG or WebP", ErrUnsupportedFormat)
}

// hasPrefixOrIsPrefix reports whether data starts with magic, or is a
// non-empty prefix of it: a file cut inside its signature is a truncated
// file of that format (ErrCorrupt), not an unknown one.
func hasPrefixOrIsPrefix(data []byte, magic string) bool {
	n := min(len(data), len(magic))
	return n > 0 && string(data[:n]) == magic[:n]
}

func corrupt(format Format, reason string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, format, fmt.Sprintf(reason, args...))
}

func parsePNG(data []byte) (Header, error) {
	// signature(8) + length(4) + "IHDR"(4) + 13 bytes + CRC(4)
	const need = 8 + 8 + 13 + 4
	if len(data) < need {
		return Header{}, corrupt(PNG, "truncated header (%d bytes)", len(data))
	}
	if binary.BigEndian.Uint32(data[8:12]) != 13 || string(data[12:16]) != "IHDR" {
		return Header{}, corrupt(PNG, "first chunk is not a 13-byte IHDR")
	}
	ihdr := data[16:29]
	if crc32.ChecksumIEEE(data[12:29]) != binary.BigEndian.Uint32(data[29:33]) {
		return Header{}, corrupt(PNG, "IHDR CRC mismatch")
	}
	w, h := binary.BigEndian.Uint32(ihdr[0:4]), binary.BigEndian.Uint32(ihdr[4:8])
	if w == 0 || h == 0 || w > 1<<31-1 || h > 1<<31-1 {
		return Header{}, corrupt(PNG, "invalid dimensions %dx%d", w, h)
	}
	depth, ctype := ihdr[8], ihdr[9]
	if !validPNGDepth(ctype, depth) {
		return Header{}, corrupt(PNG, "invalid bit depth %d for colour type %d", depth, ctype)
	}
	if ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] > 1 {
		return Header{}, corrupt(PNG, "invalid compression/filter/interlace method")
	}
	return Header{Format: PNG, Width: int(w), Height: int(h)}, nil
}

// validPNGDepth encodes the PNG spec's table of allowed bit depths per
// colour type.
func validPNGDepth(ctype, depth byte) bool {
	switch ctype {
	case 0:
		return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16
	case 3:
		return depth == 1 || depth == 2 || depth == 4 || depth == 8
	case 2, 4, 6:
		return depth == 8 || depth == 16
	}
	return false
}

// isSOF reports whether a JPEG marker starts a frame header. C4 (DHT),
// C8 (reserved) and CC (DAC) share the range but are not frames.
func isSOF(m byte) bool {
	return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc
}

func parseJPEG(data []byte) (Header, error) {
	var h Header
	err := walkJPEG(data, func(marker byte, seg []byte) (bool, error) {
		if marker == 0xda {
			return false, corrupt(JPEG, "scan before frame header")
		}
		if !isSOF(marker) {
			return true, nil
		}
		if len(seg) < 6 {
			return false, corrupt(JPEG, "short SOF segment")
		}
		switch marker {
		case 0xc0, 0xc1, 0xc2, 0xc9, 0xca:
			// baseline, extended, progressive, and their arithmetic-coded
			// forms: what Debian's libjpeg-turbo decodes.
		default:
			return false, fmt.Errorf("%w: JPEG process SOF%d (lossless/hierarchical)", ErrUnsupportedFormat, marker-0xc0)
		}
		hh, ww := int(binary.BigEndian.Uint16(seg[1:3])), int(binary.BigEndian.Uint16(seg[3:5]))
		if hh == 0 {
			return false, fmt.Errorf("%w: JPEG with height defined by DNL marker", ErrUnsupportedFormat)
		}
		if ww == 0 {
			return false, corrupt(JPEG, "zero width")
		}
		h = Header{Format: JPEG, Width: ww, Height: hh}
		return false, nil
	}, false)
	if err != nil {
		return Header{}, err
	}
	if h.Format == "" {
		return Header{}, corrupt(JPEG, "no frame header before end of data")
	}
	return h, nil
}

// walkJPEG visits the marker segments of a JPEG after SOI, calling visit
// with each marker and its payload (without the length bytes) until visit
// returns false or EOI is reached. With scans set it also steps over the
// entropy-coded data after each SOS, so that reaching EOI proves the file
// is not truncated; libjpeg itself pads a truncated file with grey and
// reports success, so this is the only place truncation is caught.
func walkJPEG(data []byte, visit func(marker byte, seg []byte) (bool, error), scans bool) error {
	if len(data) < 4 {
		return corrupt(JPEG, "truncated after SOI")
	}
	i := 2
	for {
		if i >= len(data) {
			return corrupt(JPEG, "truncated: no EOI marker")
		}
		if data[i] != 0xff {
			return corrupt(JPEG, "expected marker at offset %d, found 0x%02x", i, data[i])
		}
		for i < len(data) && data[i] == 0xff { // fill bytes
			i++
		}
		if i >= len(data) {
			return corrupt(JPEG, "truncated: no EOI marker")
		}
		m := data[i]
		i++
		switch {
		case m == 0xd9:
			if !scans {
				return corrupt(JPEG, "EOI before frame header")
			}
			return nil
		case m == 0x01 || (m >= 0xd0 && m <= 0xd7):
			continue // standalone markers carry no length
		case m == 0x00 || m == 0xd8:
			return corrupt(JPEG, "unexpected marker 0x%02x at offset %d", m, i-1)
		}
		if i+2 > len(data) {
			return corrupt(JPEG, "truncated segment length")
		}
		l := int(binary.BigEndian.Uint16(data[i : i+2]))
		if l < 2 {
			return corrupt(JPEG, "segment length %d", l)
		}
		if i+l > len(data) {
			return corrupt(JPEG, "truncated segment 0x%02x", m)
		}
		more, err := visit(m, data[i+2:i+l])
		if err != nil || !more {
			return err
		}
		i += l
		if m == 0xda && scans {
			j, err := skipEntropy(data, i)
			if err != nil {
				return err
			}
			i = j
		}
	}
}

// skipEntropy returns the offset of the marker that ends the entropy-coded
// data starting at i. Inside it 0xFF is always followed by 0x00 (a stuffed
// byte) or a restart marker, so the first other FFxx is the next segment.
func skipEntropy(data []byte, i int) (int, error) {
	for {
		k := bytes.IndexByte(data[i:], 0xff)
		if k < 0 {
			return 0, corrupt(JPEG, "truncated entropy-coded data")
		}
		i += k
		if i+1 >= len(data) {
			return 0, corrupt(JPEG, "truncated entropy-coded data")
		}
		switch b := data[i+1]; {
		case b == 0x00 || (b >= 0xd0 && b <= 0xd7):
			i += 2
		case b == 0xff:
			i++ // fill byte before a marker
		default:
			return i, nil
		}
	}
}

func parseWebP(data []byte) (Header, error) {
	// "RIFF" size "WEBP" fourcc size, then at least 10 bytes of the first
	// chunk's payload hold the dimensions in all three variants.
	if len(data) < 30 {
		return Header{}, corrupt(WebP, "truncated header (%d bytes)", len(data))
	}
	fourcc, payload := string(data[12:16]), data[20:]
	var w, h int
	switch fourcc {
	case "VP8 ":
		// frame tag (3 bytes, bit 0 clear for a key frame), start code
		// 9d 01 2a, then 14-bit width and height with 2-bit scale.
		if payload[0]&1 != 0 || string(payload[3:6]) != "\x9d\x01\x2a" {
			return Header{}, corrupt(WebP, "bad VP8 key frame header")
		}
		w = int(binary.LittleEndian.Uint16(payload[6:8]) & 0x3fff)
		h = int(binary.LittleEndian.Uint16(payload[8:10]) & 0x3fff)
	case "VP8L":
		if payload[0] != 0x2f {
			return Header{}, corrupt(WebP, "bad VP8L signature")
		}
		bits := binary.LittleEndian.Uint32(payload[1:5])
		if bits>>29 != 0 {
			return Header{}, corrupt(WebP, "unknown VP8L version %d", bits>>29)
		}
		w, h = int(bits&0x3fff)+1, int(bits>>14&0x3fff)+1
	case "VP8X":
		if payload[0]&0x02 != 0 {
			return Header{}, fmt.Errorf("%w: animated WebP", ErrUnsupportedFormat)
		}
		w = 1 + int(uint32(payload[4])|uint32(payload[5])<<8|uint32(payload[6])<<16)
		h = 1 + int(uint32(payload[7])|uint32(payload[8])<<8|uint32(payload[9])<<16)
	default:
		return Header{}, corrupt(WebP, "first chunk is %s, want VP8, VP8L or VP8X", chunkName(fourcc))
	}
	if w == 0 || h == 0 {
		return Header{}, corrupt(WebP, "zero dimension %dx%d", w, h)
	}
	return Header{Format: WebP, Width: w, Height: h}, nil
}

// checkStructure walks the whole container to prove it is complete: PNG up
// to IEND, JPEG up to EOI, WebP to the end of its RIFF size. It allocates
// nothing.
func checkStructure(h Header, data []byte) error {
	switch h.Format {
	case PNG:
		return checkPNG(data)
	case JPEG:
		return walkJPEG(data, func(byte, []byte) (bool, error) { return true, nil }, true)
	case WebP:
		return checkWebP(data)
	}
	return fmt.Errorf("%w: %q", ErrUnsupportedFormat, h.Format)
}

// chunkName names a PNG or WebP chunk type for an error message: a type
// the formats define by name ("chunk IDAT"), anything else "an unknown
// chunk", so an error never repeats bytes of the file (a file ingested
// from the server's disk could be anything).
func chunkName(typ string) string {
	switch typ {
	case "IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT", "tEXt", "zTXt", "iTXt",
		"bKGD", "pHYs", "hIST", "sPLT", "tIME", "eXIf", "acTL", "fcTL", "fdAT",
		"VP8 ", "VP8L", "VP8X", "ALPH", "ANIM", "ANMF", "ICCP", "EXIF", "XMP ":
		return "chunk " + strings.TrimSpace(typ)
	}
	return "an unknown chunk"
}

func checkPNG(data []byte) error {
	i, idat := len(pngSig), 0
	for {
		if i+8 > len(data) {
			return corrupt(PNG, "truncated: no IEND chunk")
		}
		n := int64(binary.BigEndian.Uint32(data[i : i+4]))
		typ := string(data[i+4 : i+8])
		if n > 1<<31-1 {
			return corrupt(PNG, "%s declares a length over 2 GiB", chunkName(typ))
		}
		end := int64(i) + 8 + n + 4
		if end > int64(len(data)) {
			return corrupt(PNG, "truncated %s", chunkName(typ))
		}
		switch typ {
		case "IDAT":
			idat++
		case "IEND":
			if idat == 0 {
				return corrupt(PNG, "no IDAT chunk")
			}
			return nil
		}
		i = int(end)
	}
}

func checkWebP(data []byte) error {
	riff := int64(binary.LittleEndian.Uint32(data[4:8]))
	if 8+riff > int64(len(data)) {
		return corrupt(WebP, "truncated: RIFF declares %d bytes, have %d", 8+riff, len(data))
	}
	end, i, image := int(8+riff), 12, false
	for i < end {
		if i+8 > end {
			return corrupt(WebP, "truncated chunk header at %d", i)
		}
		fourcc := string(data[i : i+4])
		n := int64(binary.LittleEndian.Uint32(data[i+4 : i+8]))
		next := int64(i) + 8 + n + n&1
		if int64(i)+8+n > int64(end) {
			return corrupt(WebP, "truncated %s", chunkName(fourcc))
		}
		if fourcc == "VP8 " || fourcc == "VP8L" {
			image = true
		}
		i = int(min(next, int64(end)))
	}
	if !image {
		return corrupt(WebP, "no VP8/VP8L image chunk")
	}
	return nil
}
