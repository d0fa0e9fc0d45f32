package throughput

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/models"
)

func TestParseBatches(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		err  bool
	}{
		{"8,32", []int{1, 8, 32}, false},
		{" 32, 8 ,8,1", []int{1, 8, 32}, false},
		{"1024", []int{1, 1024}, false},
		{"0", nil, true},
		{"1025", nil, true},
		{"1,x", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseBatches(tc.in)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("ParseBatches(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseModalities(t *testing.T) {
	got, err := ParseModalities("Image, text,image")
	if err != nil || !slices.Equal(got, []models.Modality{models.Image, models.Text}) {
		t.Errorf("got %v, %v", got, err)
	}
	if _, err := ParseModalities("text,smell"); err == nil || !strings.Contains(err.Error(), `"smell"`) {
		t.Errorf("unknown modality: %v", err)
	}
}

func TestRatioAndFormatRate(t *testing.T) {
	if Ratio(3, 0) != 0 || Ratio(3, 2) != 1.5 {
		t.Errorf("Ratio: %v, %v", Ratio(3, 0), Ratio(3, 2))
	}
	for v, want := range map[float64]string{1234.56: "1235", 100: "100", 99.94: "99.9", 0.25: "0.2"} {
		if got := FormatRate(v); got != want {
			t.Errorf("FormatRate(%v) = %s, want %s", v, got, want)
		}
	}
}

func TestDecades(t *testing.T) {
	tests := []struct {
		v, below, above float64
		label           string
	}{
		{3.5, 1, 10, "1"},
		{250, 100, 1000, "100"},
		{1000, 1000, 1000, "1k"},
		{0.3, 0.1, 1, "0.1"},
		{2.5e6, 1e6, 1e7, "1M"},
	}
	for _, tc := range tests {
		if b, a := decadeBelow(tc.v), decadeAbove(tc.v); b != tc.below || a != tc.above {
			t.Errorf("decades of %v: %v, %v; want %v, %v", tc.v, b, a, tc.below, tc.above)
		}
		if l := decadeLabel(tc.below); l != tc.label {
			t.Errorf("decadeLabel(%v) = %s, want %s", tc.below, l, tc.label)
		}
	}
}

func TestQuarterRates(t *testing.T) {
	s := time.Second
	marks := []IngestMark{{25, s}, {50, 2 * s}, {75, 3 * s}, {100, 5 * s}}
	first, last := QuarterRates(marks, 100)
	if first != 25 || last != 12.5 {
		t.Errorf("quarter rates %v, %v: want 25 and 12.5", first, last)
	}
	if f, l := QuarterRates(nil, 10); f != 0 || l != 0 {
		t.Errorf("no marks: %v, %v", f, l)
	}
}

func TestListImages(t *testing.T) {
	demo := filepath.Join(testenv.Root(t), "demo", "grocery", "images")
	paths, desc, err := ListImages(demo, "")
	if err != nil || len(paths) != 81 || !filepath.IsAbs(paths[0]) || !strings.HasPrefix(desc, "81 photos in") {
		t.Errorf("demo photos: %d, %q, %v", len(paths), desc, err)
	}
	if _, _, err := ListImages(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), "no .jpg, .jpeg or .png files") {
		t.Errorf("an empty directory: %v", err)
	}
	if _, _, err := ListImages(filepath.Join(t.TempDir(), "absent"), ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("an absent directory: %v, want ErrNotExist", err)
	}
}

func TestExtractInputs(t *testing.T) {
	pool, src, err := ExtractInputs(models.Manifest{Modality: models.Text}, "", "", "")
	if err != nil || len(pool) != 64 || !strings.Contains(src, "synthetic product texts") {
		t.Errorf("texts: %d, %q, %v", len(pool), src, err)
	}
	// An explicit photos list that is missing is an error, not a fallback.
	if _, _, err := ExtractInputs(models.Manifest{Modality: models.Image}, "", filepath.Join(t.TempDir(), "none.txt"), ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing photos list: %v, want ErrNotExist", err)
	}
	if _, _, err := ExtractInputs(models.Manifest{Modality: models.Audio}, "", "", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no .wav files") {
		t.Errorf("an audio directory without clips: %v", err)
	}
}

// extractFixture is a report as Extract makes it: two modalities, batch 1
// and 8.
func extractFixture() ExtractReport {
	row := func(md string, batch int, pipe, bare float64) ExtractRow {
		return ExtractRow{Modality: md, Model: md + "@1", Batch: batch, Pipeline: Result{PerSecond: pipe}, EncodeBatch: Result{PerSecond: pipe * 1.1},
			Bare: Result{PerSecond: bare}, PipelineVsBare: pipe / bare, EncodeBatchVsBare: pipe * 1.1 / bare}
	}
	return ExtractReport{Date: "2026-01-01T00:00:00Z", CPUs: 2, Budget: "2s", MaxWait: "5ms", ORT: "1.22", Provider: "cpu",
		Inputs: []ExtractInput{{Modality: "text", Model: "text@1", Source: "texts", Distinct: 64}},
		Rows:   []ExtractRow{row("text", 1, 500, 900), row("text", 8, 2500, 3000), row("image", 1, 20, 40), row("image", 8, 60, 70)}}
}

func TestExtractReports(t *testing.T) {
	rep := extractFixture()
	var txt, md bytes.Buffer
	if err := PrintExtract(&txt, rep); err != nil || !strings.Contains(txt.String(), "PIPELINE items/s") || strings.Count(txt.String(), "\n") != 6 {
		t.Errorf("text table (%v):\n%s", err, txt.String())
	}
	if err := ExtractMarkdown(&md, rep); err != nil || !strings.Contains(md.String(), "| text | `text@1` | 8 | 2500 | 2750 | 3000 | 0.83 |") {
		t.Errorf("Markdown (%v):\n%s", err, md.String())
	}
	png := filepath.Join(t.TempDir(), "bx.png")
	if err := ExtractPlot(png, rep); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("plot: %v", err)
	}
	if err := ExtractPlot(png, ExtractReport{}); err == nil {
		t.Error("a plot of no rows: no error")
	}
}

func TestIngestReports(t *testing.T) {
	rep := IngestReport{Date: "2026-01-01T00:00:00Z", CPUs: 2, Database: "vitrine_bench_ingest", BatchSize: 64, Images: "81 photos",
		Rows: []IngestRow{
			{Case: "text, live index", Index: "live", Products: 300, IngestSeconds: 2, IngestRate: 150, TotalRate: 150, DatabaseBytes: 3 << 20, EmptyBytes: 1 << 20},
			{Case: "text, deferred index", Index: "deferred", Products: 300, IngestSeconds: 1.5, IngestRate: 200, IndexSeconds: 0.5, TotalRate: 150},
		}}
	var txt, md bytes.Buffer
	if err := PrintIngest(&txt, rep); err != nil || !strings.Contains(txt.String(), "MODELS ALONE items/s") {
		t.Errorf("text table (%v):\n%s", err, txt.String())
	}
	if err := IngestMarkdown(&md, rep); err != nil || !strings.Contains(md.String(), "| text, deferred index | 300 | 1.5 | 200 | 0.0 → 0.0 | 0.5 |") ||
		!strings.Contains(md.String(), "| text, live index | 300 | 2.0 | 150 | 0.0 → 0.0 | - |") || !strings.Contains(md.String(), "Images: 81 photos.") {
		t.Errorf("Markdown (%v):\n%s", err, md.String())
	}
	if n := IndexNote(rep.Rows[1]); n != "index build 0.5s" || IndexNote(rep.Rows[0]) != "indexes live" {
		t.Errorf("index notes %q, %q", n, IndexNote(rep.Rows[0]))
	}
}
