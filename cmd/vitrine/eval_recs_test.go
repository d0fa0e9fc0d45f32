package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/eval/data"
	"github.com/vitrinehq/vitrine/eval/recs"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/report"
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
	png := filepath.Join(dir, "recs.png")
	code, txt := e.run("eval", "recs", "--interactions", path, "--factors", "16", "--json", out, "--md", filepath.Join(dir, "recs.md"), "--plot", png)
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
		Task  string
		Curve []report.CurvePoint
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
		// The plotted curve agrees with the table at k=10 and recall grows with k.
		if r.Task == "ranking" && (len(r.Curve) != report.CurveK || r.Curve[9].Recall != recall[r.Method] || r.Curve[report.CurveK-1].Recall < r.Curve[0].Recall) {
			t.Errorf("%s curve %+v (recall@10 %.4f)", r.Method, r.Curve, recall[r.Method])
		}
	}
	assertPNG(t, png)
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

// writePlantedRatings writes a MovieLens u.data file of 1–5 star ratings
// from a known model: μ + b_u + b_i + p_u·q_i (rank 3) + noise, rounded,
// each user-item pair rated with probability density.
func writePlantedRatings(t testing.TB, path string, users, items int, density float64, seed uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	r := rand.New(rand.NewPCG(seed, 5))
	const k = 3
	vec := func() [k]float64 {
		var v [k]float64
		for j := range v {
			v[j] = r.NormFloat64() * 0.6
		}
		return v
	}
	bu, bi := make([]float64, users), make([]float64, items)
	pu, qi := make([][k]float64, users), make([][k]float64, items)
	for u := range users {
		bu[u], pu[u] = r.NormFloat64()*0.4, vec()
	}
	for i := range items {
		bi[i], qi[i] = r.NormFloat64()*0.5, vec()
	}
	for u := range users {
		for i := range items {
			if r.Float64() >= density {
				continue
			}
			x := 3.5 + bu[u] + bi[i] + r.NormFloat64()*0.3
			for j := range k {
				x += pu[u][j] * qi[i][j]
			}
			stars := min(max(int(math.Round(x)), 1), 5)
			fmt.Fprintf(w, "%d\t%d\t%d\t%d\n", u+1, i+1, stars, 880000000+u*1000+i)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// With ratings, eval recs fits the rating predictors on the training
// split and reports RMSE and MAE on the test split; without, one line says
// so.
func TestEvalRecsRatings(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "u.data")
	writePlantedRatings(t, path, 300, 200, 0.35, 3)
	out, md := filepath.Join(dir, "recs.json"), filepath.Join(dir, "recs.md")
	code, txt := e.run("eval", "recs", "--interactions", path, "--methods", "popularity", "--factors", "16", "--json", out, "--md", md)
	if code != 0 {
		t.Fatalf("eval recs: exit %d\n%s", code, txt)
	}
	t.Log("\n" + txt)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res []map[string]any
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	rmse, mae := map[string]float64{}, map[string]float64{}
	for _, r := range res {
		name, _ := r["method"].(string)
		switch r["task"] {
		case "ranking":
			if _, ok := r["summary"]; !ok || r["rating"] != nil {
				t.Errorf("ranking entry %s: %v", name, r)
			}
		case "rating":
			fig, _ := r["rating"].(map[string]any)
			for _, f := range []string{"rmse", "mae", "test_ratings", "unseen", "train_ratings", "min", "max"} {
				if _, ok := fig[f].(float64); !ok {
					t.Errorf("%s: JSON has no number %q: %v", name, f, r)
				}
			}
			if _, ok := r["summary"]; ok {
				t.Errorf("%s: a rating predictor has a ranking summary: %v", name, r)
			}
			rmse[name], _ = fig["rmse"].(float64)
			mae[name], _ = fig["mae"].(float64)
		default:
			t.Errorf("entry without a task: %v", r)
		}
	}
	if len(rmse) != 3 {
		t.Fatalf("rating predictors in the JSON: %v, want global-mean, bias-baseline, svd", rmse)
	}
	for _, c := range [][2]string{{"svd", "bias-baseline"}, {"bias-baseline", "global-mean"}} {
		if rmse[c[0]] >= rmse[c[1]] || mae[c[0]] >= mae[c[1]] {
			t.Errorf("%s RMSE %.4f MAE %.4f is not below %s's %.4f %.4f", c[0], rmse[c[0]], mae[c[0]], c[1], rmse[c[1]], mae[c[1]])
		}
	}
	for _, want := range []string{"rating prediction: fitted on", "PREDICTOR", "svd"} {
		if !strings.Contains(txt, want) {
			t.Errorf("output lacks %q:\n%s", want, txt)
		}
	}
	if m, _ := os.ReadFile(md); !strings.Contains(string(m), "## Rating prediction") || !strings.Contains(string(m), "| svd |") {
		t.Errorf("Markdown report lacks the rating table:\n%s", m)
	}

	// The same file without its rating column: one line, no zeros.
	var plain strings.Builder
	raw, _ := os.ReadFile(path)
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		f := strings.Fields(line)
		fmt.Fprintf(&plain, "%s %s\n", f[0], f[1])
	}
	path2 := filepath.Join(dir, "plain.txt")
	if err := os.WriteFile(path2, []byte(plain.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(dir, "plain.json")
	code, txt = e.run("eval", "recs", "--interactions", path2, "--methods", "popularity", "--json", out2)
	if code != 0 {
		t.Fatalf("eval recs without ratings: exit %d\n%s", code, txt)
	}
	if !strings.Contains(txt, "rating prediction: the file has no ratings, so RMSE and MAE are not reported") || strings.Contains(txt, "RMSE  ") {
		t.Errorf("without ratings:\n%s", txt)
	}
	if b, _ := os.ReadFile(out2); strings.Contains(string(b), `"rating"`) {
		t.Errorf("JSON without ratings has rating entries:\n%s", b)
	}
}

// --help says what is masked under each protocol, and unknown methods are
// refused with the registry's names.
func TestEvalRecsHelpAndUnknownMethod(t *testing.T) {
	e := newEnv(t)
	code, txt := e.run("eval", "recs", "--help")
	for _, want := range []string{"random", "leave-one-out", "temporal", "training AND validation", "file order", "the user's training items"} {
		if code != 0 || !strings.Contains(txt, want) {
			t.Errorf("--help lacks %q (exit %d)", want, code)
		}
	}
	path := filepath.Join(t.TempDir(), "u.data")
	writePlantedInteractions(t, path, 20, 30, 2, 6, 1)
	code, txt = e.run("eval", "recs", "--interactions", path, "--methods", "svd++")
	if code == 0 || !strings.Contains(txt, "popularity, itemknn, als, bpr") {
		t.Errorf("unknown method: exit %d\n%s", code, txt)
	}
}

func TestEvalRecsRatingsMissing(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    data.Dataset
		want string
	}{
		{"no rating column", data.Dataset{Interactions: []data.Interaction{{User: "u", Item: "i"}}}, "the file has no ratings"},
		{"constant", data.Dataset{HasRating: true, Interactions: []data.Interaction{{User: "u", Item: "i", Rating: 1}, {User: "v", Item: "i", Rating: 1}}}, "every rating is 1"},
		{"rated", data.Dataset{HasRating: true, Interactions: []data.Interaction{{User: "u", Item: "i", Rating: 1}, {User: "v", Item: "i", Rating: 4.5}}}, ""},
	} {
		if got := recs.RatingsMissing(tc.d); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	var b strings.Builder
	recs.RatingText(&b, "every rating is 1", nil)
	if got := b.String(); got != "rating prediction: every rating is 1, so RMSE and MAE are not reported\n" {
		t.Errorf("one line: %q", got)
	}
}
