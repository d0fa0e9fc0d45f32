package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/testdb"
)

func TestBenchSearch(t *testing.T) {
	e := newEnv(t)
	t.Cleanup(func() {
		admin, err := testdb.AdminURL(context.Background())
		if err == nil {
			_ = testdb.Drop(context.Background(), admin, "vitrine_bench_600")
		}
	})
	dir := t.TempDir()
	out, md := filepath.Join(dir, "search.json"), filepath.Join(dir, "search.md")
	code, txt := e.run("bench", "search", "--products", "600", "--clients", "2", "--duration", "300ms", "--warmup", "0", "--json", out, "--md", md)
	if code != 0 {
		t.Fatalf("bench search: exit %d\n%s", code, txt)
	}
	type result struct {
		Requests int    `json:"requests"`
		Errors   int    `json:"errors"`
		FirstErr string `json:"first_error"`
		P50      int64  `json:"p50_ns"`
		P99      int64  `json:"p99_ns"`
	}
	var rep struct {
		Products int `json:"products"`
		Build    struct {
			Seconds float64 `json:"seconds"`
			Bytes   int64   `json:"index_bytes"`
		} `json:"index_build"`
		Bleve struct {
			Seconds   float64 `json:"seconds"`
			DiskBytes int64   `json:"disk_bytes"`
		} `json:"bleve_build"`
		Groups []struct {
			Name            string   `json:"name"`
			Queries         []string `json:"queries"`
			Matched         float64  `json:"index_matched"`
			Scored          float64  `json:"index_scored"`
			PostgresMatched float64  `json:"postgres_matched"`
			BleveMatched    float64  `json:"bleve_matched"`
		} `json:"groups"`
		Rows []struct {
			Leg, Group, Engine string
			Result             result
		} `json:"rows"`
	}
	readJSON(t, out, &rep)
	if rep.Products != 600 || rep.Build.Seconds <= 0 || rep.Build.Bytes <= 0 {
		t.Errorf("build figures %+v", rep.Build)
	}
	if rep.Bleve.Seconds <= 0 || rep.Bleve.DiskBytes <= 0 {
		t.Errorf("bleve build figures %+v", rep.Bleve)
	}
	wantGroups := []string{"frequent word", "1 word", "2 words", "3 words"}
	if len(rep.Groups) != len(wantGroups) {
		t.Fatalf("groups %+v, want %v", rep.Groups, wantGroups)
	}
	for i, g := range rep.Groups {
		// Every group's queries come from the catalog's words: every
		// engine matches some products, and the index scores no more than
		// it matches.
		if g.Name != wantGroups[i] || len(g.Queries) == 0 || g.Matched <= 0 || g.PostgresMatched <= 0 || g.BleveMatched <= 0 || g.Scored <= 0 || g.Scored > g.Matched {
			t.Errorf("group %d: %+v (want %s with matches on every engine)", i, g, wantGroups[i])
		}
	}
	// Each lexical group on the three engines, each hybrid one on the two
	// served ones, index first, every one answered.
	var want []string
	for _, g := range wantGroups {
		want = append(want, "lexical/"+g+"/index", "lexical/"+g+"/bleve", "lexical/"+g+"/ts_rank_cd")
	}
	for _, engine := range []string{"index", "ts_rank_cd"} {
		for _, g := range wantGroups {
			want = append(want, "hybrid/"+g+"/"+engine)
		}
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rep.Rows), len(want))
	}
	for i, r := range rep.Rows {
		if got := r.Leg + "/" + r.Group + "/" + r.Engine; got != want[i] || r.Result.Requests == 0 || r.Result.Errors != 0 || r.Result.P50 <= 0 || r.Result.P99 < r.Result.P50 {
			t.Errorf("row %d: %s %+v (want %s, requests, no errors)", i, got, r.Result, want[i])
		}
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"600 synthetic products", "| lexical | frequent word | index |", "| lexical | 2 words | bleve |", "| hybrid | 3 words | ts_rank_cd |", "baseline"} {
		if !strings.Contains(string(b), s) {
			t.Errorf("markdown lacks %q:\n%s", s, b)
		}
	}
}
