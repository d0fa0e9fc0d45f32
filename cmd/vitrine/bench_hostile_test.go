package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/internal/testenv"
)

// A small bench hostile run: the demo catalog served in-process, bombs all
// refused, normal searches all served, the burst answered and memory read.
func TestBenchHostile(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(func() {
		admin, err := testdb.AdminURL(context.Background())
		if err == nil {
			_ = testdb.Drop(context.Background(), admin, "vitrine_bench_hostile")
		}
	})
	dir := t.TempDir()
	out, md := filepath.Join(dir, "hostile.json"), filepath.Join(dir, "hostile.md")
	code, txt := e.run("bench", "hostile", "--catalog", filepath.Join(testenv.Root(t), "demo", "grocery", "catalog.jsonl"),
		"--searches", "5", "--bombers", "2", "--bomb-mib", "64", "--burst", "3", "--burst-mb", "1", "--settle", "100ms", "--json", out, "--md", md)
	if code != 0 {
		t.Fatalf("bench hostile: exit %d\n%s", code, txt)
	}
	var rep struct {
		Searches    int            `json:"searches"`
		SearchP99Ms float64        `json:"search_p99_ms"`
		SearchCodes map[string]int `json:"search_statuses"`
		Bombs       int            `json:"bombs_sent"`
		BombCodes   map[string]int `json:"bomb_statuses"`
		BurstCodes  map[string]int `json:"burst_statuses"`
		RSSStartMB  float64        `json:"rss_start_mb"`
		RSSAfterMB  float64        `json:"rss_after_mb"`
	}
	readJSON(t, out, &rep)
	if rep.SearchCodes["200"] != 5 || rep.SearchP99Ms <= 0 || rep.Bombs == 0 || rep.BombCodes["422"] != rep.Bombs {
		t.Errorf("searches and bombs: %+v", rep)
	}
	if n := rep.BurstCodes["200"] + rep.BurstCodes["503"]; n != 3 || rep.RSSStartMB <= 0 || rep.RSSAfterMB <= 0 {
		t.Errorf("burst: %+v", rep)
	}
	b, err := os.ReadFile(md)
	if err != nil || !strings.Contains(string(b), "photo search p50 / p99") {
		t.Errorf("markdown report: %v\n%s", err, b)
	}
}
