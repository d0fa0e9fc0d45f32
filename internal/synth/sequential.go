package synth

import (
	"io"
	"math/rand/v2"
)

// SequenceOptions shape the Sequential mode of WriteInteractions. Zero
// fields take the defaults given with each.
type SequenceOptions struct {
	// Session is the mean number of events in a session (default 5);
	// lengths are geometric, events minutes apart, sessions days apart.
	Session float64
	// Next is the chance that an event within a session is one of the
	// previous item's planted successors (default 0.5): what transition
	// and session models can find and a bag of items cannot.
	Next float64
	// Successors is how many successors each item has (default 3), drawn
	// uniformly from its cluster, chosen with weights 1, 1/2, 1/3, ...
	Successors int
	// Repeat is the chance that an event repeats one of the user's earlier
	// items, recent ones more likely (default 0.1).
	Repeat float64
	// DriftDays is how often a cluster's popularity ranking moves on by
	// a tenth of the cluster (default 30): the items popular in the
	// file's first month are not those of its last.
	DriftDays float64
	// SpanDays is the time the file covers (default 730); users start at
	// a uniform time in its first half.
	SpanDays float64
}

func (s *SequenceOptions) defaults() {
	if s.Session <= 0 {
		s.Session = 5
	}
	if s.Next <= 0 {
		s.Next = 0.5
	}
	if s.Successors <= 0 {
		s.Successors = 3
	}
	if s.Repeat <= 0 {
		s.Repeat = 0.1
	}
	if s.DriftDays <= 0 {
		s.DriftDays = 30
	}
	if s.SpanDays <= 0 {
		s.SpanDays = 730
	}
}

// epoch is the first timestamp of a sequential file.
const epoch = 1_500_000_000

// sequencer draws users' sequences: the planted items and ratings of a
// generator plus every item's successors.
type sequencer struct {
	g    *generator
	s    SequenceOptions
	next []int32 // items × Successors, row-major
	hist []int   // the current user's items, in order
	cum  []float64
}

func newSequencer(g *generator, s SequenceOptions) *sequencer {
	q := &sequencer{g: g, s: s, next: make([]int32, g.o.Items*s.Successors)}
	// Successors come from their own stream, so that they do not depend
	// on how many users are drawn.
	r := rand.New(rand.NewPCG(g.o.Seed, 0x6e657874))
	for i := range g.o.Items {
		lo, n := g.clusterBounds(g.clusterOf(i))
		for k := range s.Successors {
			j := lo + r.IntN(n)
			if j == i {
				j = lo + (j-lo+1)%n
			}
			q.next[i*s.Successors+k] = int32(j)
		}
	}
	q.cum = make([]float64, s.Successors)
	sum := 0.0
	for k := range q.cum {
		sum += 1 / float64(k+1)
		q.cum[k] = sum
	}
	return q
}

// clusterBounds is cluster c's first item and size.
func (g *generator) clusterBounds(c int) (lo, n int) {
	n = g.per
	if c == g.o.Clusters-1 {
		n = g.o.Items - c*g.per
	}
	return c * g.per, n
}

// drifted is pick(c) at time t: the cluster's popularity ranking rotated
// by a tenth of the cluster every DriftDays.
func (q *sequencer) drifted(c int, t int64) int {
	lo, n := q.g.clusterBounds(c)
	shift := int(float64(t-epoch)/(q.s.DriftDays*86_400)) * max(n/10, 1)
	return lo + (q.g.pick(c)-lo+shift)%n
}

// successor draws one of item i's successors.
func (q *sequencer) successor(i int) int {
	x := q.g.r.Float64() * q.cum[len(q.cum)-1]
	k := 0
	for k < len(q.cum)-1 && x > q.cum[k] {
		k++
	}
	return int(q.next[i*q.s.Successors+k])
}

// repeat draws one of the user's earlier items, the d-th latest with
// weight 1/d.
func (q *sequencer) repeat() int {
	n := len(q.hist)
	total := 0.0
	for d := 1; d <= n; d++ {
		total += 1 / float64(d)
	}
	x := q.g.r.Float64() * total
	for d := 1; d <= n; d++ {
		if x -= 1 / float64(d); x <= 0 {
			return q.hist[n-d]
		}
	}
	return q.hist[0]
}

// draw is the user's next item after prev (-1 at a session's start).
func (q *sequencer) draw(ut taste, prev int, t int64) int {
	g, r := q.g, q.g.r
	switch x := r.Float64(); {
	case len(q.hist) > 0 && x < q.s.Repeat:
		return q.repeat()
	case prev >= 0 && x < q.s.Repeat+q.s.Next:
		return q.successor(prev)
	}
	c := ut.cluster
	if r.Float64() < g.o.Noise {
		c = r.IntN(g.o.Clusters)
	}
	return q.drifted(c, t)
}

// writeUser writes user u's sessions, in time order.
func (q *sequencer) writeUser(w io.Writer, u int) (int, error) {
	g, r := q.g, q.g.r
	ut := g.newTaste(u)
	n := g.activity()
	q.hist = q.hist[:0]
	t := int64(epoch + r.Float64()*q.s.SpanDays/2*86_400)
	prev := -1
	for lines := 0; lines < n; lines++ {
		i := q.draw(ut, prev, t)
		if err := g.line(w, u, i, g.rating(ut, i), t); err != nil {
			return lines, err
		}
		q.hist = append(q.hist, i)
		prev = i
		if r.Float64() < 1/q.s.Session { // the session ends
			t += int64(86_400 + r.IntN(14*86_400))
			prev = -1
		} else {
			t += int64(30 + r.IntN(600))
		}
	}
	return n, nil
}
