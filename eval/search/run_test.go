package search

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/vitrinehq/vitrine/eval/metrics"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/serving"
)

// canned answers each query text with fixed lists (an in-memory Searcher).
type canned map[string]serving.SearchResult

func (c canned) Search(_ context.Context, req serving.SearchRequest) (serving.SearchResult, error) {
	if !req.SkipQueryLog || !req.SkipFacets || req.UserID != "" {
		return serving.SearchResult{}, errors.New("evaluation must search anonymously without facets or query log")
	}
	r, ok := c[req.Query]
	if !ok {
		return serving.SearchResult{}, errors.New("unknown query")
	}
	return r, nil
}

func hits(ids ...string) []serving.Hit {
	out := make([]serving.Hit, len(ids))
	for i, id := range ids {
		out[i] = serving.Hit{ID: id}
	}
	return out
}

func TestRunReadsThreeMethodsOffOneSearch(t *testing.T) {
	s := canned{
		"apple": {
			Lists: []ranking.List{{Name: "lexical", Weight: 1, IDs: []string{"a", "x"}}, {Name: "vector", Weight: 0.5, IDs: []string{"x", "a"}}},
			Hits:  hits("a", "x"),
		},
		"sku123": { // no known word: lexical list only
			Lists: []ranking.List{{Name: "lexical", Weight: 1, IDs: []string{"y"}}},
			Hits:  hits("y"),
		},
		"nothing": {Lists: []ranking.List{{Name: "lexical", Weight: 1}}},
	}
	qs := []Query{{ID: "q1", Text: "apple"}, {ID: "q2", Text: "sku123"}, {ID: "q3", Text: "nothing"}}
	qrels := map[string]metrics.Relevance{"q1": {"a": 1}, "q2": {"y": 2}}
	rep, err := Run(context.Background(), s, qs, qrels, 10)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Evaluated != 2 || rep.Skipped != 1 || rep.NoVector != 2 {
		t.Fatalf("evaluated %d skipped %d no-vector %d; want 2, 1, 2", rep.Evaluated, rep.Skipped, rep.NoVector)
	}
	if rep.LexicalWeight != 1 || rep.VectorWeight != 0.5 {
		t.Errorf("weights %v / %v, want the served 1 / 0.5", rep.LexicalWeight, rep.VectorWeight)
	}
	want := map[string]float64{
		"lexical": 1,                        // a first, y first
		"vector":  (1/math.Log2(3) + 0) / 2, // a second for q1; no vector list for q2
		"hybrid":  1,
	}
	for _, m := range rep.Methods {
		if math.Abs(m.MRR10-map[string]float64{"lexical": 1, "vector": 0.25, "hybrid": 1}[m.Method]) > 1e-9 {
			t.Errorf("%s MRR@10 = %v", m.Method, m.MRR10)
		}
		if math.Abs(m.NDCG10-want[m.Method]) > 1e-9 {
			t.Errorf("%s nDCG@10 = %v, want %v", m.Method, m.NDCG10, want[m.Method])
		}
	}
}

func TestRunWithoutJudgementsFails(t *testing.T) {
	s := canned{"apple": {Hits: hits("a")}}
	if _, err := Run(context.Background(), s, []Query{{ID: "q1", Text: "apple"}}, nil, 0); err == nil {
		t.Fatal("a run with no judged query succeeded")
	}
}
