package recommend_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/recommend"
)

// budgetFixture is the planted sequences of TestSearchPlanted as a dataset
// and its validation users.
func budgetFixture(t *testing.T) (*recommend.Dataset, []recommend.ValidUser) {
	t.Helper()
	train, last := plantSequences(400, 0.1, 9)
	d, err := recommend.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	var held []recommend.Interaction
	for u, i := range last {
		held = append(held, recommend.Interaction{User: u, Item: i, Value: 1})
	}
	return d, validUsers(d, held)
}

// The budget is a deadline on every fit and evaluation: once it has
// passed, no further trial runs to the end, defaults included. Counted,
// not timed: the trials the search reports are the ones that finished.
func TestSearchBudgetBoundsTrials(t *testing.T) {
	d, valid := budgetFixture(t)
	methods := []string{"popularity", "itemknn", "ease", "transitions"}
	t.Run("spent before the first fit", func(t *testing.T) {
		tried := 0
		_, err := recommend.Search(t.Context(), d, valid, methods, ndcg(10),
			recommend.WithBudget(time.Nanosecond), recommend.WithProgress(func(recommend.Trial) { tried++ }))
		if !errors.Is(err, recommend.ErrSearchBudget) {
			t.Errorf("err %v, want ErrSearchBudget", err)
		}
		if tried != 0 {
			t.Errorf("%d trials finished after the budget, want 0 (each method's defaults used to run)", tried)
		}
	})
	t.Run("spent after the first trial", func(t *testing.T) {
		// The first trial (popularity's only point) reports, then the
		// progress hook outlasts the whole budget: nothing more may finish.
		const budget = 3 * time.Second
		tried := 0
		res, err := recommend.Search(t.Context(), d, valid, methods, ndcg(10), recommend.WithBudget(budget),
			recommend.WithProgress(func(recommend.Trial) {
				if tried++; tried == 1 {
					time.Sleep(budget + 100*time.Millisecond)
				}
			}))
		if err != nil {
			t.Fatal(err)
		}
		if tried != 1 || len(res.Trials) != 1 || len(res.Best) != 1 {
			t.Errorf("%d trials reported, %d kept, %d methods measured: want 1 each", tried, len(res.Trials), len(res.Best))
		}
		if got := res.Choice.String(); got != "popularity" {
			t.Errorf("choice %s, want popularity (the only method measured)", got)
		}
	})
}

// A caller's cancellation stops the search at once with its error.
func TestSearchCancelled(t *testing.T) {
	d, valid := budgetFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tried := 0
	_, err := recommend.Search(ctx, d, valid, []string{"popularity", "itemknn", "transitions"}, ndcg(10),
		recommend.WithBudget(time.Minute), recommend.WithProgress(func(recommend.Trial) { tried++; cancel() }))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if tried != 1 {
		t.Errorf("%d trials after the cancellation's trial, want 1", tried)
	}
}

// EASE's fit stops with its context's error, inversion included.
func TestEASEFitDeadline(t *testing.T) {
	d, _ := budgetFixture(t)
	ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	m, err := recommend.New("ease", recommend.Params{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Fit(ctx, d); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("fit past its deadline: err %v, want DeadlineExceeded", err)
	}
}
