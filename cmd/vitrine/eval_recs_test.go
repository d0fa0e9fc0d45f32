package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/internal/testenv"
)

// writePlantedInteractions writes a "user item rating timestamp" file in
// which users of c clusters mostly rate their cluster's items, with
// power-law item popularity inside each cluster.
func writePlantedInteractions(t testing.TB, path string, users, items, clusters, perUser int, seed uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	r := rand.New(rand.NewPCG(seed, 9))
	per := items / clusters
	for u := range users {
		c := u % clusters
		seen := map[int]bool{}
		for j := 0; j < perUser; j++ {
			cl := c
			if r.Float64() < 0.2 {
				cl = r.IntN(clusters)
			}
			// Zipf-like: low ranks within the cluster are popular.
			i := cl*per + int(float64(per)*r.Float64()*r.Float64())
			if seen[i] {
				continue
			}
			seen[i] = true
			fmt.Fprintf(w, "u%d\ti%d\t%d\t%d\n", u, i, 1+r.IntN(5), 880000000+u*1000+j)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestEvalRecsPlanted(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "u.data")
	writePlantedInteractions(t, path, 300, 200, 5, 40, 1)
	out := filepath.Join(dir, "recs.json")
	code, txt := e.run("eval", "recs", "--interactions", path, "--factors", "16", "--json", out, "--md", filepath.Join(dir, "recs.md"))
	if code != 0 {
		t.Fatalf("eval recs: exit %d\n%s", code, txt)
	}
	t.Log("\n" + txt)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res []struct {
		Method  string
		Summary struct {
			Metrics []struct {
				Name string
				Mean float64
			}
		}
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	recall := map[string]float64{}
	for _, r := range res {
		for _, m := range r.Summary.Metrics {
			if m.Name == "recall@10" {
				recall[r.Method] = m.Mean
			}
		}
	}
	for _, m := range []string{"itemknn", "als", "bpr", "hybrid"} {
		if recall[m] <= recall["popularity"]*1.2 {
			t.Errorf("%s recall@10 %.3f is not clearly above popularity's %.3f", m, recall[m], recall["popularity"])
		}
	}
	if !strings.Contains(txt, "hybrid weights") {
		t.Errorf("no tuned weights reported:\n%s", txt)
	}
	// Same seed, same figures.
	out2 := filepath.Join(dir, "recs2.json")
	if code, txt := e.run("eval", "recs", "--interactions", path, "--factors", "16", "--json", out2); code != 0 {
		t.Fatalf("second run: %d\n%s", code, txt)
	}
	b2, _ := os.ReadFile(out2)
	strip := func(b []byte) string { // fit times differ run to run
		var v []map[string]any
		_ = json.Unmarshal(b, &v)
		for _, m := range v {
			delete(m, "fit_seconds")
		}
		s, _ := json.Marshal(v)
		return string(s)
	}
	if a, b := strip(b), strip(b2); a != b {
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Errorf("two runs with the same seed differ at %d: %q vs %q", i, a[max(0, i-80):min(len(a), i+40)], b[max(0, i-80):min(len(b), i+40)])
				break
			}
		}
	}
}

// With --content, items that are ingested products are also ranked by their
// fused vectors; shoppers who stay in one department make content beat
// popularity.
func TestEvalRecsContent(t *testing.T) {
	e := newEnv(t)
	root := filepath.Join(testenvRoot(t), "demo", "grocery", "catalog.jsonl")
	if code, out := e.run("ingest", root); code != 0 {
		t.Fatalf("ingest: %d\n%s", code, out)
	}
	b, err := os.ReadFile(root)
	if err != nil {
		t.Fatal(err)
	}
	byTop := map[string][]string{}
	var tops []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var p struct {
			ID       string
			Category []string
		}
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatal(err)
		}
		if byTop[p.Category[0]] == nil {
			tops = append(tops, p.Category[0])
		}
		byTop[p.Category[0]] = append(byTop[p.Category[0]], p.ID)
	}
	path := filepath.Join(t.TempDir(), "grocery.data")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for u := range 150 {
		group := byTop[tops[u%len(tops)]]
		for j, i := range r.Perm(len(group))[:8] {
			fmt.Fprintf(f, "u%d\t%s\t1\t%d\n", u, group[i], 1000+j)
		}
	}
	f.Close()
	out := filepath.Join(t.TempDir(), "recs.json")
	code, txt := e.run("eval", "recs", "--interactions", path, "--content", "--methods", "popularity,hybrid", "--factors", "8", "--json", out)
	if code != 0 {
		t.Fatalf("eval recs --content: exit %d\n%s", code, txt)
	}
	t.Log("\n" + txt)
	raw, _ := os.ReadFile(out)
	var res []struct {
		Method  string
		Summary struct {
			Metrics []struct {
				Name string
				Mean float64
			}
		}
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	recall := map[string]float64{}
	for _, m := range res {
		for _, x := range m.Summary.Metrics {
			if x.Name == "recall@10" {
				recall[m.Method] = x.Mean
			}
		}
	}
	if _, ok := recall["content"]; !ok || recall["content"] <= recall["popularity"] {
		t.Errorf("content recall@10 %.3f, popularity %.3f", recall["content"], recall["popularity"])
	}
	if !strings.Contains(txt, "content:") {
		t.Errorf("hybrid weights do not include content:\n%s", txt)
	}
}

func testenvRoot(t *testing.T) string {
	t.Helper()
	return testenv.Root(t)
}
