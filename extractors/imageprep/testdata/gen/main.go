// Command gen regenerates imageprep's small test fixtures and the seed
// corpus of FuzzPrepare from the CC0 photos beside it. Run from the
// repository root:
//
//	go run ./extractors/imageprep/testdata/gen
//
// then the cwebp commands in testdata/README.md, then run gen again so the
// WebP files join the fuzz corpus. Output is deterministic.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"gocv.io/x/gocv"
)

const dir = "extractors/imageprep/testdata"

func main() {
	write("gray.png", encodePNG(grayGradient()))
	write("gray16.png", encodePNG(gray16Gradient()))
	alpha := encodePNG(alphaImage())
	write("alpha.png", alpha)
	write("small.png", encodePNG(smallChelsea()))
	write("small.jpg", encodeJPEG(smallChelsea()))
	write("progressive.jpg", progressiveJPEG())
	write("tiny.gif", encodeGIF())

	rocket := read("rocket.jpg")
	write("truncated.jpg", rocket[:len(rocket)/2])
	write("truncated.png", alpha[:len(alpha)-40])
	write("corrupt.png", flipIDAT(alpha))
	write("huge.png", hugePNG(20000, 20000))
	write("huge.jpg", hugeJPEG(60000, 60000))
	write("huge.webp", hugeWebP(16384, 16384))

	// Seed corpus: every small fixture. The photos (100-800 KB) are left out
	// because mutating them costs a full decode per run and buys nothing
	// the small files of each format do not already exercise.
	corpus := filepath.Join(dir, "fuzz", "FuzzPrepare")
	if err := os.MkdirAll(corpus, 0o755); err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"gray.png", "gray16.png", "alpha.png", "small.png", "small.jpg",
		"progressive.jpg", "tiny.gif", "truncated.png", "corrupt.png", "huge.png", "huge.jpg",
		"huge.webp", "small.webp", "small_lossless.webp", "alpha.webp"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			log.Printf("skip corpus seed %s: %v (run the cwebp commands first)", name, err)
			continue
		}
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(corpus, "seed-"+name), []byte(seed), 0o644); err != nil {
			log.Fatal(err)
		}
	}
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

func encodePNG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(img image.Image) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// grayGradient is 80x60 8-bit grey with a value that differs per pixel, so
// a test can tell which pixel landed at the tensor's centre.
func grayGradient() image.Image {
	img := image.NewGray(image.Rect(0, 0, 80, 60))
	for y := range 60 {
		for x := range 80 {
			img.SetGray(x, y, color.Gray{Y: uint8(x*3 + y*2)})
		}
	}
	return img
}

func gray16Gradient() image.Image {
	img := image.NewGray16(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			img.SetGray16(x, y, color.Gray16{Y: uint16(x*1500 + y*100)})
		}
	}
	return img
}

// alphaImage is 64x64: columns 0-27 opaque red, 28-35 blue at alpha 128,
// 36-63 fully transparent green (which must not show through).
func alphaImage() image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			switch {
			case x < 28:
				img.SetNRGBA(x, y, color.NRGBA{255, 0, 0, 255})
			case x < 36:
				img.SetNRGBA(x, y, color.NRGBA{0, 0, 255, 128})
			default:
				img.SetNRGBA(x, y, color.NRGBA{0, 255, 0, 0})
			}
		}
	}
	return img
}

// smallChelsea is chelsea.png reduced to 96x64 with OpenCV's area filter.
func smallChelsea() image.Image {
	m := gocv.IMRead(filepath.Join(dir, "chelsea.png"), gocv.IMReadColor)
	defer m.Close()
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(m, &small, image.Pt(96, 64), 0, 0, gocv.InterpolationArea)
	img, err := small.ToImage()
	if err != nil {
		log.Fatal(err)
	}
	return img
}

func progressiveJPEG() []byte {
	m := gocv.IMRead(filepath.Join(dir, "rocket.jpg"), gocv.IMReadColor)
	defer m.Close()
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(m, &small, image.Pt(120, 80), 0, 0, gocv.InterpolationArea)
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, small, []int{gocv.IMWriteJpegProgressive, 1})
	if err != nil {
		log.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}

func encodeGIF() []byte {
	img := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.White})
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// flipIDAT inverts a byte in the middle of the first IDAT's data, leaving
// the structure intact, so libpng's CRC check is what rejects it.
func flipIDAT(p []byte) []byte {
	out := bytes.Clone(p)
	i := bytes.Index(out, []byte("IDAT"))
	n := int(binary.BigEndian.Uint32(out[i-4 : i]))
	out[i+4+n/2] ^= 0xff
	return out
}

func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// hugePNG is a valid signature and IHDR (with correct CRC) declaring w x h
// 8-bit RGB, one empty IDAT and IEND: a decompression bomb's header.
func hugePNG(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", nil)...)
	return append(out, pngChunk("IEND", nil)...)
}

// hugeJPEG is SOI, a baseline SOF0 declaring w x h with three components,
// and EOI.
func hugeJPEG(w, h uint16) []byte {
	sof := []byte{0xff, 0xc0, 0, 17, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 3,
		1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1}
	out := append([]byte{0xff, 0xd8}, sof...)
	return append(out, 0xff, 0xd9)
}

// hugeWebP is a RIFF/WEBP with a VP8X chunk declaring a w x h canvas.
func hugeWebP(w, h uint32) []byte {
	vp8x := make([]byte, 10)
	w, h = w-1, h-1
	vp8x[4], vp8x[5], vp8x[6] = byte(w), byte(w>>8), byte(w>>16)
	vp8x[7], vp8x[8], vp8x[9] = byte(h), byte(h>>8), byte(h>>16)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+len(vp8x)))
	b.WriteString("WEBPVP8X")
	binary.Write(&b, binary.LittleEndian, uint32(len(vp8x)))
	b.Write(vp8x)
	return b.Bytes()
}
