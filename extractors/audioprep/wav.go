package audioprep

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// Encoding is how WAVE samples are stored.
type Encoding string

// The sample encodings Decode reads.
const (
	// IntPCM is integer PCM: unsigned 8-bit, signed 16/24/32-bit.
	IntPCM Encoding = "pcm"
	// FloatPCM is IEEE 754 float, 32 or 64 bits.
	FloatPCM Encoding = "float"
)

// WAVE format tags (the fmt chunk's wFormatTag).
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagExtensible = 0xfffe
	// unknownSize is what streaming writers put in the data chunk's size
	// when they cannot seek back to fill it in.
	unknownSize = 0xffffffff
	// Sample rates outside this range are not audio a speech or sound
	// encoder can use, and a rate of a few Hz would turn a small file into
	// a huge resampled buffer.
	minRate = 1000
	maxRate = 768000
	// maxChannels is far above any real layout (22.2 is 24).
	maxChannels = 64
)

// Header describes a WAVE file's samples as its fmt and data chunks declare
// them.
type Header struct {
	Encoding Encoding
	// Extensible is set for WAVE_FORMAT_EXTENSIBLE (the sub-format GUID
	// gave Encoding).
	Extensible bool
	Channels   int
	SampleRate int
	// BitsPerSample is the container size: 8, 16, 24, 32 or 64.
	BitsPerSample int
	// ValidBits is the number of significant bits; less than
	// BitsPerSample only for extensible files. Samples are left-aligned in
	// their container, so they are scaled by the container's range.
	ValidBits int
	// DataOffset is where the first sample byte is.
	DataOffset int
	// DataSize is the data chunk's declared size in bytes. It may exceed
	// what the file holds; Decode refuses such files. A streaming writer's
	// 0xFFFFFFFF is replaced by the bytes actually present.
	DataSize int64
}

// BlockAlign is the size of one frame (one sample for every channel).
func (h Header) BlockAlign() int { return h.Channels * h.BitsPerSample / 8 }

// Frames is the declared number of frames.
func (h Header) Frames() int64 {
	if h.BlockAlign() == 0 {
		return 0
	}
	return h.DataSize / int64(h.BlockAlign())
}

// Seconds is the declared duration in seconds.
func (h Header) Seconds() float64 {
	if h.SampleRate == 0 {
		return 0
	}
	return float64(h.Frames()) / float64(h.SampleRate)
}

// Duration is Seconds as a time.Duration.
func (h Header) Duration() time.Duration {
	return time.Duration(h.Seconds() * float64(time.Second))
}

// ksdataformatSubtype's last 12 bytes: every sub-format GUID this package
// reads is {tag}-0000-0010-8000-00AA00389B71 with the format tag first.
const subtypeSuffix = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"

// ParseHeader reads the RIFF/WAVE header, the fmt chunk and the data
// chunk's position and declared size without reading any samples. It does
// not check the declared size against the file's length, so that a caller
// can refuse a clip that claims to be too long before anything else.
func ParseHeader(data []byte) (Header, error) {
	if len(data) == 0 {
		return Header{}, ErrEmpty
	}
	if len(data) < 12 {
		if string(data) == "RIFF"[:min(len(data), 4)] || (len(data) > 4 && string(data[:4]) == "RIFF") {
			return Header{}, fmt.Errorf("%w: truncated RIFF header (%d bytes)", ErrCorrupt, len(data))
		}
		return Header{}, fmt.Errorf("%w: not a RIFF/WAVE file", ErrUnsupportedFormat)
	}
	switch id, form := string(data[:4]), string(data[8:12]); {
	case id == "RIFF" && form == "WAVE":
	case id == "RIFX" || id == "RF64" || id == "BW64":
		return Header{}, fmt.Errorf("%w: %s WAVE (big-endian or 64-bit RIFF)", ErrUnsupportedFormat, id)
	case id == "RIFF":
		// The form is not quoted: an error never repeats bytes of the file.
		return Header{}, fmt.Errorf("%w: a RIFF file whose form is not WAVE", ErrUnsupportedFormat)
	default:
		return Header{}, fmt.Errorf("%w: not a RIFF/WAVE file", ErrUnsupportedFormat)
	}

	var h Header
	haveFmt, haveData := false, false
	for i := 12; i+8 <= len(data); {
		id := string(data[i : i+4])
		size := int64(binary.LittleEndian.Uint32(data[i+4 : i+8]))
		body := i + 8
		switch id {
		case "fmt ":
			if haveFmt {
				return Header{}, fmt.Errorf("%w: second fmt chunk", ErrCorrupt)
			}
			if size < 16 || int64(body)+size > int64(len(data)) {
				return Header{}, fmt.Errorf("%w: fmt chunk of %d bytes (file has %d after it)", ErrCorrupt, size, len(data)-body)
			}
			if err := parseFmt(&h, data[body:body+int(size)]); err != nil {
				return Header{}, err
			}
			haveFmt = true
		case "data":
			if !haveData {
				haveData = true
				h.DataOffset, h.DataSize = body, size
				if size == unknownSize {
					h.DataSize = int64(len(data) - body)
				}
			}
		}
		if haveFmt && haveData {
			break
		}
		// Chunks are padded to an even size. A chunk running past the end
		// ends the walk: only fmt and data matter, and their absence is
		// reported below.
		next := int64(body) + size + size&1
		if next > int64(len(data)) {
			break
		}
		i = int(next)
	}
	switch {
	case !haveFmt:
		return Header{}, fmt.Errorf("%w: no fmt chunk before the data", ErrCorrupt)
	case !haveData:
		return Header{}, fmt.Errorf("%w: header only, no data chunk", ErrEmpty)
	}
	return h, nil
}

func parseFmt(h *Header, f []byte) error {
	tag := binary.LittleEndian.Uint16(f[0:2])
	h.Channels = int(binary.LittleEndian.Uint16(f[2:4]))
	h.SampleRate = int(binary.LittleEndian.Uint32(f[4:8]))
	blockAlign := int(binary.LittleEndian.Uint16(f[12:14]))
	h.BitsPerSample = int(binary.LittleEndian.Uint16(f[14:16]))
	h.ValidBits = h.BitsPerSample
	if tag == tagExtensible {
		// cbSize(2) wValidBitsPerSample(2) dwChannelMask(4) SubFormat(16)
		if len(f) < 40 {
			return fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE fmt chunk of %d bytes, want 40", ErrCorrupt, len(f))
		}
		h.Extensible = true
		h.ValidBits = int(binary.LittleEndian.Uint16(f[18:20]))
		guid := f[24:40]
		if string(guid[2:]) != subtypeSuffix {
			return fmt.Errorf("%w: WAVE_FORMAT_EXTENSIBLE sub-format % x", ErrUnsupportedFormat, guid)
		}
		tag = binary.LittleEndian.Uint16(guid[0:2])
		if h.ValidBits == 0 { // "0 means same as container", per the spec
			h.ValidBits = h.BitsPerSample
		}
	}
	switch tag {
	case tagPCM:
		h.Encoding = IntPCM
		if b := h.BitsPerSample; b != 8 && b != 16 && b != 24 && b != 32 {
			return fmt.Errorf("%w: %d-bit integer PCM", ErrUnsupportedFormat, b)
		}
	case tagFloat:
		h.Encoding = FloatPCM
		if b := h.BitsPerSample; b != 32 && b != 64 {
			return fmt.Errorf("%w: %d-bit float", ErrUnsupportedFormat, b)
		}
	default:
		return fmt.Errorf("%w: WAVE format tag 0x%04x (%s)", ErrUnsupportedFormat, tag, tagName(tag))
	}
	if h.ValidBits < 1 || h.ValidBits > h.BitsPerSample {
		return fmt.Errorf("%w: %d valid bits in a %d-bit container", ErrCorrupt, h.ValidBits, h.BitsPerSample)
	}
	if h.Channels < 1 || h.Channels > maxChannels {
		return fmt.Errorf("%w: %d channels", ErrCorrupt, h.Channels)
	}
	if h.SampleRate < minRate || h.SampleRate > maxRate {
		return fmt.Errorf("%w: sample rate %d Hz outside %d..%d", ErrUnsupportedFormat, h.SampleRate, minRate, maxRate)
	}
	if blockAlign != h.BlockAlign() {
		return fmt.Errorf("%w: block align %d, want %d for %d channels of %d bits",
			ErrCorrupt, blockAlign, h.BlockAlign(), h.Channels, h.BitsPerSample)
	}
	return nil
}

func tagName(tag uint16) string {
	switch tag {
	case 0x0002:
		return "MS ADPCM"
	case 0x0006:
		return "A-law"
	case 0x0007:
		return "µ-law"
	case 0x0011:
		return "IMA ADPCM"
	case 0x0031:
		return "GSM 6.10"
	case 0x0055:
		return "MPEG layer 3"
	}
	return "unknown"
}

// decodeMono converts the frames in data[h.DataOffset:][:frames*blockAlign]
// to float32 in [-1, 1] and averages the channels. Integer PCM is divided
// by 2^(bits-1) (8-bit is unsigned, offset 128); float samples beyond ±1
// are clipped, and NaN or infinity is ErrCorrupt since it would poison
// every embedding computed from the clip.
func decodeMono(h Header, data []byte, frames int) ([]float32, error) {
	ch, bps := h.Channels, h.BitsPerSample/8
	src := data[h.DataOffset : h.DataOffset+frames*ch*bps]
	out := make([]float32, frames)
	inv := 1 / float64(ch)
	var sample func(b []byte) float64
	switch {
	case h.Encoding == IntPCM && bps == 1:
		sample = func(b []byte) float64 { return (float64(b[0]) - 128) / 128 }
	case h.Encoding == IntPCM && bps == 2:
		if ch == 1 { // the common case (FSDD, most speech), without the indirect call
			for i := range out {
				out[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:]))) / 32768
			}
			return out, nil
		}
		sample = func(b []byte) float64 { return float64(int16(binary.LittleEndian.Uint16(b))) / 32768 }
	case h.Encoding == IntPCM && bps == 3:
		sample = func(b []byte) float64 {
			v := int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8 // sign-extend
			return float64(v) / (1 << 23)
		}
	case h.Encoding == IntPCM && bps == 4:
		sample = func(b []byte) float64 { return float64(int32(binary.LittleEndian.Uint32(b))) / (1 << 31) }
	case h.Encoding == FloatPCM && bps == 4:
		sample = func(b []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) }
	case h.Encoding == FloatPCM && bps == 8:
		sample = func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) }
	default:
		return nil, fmt.Errorf("%w: %s %d-bit", ErrUnsupportedFormat, h.Encoding, h.BitsPerSample)
	}
	float := h.Encoding == FloatPCM
	for i := range out {
		frame := src[i*ch*bps : (i+1)*ch*bps]
		var sum float64
		for c := range ch {
			v := sample(frame[c*bps : (c+1)*bps])
			if float {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("%w: non-finite sample at frame %d", ErrCorrupt, i)
				}
				v = max(-1, min(1, v))
			}
			sum += v
		}
		out[i] = float32(sum * inv)
	}
	return out, nil
}
