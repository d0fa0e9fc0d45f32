// Command gen writes audioprep's Go-made fixtures (f32_ext.wav) and the
// seed corpus of FuzzDecode. Run from the repository root after the sox
// commands in testdata/README.md:
//
//	go run ./extractors/audioprep/testdata/gen
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/vitrinehq/vitrine/extractors/audioprep"
)

const dir = "extractors/audioprep/testdata"

func main() {
	f32 := read("f32.wav")
	ext := extensible(f32, 3)
	write("f32_ext.wav", ext)

	corpus := filepath.Join(dir, "fuzz", "FuzzDecode")
	if err := os.MkdirAll(corpus, 0o755); err != nil {
		log.Fatal(err)
	}
	seed := func(name string, b []byte) {
		s := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(corpus, "seed-"+name), []byte(s), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	// Every format fixture cut to its first 16 frames: mutating a 16-frame
	// file reaches the same parser and converter paths as the full one at a
	// fraction of the cost per run.
	for _, name := range []string{"u8.wav", "s16.wav", "s24.wav", "s24_plain.wav", "s32.wav", "f32.wav",
		"f32_ext.wav", "f64.wav", "stereo.wav", "surround51.wav", "44k1.wav", "mulaw.wav", "adpcm.wav",
		"fsdd/0_jackson_0.wav"} {
		seed(filepath.Base(name), firstFrames(read(name), 16))
	}
	// Lying and odd headers.
	pcm := func(rate, ch, bits int, dataSize uint32, payload []byte) []byte {
		return wav(fmtChunk(1, ch, rate, bits), dataSize, payload)
	}
	seed("hour.wav", pcm(8000, 1, 16, 3600*8000*2, nil))
	seed("lying-size.wav", pcm(8000, 1, 16, 8000*2, make([]byte, 100)))
	seed("header-only.wav", pcm(8000, 1, 16, 0, nil))
	seed("streaming.wav", pcm(8000, 1, 16, 0xffffffff, make([]byte, 64)))
	seed("odd-list-chunk.wav", append([]byte("RIFF\x00\x00\x00\x00WAVELIST\x03\x00\x00\x00abc\x00"),
		pcm(16000, 2, 16, 8, make([]byte, 8))[12:]...))
}

func read(name string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		log.Fatal(err)
	}
	return b
}

func write(name string, b []byte) {
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		log.Fatal(err)
	}
}

func fmtChunk(tag, ch, rate, bits int) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b[0:], uint16(tag))
	binary.LittleEndian.PutUint16(b[2:], uint16(ch))
	binary.LittleEndian.PutUint32(b[4:], uint32(rate))
	binary.LittleEndian.PutUint32(b[8:], uint32(rate*ch*bits/8))
	binary.LittleEndian.PutUint16(b[12:], uint16(ch*bits/8))
	binary.LittleEndian.PutUint16(b[14:], uint16(bits))
	return b
}

func chunk(id string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(id)
	binary.Write(&b, binary.LittleEndian, uint32(len(body)))
	b.Write(body)
	if len(body)%2 == 1 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

// wav assembles RIFF/WAVE with the given fmt body and a data chunk whose
// size field says dataSize whatever payload holds.
func wav(fmtBody []byte, dataSize uint32, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+len(fmtBody)+8+len(payload)))
	b.WriteString("WAVE")
	b.Write(chunk("fmt ", fmtBody))
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, dataSize)
	b.Write(payload)
	return b.Bytes()
}

// extensible rewrites a plain PCM/float WAV as WAVE_FORMAT_EXTENSIBLE with
// the given sub-format tag, the variant go-audio/wav cannot read as float.
func extensible(src []byte, subTag uint16) []byte {
	h, err := audioprep.ParseHeader(src)
	if err != nil {
		log.Fatal(err)
	}
	f := fmtChunk(0xfffe, h.Channels, h.SampleRate, h.BitsPerSample)
	ext := make([]byte, 24)
	binary.LittleEndian.PutUint16(ext[0:], 22)
	binary.LittleEndian.PutUint16(ext[2:], uint16(h.BitsPerSample))
	binary.LittleEndian.PutUint32(ext[4:], 0x4) // front centre
	binary.LittleEndian.PutUint16(ext[8:], subTag)
	copy(ext[10:], "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71")
	payload := src[h.DataOffset : h.DataOffset+int(h.DataSize)]
	return wav(append(f, ext...), uint32(len(payload)), payload)
}

// firstFrames keeps everything up to the data chunk and n frames of it.
func firstFrames(src []byte, n int) []byte {
	off, size := 0, 0
	if h, err := audioprep.ParseHeader(src); err == nil {
		off, size = h.DataOffset, min(int(h.DataSize), n*h.BlockAlign())
	} else { // µ-law, ADPCM: unsupported, so find the data chunk by hand
		off = bytes.Index(src, []byte("data")) + 8
		size = min(len(src)-off, 64)
	}
	out := bytes.Clone(src[:off+size])
	binary.LittleEndian.PutUint32(out[off-4:], uint32(size))
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}
