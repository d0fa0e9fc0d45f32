package audioprep

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/vitrinehq/vitrine/models"
)

// FuzzDecode feeds arbitrary bytes to Decode and Prepare. The seed corpus
// in testdata/fuzz/FuzzDecode holds the first 16 frames of every format
// fixture and the lying headers (an hour declared, a data size past the
// end, header only, streaming size, an odd-sized chunk before fmt).
// Properties: no panic and no allocation beyond what the bytes hold
// (MaxBytes is 1 MiB and MaxSeconds 2, so a lying header that slipped
// through would show as an out-of-memory crash or a slow run); every
// failure wraps exactly one input sentinel; a success agrees with the
// header and stays in range.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("RIFF"))
	f.Add(pcm16(8000, []float64{0, 0.5, -0.5, 1, -1}))
	f.Add(wavBytes(fmtBody(3, 2, 22050, 64), 0xffffffff, make([]byte, 32)))
	const scale = 32768
	p, err := New(models.AudioPrep{SampleRate: 16000, SampleScale: scale, ChunkSeconds: 0.1, MaxSeconds: 2},
		WithMaxBytes(1<<20))
	if err != nil {
		f.Fatal(err)
	}
	sentinels := []error{ErrEmpty, ErrUnsupportedFormat, ErrCorrupt, ErrTooLong}
	oneSentinel := func(t *testing.T, err error) {
		n := 0
		for _, s := range sentinels {
			if errors.Is(err, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("error %q matches %d sentinels, want 1", err, n)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		clip, err := p.Decode(context.Background(), data)
		if err != nil {
			oneSentinel(t, err)
			if _, perr := p.Prepare(context.Background(), data); perr == nil {
				t.Fatalf("Decode failed (%v) but Prepare succeeded", err)
			}
			return
		}
		h := clip.Header
		if int64(len(clip.Samples)) != h.Frames() || h.Seconds() > 2 {
			t.Fatalf("%d samples, header says %d frames (%v s)", len(clip.Samples), h.Frames(), h.Seconds())
		}
		for i, v := range clip.Samples {
			if !(v >= -1 && v <= 1) {
				t.Fatalf("sample %d = %v outside [-1,1]", i, v)
			}
		}
		chunks, err := p.Prepare(context.Background(), data)
		if err != nil {
			t.Fatalf("Decode succeeded but Prepare failed: %v", err)
		}
		total := 0
		for i, c := range chunks {
			if len(c) == 0 || len(c) > 1600 {
				t.Fatalf("chunk %d has %d samples, want 1..1600", i, len(c))
			}
			total += len(c)
			for _, v := range c {
				if math.IsNaN(float64(v)) || v < -scale || v > scale {
					t.Fatalf("chunk %d value %v outside ±%d", i, v, scale)
				}
			}
		}
		if want := OutLen(len(clip.Samples), h.SampleRate, 16000); total != want {
			t.Fatalf("%d samples in chunks, want %d", total, want)
		}
	})
}
