package main

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/testdb"
)

func TestBenchHNSW(t *testing.T) {
	e := newEnv(t)
	// The bench makes its own database on the test's server; drop it after.
	t.Cleanup(func() {
		admin, err := testdb.AdminURL(context.Background())
		if err == nil {
			_ = testdb.Drop(context.Background(), admin, "vitrine_bench_hnsw_3000_100")
		}
	})
	dir := t.TempDir()
	out, md, png := filepath.Join(dir, "hnsw.json"), filepath.Join(dir, "hnsw.md"), filepath.Join(dir, "hnsw.png")
	code, txt := e.run("bench", "hnsw", "--products", "3000", "--queries", "30", "--ef", "10,80", "--json", out, "--md", md, "--plot", png)
	if code != 0 {
		t.Fatalf("bench hnsw: exit %d\n%s", code, txt)
	}
	if !strings.Contains(txt, "exact scan") || !strings.Contains(txt, "HNSW index scans") {
		t.Errorf("output:\n%s", txt)
	}
	var rep struct {
		Products     int     `json:"products"`
		IndexSeconds float64 `json:"index_build_seconds"`
		Reused       bool    `json:"reused"`
		Rows         []struct {
			EfSearch int     `json:"ef_search"`
			Recall   float64 `json:"recall_at_10"`
		} `json:"rows"`
	}
	readJSON(t, out, &rep)
	if rep.Products != 3000 || rep.IndexSeconds <= 0 || rep.Reused || len(rep.Rows) != 3 {
		t.Fatalf("report %+v", rep)
	}
	if r := rep.Rows; r[0].EfSearch != 0 || r[0].Recall != 1 || r[2].EfSearch != 80 || r[2].Recall < 0.9 {
		t.Errorf("rows %+v: want the exact baseline first and recall >= 0.9 at ef_search 80", r)
	}
	assertPNG(t, png)
	if b, err := os.ReadFile(md); err != nil || !strings.Contains(string(b), "| exact scan | 1.0000 |") {
		t.Errorf("markdown %v:\n%s", err, b)
	}

	// A reused database still reports what loading it cost.
	first := rep.IndexSeconds
	if code, txt := e.run("bench", "hnsw", "--products", "3000", "--queries", "10", "--ef", "40", "--reuse", "--json", out); code != 0 {
		t.Fatalf("bench hnsw --reuse: exit %d\n%s", code, txt)
	}
	readJSON(t, out, &rep)
	if !rep.Reused || rep.IndexSeconds != first {
		t.Errorf("reused run: reused %v, index %.3fs, want the first run's %.3fs", rep.Reused, rep.IndexSeconds, first)
	}

	// --rebuild-index builds the loaded index again with the graph asked for.
	code, txt = e.run("bench", "hnsw", "--products", "3000", "--queries", "10", "--ef", "40", "--reuse", "--rebuild-index", "--m", "8", "--ef-construction", "32", "--json", out)
	if code != 0 || !strings.Contains(txt, "m 8, ef_construction 32") {
		t.Fatalf("bench hnsw --rebuild-index: exit %d\n%s", code, txt)
	}
	var rebuilt struct {
		Rebuilt        bool `json:"rebuilt"`
		M              int  `json:"m"`
		EfConstruction int  `json:"ef_construction"`
	}
	readJSON(t, out, &rebuilt)
	if !rebuilt.Rebuilt || rebuilt.M != 8 || rebuilt.EfConstruction != 32 {
		t.Errorf("rebuilt run: %+v", rebuilt)
	}
	if code, txt := e.run("bench", "hnsw", "--products", "3000", "--rebuild-index"); code == 0 || !strings.Contains(txt, "--reuse") {
		t.Errorf("--rebuild-index without --reuse: exit %d\n%s", code, txt)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// assertPNG checks path holds a decodable PNG of a sensible size.
func assertPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil || cfg.Width < 300 || cfg.Height < 200 {
		t.Errorf("%s: %dx%d, %v", path, cfg.Width, cfg.Height, err)
	}
}
