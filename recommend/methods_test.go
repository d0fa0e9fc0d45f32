package recommend_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vitrinehq/vitrine/recommend"
)

// fitMethod builds a registry method with p and fits it on d.
func fitMethod(t *testing.T, d *recommend.Dataset, name string, p recommend.Params) recommend.Scorer {
	t.Helper()
	m, err := recommend.New(name, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Fit(t.Context(), d); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// EASE, RP3beta and recency-weighted item-kNN find the planted clusters
// as the other collaborative models do: recall well above popularity,
// recommendations and similar items inside the user's or item's cluster.
func TestItemGraphMethodsPlanted(t *testing.T) {
	p := plant(smallPlant())
	train, test := recommend.HoldOut(p.events, 3, 11)
	d, err := recommend.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	held := heldOut(test)
	popRecall := recallAt(fitMethod(t, d, "popularity", recommend.Params{}), held, 10)
	tests := []struct {
		name    string
		p       recommend.Params
		similar bool
	}{
		{"ease", recommend.Params{Reg: 50}, true},
		{"ease", recommend.Params{Reg: 50, MaxItems: 100}, false},
		{"rp3beta", recommend.Params{Neighbours: 50}, true},
		{"itemknn-recency", recommend.Params{Neighbours: 50, Recency: 8}, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %+v", tc.name, tc.p), func(t *testing.T) {
			m := fitMethod(t, d, tc.name, tc.p)
			r := recallAt(m, held, 10)
			t.Logf("Recall@10 %.3f (popularity %.3f)", r, popRecall)
			if r < 1.5*popRecall {
				t.Errorf("recall %.3f: want ≥ 1.5× popularity's %.3f", r, popRecall)
			}
			var in, all int
			for u := range d.NumUsers() {
				user := d.UserID(u)
				for _, r := range m.Recommend(user, 10, nil) {
					all++
					if p.itemCluster[r.ProductID] == p.userCluster[user] {
						in++
					}
				}
			}
			if share := float64(in) / float64(all); all == 0 || share < 0.8 {
				t.Errorf("%d recommendations, %.3f in the user's cluster: want ≥ 0.8", all, share)
			}
			if !tc.similar {
				return
			}
			in, all = 0, 0
			for i := range d.NumItems() {
				item := d.ItemID(i)
				for _, r := range m.(recommend.ItemSimilarity).SimilarItems(item, 10) {
					if r.ProductID == item {
						t.Fatalf("%s similar to itself", item)
					}
					all++
					if p.itemCluster[r.ProductID] == p.itemCluster[item] {
						in++
					}
				}
			}
			if share := float64(in) / float64(all); all == 0 || share < 0.8 {
				t.Errorf("%d similar items, %.3f in the item's cluster: want ≥ 0.8", all, share)
			}
		})
	}
}

// plantSequences is a shop where order matters: 15 chains of 20 items
// (item k of a chain is usually followed by item k+1). Each user walks 5
// steps along one chain, leaves for two hours, then walks 5 steps along
// another; events are a minute apart within a walk, and a walk step
// jumps to a random item with probability noise. The last event of each
// user is the one to predict.
func plantSequences(users int, noise float64, seed uint64) (train []recommend.Interaction, last map[string]string) {
	const chains, length, walk = 15, 20, 5
	rng := rand.New(rand.NewPCG(seed, 3))
	item := func(c, k int) string { return fmt.Sprintf("c%02d-%02d", c, k) }
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	last = map[string]string{}
	for u := range users {
		uid := fmt.Sprintf("user%04d", u)
		at := t0.Add(time.Duration(u) * 24 * time.Hour)
		a := rng.IntN(chains)
		b := (a + 1 + rng.IntN(chains-1)) % chains
		var evs []recommend.Interaction
		for part, c := range []int{a, b} {
			k := rng.IntN(length - walk)
			for s := range walk {
				id := item(c, k+s)
				if rng.Float64() < noise && s < walk-1 {
					id = item(rng.IntN(chains), rng.IntN(length))
				}
				evs = append(evs, recommend.Interaction{User: uid, Item: id, Value: 1, Time: at})
				at = at.Add(time.Minute)
			}
			if part == 0 {
				at = at.Add(2 * time.Hour)
			}
		}
		last[uid] = evs[len(evs)-1].Item
		train = append(train, evs[:len(evs)-1]...)
	}
	return train, last
}

// hitRate is the share of users whose held-out item is in their top k.
func hitRate(m recommend.Scorer, last map[string]string, k int) float64 {
	var hit int
	for user, item := range last {
		for _, r := range m.Recommend(user, k, nil) {
			if r.ProductID == item {
				hit++
				break
			}
		}
	}
	return float64(hit) / float64(len(last))
}

// Sequence-aware methods put what comes next first (HR@1): transitions
// nearly always, session kNN and recency-weighted item-kNN far more often
// than item-kNN, which mixes both of the user's walks (all of them have it
// in the top 10).
func TestSequenceMethodsPlanted(t *testing.T) {
	train, last := plantSequences(600, 0.1, 5)
	d, err := recommend.NewDataset(train)
	if err != nil {
		t.Fatal(err)
	}
	hr := map[string]float64{}
	for _, name := range []string{"popularity", "itemknn", "itemknn-recency", "transitions", "sknn"} {
		m := fitMethod(t, d, name, recommend.Params{Recency: 1, Window: 5})
		hr[name] = hitRate(m, last, 1)
		t.Logf("HR@1 %-16s %.3f  HR@10 %.3f", name, hr[name], hitRate(m, last, 10))
	}
	if hr["transitions"] < 0.8 {
		t.Errorf("transitions HR@1 %.3f: want ≥ 0.8", hr["transitions"])
	}
	for _, name := range []string{"itemknn-recency", "sknn"} {
		if hr[name] < 2*hr["itemknn"] {
			t.Errorf("%s HR@1 %.3f: want ≥ 2× item-kNN's %.3f", name, hr[name], hr["itemknn"])
		}
	}
	if hr["itemknn"] < 5*hr["popularity"] {
		t.Errorf("item-kNN HR@1 %.3f: want ≥ 5× popularity's %.3f", hr["itemknn"], hr["popularity"])
	}
}

// A user's sequence is in time order whatever the input order, events at
// the same time keep their input order, and repeats stay.
func TestUserSequence(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d, err := recommend.NewDataset([]recommend.Interaction{
		{User: "u", Item: "c", Value: 1, Time: t0.Add(2 * time.Hour)},
		{User: "u", Item: "a", Value: 1, Time: t0},
		{User: "u", Item: "b", Value: 1, Time: t0.Add(time.Hour)},
		{User: "u", Item: "a", Value: 1, Time: t0.Add(3 * time.Hour)},
		{User: "u", Item: "z", Value: -1, Time: t0.Add(4 * time.Hour)}, // not positive
		{User: "v", Item: "z", Value: 1},
		{User: "v", Item: "y", Value: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user string
		want []string
	}{{"u", []string{"a", "b", "c", "a"}}, {"v", []string{"z", "y"}}}
	for _, tc := range tests {
		u, _ := d.UserIndex(tc.user)
		seq, _ := d.UserSequence(u)
		var got []string
		for _, i := range seq {
			got = append(got, d.ItemID(int(i)))
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: sequence %v, want %v", tc.user, got, tc.want)
		}
	}
}
