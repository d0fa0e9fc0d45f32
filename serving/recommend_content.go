package serving

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/ranking"
	"github.com/vitrinehq/vitrine/records"
)

// The content leg of a recommendation is a pool of products that look like
// what the user engaged with. It used to be the products nearest the
// user's vector (the decayed, weighted mean of their products' vectors),
// an HNSW search that was most of a retrieval's database time (5-6 ms of
// CPU at a million products, against about 1 ms for everything else). It
// now unions the stored content-neighbour lists of the products that
// weigh most in that vector (the seeds), one indexed read, and scores each
// product of the union by the seeds' weighted similarity to it. This is a
// different pool, not an approximation of the old one: for a shopper with
// several unrelated interests the mean of their products lies between
// them, and the products nearest it match none of the interests (on the
// bench's shoppers, who bought 8 unrelated products each, the lists held
// 0.013 of the mean's exact 30 nearest and the served top 10 overlapped
// the search's at 0.52, with the same first item for all 200). Retrieving
// per interest, from the products themselves, is what item-to-item
// recommenders do and what Pinterest's PinnerSage (KDD 2020) found to
// serve multi-interest users better than one mean embedding. The pool's
// candidates are then scored against the user's vector by the blend, as
// before. recommend.content_seeds 0 restores the search.
//
// A product's list is its nearest products by the same search the content
// leg runs (contentListLen of them, at search.vector_ef), shared by every
// process through the store and computed on first need: a retrieval that
// finds a seed's list missing, older than the lists' TTL or older than
// the product's vector searches for the user's vector as before and
// computes the missing lists in the background (refresh workers), so the
// next users with those products find them. Similar products read the
// same list (its first k are what their own search found) and store it
// when they search.

// DefaultContentSeeds is how many of a user's products seed the content
// leg from their lists unless WithContentLists says otherwise.
const DefaultContentSeeds = 5

// DefaultContentListsTTL is how long a stored content-neighbour list is
// used unless WithContentLists says otherwise, and so how late a new
// product can join the content leg of users whose seeds' lists predate
// it (a deleted product leaves at once: the candidates' products are
// read per request).
const DefaultContentListsTTL = time.Hour

// contentListLen is the length of a stored content-neighbour list: the
// pool of a default-length recommendation (recommend.ServingPool of
// DefaultK). A larger pool searches.
const contentListLen = 30

// contentLists configures the content leg's lists (WithContentLists).
type contentLists struct {
	seeds int
	ttl   time.Duration
}

// WithContentLists sets how many of a user's products seed the content
// leg from their stored content-neighbour lists (recommend.content_seeds;
// 0 turns the lists off: every retrieval, a similar product's too,
// searches the index) and how long a stored list is used
// (recommend.content_lists_ttl; 0 takes the default).
func WithContentLists(seeds int, ttl time.Duration) Option {
	return func(s *Service) {
		if ttl <= 0 {
			ttl = DefaultContentListsTTL
		}
		s.cf.lists = contentLists{seeds: max(seeds, 0), ttl: ttl}
	}
}

// contentLeg returns the pool of products nearest the user's vector (none
// bought): from the stored lists of the user's seeds when every seed has
// a fresh one (and some seed a vector), else from the index (and the
// missing lists computed in the background).
func (s *Service) contentLeg(ctx context.Context, u recoUser, space, pool int) ([]records.Neighbor, error) {
	set := s.cf.lists
	seeds := contentSeeds(u.history, s.cfg.HalfLife, set.seeds)
	if len(seeds) > 0 && pool <= contentListLen {
		ids := make([]string, len(seeds))
		for i, sd := range seeds {
			ids[i] = sd.ProductID
		}
		lists, err := s.d.Neighbours.ContentNeighbours(ctx, space, ids, s.now().Add(-set.ttl))
		if err != nil {
			return nil, err
		}
		if len(lists) == len(ids) {
			if nn := unionNearest(seeds, lists, pool, u.bought); len(nn) > 0 {
				return nn, nil
			}
			// No seed has a vector: the user's older products may, so search.
		} else {
			var missing []string
			for _, id := range ids {
				if _, ok := lists[id]; !ok {
					missing = append(missing, id)
				}
			}
			s.fillContentLists(space, missing)
		}
	}
	return s.d.Vectors.Nearest(ctx, s.contentQuery(space, u.vector, pool, u.bought))
}

// contentSeeds are the n products of the user's history (newest first)
// that weigh most in their vector: each event's weight
// (ranking.EventWeight) halved every halfLife before the newest event,
// summed per product (ranking.Decay, as in the vector); products weighing
// nothing or less are left out.
// Ties go to the product seen last.
func contentSeeds(history []catalog.Event, halfLife time.Duration, n int) []records.Scored {
	if n == 0 || len(history) == 0 {
		return nil
	}
	newest := history[0].OccurredAt
	weight := map[string]float64{}
	var order []string
	for _, e := range history {
		w := ranking.EventWeight(e.Type, e.Value) * ranking.Decay(newest.Sub(e.OccurredAt), halfLife)
		if _, ok := weight[e.ProductID]; !ok {
			order = append(order, e.ProductID)
		}
		weight[e.ProductID] += w
	}
	seeds := make([]records.Scored, 0, len(order))
	for _, id := range order {
		if weight[id] > 0 {
			seeds = append(seeds, records.Scored{ProductID: id, Score: weight[id]})
		}
	}
	slices.SortStableFunc(seeds, func(a, b records.Scored) int { return cmp.Compare(b.Score, a.Score) })
	return seeds[:min(n, len(seeds))]
}

// unionNearest scores each product of the seeds' lists, and each seed, by
// the seeds' weighted mean similarity to it (a seed's own similarity 1, a
// product missing from a seed's list that list's last score, the most it
// can be) and returns the pool best, none bought, as neighbours at the
// distance 1 − score. A seed whose list is empty (it has no vector)
// weighs nothing.
func unionNearest(seeds []records.Scored, lists map[string][]records.Scored, pool int, bought []string) []records.Neighbor {
	type seed struct {
		w, tail float64
		sim     map[string]float64
	}
	var ss []seed
	var total float64
	var cands []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] && !slices.Contains(bought, id) {
			seen[id] = true
			cands = append(cands, id)
		}
	}
	for _, sd := range seeds {
		l := lists[sd.ProductID]
		if len(l) == 0 {
			continue
		}
		x := seed{w: sd.Score, tail: l[len(l)-1].Score, sim: make(map[string]float64, len(l)+1)}
		x.sim[sd.ProductID] = 1
		add(sd.ProductID)
		for _, n := range l {
			x.sim[n.ProductID] = n.Score
			add(n.ProductID)
		}
		ss, total = append(ss, x), total+x.w
	}
	out := make([]records.Neighbor, 0, len(cands))
	for _, id := range cands {
		var score float64
		for _, x := range ss {
			sim, ok := x.sim[id]
			if !ok {
				sim = x.tail
			}
			score += x.w * sim
		}
		out = append(out, records.Neighbor{ProductID: id, Distance: 1 - score/total})
	}
	slices.SortStableFunc(out, func(a, b records.Neighbor) int { return cmp.Compare(a.Distance, b.Distance) })
	return out[:min(pool, len(out))]
}

// listKey names a product's content-neighbour list in a space.
type listKey struct {
	space int
	id    string
}

// fillContentLists computes and stores, in the background, the lists of
// these products (each once at a time; dropped when the queue is full).
func (s *Service) fillContentLists(space int, ids []string) {
	b := &s.bg
	b.mu.Lock()
	b.init()
	var todo []string
	for _, id := range ids {
		if key := (listKey{space, id}); !b.filling[key] {
			b.filling[key] = true
			todo = append(todo, id)
		}
	}
	b.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	done := func() {
		b.mu.Lock()
		for _, id := range todo {
			delete(b.filling, listKey{space, id})
		}
		b.mu.Unlock()
	}
	started := b.start(func() {
		defer done()
		ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		if err := s.saveContentLists(ctx, space, todo); err != nil {
			s.log.Warn("compute content neighbour lists", "space", space, "products", len(todo), "err", err)
		}
	})
	if !started {
		done()
	}
}

// productNearest is the k products nearest a product's vector (itself
// left out): the first k of its stored content-neighbour list when it
// has a fresh one, else searched (the list's search when k fits in one,
// then stored in the background). The search is the content leg's, whose
// first k are those a search for k finds at the same ef_search.
func (s *Service) productNearest(ctx context.Context, space int, id string, v []float32, k int) ([]records.Neighbor, error) {
	if k > contentListLen || s.cf.lists.seeds == 0 {
		return s.d.Vectors.Nearest(ctx, s.contentQuery(space, v, k, []string{id}))
	}
	lists, err := s.d.Neighbours.ContentNeighbours(ctx, space, []string{id}, s.now().Add(-s.cf.lists.ttl))
	if err != nil {
		return nil, err
	}
	if l, ok := lists[id]; ok && len(l) > 0 {
		nn := make([]records.Neighbor, min(k, len(l)))
		for i := range nn {
			nn[i] = records.Neighbor{ProductID: l[i].ProductID, Distance: 1 - l[i].Score}
		}
		return nn, nil
	}
	at := s.now()
	nn, err := s.d.Vectors.Nearest(ctx, s.contentQuery(space, v, contentListLen, []string{id}))
	if err != nil {
		return nil, err
	}
	list := scoredOf(nn)
	_ = s.bg.start(func() {
		ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		if err := s.d.Neighbours.SaveContentNeighbours(ctx, space, map[string][]records.Scored{id: list}, at); err != nil {
			s.log.Warn("store content neighbour list", "space", space, "product", id, "err", err)
		}
	})
	return nn[:min(k, len(nn))], nil
}

// scoredOf is neighbours as a stored list (similarity 1 − distance).
func scoredOf(nn []records.Neighbor) []records.Scored {
	l := make([]records.Scored, len(nn))
	for i, n := range nn {
		l[i] = records.Scored{ProductID: n.ProductID, Score: 1 - n.Distance}
	}
	return l
}

// saveContentLists computes the lists of these products (each the
// content leg's search for its vector, itself left out; empty for a
// product without a vector) and stores them.
func (s *Service) saveContentLists(ctx context.Context, space int, ids []string) error {
	vecs, err := s.d.Vectors.ProductVectors(ctx, space, ids)
	if err != nil {
		return err
	}
	at := s.now()
	lists := make(map[string][]records.Scored, len(ids))
	for _, id := range ids {
		lists[id] = []records.Scored{}
		if v, ok := vecs[id]; ok {
			nn, err := s.d.Vectors.Nearest(ctx, s.contentQuery(space, v, contentListLen, []string{id}))
			if err != nil {
				return err
			}
			lists[id] = scoredOf(nn)
		}
	}
	return s.d.Neighbours.SaveContentNeighbours(ctx, space, lists, at)
}
