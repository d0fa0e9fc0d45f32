package voice

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/speech"
)

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		ref, hyp string
		want     int
	}{
		{"oatly oat milk", "oatly oat milk", 0},
		{"oatly oat milk", "the oat milk", 1},
		{"red bell pepper", "red bell", 1},
		{"galia melon", "", 2},
		{"", "the", 1},
		{"a b c", "c b a", 2},
	} {
		if got := EditDistance(strings.Fields(c.ref), strings.Fields(c.hyp)); got != c.want {
			t.Errorf("%q -> %q: %d, want %d", c.ref, c.hyp, got, c.want)
		}
	}
}

func TestMixNoiseSNR(t *testing.T) {
	clip := make([]float32, 16000)
	for i := range clip {
		clip[i] = float32(0.5 * math.Sin(float64(i)/5))
	}
	gauss, err := noiseSource(t.Context(), t.TempDir(), decodeWAV, "", rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	pink, err := noiseSource(t.Context(), t.TempDir(), decodeWAV, "pink", rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for name, noise := range map[string]func(int) []float32{"gaussian": gauss, "sox pink": pink} {
		for _, want := range []float64{0, 10, 20} {
			noisy := mixNoise(clip, noise(len(clip)), want)
			var ps, pn float64
			for i := range clip {
				ps += float64(clip[i]) * float64(clip[i])
				d := float64(noisy[i] - clip[i])
				pn += d * d
			}
			if snr := 10 * math.Log10(ps/pn); math.Abs(snr-want) > 0.3 {
				t.Errorf("%s: SNR %.2f dB, want %g", name, snr, want)
			}
		}
	}
	if _, err := noiseSource(t.Context(), t.TempDir(), decodeWAV, "purple", nil); err == nil {
		t.Error("purple noise accepted")
	}
}

// hears transcribes every clip as the product name when the model is
// "good", and as nothing otherwise.
type hears struct{ name string }

func (h hears) Recognize(_ context.Context, _ []float32, model string) (speech.Transcript, error) {
	if model == "good" {
		return speech.Transcript{Text: h.name, Readings: []string{h.name}}, nil
	}
	return speech.Transcript{}, nil
}

// finds finds the product for the reading it knows, and nothing else.
type finds struct{ id, reading string }

func (f finds) SearchHeard(_ context.Context, readings []string, _ float64, _ serving.VoiceRequest) (serving.VoiceResult, error) {
	if len(readings) == 0 || readings[0] != f.reading {
		return serving.VoiceResult{}, nil
	}
	return serving.VoiceResult{SearchResult: serving.SearchResult{Hits: []serving.Hit{{ID: "other"}, {ID: f.id}}}}, nil
}

// decodeWAV reads espeak-ng's 16-bit mono WAV samples (rate unchanged:
// enough for a test of the bookkeeping).
func decodeWAV(_ context.Context, b []byte) ([]float32, error) {
	out := make([]float32, (len(b)-44)/2)
	for i := range out {
		out[i] = float32(int16(binary.LittleEndian.Uint16(b[44+2*i:]))) / 32768
	}
	return out, nil
}

func TestRunCountsPerModelAndCondition(t *testing.T) {
	ps := []Product{{ID: "p1", Name: "Galia Melon"}}
	rep, err := Run(t.Context(), hears{"galia melon"}, finds{"p1", "galia melon"}, decodeWAV, ps, Config{Voices: []string{"en-us+klatt", "en-us+klatt2"},
		Speeds: []int{170}, SNRs: []float64{10}, Models: []string{"good", "deaf"}, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{{Model: "good", Condition: "clean", Queries: 2, WER: 0, Top5: 1, Exact: 1},
		{Model: "deaf", Condition: "clean", Queries: 2, WER: 1, Top5: 0, Exact: 0},
		{Model: "good", Condition: "10 dB SNR", Queries: 2, WER: 0, Top5: 1, Exact: 1},
		{Model: "deaf", Condition: "10 dB SNR", Queries: 2, WER: 1, Top5: 0, Exact: 0}}
	if len(rep.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rep.Rows), len(want))
	}
	for i, w := range want {
		g := rep.Rows[i]
		if g.Model != w.Model || g.Condition != w.Condition || g.Queries != w.Queries || g.WER != w.WER || g.Top5 != w.Top5 || g.Exact != w.Exact {
			t.Errorf("row %d: %+v, want %+v", i, g, w)
		}
	}
	if m := rep.Rows[1].Misses; len(m) != 2 || m[0].Said != "Galia Melon" || m[0].Voice != "en-us+klatt" || m[1].Speed != 170 || rep.Rows[0].Misses != nil {
		t.Errorf("misses %+v, want both deaf clips", m)
	}
	var b strings.Builder
	if err := rep.Text(&b); err != nil || !strings.Contains(b.String(), "10 dB SNR") {
		t.Errorf("text: %v\n%s", err, b.String())
	}
}
