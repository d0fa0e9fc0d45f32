package main

import (
	"context"
	"encoding/json"
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
	out := filepath.Join(t.TempDir(), "hnsw.json")
	code, txt := e.run("bench", "hnsw", "--products", "3000", "--queries", "30", "--ef", "10,80", "--json", out)
	if code != 0 {
		t.Fatalf("bench hnsw: exit %d\n%s", code, txt)
	}
	if !strings.Contains(txt, "exact scan") || !strings.Contains(txt, "HNSW index scans") {
		t.Errorf("output:\n%s", txt)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		EfSearch int     `json:"ef_search"`
		Recall   float64 `json:"recall_at_10"`
	}
	if err := json.Unmarshal(b, &rows); err != nil || len(rows) != 3 {
		t.Fatalf("rows %+v %v", rows, err)
	}
	if rows[0].EfSearch != 0 || rows[0].Recall != 1 || rows[2].EfSearch != 80 || rows[2].Recall < 0.9 {
		t.Errorf("rows %+v: want the exact baseline first and recall >= 0.9 at ef_search 80", rows)
	}
}
