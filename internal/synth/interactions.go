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
	// Mode is Planted (the default: independent draws, MovieLens' shape)
	// or Sequential (sessions, repeats, transitions, drifting popularity;
	// see Sequence).
	Mode Mode
	// Sequence shapes the Sequential mode; zero fields take its defaults.
	Sequence SequenceOptions
}

// Mode is how WriteInteractions draws a user's items.
type Mode string

const (
	// Planted draws each user's items independently from their taste
	// cluster (and Noise from others), at most once each.
	Planted Mode = "planted"
	// Sequential draws them in sessions where order matters: an item's
	// planted successors follow it, users buy some items again, and the
	// popular items of a cluster drift over time.
	Sequential Mode = "sequential"
)

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
	if o.Mode != "" && o.Mode != Planted && o.Mode != Sequential {
		return 0, fmt.Errorf("synth: mode %q: want %s or %s", o.Mode, Planted, Sequential)
	}
	g := newGenerator(o)
	write := g.writeUser
	if o.Mode == Sequential {
		o.Sequence.defaults()
		write = newSequencer(g, o.Sequence).writeUser
	}
	bw := bufio.NewWriter(w)
	lines := 0
	for u := range o.Users {
		n, err := write(bw, u)
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

// taste is one user's planted rating parameters.
type taste struct {
	cluster int
	bias    float64
	vec     [factors]float64
}

// newTaste draws user u's taste (their cluster is u mod Clusters).
func (g *generator) newTaste(u int) taste {
	t := taste{cluster: u % g.o.Clusters, bias: g.r.NormFloat64() * 0.35}
	for f := range t.vec {
		t.vec[f] = g.r.NormFloat64() * 0.5
	}
	return t
}

// activity draws a user's number of interactions: MinPerUser plus a Lomax
// (shifted Pareto, shape 2) draw whose mean makes PerUser the mean; at
// most half the catalogue.
func (g *generator) activity() int {
	n := int(g.extra * (1/math.Sqrt(1-g.r.Float64()) - 1))
	return min(g.o.MinPerUser+n, g.o.Items/2)
}

// rating is the planted 1 to 5 rating of item i by a user of taste ut.
func (g *generator) rating(ut taste, i int) int {
	affinity := -0.4
	if g.clusterOf(i) == ut.cluster {
		affinity = 0.4
	}
	var dot float64
	for f := range factors {
		dot += ut.vec[f] * g.itemVec[i*factors+f]
	}
	x := 3.5 + ut.bias + g.itemBias[i] + affinity + 2*dot + g.r.NormFloat64()*0.6
	return min(max(int(math.Round(x)), 1), 5)
}

// clusterOf is item i's cluster (the last takes the remainder).
func (g *generator) clusterOf(i int) int { return min(i/g.per, g.o.Clusters-1) }

// line writes one interaction (timestamp t unless NoTimestamps).
func (g *generator) line(w io.Writer, u, i, rating int, t int64) error {
	var err error
	if g.o.NoTimestamps {
		_, err = fmt.Fprintf(w, "%d\t%d\t%d\n", u+1, i+1, rating)
	} else {
		_, err = fmt.Fprintf(w, "%d\t%d\t%d\t%d\n", u+1, i+1, rating, t)
	}
	return err
}

// writeUser writes user u's interactions, in time order.
func (g *generator) writeUser(w io.Writer, u int) (int, error) {
	o, r := g.o, g.r
	ut := g.newTaste(u)
	c := ut.cluster
	n := g.activity()
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
		rating := g.rating(ut, i)
		t += int64(60 + r.IntN(86_400))
		if err := g.line(w, u, i, rating, t); err != nil {
			return lines, err
		}
		lines++
	}
	return lines, nil
}
