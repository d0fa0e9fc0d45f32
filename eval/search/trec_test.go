package search

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/eval/labels"
	"github.com/vitrinehq/vitrine/eval/metrics"
)

func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadTRECFiles(t *testing.T) {
	q := tempFile(t, "q.tsv", "q1\tgolden apple\n# comment\nq2\tmilk\n")
	qs, err := ReadQueries(q)
	if err != nil || len(qs) != 2 || qs[0] != (Query{"q1", "golden apple"}) {
		t.Fatalf("queries %+v, %v", qs, err)
	}
	r := tempFile(t, "qrels", "q1 0 d1 2\nq1 0 d2 1\nq2 0 d3 0\n")
	qrels, err := ReadQrels(r)
	if err != nil || qrels["q1"]["d1"] != 2 || qrels["q1"]["d2"] != 1 || qrels["q2"].Count() != 0 {
		t.Fatalf("qrels %v, %v", qrels, err)
	}
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"query without tab", "q.tsv", "q1 golden apple\n", "q.tsv:1: want qid<TAB>query text"},
		{"duplicate query", "q.tsv", "q1\ta\nq1\tb\n", `q.tsv:2: query id "q1" already on line 1`},
		{"no queries", "q.tsv", "\n", "q.tsv: no queries"},
		{"qrels fields", "qrels", "q1 d1 2\n", "qrels:1: 3 fields, want qid 0 docid grade"},
		{"qrels grade", "qrels", "q1 0 d1 high\n", `qrels:1: grade "high" is not a number`},
		{"qrels twice", "qrels", "q1 0 d1 1\nq1 0 d1 2\n", "qrels:2: d1 judged twice for query q1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tempFile(t, tc.file, tc.content)
			var err error
			if tc.file == "qrels" {
				_, err = ReadQrels(p)
			} else {
				_, err = ReadQueries(p)
			}
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
				t.Errorf("got %v, want …%s", err, tc.want)
			}
		})
	}
}

func TestGroceryQueries(t *testing.T) {
	prod := func(id string, fine, coarse float64, cat ...string) catalog.Product {
		return catalog.Product{ID: id, Category: cat, Attributes: map[string]any{labels.FineClass: fine, labels.CoarseClass: coarse}}
	}
	ps := []catalog.Product{
		prod("grocery-01-granny-smith", 1, 0, "Fruit", "Apple", "Granny Smith"),
		prod("grocery-00-golden-delicious", 0, 0, "Fruit", "Apple", "Golden Delicious"),
		prod("grocery-05-avocado", 5, 1, "Fruit", "Avocado", "Avocado"),
		prod("grocery-07-kiwi", 7, 3), // no category: the name comes from the id
		{ID: "unlabelled", Category: []string{"Misc"}},
	}
	qs, qrels, err := GroceryQueries(ps)
	if err != nil {
		t.Fatal(err)
	}
	// The coarse query "Avocado" repeats the product query and is left out;
	// Kiwi has no coarse name, so no coarse query.
	want := []Query{{"fine-00", "Golden Delicious"}, {"fine-01", "Granny Smith"}, {"fine-05", "Avocado"}, {"fine-07", "kiwi"}, {"coarse-00", "Apple"}}
	if len(qs) != len(want) {
		t.Fatalf("queries %v, want %v", qs, want)
	}
	for i := range want {
		if qs[i] != want[i] {
			t.Errorf("query %d = %v, want %v", i, qs[i], want[i])
		}
	}
	wantRel := map[string]metrics.Relevance{
		"fine-00":   {"grocery-00-golden-delicious": 2, "grocery-01-granny-smith": 1},
		"fine-01":   {"grocery-01-granny-smith": 2, "grocery-00-golden-delicious": 1},
		"fine-05":   {"grocery-05-avocado": 2},
		"coarse-00": {"grocery-00-golden-delicious": 2, "grocery-01-granny-smith": 2},
	}
	for qid, w := range wantRel {
		if !relEqual(qrels[qid], w) {
			t.Errorf("qrels %s = %v, want %v", qid, qrels[qid], w)
		}
	}
	if _, _, err := GroceryQueries([]catalog.Product{{ID: "x"}}); err == nil {
		t.Error("a catalog without class attributes gave queries")
	}
}

func relEqual(a, b metrics.Relevance) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
