package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/eval/photos"
	"github.com/vitrinehq/vitrine/eval/search"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/report"
)

// evalSharedDir is the read-only data mirror: VITRINE_ASSETS, else ../shared
// beside the checkout.
func evalSharedDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("VITRINE_ASSETS")
	if d == "" {
		d = filepath.Join(testenv.Root(t), "..", "shared")
	}
	if _, err := os.Stat(filepath.Join(d, "data", "grocery", "photos_dev.txt")); err != nil {
		t.Fatalf("grocery photos (set VITRINE_ASSETS to the shared directory): %v", err)
	}
	return d
}

// TestEvalGrocery ingests the demo catalog and runs both evaluations
// through the binary. The default models measure (BENCHMARKS.md) fine
// accuracy@5 0.709 and coarse 0.804 on the 148 dev photos, hybrid nDCG@10
// 0.885 on the 98 grocery queries; retrieval is exact on 81 products, so
// the figures only move with the models. The thresholds leave about 0.15
// of margin for another execution provider or a retrained model, and stay
// far above chance (fine accuracy@5 by chance is 5/81 = 0.06), so they
// catch a broken pipeline, not noise.
func TestEvalGrocery(t *testing.T) {
	e := newEnv(t)
	catalogPath := filepath.Join(testenv.Root(t), "demo", "grocery", "catalog.jsonl")
	if code, out := e.run("ingest", catalogPath); code != 0 {
		t.Fatalf("ingest: exit %d\n%s", code, out)
	}
	tmp := t.TempDir()

	photosJSON, photosMD := filepath.Join(tmp, "photos.json"), filepath.Join(tmp, "photos.md")
	code, out := e.run("eval", "photos", "--photos", filepath.Join(evalSharedDir(t), "data", "grocery", "photos_dev.txt"), "--json", photosJSON, "--md", photosMD)
	if code != 0 {
		t.Fatalf("eval photos: exit %d\n%s", code, out)
	}
	t.Logf("eval photos:\n%s", out)
	var pr photos.Report
	evalReadJSON(t, photosJSON, &pr)
	if pr.Fine.Evaluated != 148 || pr.Products != 81 || len(pr.PerPhoto) != 148 {
		t.Errorf("%d photos evaluated against %d products, want 148 against 81", pr.Fine.Evaluated, pr.Products)
	}
	if pr.Fine.At5 <= 0.55 || pr.Fine.At5 < 5*pr.Fine.Chance5 {
		t.Errorf("fine accuracy@5 %.3f: want > 0.55 and 5x chance (%.3f)", pr.Fine.At5, pr.Fine.Chance5)
	}
	if pr.Coarse.At5 <= 0.65 {
		t.Errorf("coarse accuracy@5 %.3f: want > 0.65", pr.Coarse.At5)
	}
	if pr.Coarse.At5 < pr.Fine.At5 || pr.Fine.At5 < pr.Fine.At1 {
		t.Errorf("accuracies out of order: fine @1 %.3f @5 %.3f, coarse @5 %.3f", pr.Fine.At1, pr.Fine.At5, pr.Coarse.At5)
	}
	if md := evalReadText(t, photosMD); !strings.Contains(md, "| fine |") {
		t.Errorf("photos Markdown:\n%s", md)
	}

	queries, qrels := filepath.Join(tmp, "q.tsv"), filepath.Join(tmp, "qrels")
	searchJSON, searchMD, plotPNG := filepath.Join(tmp, "search.json"), filepath.Join(tmp, "search.md"), filepath.Join(tmp, "search.png")
	code, out = e.run("eval", "search", "--grocery", "--queries", queries, "--qrels", qrels, "--json", searchJSON, "--md", searchMD, "--plot", plotPNG)
	if code != 0 {
		t.Fatalf("eval search --grocery: exit %d\n%s", code, out)
	}
	t.Logf("eval search --grocery:\n%s", out)
	for _, want := range []string{"fine-00\tGolden Delicious\n", "coarse-00\tApple\n"} {
		if !strings.Contains(evalReadText(t, queries), want) {
			t.Errorf("queries file lacks %q", want)
		}
	}
	for _, want := range []string{"fine-00 0 grocery-00-golden-delicious 2\n", "fine-00 0 grocery-01-granny-smith 1\n"} {
		if !strings.Contains(evalReadText(t, qrels), want) {
			t.Errorf("qrels file lacks %q", want)
		}
	}
	var sr search.Report
	evalReadJSON(t, searchJSON, &sr)
	if sr.Evaluated < 81 || sr.Skipped != 0 || len(sr.Methods) != 3 {
		t.Fatalf("%d queries evaluated, %d skipped, %d methods", sr.Evaluated, sr.Skipped, len(sr.Methods))
	}
	for _, m := range sr.Methods {
		if len(m.Curve) != report.CurveK || m.Curve[report.CurveK-1].Recall < m.Curve[0].Recall {
			t.Errorf("%s: recall curve %+v", m.Method, m.Curve)
		}
		if m.Method == "hybrid" && m.NDCG10 <= 0.75 {
			t.Errorf("hybrid nDCG@10 %.3f, want > 0.75", m.NDCG10)
		}
	}
	if md := evalReadText(t, searchMD); !strings.Contains(md, "| hybrid |") {
		t.Errorf("search Markdown:\n%s", md)
	}
	f, err := os.Open(plotPNG)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width < 300 {
		t.Errorf("plot: %+v, %v", cfg, err)
	}

	// Re-running on the files it wrote, without --grocery, gives the same figures.
	code, out = e.run("eval", "search", "--queries", queries, "--qrels", qrels, "--json", searchJSON)
	if code != 0 {
		t.Fatalf("eval search: exit %d\n%s", code, out)
	}
	var again search.Report
	evalReadJSON(t, searchJSON, &again)
	for i, m := range again.Methods {
		if m.NDCG10 != sr.Methods[i].NDCG10 {
			t.Errorf("%s nDCG@10 %v then %v", m.Method, sr.Methods[i].NDCG10, m.NDCG10)
		}
	}
	if code, out := e.run("eval", "search"); code == 0 || !strings.Contains(out, "give --queries and --qrels, or --grocery") {
		t.Errorf("eval search without inputs: exit %d\n%s", code, out)
	}
}

func evalReadText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func evalReadJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(evalReadText(t, path)), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
