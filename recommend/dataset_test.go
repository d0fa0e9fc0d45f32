package recommend_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/recommend"
)

func TestNewDataset(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	events := []recommend.Interaction{
		{User: "u2", Item: "c", Value: 1, Time: t0},
		{User: "u1", Item: "b", Value: 1},
		{User: "u1", Item: "a", Value: 1, Time: t0.Add(time.Hour)},
		{User: "u2", Item: "a", Value: -1},
		{User: "u1", Item: "a", Value: 2, Time: t0},
		{User: "u2", Item: "c", Value: -1},  // cancels u2's click on c: c has no pair left
		{User: "u3", Item: "b", Value: 0.0}, // no preference: u3 is not in the dataset
	}
	d, err := recommend.NewDataset(events)
	if err != nil {
		t.Fatal(err)
	}
	if d.NumUsers() != 2 || d.NumItems() != 2 || d.NNZ() != 3 {
		t.Fatalf("%d users, %d items, %d pairs; want 2, 2, 3", d.NumUsers(), d.NumItems(), d.NNZ())
	}
	if d.UserID(0) != "u1" || d.ItemID(0) != "a" || d.ItemID(1) != "b" {
		t.Errorf("indices not in id order: %s %s %s", d.UserID(0), d.ItemID(0), d.ItemID(1))
	}
	if _, ok := d.UserIndex("u3"); ok {
		t.Error("u3 has only a zero event and should be unknown")
	}
	if _, ok := d.ItemIndex("c"); ok {
		t.Error("c's events cancel out and it should be unknown")
	}
	items, vals := d.UserItems(0)
	if !slices.Equal(items, []int32{0, 1}) || !slices.Equal(vals, []float64{3, 1}) {
		t.Errorf("u1: items %v values %v", items, vals)
	}
	users, uvals := d.ItemUsers(0)
	if !slices.Equal(users, []int32{0, 1}) || !slices.Equal(uvals, []float64{3, -1}) {
		t.Errorf("a: users %v values %v", users, uvals)
	}
	if !d.Latest().Equal(t0.Add(time.Hour)) {
		t.Errorf("latest %v", d.Latest())
	}

	// The same events in another order give the same dataset.
	shuffled := slices.Clone(events)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
	d2, err := recommend.NewDataset(shuffled)
	if err != nil {
		t.Fatal(err)
	}
	m1, m2 := d.Matrix(), d2.Matrix()
	if !slices.Equal(m1.Indptr, m2.Indptr) || !slices.Equal(m1.Indices, m2.Indices) || !slices.Equal(m1.Values, m2.Values) {
		t.Error("event order changed the dataset")
	}
}

func TestNewDatasetErrors(t *testing.T) {
	tests := []struct {
		name   string
		events []recommend.Interaction
		want   error
	}{
		{"empty", nil, recommend.ErrNoInteractions},
		{"all zero", []recommend.Interaction{{User: "u", Item: "i"}}, recommend.ErrNoInteractions},
		{"no user", []recommend.Interaction{{Item: "i", Value: 1}}, recommend.ErrInvalidInteraction},
		{"no item", []recommend.Interaction{{User: "u", Value: 1}}, recommend.ErrInvalidInteraction},
		{"nan", []recommend.Interaction{{User: "u", Item: "i", Value: math.NaN()}}, recommend.ErrInvalidInteraction},
		{"inf", []recommend.Interaction{{User: "u", Item: "i", Value: math.Inf(1)}}, recommend.ErrInvalidInteraction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := recommend.NewDataset(tc.events); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHoldOut(t *testing.T) {
	p := plant(smallPlant())
	train, test := recommend.HoldOut(p.events, 3, 5)
	if len(train)+len(test) != len(p.events) {
		t.Fatalf("%d + %d events, want %d", len(train), len(test), len(p.events))
	}
	trainItems := heldOut(train)
	for user, items := range heldOut(test) {
		if len(items) != 3 {
			t.Errorf("%s: %d held-out items, want 3", user, len(items))
		}
		if len(trainItems[user]) == 0 {
			t.Errorf("%s has no train items", user)
		}
		for it := range items {
			if trainItems[user][it] {
				t.Errorf("%s: %s in both train and test", user, it)
			}
		}
	}
	train2, test2 := recommend.HoldOut(p.events, 3, 5)
	if !slices.Equal(train, train2) || !slices.Equal(test, test2) {
		t.Error("same seed, different split")
	}
	// A user with too few items keeps them all.
	few := []recommend.Interaction{{User: "u", Item: "a", Value: 1}, {User: "u", Item: "a", Value: 1}, {User: "u", Item: "b", Value: 1}}
	if tr, te := recommend.HoldOut(few, 2, 1); len(tr) != 3 || len(te) != 0 {
		t.Errorf("user with 2 items: %d train, %d test", len(tr), len(te))
	}
}

func TestPopularityDecay(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	old := now.Add(-60 * 24 * time.Hour)
	var events []recommend.Interaction
	for _, u := range []string{"u1", "u2", "u3"} {
		events = append(events, recommend.Interaction{User: u, Item: "old", Value: 1, Time: old})
	}
	events = append(events,
		recommend.Interaction{User: "u4", Item: "new", Value: 1, Time: now},
		recommend.Interaction{User: "u4", Item: "new", Value: 1, Time: now}, // two events, one pair
		recommend.Interaction{User: "u1", Item: "disliked", Value: -2, Time: now},
	)
	d, err := recommend.NewDataset(events)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		opts  []recommend.Option
		first string
	}{
		{"counts", nil, "old"},
		{"half-life a week", []recommend.Option{recommend.WithHalfLife(7 * 24 * time.Hour)}, "new"},
		{"half-life a year", []recommend.Option{recommend.WithHalfLife(365 * 24 * time.Hour)}, "old"},
		{"a week, seen from two months on", []recommend.Option{recommend.WithHalfLife(7 * 24 * time.Hour), recommend.WithNow(now.Add(60 * 24 * time.Hour))}, "new"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := recommend.NewPopularity(tc.opts...)
			if err := m.Fit(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			rs := m.Recommend("stranger", 10, nil)
			if len(rs) != 3 || rs[0].ProductID != tc.first || rs[2].ProductID != "disliked" || rs[2].Score != 0 {
				t.Errorf("%+v, want %s first and disliked last with 0", rs, tc.first)
			}
			// Known users do not get their own items back.
			for _, r := range m.Recommend("u4", 10, map[string]bool{"disliked": true}) {
				if r.ProductID == "new" || r.ProductID == "disliked" {
					t.Errorf("u4 got %s", r.ProductID)
				}
			}
		})
	}
}
