package recommend_test

import (
	"errors"
	"math"
	"slices"
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

// The validation score a search reports for its choice is what the chosen
// model (NewChoice, fitted on the same data) scores on every validation
// user, whether the blend weights were tuned on every user (the default)
// or on a sample and then measured on all of them: what is chosen is
// judged as it is served.
func TestSearchChoiceScoreIsEveryValidationUser(t *testing.T) {
	d, valid := budgetFixture(t)
	methods := []string{"itemknn", "transitions", "rp3beta"}
	for _, tc := range []struct {
		name string
		opts []recommend.SearchOption
	}{
		{"tuned on every user", nil},
		{"tuned on a sample", []recommend.SearchOption{recommend.WithBlendUsers(len(valid) / 4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]recommend.SearchOption{recommend.WithBudget(6 * time.Second)}, tc.opts...)
			res, err := recommend.Search(t.Context(), d, valid, methods, ndcg(10), opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("choice %s %.4f", res.Choice, res.Choice.Score)
			m, err := recommend.NewChoice(res.Choice)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Fit(t.Context(), d); err != nil {
				t.Fatal(err)
			}
			metric := ndcg(10)
			scores := make([]float64, d.NumItems())
			var sum float64
			for _, u := range valid {
				m.ScoreUser(u.User, scores)
				own, _ := d.UserItems(u.User)
				top := recommend.TopItems(scores, 10, func(i int) bool { return slices.Contains(own, int32(i)) })
				rel := map[int]bool{}
				for _, i := range u.Relevant {
					rel[int(i)] = true
				}
				sum += metric(top, rel)
			}
			if got := sum / float64(len(valid)); math.Abs(got-res.Choice.Score) > 1e-9 {
				t.Errorf("choice %s reports %.6f on validation, scores %.6f on every validation user", res.Choice, res.Choice.Score, got)
			}
		})
	}
}

// A blend tuned on no user is refused.
func TestSearchRejectsNoBlendUsers(t *testing.T) {
	d, valid := budgetFixture(t)
	_, err := recommend.Search(t.Context(), d, valid, []string{"itemknn"}, ndcg(10), recommend.WithBlendUsers(0))
	if !errors.Is(err, recommend.ErrInvalidOption) {
		t.Errorf("WithBlendUsers(0): err %v, want ErrInvalidOption", err)
	}
}
