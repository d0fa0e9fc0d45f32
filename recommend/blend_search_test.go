package recommend_test

import (
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/recommend"
)

// The blend search combines only methods the API serves as components
// (session kNN and popularity are evaluated alone, never blended), and
// what it chooses is never worse on validation than the best of them.
func TestSearchBlendsOnlyServedMethods(t *testing.T) {
	d, valid := budgetFixture(t)
	methods := []string{"popularity", "sknn", "itemknn", "transitions"}
	res, err := recommend.Search(t.Context(), d, valid, methods, ndcg(10), recommend.WithBudget(6*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("choice %s %.4f", res.Choice, res.Choice.Score)
	if n := len(res.Choice.Components); n > 1 {
		for _, c := range res.Choice.Components {
			if !recommend.Blendable(c.Method) {
				t.Errorf("blend %s includes %s, which is not served as a component", res.Choice, c.Method)
			}
		}
	}
	for _, b := range res.Best {
		if recommend.Blendable(b.Method) && res.Choice.Score < b.Score {
			t.Errorf("choice %s scores %.4f, below %s alone (%.4f)", res.Choice, res.Choice.Score, b.Method, b.Score)
		}
	}
	for _, tc := range []struct {
		method string
		want   bool
	}{{"itemknn", true}, {"ease", true}, {"als", true}, {"sknn", false}, {"popularity", false}} {
		if got := recommend.Blendable(tc.method); got != tc.want {
			t.Errorf("Blendable(%s) = %v, want %v", tc.method, got, tc.want)
		}
	}
}

// A trial records the EASE item count it modelled, not the one asked for:
// the planted catalog is smaller than the default 4,000, as a deadline's
// cap would make it.
func TestSearchRecordsModelledEASEItems(t *testing.T) {
	d, valid := budgetFixture(t)
	res, err := recommend.Search(t.Context(), d, valid, []string{"ease"}, ndcg(10), recommend.WithBudget(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Trials {
		if tr.Params.MaxItems < 1 || tr.Params.MaxItems > d.NumItems() {
			t.Errorf("trial %+v records %d items, the catalog has %d", tr.Params, tr.Params.MaxItems, d.NumItems())
		}
	}
}
