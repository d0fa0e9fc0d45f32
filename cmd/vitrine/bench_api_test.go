package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/testdb"
)

func TestBenchAPI(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(func() {
		admin, err := testdb.AdminURL(context.Background())
		if err == nil {
			_ = testdb.Drop(context.Background(), admin, "vitrine_bench_1500")
		}
	})
	dir := t.TempDir()
	out, md, png := filepath.Join(dir, "api.json"), filepath.Join(dir, "api.md"), filepath.Join(dir, "api.png")
	code, txt := e.run("bench", "api", "--products", "1500", "--clients", "2", "--duration", "700ms", "--warmup", "200ms", "--json", out, "--md", md, "--plot", png)
	if code != 0 {
		t.Fatalf("bench api: exit %d\n%s", code, txt)
	}
	var rep struct {
		Products      int     `json:"products"`
		IngestRate    float64 `json:"ingest_products_per_second"`
		IndexSeconds  float64 `json:"index_build_seconds"`
		DatabaseBytes int64   `json:"database_bytes"`
		Results       []struct {
			Name     string `json:"name"`
			Requests int    `json:"requests"`
			Errors   int    `json:"errors"`
			FirstErr string `json:"first_error"`
			P50      int64  `json:"p50_ns"`
			P99      int64  `json:"p99_ns"`
		} `json:"results"`
	}
	readJSON(t, out, &rep)
	if rep.Products != 1500 || rep.IngestRate <= 0 || rep.IndexSeconds <= 0 || rep.DatabaseBytes < 1<<20 {
		t.Errorf("build figures %+v", rep)
	}
	// Each endpoint sits beside its bare database baseline.
	want := []string{"rank (API)", "rank (bare DB)", "search (API)", "search (bare DB)", "suggest (API)", "suggest (bare DB)", "recommend (API)", "recommend (bare DB)", "similar (API)", "similar (bare DB)",
		"recommend-after-event (API)", "recommend-after-event (bare DB)"}
	if len(rep.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(want))
	}
	for i, r := range rep.Results {
		if r.Name != want[i] || r.Requests == 0 || r.Errors != 0 || r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("result %d: %+v (want %s, requests, no errors)", i, r, want[i])
		}
	}
	assertPNG(t, png)
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"1500 synthetic products", "| rank |", "| recommend |", "| similar |", "| recommend-after-event |"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("markdown lacks %q:\n%s", s, b)
		}
	}
}
