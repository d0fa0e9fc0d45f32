package recommend

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/vitrinehq/vitrine/ranking"
)

// tieBreak is the weight of normalised popularity added to the sequence
// models' scores: items the sequences do not reach then rank by
// popularity instead of by id, without reordering the reached ones.
const tieBreak = 1e-9

// sessionGap ends a session: SessionKNN's session is the user's latest
// events with no gap longer than this between them (when events have
// times), at most WithWindow of them.
const sessionGap = 30 * 60 // seconds

// Transitions scores what comes next: for every user's sequence (time
// order) it counts item b after item a, the d-th following event counting
// 1/d, up to WithWindow steps ahead; each item keeps its WithNeighbours
// most frequent successors, normalised to sum to one (an estimate of
// P(next = b | a)). A user's score for b is Σ_a w_a·P(b | a) over their
// events, the latest weighing most (WithRecency, in events). Repeats of
// the same item in a row are not transitions.
type Transitions struct {
	cfg  config
	d    *Dataset
	next CSR
	pop  []float64 // normalised popularity, for the tie-break
	buf  *scratch
}

// NewTransitions returns an unfitted model. Defaults: window 1 (the
// immediate successor), 100 successors per item, recency half-life 1
// event.
func NewTransitions(opts ...Option) *Transitions {
	return &Transitions{cfg: newConfig(config{window: 1, neighbours: 100, recency: 1}, opts)}
}

// Fit implements Scorer; it costs O(events × window).
func (m *Transitions) Fit(ctx context.Context, d *Dataset) error {
	c := m.cfg
	if err := checkFit(ctx, d); err != nil {
		return fitError("transitions", err)
	}
	if c.window < 1 || c.neighbours < 1 || c.recency <= 0 {
		return fitError("transitions", fmt.Errorf("window %d, neighbours %d, recency %v: %w", c.window, c.neighbours, c.recency, ErrInvalidOption))
	}
	type pair struct {
		from, to int32
		w        float64
	}
	var pairs []pair
	for u := range d.NumUsers() {
		if u%4096 == 0 && ctx.Err() != nil {
			return fitError("transitions", ctx.Err())
		}
		seq, _ := d.UserSequence(u)
		for p, a := range seq {
			for step := 1; step <= c.window && p+step < len(seq); step++ {
				if b := seq[p+step]; b != a {
					pairs = append(pairs, pair{a, b, 1 / float64(step)})
				}
			}
		}
	}
	slices.SortFunc(pairs, func(x, y pair) int { return cmp.Or(cmp.Compare(x.from, y.from), cmp.Compare(x.to, y.to)) })
	ni := d.NumItems()
	next := CSR{Rows: ni, Cols: ni, Indptr: make([]int, 1, ni+1)}
	h := topHeap{k: c.neighbours}
	for i, lo := 0, 0; i < ni; i++ {
		for lo < len(pairs) && int(pairs[lo].from) == i {
			hi, sum := lo, 0.0
			for ; hi < len(pairs) && pairs[hi].from == pairs[lo].from && pairs[hi].to == pairs[lo].to; hi++ {
				sum += pairs[hi].w
			}
			h.push(pairs[lo].to, sum)
			lo = hi
		}
		top, sc := h.drain()
		var total float64
		for _, v := range sc {
			total += v
		}
		for n, j := range top {
			next.Indices = append(next.Indices, int32(j))
			next.Values = append(next.Values, sc[n]/total)
		}
		next.Indptr = append(next.Indptr, len(next.Indices))
	}
	m.d, m.next, m.pop, m.buf = d, next, normalisedPopularity(d), &scratch{}
	return nil
}

// normalisedPopularity is each item's number of users over the largest.
func normalisedPopularity(d *Dataset) []float64 {
	pop := make([]float64, d.NumItems())
	var top float64
	for i := range pop {
		users, _ := d.ItemUsers(i)
		pop[i] = float64(len(users))
		top = max(top, pop[i])
	}
	for i := range pop {
		pop[i] /= top
	}
	return pop
}

// recentEvents weighs the last events of a sequence by 0.5^(age/h), age
// in events, stopping where the weight falls under 1/1000.
func recentEvents(seq []int32, h float64, limit int, fn func(item int32, w float64)) {
	for age := 0; age < len(seq) && age < limit; age++ {
		w := math.Exp2(-float64(age) / h)
		if w < 1e-3 {
			return
		}
		fn(seq[len(seq)-1-age], w)
	}
}

// ScoreUser implements Scorer.
func (m *Transitions) ScoreUser(u int, dst []float64) {
	if len(dst) != m.d.NumItems() {
		panic("recommend: ScoreUser dst length is not NumItems")
	}
	for i, p := range m.pop {
		dst[i] = tieBreak * p
	}
	seq, _ := m.d.UserSequence(u)
	recentEvents(seq, m.cfg.recency, len(seq), func(a int32, w float64) {
		js, ps := m.next.Row(int(a))
		for n, j := range js {
			dst[j] += w * ps[n]
		}
	})
}

// Recommend implements Scorer.
func (m *Transitions) Recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	return recommendScored(m.d, m, m.buf, "transitions", userID, k, exclude)
}

// SimilarItems implements ItemSimilarity: what most often comes next.
func (m *Transitions) SimilarItems(itemID string, k int) []ranking.Result {
	return similarFromGraph(m.d, &m.next, "transitions", itemID, k)
}

// recommendScored is Recommend for models that score every item.
func recommendScored(d *Dataset, s Scorer, buf *scratch, name, userID string, k int, exclude map[string]bool) []ranking.Result {
	return recommendFrom(d, s, buf, name, userID, k, exclude, false)
}

// recommendFrom scores every item for the user in a pooled buffer and
// returns the top k; with reachedOnly, items scoring exactly 0 are no
// recommendations. nil for an unfitted model or an unknown user.
func recommendFrom(d *Dataset, s Scorer, buf *scratch, name, userID string, k int, exclude map[string]bool, reachedOnly bool) []ranking.Result {
	if d == nil {
		return nil
	}
	u, ok := d.UserIndex(userID)
	if !ok {
		return nil
	}
	sc := buf.get(d.NumItems())
	defer buf.put(sc)
	s.ScoreUser(u, sc)
	if reachedOnly {
		for i, v := range sc {
			if v == 0 {
				sc[i] = math.Inf(-1)
			}
		}
	}
	return results(d, name, sc, u, k, exclude)
}

// SessionKNN is session-based kNN (Jannach and Ludewig 2017, with the
// recency weights of their V-SKNN): the user's current session (their
// latest events without a gap over 30 minutes, at most WithWindow events,
// the latest weighing most by WithRecency) is compared with every other
// user's items; the WithNeighbours most similar users (Σ of the shared
// session items' weights over √|their items|) vote for their items with
// their similarity.
type SessionKNN struct {
	cfg   config
	d     *Dataset
	pop   []float64
	buf   *scratch
	users *scratch // per-call user-sized buffers
}

// NewSessionKNN returns an unfitted model. Defaults: sessions of at most
// 10 events, 100 neighbours, recency half-life 2 events.
func NewSessionKNN(opts ...Option) *SessionKNN {
	return &SessionKNN{cfg: newConfig(config{window: 10, neighbours: 100, recency: 2}, opts)}
}

// Fit implements Scorer: the model is the dataset itself.
func (m *SessionKNN) Fit(ctx context.Context, d *Dataset) error {
	c := m.cfg
	if err := checkFit(ctx, d); err != nil {
		return fitError("sknn", err)
	}
	if c.window < 1 || c.neighbours < 1 || c.recency <= 0 {
		return fitError("sknn", fmt.Errorf("window %d, neighbours %d, recency %v: %w", c.window, c.neighbours, c.recency, ErrInvalidOption))
	}
	m.d, m.pop, m.buf, m.users = d, normalisedPopularity(d), &scratch{}, &scratch{}
	return nil
}

// session is the length of user u's latest session.
func (m *SessionKNN) session(seq []int32, times []float64) int {
	n := 1
	for n < len(seq) && n < m.cfg.window {
		a, b := times[len(times)-n-1], times[len(times)-n]
		if a != 0 && b-a > sessionGap {
			break
		}
		n++
	}
	return min(n, len(seq))
}

// ScoreUser implements Scorer.
func (m *SessionKNN) ScoreUser(u int, dst []float64) {
	if len(dst) != m.d.NumItems() {
		panic("recommend: ScoreUser dst length is not NumItems")
	}
	for i, p := range m.pop {
		dst[i] = tieBreak * p
	}
	seq, times := m.d.UserSequence(u)
	if len(seq) == 0 {
		return
	}
	sim := m.users.get(m.d.NumUsers())
	defer m.users.put(sim)
	var touched []int32
	seen := map[int32]bool{}
	recentEvents(seq, m.cfg.recency, m.session(seq, times), func(i int32, w float64) {
		if seen[i] {
			return // an item counts once, at its latest position
		}
		seen[i] = true
		vs, _ := m.d.ItemUsers(int(i))
		for _, v := range vs {
			if int(v) == u {
				continue
			}
			if sim[v] == 0 {
				touched = append(touched, v)
			}
			sim[v] += w
		}
	})
	h := topHeap{k: m.cfg.neighbours}
	for _, v := range touched {
		own, _ := m.d.UserItems(int(v))
		h.push(v, sim[v]/math.Sqrt(float64(len(own))))
		sim[v] = 0
	}
	vs, sims := h.drain()
	for n, v := range vs {
		own, vals := m.d.UserItems(v)
		for q, j := range own {
			if vals[q] > 0 {
				dst[j] += sims[n]
			}
		}
	}
}

// Recommend implements Scorer.
func (m *SessionKNN) Recommend(userID string, k int, exclude map[string]bool) []ranking.Result {
	return recommendScored(m.d, m, m.buf, "sknn", userID, k, exclude)
}
