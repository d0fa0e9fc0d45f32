package synth

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
)

// InteractionOptions shape a synthetic interaction log. The defaults (zero
// values) give MovieLens-100K's shape: 943 users, 1,682 items, about 100,000
// ratings from 1 to 5.
type InteractionOptions struct {
	Users, Items int
	// PerUser is the mean number of interactions per user (before the cap
	// at half the items); activity follows a power law with at least 20
	// per user, as in MovieLens.
	PerUser int
	// Clusters are taste groups: each user draws most items from one.
	Clusters int
	// Noise is the share of a user's items drawn from other clusters.
	Noise float64
	Seed  uint64
}

func (o *InteractionOptions) defaults() {
	if o.Users <= 0 {
		o.Users = 943
	}
	if o.Items <= 0 {
		o.Items = 1682
	}
	if o.PerUser <= 0 {
		o.PerUser = 106
	}
	if o.Clusters <= 0 {
		o.Clusters = 19 // MovieLens' genres
	}
	if o.Noise <= 0 {
		o.Noise = 0.25
	}
}

// WriteInteractions writes "user item rating timestamp" lines (MovieLens
// u.data, tab separated) with planted structure an evaluation can find:
// users prefer their taste cluster's items (ranking signal), popular items
// are popular in every cluster (a power law), and ratings come from a global
// mean, user and item biases, a cluster affinity, low-rank factors and noise
// (rating signal). It returns the number of lines written.
func WriteInteractions(w io.Writer, o InteractionOptions) (int, error) {
	o.defaults()
	if o.Clusters > o.Items {
		return 0, fmt.Errorf("synth: %d clusters for %d items", o.Clusters, o.Items)
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	const factors = 5
	vec := func() []float64 {
		v := make([]float64, factors)
		for i := range v {
			v[i] = r.NormFloat64() * 0.5
		}
		return v
	}
	// Items: a cluster each, a Zipf popularity rank within it, a bias.
	per := o.Items / o.Clusters
	itemBias, itemVec := make([]float64, o.Items), make([][]float64, o.Items)
	for i := range o.Items {
		itemBias[i] = r.NormFloat64() * 0.4
		itemVec[i] = vec()
	}
	// pick draws an item of cluster c, popular ones more often (Zipf, s=1).
	pick := func(c int) int {
		n := per
		if c == o.Clusters-1 {
			n = o.Items - c*per // the last cluster takes the remainder
		}
		u := r.Float64()
		rank := int(math.Exp(u*math.Log(float64(n)+1))) - 1
		return c*per + min(max(rank, 0), n-1)
	}
	bw := bufio.NewWriter(w)
	lines := 0
	for u := range o.Users {
		c := u % o.Clusters
		bias, uv := r.NormFloat64()*0.35, vec()
		// Activity: 20 plus a Lomax (shifted Pareto, shape 2) draw whose
		// mean makes PerUser the mean; at most half the catalogue.
		n := int(float64(max(o.PerUser-20, 0)) * (1/math.Sqrt(1-r.Float64()) - 1))
		n = min(20+n, o.Items/2)
		seen := make(map[int]bool, n)
		t := int64(880_000_000 + r.IntN(10_000_000))
		for tries := 0; len(seen) < n && tries < 20*n; tries++ {
			cl := c
			if r.Float64() < o.Noise {
				cl = r.IntN(o.Clusters)
			}
			i := pick(cl)
			if seen[i] {
				continue
			}
			seen[i] = true
			affinity := -0.4
			if cl == c {
				affinity = 0.4
			}
			var dot float64
			for f := range factors {
				dot += uv[f] * itemVec[i][f]
			}
			x := 3.5 + bias + itemBias[i] + affinity + 2*dot + r.NormFloat64()*0.6
			rating := min(max(int(math.Round(x)), 1), 5)
			t += int64(60 + r.IntN(86_400))
			if _, err := fmt.Fprintf(bw, "%d\t%d\t%d\t%d\n", u+1, i+1, rating, t); err != nil {
				return lines, err
			}
			lines++
		}
	}
	return lines, bw.Flush()
}
