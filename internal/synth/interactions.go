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
	// at half the items); activity follows a power law with at least
	// MinPerUser per user. Interactions, when set, is the total to aim at
	// instead: PerUser becomes Interactions/Users (the file has about that
	// many lines, since activity is drawn at random).
	PerUser      int
	Interactions int
	// MinPerUser is the least activity of a user: by default 20, as in
	// MovieLens, or half of PerUser (at least 3, so that leave-one-out has
	// a training, a validation and a test item) when PerUser is below 40.
	MinPerUser int
	// Clusters are taste groups: each user draws most items from one.
	Clusters int
	// Noise is the share of a user's items drawn from other clusters.
	Noise float64
	// Skew is the exponent s of the items' Zipf popularity within a
	// cluster, P(rank r) ∝ (r+1)^-s, in (0, 1] (0: 1). Below 1 the tail
	// gets more of the draws, so a sparse file with a large catalogue uses
	// more of it.
	Skew float64
	Seed uint64
	// NoTimestamps writes "user item rating" lines, each user's in time
	// order, instead of "user item rating timestamp".
	NoTimestamps bool
}

func (o *InteractionOptions) defaults() {
	if o.Users <= 0 {
		o.Users = 943
	}
	if o.Items <= 0 {
		o.Items = 1682
	}
	if o.Interactions > 0 {
		o.PerUser = max(1, int(math.Round(float64(o.Interactions)/float64(o.Users))))
	}
	if o.PerUser <= 0 {
		o.PerUser = 106
	}
	if o.MinPerUser <= 0 {
		o.MinPerUser = 20
		if o.PerUser < 40 {
			o.MinPerUser = max(3, o.PerUser/2)
		}
	}
	if o.Clusters <= 0 {
		o.Clusters = 19 // MovieLens' genres
	}
	if o.Noise <= 0 {
		o.Noise = 0.25
	}
	if o.Skew <= 0 || o.Skew > 1 {
		o.Skew = 1
	}
}

// WriteInteractions writes "user item rating timestamp" lines (MovieLens
// u.data, tab separated; without the timestamp under NoTimestamps) with
// planted structure an evaluation can find: users prefer their taste
// cluster's items (ranking signal), popular items are popular in every
// cluster (a power law), and ratings come from a global mean, user and item
// biases, a cluster affinity, low-rank factors and noise (rating signal).
// Memory is the items' parameters and one user's items, whatever the
// number of users or lines. It returns the number of lines written.
func WriteInteractions(w io.Writer, o InteractionOptions) (int, error) {
	o.defaults()
	if o.Clusters > o.Items {
		return 0, fmt.Errorf("synth: %d clusters for %d items", o.Clusters, o.Items)
	}
	g := newGenerator(o)
	bw := bufio.NewWriter(w)
	lines := 0
	for u := range o.Users {
		n, err := g.writeUser(bw, u)
		lines += n
		if err != nil {
			return lines, err
		}
	}
	return lines, bw.Flush()
}

// factors is the rank of the planted rating model.
const factors = 5

// generator holds the items' planted parameters and the random stream.
type generator struct {
	o        InteractionOptions
	r        *rand.Rand
	per      int       // items per cluster (the last takes the remainder)
	extra    float64   // mean activity above MinPerUser
	itemBias []float64 // per item
	itemVec  []float64 // items × factors, row-major
	seen     map[int]bool
}

func newGenerator(o InteractionOptions) *generator {
	g := &generator{o: o, r: rand.New(rand.NewPCG(o.Seed, 0x5eed)), per: o.Items / o.Clusters,
		itemBias: make([]float64, o.Items), itemVec: make([]float64, o.Items*factors), seen: map[int]bool{}}
	g.extra = float64(max(o.PerUser-o.MinPerUser, 0))
	if o.Interactions > 0 {
		// The exact mean, plus ½ for the draw's truncation to a count.
		g.extra = max(float64(o.Interactions)/float64(o.Users)-float64(o.MinPerUser), 0) + 0.5
	}
	// Items: a cluster each, a Zipf popularity rank within it, a bias.
	for i := range o.Items {
		g.itemBias[i] = g.r.NormFloat64() * 0.4
		for f := range factors {
			g.itemVec[i*factors+f] = g.r.NormFloat64() * 0.5
		}
	}
	return g
}

// pick draws an item of cluster c, popular ones more often (Zipf with
// exponent Skew, by inverting the continuous distribution's CDF).
func (g *generator) pick(c int) int {
	n := g.per
	if c == g.o.Clusters-1 {
		n = g.o.Items - c*g.per // the last cluster takes the remainder
	}
	u := g.r.Float64()
	var rank int
	if s := g.o.Skew; s == 1 {
		rank = int(math.Exp(u*math.Log(float64(n)+1))) - 1
	} else {
		a := 1 - s
		rank = int(math.Pow(u*(math.Pow(float64(n)+1, a)-1)+1, 1/a)) - 1
	}
	return c*g.per + min(max(rank, 0), n-1)
}

// writeUser writes user u's interactions, in time order.
func (g *generator) writeUser(w io.Writer, u int) (int, error) {
	o, r := g.o, g.r
	c := u % o.Clusters
	bias := r.NormFloat64() * 0.35
	var uv [factors]float64
	for f := range uv {
		uv[f] = r.NormFloat64() * 0.5
	}
	// Activity: MinPerUser plus a Lomax (shifted Pareto, shape 2) draw
	// whose mean makes PerUser the mean; at most half the catalogue.
	n := int(g.extra * (1/math.Sqrt(1-r.Float64()) - 1))
	n = min(o.MinPerUser+n, o.Items/2)
	clear(g.seen)
	t := int64(880_000_000 + r.IntN(10_000_000))
	lines := 0
	for tries := 0; len(g.seen) < n && tries < 20*n; tries++ {
		cl := c
		if r.Float64() < o.Noise {
			cl = r.IntN(o.Clusters)
		}
		i := g.pick(cl)
		if g.seen[i] {
			continue
		}
		g.seen[i] = true
		affinity := -0.4
		if cl == c {
			affinity = 0.4
		}
		var dot float64
		for f := range factors {
			dot += uv[f] * g.itemVec[i*factors+f]
		}
		x := 3.5 + bias + g.itemBias[i] + affinity + 2*dot + r.NormFloat64()*0.6
		rating := min(max(int(math.Round(x)), 1), 5)
		t += int64(60 + r.IntN(86_400))
		var err error
		if o.NoTimestamps {
			_, err = fmt.Fprintf(w, "%d\t%d\t%d\n", u+1, i+1, rating)
		} else {
			_, err = fmt.Fprintf(w, "%d\t%d\t%d\t%d\n", u+1, i+1, rating, t)
		}
		if err != nil {
			return lines, err
		}
		lines++
	}
	return lines, nil
}
