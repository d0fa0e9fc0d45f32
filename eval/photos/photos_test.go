package photos

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/eval/labels"
	"github.com/vitrinehq/vitrine/extractors"
	"github.com/vitrinehq/vitrine/internal/testdb"
	"github.com/vitrinehq/vitrine/internal/testenv"
	"github.com/vitrinehq/vitrine/records"
	"github.com/vitrinehq/vitrine/serving"
	"github.com/vitrinehq/vitrine/store"
)

func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRead(t *testing.T) {
	p := tempFile(t, "photos.txt", "# path, fine, coarse\nval/a.jpg, 3, 1\n\n/abs/b.jpg,4,2\n")
	got, err := Read(p, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(p)
	want := []Photo{{Path: filepath.Join(dir, "val/a.jpg"), Fine: 3, Coarse: 1, Line: 2}, {Path: "/abs/b.jpg", Fine: 4, Coarse: 2, Line: 4}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, _ := Read(p, "/data"); got[0].Path != "/data/val/a.jpg" {
		t.Errorf("with a root: %s", got[0].Path)
	}
	tests := []struct{ name, content, want string }{
		{"two fields", "a.jpg, 3\n", "photos.txt:1: 2 fields, want path, fine class id, coarse class id"},
		{"bad fine", "ok.jpg, 1, 1\na.jpg, x, 1\n", `photos.txt:2: fine class id "x" is not an integer`},
		{"bad coarse", "a.jpg, 1, 1.5\n", `photos.txt:1: coarse class id "1.5" is not an integer`},
		{"no path", " , 1, 1\n", "photos.txt:1: empty photo path"},
		{"empty", "# nothing\n", "photos.txt: no photos listed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(tempFile(t, "photos.txt", tc.content), "")
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
				t.Errorf("got %v, want …%s", err, tc.want)
			}
		})
	}
}

func TestChanceAt(t *testing.T) {
	tests := []struct {
		n, m, k int
		want    float64
	}{
		{81, 1, 1, 1.0 / 81},
		// 1 - (80/81)(79/80)(78/79)(77/78)(76/77) = 1 - 76/81 = 5/81.
		{81, 1, 5, 5.0 / 81},
		// 1 - (3/5)(2/4) = 0.7.
		{5, 2, 2, 0.7},
		{3, 3, 1, 1},
		{4, 2, 10, 1},
		{4, 0, 2, 0},
	}
	for _, tc := range tests {
		if got := ChanceAt(tc.n, tc.m, tc.k); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("ChanceAt(%d, %d, %d) = %v, want %v", tc.n, tc.m, tc.k, got, tc.want)
		}
	}
}

// groceryProducts reads the first n products of the demo catalog and the
// absolute path of each one's photo.
func groceryProducts(t *testing.T, n int) ([]catalog.Product, []string) {
	t.Helper()
	path := filepath.Join(testenv.Root(t), "demo", "grocery", "catalog.jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []catalog.Product
	var images []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() && len(out) < n {
		var p catalog.Product
		var im struct{ Images []string }
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(sc.Bytes(), &im); err != nil || len(im.Images) == 0 {
			t.Fatalf("%s: no image (%v)", p.ID, err)
		}
		out = append(out, p)
		images = append(images, filepath.Join(filepath.Dir(path), im.Images[0]))
	}
	return out, images
}

// TestEvaluate runs the protocol on a real store and the real image model:
// six grocery products with their photos' embeddings, queried with those
// same photos (each must find its own product first) and one photo of a
// class no product has (skipped).
func TestEvaluate(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	m := testenv.Manifest(t, "mobilenetv2-int8")
	enc, err := extractors.Open(ctx, testenv.Runtime(t), m, testenv.ModelDir(t), extractors.Options{MaxBatch: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	text, err := extractors.Open(ctx, testenv.Runtime(t), testenv.Manifest(t, "glove-100d"), testenv.ModelDir(t), extractors.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { text.Close() })
	// The served use case, wired as the server wires it.
	svc, err := serving.New(serving.DepsFrom(st, text, enc))
	if err != nil {
		t.Fatal(err)
	}

	empty, err := Evaluate(ctx, st, svc, enc.Key(), []Photo{{Path: "x.jpg"}})
	if !errors.Is(err, ErrUnlabelled) || empty.Products != 0 {
		t.Fatalf("empty catalog: %+v, %v", empty, err)
	}

	ps, images := groceryProducts(t, 6)
	if _, err := st.UpsertProducts(ctx, ps); err != nil {
		t.Fatal(err)
	}
	var lines strings.Builder
	var es []records.Embedding
	for i, p := range ps {
		path := images[i]
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := enc.Encode(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, records.Embedding{ProductID: p.ID, Model: enc.Key(), Modality: "image", InputHash: []byte{1}, Vector: v})
		fmt.Fprintf(&lines, "%s, %v, %v\n", path, p.Attributes[labels.FineClass], p.Attributes[labels.CoarseClass])
	}
	if err := st.PutEmbeddings(ctx, es); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&lines, "%s, 99, 98\n", images[0])
	photos, err := Read(tempFile(t, "photos.txt", lines.String()), "")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(ctx, st, svc, enc.Key(), photos, WithBatch(4))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Products != 6 || len(rep.PerPhoto) != 7 || rep.K != K || rep.Model != enc.Key() {
		t.Fatalf("report %+v", rep)
	}
	if rep.Fine.Evaluated != 6 || rep.Fine.Skipped != 1 || rep.Fine.At1 != 1 || rep.Fine.MRR != 1 {
		t.Errorf("fine accuracy %+v, want every labelled photo found first", rep.Fine)
	}
	for i, r := range rep.PerPhoto[:6] {
		if r.Top[0] != ps[i].ID || r.FineRank != 1 || r.CoarseRank != 1 {
			t.Errorf("photo %d: top %v, ranks %d %d", i, r.Top, r.FineRank, r.CoarseRank)
		}
	}
	if r := rep.PerPhoto[6]; r.FineRank != 0 || r.CoarseRank != 0 {
		t.Errorf("photo of an absent class ranked %d, %d", r.FineRank, r.CoarseRank)
	}
	if rep.Fine.Chance1 < 1.0/6-1e-9 || rep.Fine.Chance5 < rep.Fine.Chance1 {
		t.Errorf("chance %v @1, %v @5", rep.Fine.Chance1, rep.Fine.Chance5)
	}
	var md, txt strings.Builder
	if err := Markdown(&md, rep); err != nil || !strings.Contains(md.String(), "| fine | 1.000 |") {
		t.Errorf("Markdown (%v):\n%s", err, md.String())
	}
	if err := Text(&txt, rep); err != nil || !strings.Contains(txt.String(), "search by photo: 7 photos against 6 products") ||
		!strings.Contains(txt.String(), "1 photos skipped") {
		t.Errorf("text (%v):\n%s", err, txt.String())
	}
}

// lister is an in-memory catalog of labelled products.
type lister []catalog.Product

func (l lister) ProductsAfter(_ context.Context, after string, limit int) ([]catalog.Product, error) {
	var out []catalog.Product
	for _, p := range l {
		if p.ID > after && len(out) < limit {
			out = append(out, p)
		}
	}
	return out, nil
}

// byPhoto answers each photo (by its bytes) with fixed hits, and insists
// on what evaluation asks: K products, anonymously, with no filter.
type byPhoto map[string][]string

func (b byPhoto) SearchPhoto(_ context.Context, req serving.ImageSearchRequest) (serving.ImageSearchResult, error) {
	if req.K != K || req.UserID != "" || !req.Filter.Empty() {
		return serving.ImageSearchResult{}, fmt.Errorf("request %+v: want K=%d, anonymous, unfiltered", req, K)
	}
	ids, ok := b[string(req.Image)]
	if !ok {
		return serving.ImageSearchResult{}, serving.ErrNoImageModel
	}
	var hits []serving.Hit
	for _, id := range ids {
		hits = append(hits, serving.Hit{ID: id})
	}
	return serving.ImageSearchResult{Hits: hits}, nil
}

// TestEvaluateScoresServedHits scores what the searcher serves, in the
// photos' order whatever the batch, and says why a search failed.
func TestEvaluateScoresServedHits(t *testing.T) {
	cat := lister{
		{ID: "a1", Attributes: map[string]any{labels.FineClass: 1, labels.CoarseClass: 10}},
		{ID: "a2", Attributes: map[string]any{labels.FineClass: 2, labels.CoarseClass: 10}},
		{ID: "b1", Attributes: map[string]any{labels.FineClass: 3, labels.CoarseClass: 20}},
	}
	dir := t.TempDir()
	photo := func(name string, fine, coarse int) Photo {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		return Photo{Path: p, Fine: fine, Coarse: coarse}
	}
	photos := []Photo{photo("p1", 1, 10), photo("p2", 2, 10), photo("p3", 3, 20)}
	s := byPhoto{"p1": {"a1", "b1"}, "p2": {"a1", "a2"}, "p3": {"a1", "a2"}}
	for _, batch := range []int{1, 2, 32} {
		rep, err := Evaluate(t.Context(), cat, s, "img@1", photos, WithBatch(batch))
		if err != nil {
			t.Fatal(err)
		}
		var ranks [][2]int
		for _, r := range rep.PerPhoto {
			ranks = append(ranks, [2]int{r.FineRank, r.CoarseRank})
		}
		if want := [][2]int{{1, 1}, {2, 1}, {0, 0}}; !slices.Equal(ranks, want) {
			t.Errorf("batch %d: fine and coarse ranks %v, want %v", batch, ranks, want)
		}
		if rep.Model != "img@1" || rep.Products != 3 || math.Abs(rep.Fine.At1-1.0/3) > 1e-9 || math.Abs(rep.Fine.MRR-0.5) > 1e-9 {
			t.Errorf("batch %d: report %+v", batch, rep)
		}
	}
	tests := []struct {
		name string
		s    byPhoto
		want error
	}{
		{"search fails", byPhoto{"p1": {"a1"}, "p2": {"a1"}}, serving.ErrNoImageModel},
		{"nothing found", byPhoto{"p1": {"a1"}, "p2": {"a1"}, "p3": nil}, ErrNoEmbeddings},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Evaluate(t.Context(), cat, tc.s, "img@1", photos); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}
