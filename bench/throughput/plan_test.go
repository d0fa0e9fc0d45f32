package throughput

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/models"
)

func TestExtractText(t *testing.T) {
	var b bytes.Buffer
	if err := ExtractText(&b, extractFixture()); err != nil {
		t.Fatal(err)
	}
	if want := "encoder throughput, 2s, ONNX Runtime 1.22 (cpu), 2 CPUs, 0s\n  text: text@1: texts\n\nMODALITY"; !strings.HasPrefix(b.String(), want) {
		t.Errorf("got\n%s\nwant it to start with\n%s", b.String(), want)
	}
}

func TestPlan(t *testing.T) {
	ms := []models.Manifest{{Name: "t"}, {Name: "i"}}
	all := []models.Modality{models.Text, models.Image, models.Audio}
	tests := []struct {
		name       string
		mods       []models.Modality
		configured map[models.Modality]string
		asked      bool
		want       string // plan names, or the error
		skipped    string
		is         error
	}{
		{"default skips unconfigured", all, map[models.Modality]string{models.Text: "t", models.Image: "i"}, false, "t i", "skipping audio: models.audio is empty\n", nil},
		{"asked must be configured", []models.Modality{models.Audio}, map[models.Modality]string{}, true, "--modality audio: models.audio is empty (no audio model configured)", "", nil},
		{"unknown model", []models.Modality{models.Text}, map[models.Modality]string{models.Text: "zz"}, true, `models.text: unknown model: "zz"`, "", extractors.ErrUnknownModel},
		{"nothing to measure", []models.Modality{models.Audio}, map[models.Modality]string{}, false, "--modality: no configured model to measure", "skipping audio: models.audio is empty\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var skipped bytes.Buffer
			plan, err := Plan(ms, tt.mods, tt.configured, tt.asked, &skipped)
			got := ""
			if err != nil {
				got = err.Error()
			}
			for _, m := range plan {
				got = strings.TrimSpace(got + " " + m.Name)
			}
			if got != tt.want || skipped.String() != tt.skipped {
				t.Errorf("got %q, skipped %q; want %q, %q", got, skipped.String(), tt.want, tt.skipped)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestIngestPlan(t *testing.T) {
	ok := IngestPlan{Products: 100, ImageProducts: 200, BatchSize: 0, Database: DatabasePrefix + "_x"}
	tests := []struct {
		name  string
		edit  func(*IngestPlan)
		err   string
		cases string
	}{
		{"text only", func(*IngestPlan) {}, "", "text, live index:100 text, deferred index:100"},
		{"with images", func(p *IngestPlan) { p.Images = true }, "", "text, live index:100 text, deferred index:100 text+image, live index:100 text+image, deferred index:100"},
		{"no products", func(p *IngestPlan) { p.Products = 0 }, "--products 0: want at least 1", ""},
		{"no image products", func(p *IngestPlan) { p.ImageProducts = 0 }, "--image-products 0: want at least 1", ""},
		{"negative batch", func(p *IngestPlan) { p.BatchSize = -1 }, "--batch-size -1: want at least 1 (0: ingest.batch_size)", ""},
		{"foreign database", func(p *IngestPlan) { p.Database = "shop" }, `--database "shop": want a name starting with vitrine_bench_ingest (the database is dropped and recreated)`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.edit(&p)
			err := p.Check()
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("Check() = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var cases []string
			for _, c := range p.Cases() {
				cases = append(cases, fmt.Sprintf("%s:%d", c.Name, c.Products))
			}
			if got := strings.Join(cases, " "); got != tt.cases {
				t.Errorf("cases %q, want %q", got, tt.cases)
			}
		})
	}
}

func TestIngestText(t *testing.T) {
	rep := IngestReport{CPUs: 2, Database: "vitrine_bench_ingest", BatchSize: 64, Concurrency: 2, Images: "81 photos", Seconds: 3}
	var b bytes.Buffer
	if err := IngestText(&b, rep); err != nil {
		t.Fatal(err)
	}
	if want := "ingest throughput, database vitrine_bench_ingest, batch size 64, 2 batches in flight, 2 CPUs, 3s\n  images: 81 photos\n\nCASE"; !strings.HasPrefix(b.String(), want) {
		t.Errorf("got\n%s", b.String())
	}
	row := IngestRow{IngestSeconds: 2, IngestRate: 150, FirstQuarter: 160, LastQuarter: 140, Index: "deferred", IndexSeconds: 0.5,
		ModelsOnly: Result{PerSecond: 300, Rounds: []float64{310, 290}}, DatabaseBytes: 3 << 20}
	want := "  ingest 2.0s (" + FormatRate(150) + " products/s; first quarter " + FormatRate(160) + ", last quarter " + FormatRate(140) +
		"), index build 0.5s, models alone " + FormatRate(300) + " items/s (before " + FormatRate(310) + ", after " + FormatRate(290) + "), database 3.0 MiB\n" + row.CPU.Line()
	if got := row.Line(); got != want {
		t.Errorf("Line() =\n%s\nwant\n%s", got, want)
	}
}

func TestAssets(t *testing.T) {
	root := t.TempDir()
	work := filepath.Join(root, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	if got := Assets(""); got != "" {
		t.Errorf("no ../shared: %q", got)
	}
	if got, want := Assets("data"), filepath.Join(work, "data"); got != want {
		t.Errorf("configured: %q, want %q", got, want)
	}
	if err := os.Mkdir(filepath.Join(root, "shared"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, want := Assets(""), filepath.Join(root, "shared"); got != want {
		t.Errorf("../shared: %q, want %q", got, want)
	}
}
