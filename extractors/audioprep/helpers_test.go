package audioprep

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrinehq/vitrine/models"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustNew(t testing.TB, cfg models.AudioPrep, opts ...Option) *Preparer {
	t.Helper()
	p, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return p
}

// speech16k is the preprocessing of the openWakeWord speech embedding.
func speech16k() models.AudioPrep {
	return models.AudioPrep{SampleRate: 16000, SampleScale: 32768, ChunkSeconds: 0.25, MaxSeconds: 30}
}

func decode(t testing.TB, data []byte) Clip {
	t.Helper()
	c, err := mustNew(t, models.AudioPrep{SampleRate: 16000}).Decode(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fmtBody(tag, ch, rate, bits int) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b[0:], uint16(tag))
	binary.LittleEndian.PutUint16(b[2:], uint16(ch))
	binary.LittleEndian.PutUint32(b[4:], uint32(rate))
	binary.LittleEndian.PutUint32(b[8:], uint32(rate*ch*bits/8))
	binary.LittleEndian.PutUint16(b[12:], uint16(ch*bits/8))
	binary.LittleEndian.PutUint16(b[14:], uint16(bits))
	return b
}

// wavBytes assembles RIFF/WAVE from a fmt body and a data chunk whose size
// field says dataSize, whatever payload really holds.
func wavBytes(fmtB []byte, dataSize uint32, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+len(fmtB)+8+len(payload)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(len(fmtB)))
	b.Write(fmtB)
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, dataSize)
	b.Write(payload)
	return b.Bytes()
}

func pcm16(rate int, samples []float64) []byte {
	payload := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(payload[2*i:], uint16(int16(math.Round(s*32767))))
	}
	return wavBytes(fmtBody(1, 1, rate, 16), uint32(len(payload)), payload)
}

func sine(freq, amp float64, rate, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return out
}

// fitSine returns the amplitude of the best-fitting sinusoid at freq and
// the RMS of what remains: a large residual means the signal is not (only)
// a tone at that frequency.
func fitSine(x []float32, freq float64, rate int) (amp, residual float64) {
	var ss, sc, cc, ys, yc float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / float64(rate)
		s, c := math.Sin(w), math.Cos(w)
		ss, sc, cc = ss+s*s, sc+s*c, cc+c*c
		ys, yc = ys+float64(v)*s, yc+float64(v)*c
	}
	det := ss*cc - sc*sc
	a, b := (ys*cc-yc*sc)/det, (yc*ss-ys*sc)/det
	var r float64
	for i, v := range x {
		w := 2 * math.Pi * freq * float64(i) / float64(rate)
		d := float64(v) - a*math.Sin(w) - b*math.Cos(w)
		r += d * d
	}
	return math.Hypot(a, b), math.Sqrt(r / float64(len(x)))
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

// snrDB compares got to want over their common length.
func snrDB(want, got []float32) float64 {
	n := min(len(want), len(got))
	var sig, noise float64
	for i := range n {
		sig += float64(want[i]) * float64(want[i])
		d := float64(want[i] - got[i])
		noise += d * d
	}
	return 10 * math.Log10(sig/noise)
}
