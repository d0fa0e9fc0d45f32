package throughput

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/extractors/onnx"
	"github.com/vitrinehq/vitrine/extractors/tokenizer"
	"github.com/vitrinehq/vitrine/internal/onnxgen"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

func TestParseGeneratedPlan(t *testing.T) {
	p, err := ParseGeneratedPlan("clip-b32,minilm", "int8, fp32,int8", "128,16,64", []int{1, 8}, "/models")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pr := range p.Presets {
		names = append(names, pr.Name)
	}
	if !slices.Equal(names, []string{"clip-b32-text", "clip-b32-vision", "minilm"}) || !slices.Equal(p.Precisions, []string{FP32, INT8}) ||
		!slices.Equal(p.SeqLens, []int{16, 64, 128}) || p.Dir != filepath.Join("/models", "generated") || p.Seed != GeneratedSeed {
		t.Errorf("plan %+v", p)
	}
	// CLIP's text tower has 77 positions: 128 becomes its maximum.
	if got := p.seqLens(p.Presets[0]); !slices.Equal(got, []int{16, 64, 77}) {
		t.Errorf("CLIP text lengths %v", got)
	}
	if got := p.seqLens(p.Presets[1]); !slices.Equal(got, []int{0}) {
		t.Errorf("image lengths %v", got)
	}
	for _, bad := range [][3]string{{"gpt-2", "fp32", "16"}, {"minilm", "fp16", "16"}, {"minilm", "fp32", "2"}, {"minilm", "fp32", "x"}} {
		if _, err := ParseGeneratedPlan(bad[0], bad[1], bad[2], []int{1}, "/m"); err == nil {
			t.Errorf("ParseGeneratedPlan(%q): no error", bad)
		}
	}
}

// TestSeqTexts: every text is exactly seq tokens at max_length seq, and
// at most a word's pieces longer without it.
func TestSeqTexts(t *testing.T) {
	tok, err := tokenizer.FromJSON(onnxgen.BERTTokenizer())
	if err != nil {
		t.Fatal(err)
	}
	for _, seq := range []int{16, 64, 128} {
		texts, err := SeqTexts(t.Context(), 5, seq)
		if err != nil {
			t.Fatal(err)
		}
		for i, text := range texts {
			full := tok.EncodeBatch([]string{string(text)}, tokenizer.BatchOptions{MaxLength: -1}).SeqLen
			cut := tok.EncodeBatch([]string{string(text)}, tokenizer.BatchOptions{MaxLength: seq}).SeqLen
			if cut != seq || full < seq || full > seq+8 {
				t.Errorf("seq %d, text %d: %d tokens, %d untruncated: %q", seq, i, cut, full, text)
			}
		}
		if bytes.Equal(texts[0], texts[1]) {
			t.Errorf("seq %d: texts 0 and 1 are the same", seq)
		}
	}
}

// TestInt8Versus checks the ratios, speed-ups and cosines a report gives.
func TestInt8Versus(t *testing.T) {
	rows := []GeneratedRow{
		{Precision: FP32, Pipeline: Result{PerSecond: 40}, Bare: Result{PerSecond: 50}},
		{Precision: INT8, Pipeline: Result{PerSecond: 90}, Bare: Result{PerSecond: 100}},
	}
	fp32 := [][]float32{{1, 0}, {0, 1}, {1, 1}}
	int8 := [][]float32{{1, 0}, {1, 1}, {2, 2}}
	if err := Int8Versus(rows, fp32, int8); err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if !near(rows[0].PipelineVsBare, 0.8) || !near(rows[1].PipelineVsBare, 0.9) {
		t.Errorf("pipeline/bare %v, %v; want 0.8, 0.9", rows[0].PipelineVsBare, rows[1].PipelineVsBare)
	}
	if !near(rows[1].PipelineSpeedup, 2.25) || !near(rows[1].BareSpeedup, 2) || rows[0].PipelineSpeedup != 0 {
		t.Errorf("speed-ups %+v", rows)
	}
	if !near(rows[1].CosMin, 1/math.Sqrt2) || !near(rows[1].CosMean, (2+1/math.Sqrt2)/3) {
		t.Errorf("cosines mean %v min %v", rows[1].CosMean, rows[1].CosMin)
	}
	// Without an fp32 row there is nothing to compare with.
	only := []GeneratedRow{{Precision: INT8, Pipeline: Result{PerSecond: 9}, Bare: Result{PerSecond: 10}}}
	if err := Int8Versus(only, nil, nil); err != nil || only[0].PipelineSpeedup != 0 || only[0].CosMean != 0 || !near(only[0].PipelineVsBare, 0.9) {
		t.Errorf("int8 alone: %+v, %v", only[0], err)
	}
	if err := Int8Versus(rows, [][]float32{{1, 0}}, [][]float32{{1, 0, 0}}); err == nil {
		t.Error("vectors of different dimensions: no error")
	}
}

// TestExtractGeneratedTiny runs the whole generated benchmark on the
// presets at test scale: install, int8 copy, every cell through the real
// pipeline and bare ORT, and the reports.
func TestExtractGeneratedTiny(t *testing.T) {
	plan, err := ParseGeneratedPlan("minilm,clip-b32", "fp32,int8", "16,100", []int{1, 4}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := range plan.Presets {
		plan.Presets[i] = plan.Presets[i].Tiny()
	}
	var progress bytes.Buffer
	cfg := ExtractConfig{ModelDir: t.TempDir(), Threads: Threads{Intra: 1, Inter: 1}, Progress: &progress,
		Photos: filepath.Join(sharedAssets(t), "data", "grocery", "photos_dev.txt")}
	rep, err := ExtractGenerated(t.Context(), testenv.Runtime(t), plan, Budget{Items: 4, Rounds: 2}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// minilm: 2 lengths (16, and 100 within its 512 positions); CLIP text:
	// 16 and 77 (its maximum for 100); CLIP vision: one; each at 2 batch
	// sizes and 2 precisions.
	if len(rep.Rows) != (2+2+1)*2*2 || len(rep.Models) != 3 {
		t.Fatalf("%d rows, %d models:\n%s", len(rep.Rows), len(rep.Models), progress.String())
	}
	for _, r := range rep.Rows {
		if !(r.Pipeline.PerSecond > 0 && r.Bare.PerSecond > 0 && r.PipelineVsBare > 0) {
			t.Errorf("%+v: a rate is missing", r)
		}
		if r.Precision == INT8 && !(r.PipelineSpeedup > 0 && r.CosMin > 0.5 && r.CosMean >= r.CosMin && r.CosMean <= 1+1e-9) {
			t.Errorf("int8 %s seq %d batch %d: speed-up %v, cosines %v/%v", r.Preset, r.SeqLen, r.Batch, r.PipelineSpeedup, r.CosMean, r.CosMin)
		}
	}
	if !strings.Contains(progress.String(), "[1/10] minilm-tiny seq 16 batch 1:") || !strings.Contains(progress.String(), "[10/10]") || !strings.Contains(progress.String(), "ETA") {
		t.Errorf("progress:\n%s", progress.String())
	}
	t.Logf("progress:\n%s", progress.String())
	var txt, md bytes.Buffer
	if err := GeneratedText(&txt, rep); err != nil || !strings.Contains(txt.String(), "INT8 SPEED-UP") {
		t.Errorf("text (%v):\n%s", err, txt.String())
	}
	if err := GeneratedMarkdown(&md, rep); err != nil || !strings.Contains(md.String(), "| minilm-tiny | int8 | 100 | 4 |") ||
		!strings.Contains(md.String(), "speed only") || !strings.Contains(md.String(), "exactly SEQ tokens") {
		t.Errorf("Markdown (%v):\n%s", err, md.String())
	}
	// A second run reuses every build.
	again, err := ExtractGenerated(t.Context(), testenv.Runtime(t), GeneratedPlan{Presets: plan.Presets[:1], Precisions: plan.Precisions,
		Batches: []int{1}, SeqLens: []int{16}, Seed: plan.Seed, Dir: plan.Dir}, Budget{Items: 1, Rounds: 1}, cfg)
	if err != nil || again.Models[0].Built {
		t.Errorf("second run: built %v, %v", again.Models, err)
	}
}

// sharedAssets is the shared data directory (VITRINE_ASSETS, else
// ../shared beside the module).
func sharedAssets(t *testing.T) string {
	if a := os.Getenv("VITRINE_ASSETS"); a != "" {
		return a
	}
	return filepath.Join(testenv.Root(t), "..", "shared")
}

// cancelOn cancels a context when a line containing mark is written.
type cancelOn struct {
	mark   string
	cancel context.CancelFunc
}

func (c cancelOn) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.mark) {
		c.cancel()
	}
	return len(p), nil
}

// TestRunGeneratedInterrupted: a run stopped after its first cell still
// prints and writes the rows it has, marked as interrupted, and returns
// the cancellation.
func TestRunGeneratedInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	dir := t.TempDir()
	cfg := ExtractConfig{ModelDir: t.TempDir(), Threads: Threads{Intra: 1, Inter: 1}, Progress: cancelOn{mark: "[1/", cancel: cancel}}
	run := GeneratedRun{Presets: "minilm", Precisions: "fp32", SeqLens: "16", Markdown: filepath.Join(dir, "gen.md")}
	plan, err := ParseGeneratedPlan(run.Presets, run.Precisions, run.SeqLens, []int{1, 2}, cfg.ModelDir)
	if err != nil {
		t.Fatal(err)
	}
	plan.Presets[0] = plan.Presets[0].Tiny()
	// A runtime of its own, since runPlan closes it; testenv.Runtime first
	// so the library is checked with its usual message.
	testenv.Runtime(t)
	open := func(ctx context.Context) (*onnx.Runtime, error) {
		return onnx.NewRuntime(ctx, onnx.WithLibraryPath(filepath.Join(testenv.Home(t), "lib", "libonnxruntime.so.1")), onnx.WithProvider(onnx.ProviderCPU))
	}
	var out bytes.Buffer
	err = runPlan(ctx, open, plan, run, Budget{Items: 2, Rounds: 1}, cfg, &out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	md, rerr := os.ReadFile(run.Markdown)
	if rerr != nil || !strings.Contains(string(md), "**Interrupted** after 1 rows") || !strings.Contains(out.String(), "INTERRUPTED") {
		t.Errorf("report (%v):\n%s\n%s", rerr, md, out.String())
	}
}
