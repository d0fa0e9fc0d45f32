package recommend_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vitrinehq/vitrine/recommend"
)

// planted is synthetic data with known structure: users and items fall in
// clusters, users interact mostly with their own cluster's items (with a
// popularity skew inside the cluster) and sometimes with any item.
type planted struct {
	events      []recommend.Interaction
	userCluster map[string]int
	itemCluster map[string]int
	items       []string
	clusters    int
}

type plantSpec struct {
	users, items, clusters int
	perUser                int     // events per user (repeats aggregate)
	noise                  float64 // share of events on a uniformly random item
	seed                   uint64
}

// smallPlant is the planted data the quality tests share: 5×5 clusters,
// 500 users, 250 items, about 10k events; it fits in well under a second.
func smallPlant() plantSpec {
	return plantSpec{users: 500, items: 250, clusters: 5, perUser: 25, noise: 0.15, seed: 7}
}

func plant(s plantSpec) planted {
	rng := rand.New(rand.NewPCG(s.seed, 1))
	p := planted{userCluster: map[string]int{}, itemCluster: map[string]int{}, clusters: s.clusters}
	byCluster := make([][]string, s.clusters)
	for i := range s.items {
		id := fmt.Sprintf("item%04d", i)
		c := i % s.clusters
		p.items = append(p.items, id)
		p.itemCluster[id] = c
		byCluster[c] = append(byCluster[c], id)
	}
	// Within a cluster, item r is drawn with weight 1/(r+3): a popularity
	// skew that CF should learn and the popularity baseline partly sees.
	per := len(byCluster[0])
	cdf := make([]float64, per)
	var sum float64
	for r := range per {
		sum += 1 / float64(r+3)
		cdf[r] = sum
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	values := []float64{1, 1, 1, 3, 5} // mostly clicks, some carts and purchases
	for u := range s.users {
		uid := fmt.Sprintf("user%04d", u)
		c := u % s.clusters
		p.userCluster[uid] = c
		for range s.perUser {
			var item string
			if rng.Float64() < s.noise {
				item = p.items[rng.IntN(len(p.items))]
			} else {
				x := rng.Float64() * sum
				r := 0
				for r < per-1 && cdf[r] < x {
					r++
				}
				item = byCluster[c][r]
			}
			p.events = append(p.events, recommend.Interaction{
				User: uid, Item: item, Value: values[rng.IntN(len(values))],
				Time: t0.Add(time.Duration(rng.IntN(30*24)) * time.Hour),
			})
		}
	}
	return p
}

// heldOut groups test events by user: the items to find.
func heldOut(test []recommend.Interaction) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, e := range test {
		if out[e.User] == nil {
			out[e.User] = map[string]bool{}
		}
		out[e.User][e.Item] = true
	}
	return out
}
