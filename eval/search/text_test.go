package search

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/eval/labels"
	"github.com/vitrinehq/vitrine/report"
)

func textFixture() Report {
	curve := []report.CurvePoint{{K: 1, Recall: 0.2, NDCG: 0.5}, {K: 2, Recall: 0.4, NDCG: 0.6}}
	return Report{Evaluated: 5, Skipped: 1, Products: 40, Seconds: 1.25, Methods: []MethodResult{
		{Method: "lexical", NDCG10: 0.5, MRR10: 0.6, Recall100: 0.7, Curve: curve},
		{Method: "hybrid", NDCG10: 0.55, MRR10: 0.65, Recall100: 0.75, Curve: curve},
	}}
}

func TestText(t *testing.T) {
	tests := []struct {
		name     string
		noVector int
		want     string
	}{
		{"every query embedded", 0, ""},
		{"some not", 2, "2 queries have no word the text model knows: no vector list, hybrid is lexical alone\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := textFixture()
			rep.NoVector = tt.noVector
			var b bytes.Buffer
			if err := Text(&b, rep); err != nil {
				t.Fatal(err)
			}
			want := "text search: 5 queries (1 without judgements skipped) over 40 products, 1.2s\n" +
				"   method  nDCG@10  MRR@10  Recall@100\n" +
				"  lexical    0.500   0.600       0.700\n" +
				"   hybrid    0.550   0.650       0.750\n" + tt.want
			if b.String() != want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), want)
			}
		})
	}
}

func TestPlot(t *testing.T) {
	png := filepath.Join(t.TempDir(), "s.png")
	if err := Plot(png, textFixture()); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("plot: %v", err)
	}
}

func TestWriteGrocery(t *testing.T) {
	dir := t.TempDir()
	ps := []catalog.Product{
		{ID: "grocery-00-golden-delicious", Category: []string{"Fruit", "Apple", "Golden Delicious"}, Attributes: map[string]any{labels.FineClass: 0.0, labels.CoarseClass: 0.0}},
	}
	queries, qrels := filepath.Join(dir, "q.tsv"), filepath.Join(dir, "q.qrels")
	n, err := WriteGrocery(ps, queries, qrels)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := ReadQueries(queries)
	if err != nil || len(qs) != n || n == 0 {
		t.Errorf("wrote %d queries, read back %v, %v", n, qs, err)
	}
	rel, err := ReadQrels(qrels)
	if err != nil || rel["fine-00"]["grocery-00-golden-delicious"] != 2 {
		t.Errorf("judgements %v, %v", rel, err)
	}
	if _, err := WriteGrocery([]catalog.Product{{ID: "x"}}, queries, qrels); err == nil {
		t.Error("a catalog without class attributes: no error")
	}
}
