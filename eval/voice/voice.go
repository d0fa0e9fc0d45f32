// Package voice owns the voice search evaluation: spoken queries of the
// catalog's product names, synthesised with espeak-ng in several voices
// and speeds, clean and with white noise at a given SNR, transcribed with
// each language model (the catalog-constrained one and the general one)
// and searched with the served hybrid search. It reports the word error
// rate of the transcripts and how often the spoken product is in the top
// 5, per model and condition. Noise is white Gaussian noise drawn here, or
// white, pink or brown noise made by sox, scaled to each SNR.
package voice

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vitrinehq/vitrine/extractors/audioprep"
	"github.com/vitrinehq/vitrine/models"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/speech"
)

// Product is one spoken query: what is said and the product it names.
type Product struct {
	ID, Name string
}

// Recognizer transcribes 16 kHz mono samples with a named language model
// (*speech.Recognizer is one).
type Recognizer interface {
	Recognize(ctx context.Context, samples []float32, model string) (speech.Transcript, error)
}

// Searcher is the served voice search after transcription (*serving.Voice
// is one): it searches the readings heard as POST /v1/search/voice does.
type Searcher interface {
	SearchHeard(ctx context.Context, readings []string, confidence float64, req serving.VoiceRequest) (serving.VoiceResult, error)
}

// Decoder reads a WAV file into 16 kHz mono samples.
type Decoder func(ctx context.Context, wav []byte) ([]float32, error)

// WAVDecoder reads WAV files (any rate and sample format audioprep reads)
// into the recogniser's 16 kHz mono samples.
func WAVDecoder() (Decoder, error) {
	prep, err := audioprep.New(models.AudioPrep{SampleRate: speech.SampleRate})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, wav []byte) ([]float32, error) {
		c, err := prep.Prepare(ctx, wav)
		if err != nil {
			return nil, err
		}
		return c[0], nil
	}, nil
}

// Config says what to synthesise.
type Config struct {
	Voices []string  // espeak-ng voices
	Speeds []int     // words per minute
	SNRs   []float64 // noise conditions in dB besides clean
	Models []string  // language models to compare
	// Noise is the noise added at each SNR: "gaussian" ("" too), white
	// Gaussian noise drawn here, or white, pink or brown noise made by
	// sox (its whitenoise, pinknoise and brownnoise synths, repeatable).
	Noise string
	Seed  uint64
	// TempDir holds the generated audio ("" : the system's).
	TempDir string
}

// Row is one model under one condition.
type Row struct {
	Model     string  `json:"model"`
	Condition string  `json:"condition"`
	Queries   int     `json:"queries"`
	WER       float64 `json:"wer"`
	Top5      float64 `json:"top5"`
	Exact     float64 `json:"exact"`
	// Misses are the queries whose product was not in the top 5.
	Misses []Miss `json:"misses,omitempty"`
	errs   int
	words  int
	top5   int
	exact  int
}

// Miss is a query whose product the search did not find in the top 5:
// what was said (voice and speed) and the readings heard.
type Miss struct {
	Said     string   `json:"said"`
	Voice    string   `json:"voice"`
	Speed    int      `json:"speed"`
	Readings []string `json:"readings"`
}

// Report is the evaluation's result.
type Report struct {
	Products int      `json:"products"`
	Voices   []string `json:"voices"`
	Speeds   []int    `json:"speeds"`
	Noise    string   `json:"noise"`
	Rows     []Row    `json:"rows"`
}

// Run synthesises every product name in every voice and speed, then
// transcribes and searches each clip clean and at each SNR with each model.
func Run(ctx context.Context, rec Recognizer, s Searcher, dec Decoder, ps []Product, cfg Config) (Report, error) {
	dir, err := os.MkdirTemp(cfg.TempDir, "vitrine-eval-voice-")
	if err != nil {
		return Report{}, err
	}
	defer os.RemoveAll(dir)
	rows := map[string]*Row{}
	var order []string
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	noise, err := noiseSource(ctx, dir, dec, cfg.Noise, rng)
	if err != nil {
		return Report{}, err
	}
	for _, p := range ps {
		for _, v := range cfg.Voices {
			for _, sp := range cfg.Speeds {
				clean, err := synth(ctx, dir, dec, p.Name, v, sp)
				if err != nil {
					return Report{}, err
				}
				for _, cond := range conditions(cfg.SNRs) {
					clip := clean
					if cond.snr != nil {
						clip = mixNoise(clean, noise(len(clean)), *cond.snr)
					}
					for _, m := range cfg.Models {
						key := m + "\x00" + cond.name
						if rows[key] == nil {
							rows[key] = &Row{Model: m, Condition: cond.name}
							order = append(order, key)
						}
						if err := score(ctx, rec, s, rows[key], clip, m, Miss{Said: p.Name, Voice: v, Speed: sp}, p.ID); err != nil {
							return Report{}, err
						}
					}
				}
			}
		}
	}
	rep := Report{Products: len(ps), Voices: cfg.Voices, Speeds: cfg.Speeds, Noise: cmp.Or(cfg.Noise, "gaussian")}
	for _, k := range order {
		r := rows[k]
		r.WER = float64(r.errs) / float64(max(1, r.words))
		r.Top5 = float64(r.top5) / float64(max(1, r.Queries))
		r.Exact = float64(r.exact) / float64(max(1, r.Queries))
		rep.Rows = append(rep.Rows, *r)
	}
	return rep, nil
}

type condition struct {
	name string
	snr  *float64
}

func conditions(snrs []float64) []condition {
	out := []condition{{name: "clean"}}
	for i := range snrs {
		out = append(out, condition{name: fmt.Sprintf("%g dB SNR", snrs[i]), snr: &snrs[i]})
	}
	return out
}

func score(ctx context.Context, rec Recognizer, s Searcher, r *Row, clip []float32, model string, said Miss, id string) error {
	t, err := rec.Recognize(ctx, clip, model)
	if err != nil {
		return err
	}
	text := t.Text
	ref := strings.Fields(strings.ToLower(said.Said))
	r.Queries++
	r.words += len(ref)
	r.errs += EditDistance(ref, strings.Fields(text))
	if text == strings.Join(ref, " ") {
		r.exact++
	}
	said.Readings = t.Readings
	if len(said.Readings) == 0 && strings.TrimSpace(text) != "" {
		said.Readings = []string{text}
	}
	res, err := s.SearchHeard(ctx, said.Readings, t.Confidence, serving.VoiceRequest{K: 5, SkipFacets: true, SkipQueryLog: true})
	if err != nil {
		return err
	}
	for _, h := range res.Hits {
		if h.ID == id {
			r.top5++
			return nil
		}
	}
	r.Misses = append(r.Misses, said)
	return nil
}

// synth speaks text with espeak-ng into dir and decodes it.
func synth(ctx context.Context, dir string, dec Decoder, text, voice string, wpm int) ([]float32, error) {
	path := filepath.Join(dir, "q.wav")
	if out, err := exec.CommandContext(ctx, "espeak-ng", "-v", voice, "-s", fmt.Sprint(wpm), "-w", path, text).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("espeak-ng: %w: %s", err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return dec(ctx, b)
}

// soxNoise are the noise colours sox makes, by Config.Noise name.
var soxNoise = map[string]string{"white": "whitenoise", "pink": "pinknoise", "brown": "brownnoise"}

// noiseSource returns a function giving n samples of the named noise
// (any scale: mixNoise scales it). sox's noise is made once, 30 seconds
// of it, and each clip takes a window at a random offset.
func noiseSource(ctx context.Context, dir string, dec Decoder, name string, rng *rand.Rand) (func(n int) []float32, error) {
	if name == "" || name == "gaussian" {
		return func(n int) []float32 {
			out := make([]float32, n)
			for i := range out {
				out[i] = float32(rng.NormFloat64())
			}
			return out
		}, nil
	}
	synth, ok := soxNoise[name]
	if !ok {
		return nil, fmt.Errorf("noise %q: want gaussian, white, pink or brown", name)
	}
	path := filepath.Join(dir, "noise.wav")
	if out, err := exec.CommandContext(ctx, "sox", "-R", "-n", "-r", "16000", "-b", "16", "-c", "1", path, "synth", "30", synth, "vol", "0.5").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("sox: %w: %s", err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	long, err := dec(ctx, b)
	if err != nil {
		return nil, err
	}
	return func(n int) []float32 {
		out := make([]float32, n)
		if len(long) == 0 {
			return out
		}
		off := rng.IntN(len(long))
		for i := range out {
			out[i] = long[(off+i)%len(long)]
		}
		return out
	}, nil
}

// mixNoise returns clip plus noise scaled to snr dB below the clip's
// power (measured over its non-silent samples).
func mixNoise(clip, noise []float32, snr float64) []float32 {
	var ps, pn float64
	n := 0
	for _, v := range clip {
		if math.Abs(float64(v)) > 1e-3 {
			ps += float64(v) * float64(v)
			n++
		}
	}
	for _, v := range noise {
		pn += float64(v) * float64(v)
	}
	ps /= float64(max(1, n))
	pn /= float64(max(1, len(noise)))
	gain := 0.0
	if pn > 0 {
		gain = math.Sqrt(ps/pn) / math.Pow(10, snr/20)
	}
	out := make([]float32, len(clip))
	for i, v := range clip {
		out[i] = float32(float64(v) + gain*float64(noise[i]))
	}
	return out
}

// EditDistance is the word-level Levenshtein distance (substitutions,
// insertions and deletions) from ref to hyp.
func EditDistance(ref, hyp []string) int {
	prev := make([]int, len(hyp)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ref); i++ {
		cur := make([]int, len(hyp)+1)
		cur[0] = i
		for j := 1; j <= len(hyp); j++ {
			sub := prev[j-1]
			if ref[i-1] != hyp[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev = cur
	}
	return prev[len(hyp)]
}

// Text prints the report as a table.
func (r Report) Text(w io.Writer) error {
	_, err := fmt.Fprintf(w, "%d products x %d voices (%s) x %d speeds %v, %s noise\n%-12s %-12s %7s %6s %6s %6s\n",
		r.Products, len(r.Voices), strings.Join(r.Voices, ", "), len(r.Speeds), r.Speeds, r.Noise, "model", "condition", "queries", "WER", "exact", "top5")
	for _, row := range r.Rows {
		if err == nil {
			_, err = fmt.Fprintf(w, "%-12s %-12s %7d %6.3f %6.3f %6.3f\n", row.Model, row.Condition, row.Queries, row.WER, row.Exact, row.Top5)
		}
	}
	return err
}
