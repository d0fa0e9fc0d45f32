package audioprep

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/go-audio/wav"

	"github.com/vitrinehq/vitrine/models"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name   string
		cfg    models.AudioPrep
		opts   []Option
		fields []string
	}{
		{"no rate", models.AudioPrep{}, nil, []string{"sample_rate"}},
		{"rate too high", models.AudioPrep{SampleRate: 1_000_000}, nil, []string{"sample_rate"}},
		{"negative scale", models.AudioPrep{SampleRate: 16000, SampleScale: -1}, nil, []string{"sample_scale"}},
		{"NaN scale", models.AudioPrep{SampleRate: 16000, SampleScale: float32(math.NaN())}, nil, []string{"sample_scale"}},
		{"negative chunk", models.AudioPrep{SampleRate: 16000, ChunkSeconds: -1}, nil, []string{"chunk_seconds"}},
		{"chunk under a sample", models.AudioPrep{SampleRate: 16000, ChunkSeconds: 1e-6}, nil, []string{"chunk_seconds"}},
		{"infinite max", models.AudioPrep{SampleRate: 16000, MaxSeconds: math.Inf(1)}, nil, []string{"max_seconds"}},
		{"negative max", models.AudioPrep{SampleRate: 16000, MaxSeconds: -3}, nil, []string{"max_seconds"}},
		{"max bytes", models.AudioPrep{SampleRate: 16000}, []Option{WithMaxBytes(0)}, []string{"max_bytes"}},
		{"several", models.AudioPrep{SampleRate: 16000, SampleScale: -1, ChunkSeconds: math.NaN()}, nil, []string{"sample_scale", "chunk_seconds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg, tt.opts...)
			if p != nil || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, %v; want ErrInvalidConfig", p, err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%v is not a *ConfigError", err)
			}
			for _, f := range tt.fields {
				if !bytes.Contains([]byte(err.Error()), []byte(f+":")) {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
		})
	}
	p := mustNew(t, models.AudioPrep{SampleRate: 16000})
	if p.scale != 1 || p.chunk != 0 || p.maxSeconds != DefaultMaxSeconds || p.SampleRate() != 16000 {
		t.Errorf("defaults: scale %v chunk %d max %v", p.scale, p.chunk, p.maxSeconds)
	}
}

// TestParseHeader: the values sox (soxi) reports for each fixture.
func TestParseHeader(t *testing.T) {
	tests := []struct {
		file       string
		enc        Encoding
		ext        bool
		ch, rate   int
		bits       int
		frames     int64
		seconds    float64
		dataOffset int
	}{
		{"s16.wav", IntPCM, false, 1, 48000, 16, 9600, 0.2, 44},
		{"u8.wav", IntPCM, false, 1, 48000, 8, 9600, 0.2, 44},
		{"s24.wav", IntPCM, true, 1, 48000, 24, 9600, 0.2, 80},
		{"s24_plain.wav", IntPCM, false, 1, 48000, 24, 9600, 0.2, 44},
		{"s32.wav", IntPCM, true, 1, 48000, 32, 9600, 0.2, 80},
		{"f32.wav", FloatPCM, false, 1, 48000, 32, 9600, 0.2, 58},
		{"f32_ext.wav", FloatPCM, true, 1, 48000, 32, 9600, 0.2, 68},
		{"f64.wav", FloatPCM, false, 1, 48000, 64, 9600, 0.2, 58},
		{"stereo.wav", IntPCM, false, 2, 48000, 16, 9600, 0.2, 44},
		{"surround51.wav", IntPCM, true, 6, 48000, 16, 2400, 0.05, 80},
		{"44k1.wav", IntPCM, false, 1, 44100, 16, 8820, 0.2, 44},
		{"fsdd/0_jackson_0.wav", IntPCM, false, 1, 8000, 16, 5148, 0.6435, 44},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h, err := ParseHeader(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if h.Encoding != tt.enc || h.Extensible != tt.ext || h.Channels != tt.ch || h.SampleRate != tt.rate ||
				h.BitsPerSample != tt.bits || h.ValidBits != tt.bits || h.Frames() != tt.frames || h.DataOffset != tt.dataOffset {
				t.Errorf("ParseHeader = %+v (frames %d)", h, h.Frames())
			}
			if math.Abs(h.Seconds()-tt.seconds) > 1e-9 {
				t.Errorf("Seconds = %v, want %v", h.Seconds(), tt.seconds)
			}
		})
	}
}

// TestDecodeFormats: every fixture was made by sox from s16.wav, so each
// must decode to the same samples, within what its encoding can hold.
func TestDecodeFormats(t *testing.T) {
	ref := decode(t, fixture(t, "s16.wav")).Samples
	tests := []struct {
		file  string
		scale float32 // expected = scale * ref
		tol   float64
	}{
		{"u8.wav", 1, 1.0 / 128}, // 8-bit keeps the top 8 bits
		{"s24.wav", 1, 0},        // sox shifts 16-bit values left: exact
		{"s24_plain.wav", 1, 0},
		{"s32.wav", 1, 0},
		{"f32.wav", 1, 0}, // v/32768 is exact in float32
		{"f32_ext.wav", 1, 0},
		{"f64.wav", 1, 0},
		// Left is the signal, right is -0.5 times it: the mix is 0.25 times
		// the signal, up to the right channel's rounding.
		{"stereo.wav", 0.25, 1.0 / 32768},
		// Six copies of the first 0.05 s.
		{"surround51.wav", 1, 1e-7},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := decode(t, fixture(t, tt.file)).Samples
			want := ref[:len(got)]
			if tt.file != "surround51.wav" && len(got) != len(ref) {
				t.Fatalf("%d samples, want %d", len(got), len(ref))
			}
			var worst float64
			for i := range got {
				if got[i] < -1 || got[i] > 1 {
					t.Fatalf("sample %d = %v outside [-1,1]", i, got[i])
				}
				worst = max(worst, math.Abs(float64(got[i]-tt.scale*want[i])))
			}
			if worst > tt.tol {
				t.Errorf("differs from s16.wav by up to %v (tolerance %v)", worst, tt.tol)
			}
		})
	}
}

// TestDecodeMatchesGoAudioWav cross-checks integer PCM against
// github.com/go-audio/wav, which reads these correctly (it misreads float
// and has no limits, which is why it is not used for decoding).
func TestDecodeMatchesGoAudioWav(t *testing.T) {
	for _, f := range []string{"s16.wav", "s24.wav", "s24_plain.wav", "s32.wav", "44k1.wav",
		"fsdd/0_jackson_0.wav", "fsdd/3_theo_0.wav", "fsdd/7_jackson_0.wav"} {
		t.Run(f, func(t *testing.T) {
			b := fixture(t, f)
			d := wav.NewDecoder(bytes.NewReader(b))
			buf, err := d.FullPCMBuffer()
			if err != nil {
				t.Fatal(err)
			}
			got := decode(t, b).Samples
			if len(got) != len(buf.Data) {
				t.Fatalf("%d samples, go-audio/wav has %d", len(got), len(buf.Data))
			}
			full := float64(int64(1) << (d.BitDepth - 1))
			for i, v := range buf.Data {
				if want := float32(float64(v) / full); got[i] != want {
					t.Fatalf("sample %d = %v, go-audio/wav gives %v", i, got[i], want)
				}
			}
		})
	}
}

func TestStreamingSize(t *testing.T) {
	// A writer that could not seek back leaves 0xFFFFFFFF: read to the end.
	b := pcm16(8000, []float64{0.5, -0.5, 0.25, 0})
	binary.LittleEndian.PutUint32(b[40:], 0xffffffff)
	c := decode(t, b)
	want := []float32{16384.0 / 32768, -16384.0 / 32768, 8192.0 / 32768, 0} // round(v*32767)/32768
	if !slices.Equal(c.Samples, want) {
		t.Errorf("samples %v, want %v", c.Samples, want)
	}
}

func TestBadInputs(t *testing.T) {
	sentinels := []error{ErrEmpty, ErrUnsupportedFormat, ErrCorrupt, ErrTooLong}
	s16 := fixture(t, "s16.wav")
	nan := make([]byte, 8)
	binary.LittleEndian.PutUint32(nan, math.Float32bits(0.5))
	binary.LittleEndian.PutUint32(nan[4:], math.Float32bits(float32(math.NaN())))
	badAlign := fmtBody(1, 2, 8000, 16)
	badAlign[12] = 3
	unknownGUID := append(fmtBody(0xfffe, 1, 8000, 16), make([]byte, 24)...)
	unknownGUID[16] = 22
	extFloat16 := append(fmtBody(0xfffe, 1, 8000, 16), 22, 0, 16, 0, 4, 0, 0, 0, 3, 0)
	extFloat16 = append(extFloat16, "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"...)
	tests := []struct {
		name string
		data []byte
		opts []Option
		want error
	}{
		{"empty", nil, nil, ErrEmpty},
		{"header only", wavBytes(fmtBody(1, 1, 8000, 16), 0, nil), nil, ErrEmpty},
		{"no data chunk", s16[:36], nil, ErrEmpty},
		{"half a frame", wavBytes(fmtBody(1, 2, 8000, 16), 2, []byte{1, 2}), nil, ErrEmpty},
		{"one hour declared", wavBytes(fmtBody(1, 1, 8000, 16), 3600*8000*2, nil), nil, ErrTooLong},
		{"one hour, 16 kHz stereo float", wavBytes(fmtBody(3, 2, 16000, 32), 0xfff00000, nil), nil, ErrTooLong},
		{"over max bytes", s16, []Option{WithMaxBytes(1000)}, ErrTooLong},
		{"size larger than file", wavBytes(fmtBody(1, 1, 8000, 16), 8000*2, make([]byte, 100)), nil, ErrCorrupt},
		{"truncated", s16[:len(s16)/2], nil, ErrCorrupt},
		{"RIFF cut", []byte("RIF"), nil, ErrCorrupt},
		{"RIFF header cut", s16[:10], nil, ErrCorrupt},
		{"fmt past the end", append([]byte("RIFF\x00\x00\x00\x00WAVEfmt \xe8\x03\x00\x00"), make([]byte, 20)...), nil, ErrCorrupt},
		{"short fmt", append([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x08\x00\x00\x00"), make([]byte, 20)...), nil, ErrCorrupt},
		{"no fmt", []byte("RIFF\x10\x00\x00\x00WAVEdata\x04\x00\x00\x00\x01\x02\x03\x04"), nil, ErrCorrupt},
		{"block align", wavBytes(badAlign, 4, make([]byte, 4)), nil, ErrCorrupt},
		{"zero channels", wavBytes(fmtBody(1, 0, 8000, 16), 4, make([]byte, 4)), nil, ErrCorrupt},
		{"NaN sample", wavBytes(fmtBody(3, 1, 8000, 32), 8, nan), nil, ErrCorrupt},
		{"not RIFF", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), nil, ErrUnsupportedFormat},
		{"RIFX", append([]byte("RIFX\x00\x00\x00\x24WAVE"), s16[12:]...), nil, ErrUnsupportedFormat},
		{"RIFF AVI", []byte("RIFF\x00\x00\x00\x00AVI LIST"), nil, ErrUnsupportedFormat},
		{"mu-law", fixture(t, "mulaw.wav"), nil, ErrUnsupportedFormat},
		{"IMA ADPCM", fixture(t, "adpcm.wav"), nil, ErrUnsupportedFormat},
		{"12-bit PCM", wavBytes(fmtBody(1, 1, 8000, 12), 0, nil), nil, ErrUnsupportedFormat},
		{"16-bit float", wavBytes(extFloat16, 4, make([]byte, 4)), nil, ErrUnsupportedFormat},
		{"unknown sub-format", wavBytes(unknownGUID, 4, make([]byte, 4)), nil, ErrUnsupportedFormat},
		{"100 Hz", wavBytes(fmtBody(1, 1, 100, 16), 4, make([]byte, 4)), nil, ErrUnsupportedFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, speech16k(), tt.opts...)
			got, err := p.Prepare(t.Context(), tt.data)
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("Prepare = %d chunks, %v; want %v", len(got), err, tt.want)
			}
			for _, s := range sentinels {
				if s != tt.want && errors.Is(err, s) {
					t.Errorf("error %v also matches %v", err, s)
				}
			}
		})
	}
}

// TestLyingHeaderIsCheap: an hour-long or oversized claim is refused from
// the header without allocating for the samples it claims.
func TestLyingHeaderIsCheap(t *testing.T) {
	p := mustNew(t, speech16k())
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"hour", wavBytes(fmtBody(1, 1, 8000, 16), 3600*8000*2, nil), ErrTooLong},
		{"4 GB data chunk", wavBytes(fmtBody(1, 1, 768000, 8), 0xfffffff0, nil), ErrTooLong},
		{"20 s declared, 100 bytes present", wavBytes(fmtBody(1, 1, 8000, 16), 20*8000*2, make([]byte, 100)), ErrCorrupt},
	}
	for _, tt := range tests {
		const runs = 200
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		allocs := testing.AllocsPerRun(runs, func() {
			if _, err := p.Prepare(context.Background(), tt.data); !errors.Is(err, tt.want) {
				t.Fatalf("%s: %v, want %v", tt.name, err, tt.want)
			}
		})
		runtime.ReadMemStats(&after)
		perRun := (after.TotalAlloc - before.TotalAlloc) / (runs + 1)
		if allocs > 10 || perRun > 1024 {
			t.Errorf("%s: %v allocations, %d bytes per refused call", tt.name, allocs, perRun)
		}
	}
}

func TestPrepareChunks(t *testing.T) {
	b := fixture(t, "fsdd/0_jackson_0.wav") // 5148 samples at 8 kHz
	cfg := speech16k()
	whole := cfg
	whole.ChunkSeconds = 0
	all, err := mustNew(t, whole).Prepare(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || len(all[0]) != 10296 {
		t.Fatalf("unchunked: %d chunks, first %d samples; want 1 of 10296", len(all), len(all[0]))
	}
	chunks, err := mustNew(t, cfg).Prepare(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	lens := make([]int, len(chunks))
	for i, c := range chunks {
		lens[i] = len(c)
		if cap(c) != len(c) {
			t.Errorf("chunk %d: cap %d > len %d, appending would overwrite the next", i, cap(c), len(c))
		}
	}
	if want := []int{4000, 4000, 2296}; !slices.Equal(lens, want) {
		t.Fatalf("chunk lengths %v, want %v", lens, want)
	}
	if !slices.Equal(slices.Concat(chunks...), all[0]) {
		t.Error("chunks do not concatenate to the unchunked output")
	}
	// int16 scale: the loudest sample of a normal recording is well above
	// 1 and never above 32768.
	peak := float32(0)
	for _, v := range all[0] {
		peak = max(peak, float32(math.Abs(float64(v))))
	}
	if peak < 1000 || peak > 32768 {
		t.Errorf("peak %v, want int16-scale values", peak)
	}
}

// TestPrepareMatchesSox compares the 8 kHz -> 16 kHz resampling of an FSDD
// recording with sox's very-high-quality linear-phase resampler (the
// reference file was made with `sox ... rate -v 16000`). The two filters
// differ only near 4 kHz, where speech has little energy. Measured: 48.5 dB;
// linear interpolation gets 29 dB.
func TestPrepareMatchesSox(t *testing.T) {
	p := mustNew(t, models.AudioPrep{SampleRate: 16000})
	got, err := p.Prepare(t.Context(), fixture(t, "fsdd/0_jackson_0.wav"))
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, fixture(t, "fsdd/0_jackson_0.sox16k.wav")).Samples
	if len(got[0]) != len(want) {
		t.Fatalf("%d samples, sox made %d", len(got[0]), len(want))
	}
	if snr := snrDB(want, got[0]); snr < 45 {
		t.Errorf("SNR against sox %.1f dB, want >= 45", snr)
	}
}

// TestPrepare44k1 resamples the 44.1 kHz and 48 kHz versions of the same
// sound to 16 kHz; they must agree.
func TestPrepare44k1(t *testing.T) {
	p := mustNew(t, models.AudioPrep{SampleRate: 16000})
	a, err := p.Prepare(t.Context(), fixture(t, "s16.wav"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Prepare(t.Context(), fixture(t, "44k1.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a[0]) != 3200 || len(b[0]) != 3200 {
		t.Fatalf("lengths %d and %d, want 3200", len(a[0]), len(b[0]))
	}
	// Skip the edges, where each sees a different partial kernel.
	if snr := snrDB(a[0][100:3100], b[0][100:3100]); snr < 30 {
		t.Errorf("48 kHz and 44.1 kHz sources differ: SNR %.1f dB", snr)
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := mustNew(t, speech16k()).Prepare(ctx, fixture(t, "s16.wav")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func BenchmarkPrepare(b *testing.B) {
	p := mustNew(b, speech16k())
	data := fixture(b, "fsdd/0_jackson_0.wav")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Prepare(context.Background(), data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFormNotRepeated: a RIFF file of another form is refused without its
// form's bytes in the error (a file ingested from disk could be anything).
func TestFormNotRepeated(t *testing.T) {
	data := append([]byte("RIFF\x24\x00\x00\x00SECR"), make([]byte, 32)...)
	_, err := ParseHeader(data)
	if !errors.Is(err, ErrUnsupportedFormat) || strings.Contains(err.Error(), "SECR") {
		t.Fatalf("error %v: want ErrUnsupportedFormat without the form's bytes", err)
	}
}
