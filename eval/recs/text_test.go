package recs

import (
	"strings"
	"testing"

	"github.com/vitrinehq/vitrine/eval/metrics"
)

func TestTextAndMarkdown(t *testing.T) {
	res := []Result{{Method: "als", Summary: metrics.Evaluate([]metrics.Query{{ID: "u", Ranked: []string{"a", "b"}, Relevant: metrics.Relevance{"a": 1}}},
		[]metrics.Metric{metrics.RecallAt(10), metrics.NDCGAt(10)}), Beyond: map[string]float64{"coverage": 0.5}, FitSeconds: 1.25}}
	var txt, md strings.Builder
	Text(&txt, res, 10)
	Markdown(&md, res, 10)
	for name, tc := range map[string]struct{ got, want string }{
		"text header":   {txt.String(), "METHOD  RECALL@10"},
		"text row":      {txt.String(), "als     1.0000"},
		"text users":    {txt.String(), "users evaluated: 1"},
		"markdown head": {md.String(), "| method | recall@10 | ndcg@10 |"},
		"markdown row":  {md.String(), "| als | 1.0000 | 1.0000 |"},
	} {
		if !strings.Contains(tc.got, tc.want) {
			t.Errorf("%s: %q lacks %q", name, tc.got, tc.want)
		}
	}
	var r strings.Builder
	RatingMarkdown(&r, "the file has no ratings", nil)
	if !strings.Contains(r.String(), "The file has no ratings, so RMSE and MAE are not reported.") {
		t.Errorf("rating markdown: %q", r.String())
	}
}
