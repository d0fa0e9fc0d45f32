package lexical

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"math"
	mathbits "math/bits"
	"slices"

	"github.com/vitrinehq/vitrine/catalog"
	"github.com/vitrinehq/vitrine/lexical/analysis"
	"github.com/vitrinehq/vitrine/records"
)

// Errors of the index.
var (
	// ErrConfig is wrapped by New for weights or bonuses out of range.
	ErrConfig = errors.New("lexical: invalid configuration")
	// ErrK is returned by Search for k outside 1..records.MaxK.
	ErrK = errors.New("lexical: k out of range")
)

// Match says which products a query matched.
type Match string

// Match modes: every query word (the normal case), or, when no product
// has them all, any of them (ranked by how many they hold).
const (
	MatchAll Match = "all"
	MatchAny Match = "any"
)

// Query is one lexical search.
type Query struct {
	Text   string
	K      int
	Filter catalog.Filter
	// Facets asks for the facet counts of the match set.
	Facets bool
}

// Hit is one match.
type Hit struct {
	ProductID string
	Score     float64
	// InTitle says the title holds every query word (or a variant of it:
	// a synonym, a compound, a completion, a corrected typo).
	InTitle bool
}

// Result is a lexical search's answer.
type Result struct {
	// Hits are the best K matches, best first.
	Hits []Hit
	// Total is the number of products that match the query and filter.
	Total int
	// Facets count the match set (when asked for).
	Facets records.Facets
	// Scored is how many documents were scored: the rest of the Total
	// were skipped by block-max pruning.
	Scored int
	Match  Match
}

// cursor walks one query term's postings.
type cursor struct {
	p   *posting
	idf float64
	i   int
}

// block is the block-max bound of the cursor's postings between doc ids
// lo and hi, from its current position.
func (c *cursor) bound(lo, hi uint32) float64 {
	docs := c.p.docs
	var m float32
	for b := c.i / blockSize; b < len(c.p.blockMax); b++ {
		first := docs[b*blockSize]
		last := docs[min((b+1)*blockSize, len(docs))-1]
		if first > hi {
			break
		}
		if last >= lo {
			m = max(m, c.p.blockMax[b])
		}
	}
	return c.idf * float64(m)
}

// seek moves to the first posting at or after doc id d; false past the end.
func (c *cursor) seek(d uint32) bool {
	docs := c.p.docs
	if c.i < len(docs) && docs[c.i] >= d {
		return true
	}
	// Gallop, then binary search.
	step := 1
	lo := c.i
	hi := c.i + step
	for hi < len(docs) && docs[hi] < d {
		lo = hi
		step *= 2
		hi = lo + step
	}
	hi = min(hi, len(docs))
	j, _ := slices.BinarySearch(docs[lo:hi], d)
	c.i = lo + j
	return c.i < len(docs)
}

// Search returns the top k live products for a query.
func (ix *Index) Search(q Query) (Result, error) {
	if q.K < 1 || q.K > records.MaxK {
		return Result{}, ErrK
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	s := ix.newSearch(q)
	res := Result{Match: MatchAll}
	ranAll := false
	switch {
	case len(s.words) == 0 || s.filter.none:
	case len(s.curs) == len(s.alts) && ix.cfg.match == MatchAll:
		s.all()
		ranAll = true
	}
	if s.total == 0 && !s.filter.none && len(s.curs) > 0 &&
		(ix.cfg.match == MatchAny || len(s.alts) > 1 || len(s.curs) < len(s.alts)) {
		res.Match = MatchAny
		s = ix.newSearch(q)
		if ranAll || s.missing {
			// No product that passes the filter holds every query word
			// (none matched them all, or a word is in no product), so
			// none holds them in its title: no title bonus, and the
			// pruning bounds drop the bonus's slack.
			s.bonus = 1
		}
		s.any()
	}
	res.Total, res.Scored = s.total, s.scored
	res.Hits = s.hits()
	if q.Facets {
		res.Facets = s.facets()
	}
	return res, nil
}

// search is the state of one traversal.
type search struct {
	ix     *Index
	words  []uint32     // query term ids in query order, unknown words MaxUint32
	alts   [][][]uint32 // per query unit (a word, or a synonym phrase), the term sequences it stands for
	curs   []*cursor    // one per distinct query word with a term
	filter filter
	k      int
	top    topK
	total  int
	scored int
	// counts of the match set for facets (nil: not asked).
	catN, brandN []int32
	priceN       [len(priceBands)]int32
	bonus        float64 // the largest title bonus factor a doc can get
	missing      bool    // a query unit is in no product
}

func (ix *Index) newSearch(q Query) *search {
	s := &search{ix: ix, k: q.K, filter: ix.compile(q.Filter), bonus: 1}
	seen := map[string]bool{}
	raw := analysis.Words(q.Text)
	terms := make([]string, len(raw))
	for i, w := range raw {
		terms[i] = ix.cfg.analyzer.Stem(w)
		tid, ok := ix.terms[terms[i]]
		if !ok {
			tid = math.MaxUint32
		}
		s.words = append(s.words, tid)
	}
	for i := 0; i < len(terms); {
		u := ix.unitAt(terms, raw, i)
		i += u.words
		s.alts = append(s.alts, u.alts())
		key := fmt.Sprint(u.alts())
		if u.empty() {
			s.missing = true
		}
		if u.empty() || seen[key] {
			continue
		}
		seen[key] = true
		s.curs = append(s.curs, ix.cursorOf(u))
	}
	if len(s.words) > 1 {
		s.bonus = max(ix.cfg.phrase, ix.cfg.inTitle)
	}
	if q.Facets {
		s.catN = make([]int32, len(ix.catNames))
		s.brandN = make([]int32, len(ix.brandNames))
	}
	return s
}

// idf is a term's inverse document frequency (BM25's, never negative).
func (ix *Index) idf(term uint32) float64 {
	df := float64(ix.post[term].live)
	return math.Log(1 + (float64(ix.live)-df+0.5)/(df+0.5))
}

// cursorOf walks a query unit's postings: its term's own, or, when the
// unit stands for several terms or term sequences, their union with each
// doc weighed by its best variant (idf and score factor folded into the
// weights; a sequence weighs the sum of its terms, for the docs holding
// them all).
func (ix *Index) cursorOf(u unit) *cursor {
	vs := u.variants
	if len(vs) == 1 && vs[0].factor == 1 && len(u.phrases) == 0 {
		return &cursor{p: ix.post[vs[0].term], idf: ix.idf(vs[0].term)}
	}
	var m posting
	for _, v := range vs {
		m = merge(m, ix.post[v.term], float32(ix.idf(v.term)*v.factor))
	}
	for _, ph := range u.phrases {
		c := ix.conjunction(ph)
		m = merge(m, &c, float32(ph.factor))
	}
	m.maxima(0)
	return &cursor{p: &m, idf: 1}
}

// merge returns the union of a (weights final) and b (weights times f),
// keeping the larger weight of a doc in both. Block maxima are left to
// the caller.
func merge(a posting, b *posting, f float32) posting {
	out := posting{docs: make([]uint32, 0, len(a.docs)+len(b.docs)), w: make([]float32, 0, len(a.docs)+len(b.docs))}
	i, j := 0, 0
	for i < len(a.docs) || j < len(b.docs) {
		switch {
		case j == len(b.docs) || i < len(a.docs) && a.docs[i] < b.docs[j]:
			out.docs, out.w = append(out.docs, a.docs[i]), append(out.w, a.w[i])
			i++
		case i == len(a.docs) || b.docs[j] < a.docs[i]:
			out.docs, out.w = append(out.docs, b.docs[j]), append(out.w, b.w[j]*f)
			j++
		default:
			out.docs, out.w = append(out.docs, a.docs[i]), append(out.w, max(a.w[i], b.w[j]*f))
			i, j = i+1, j+1
		}
	}
	out.blockMax = make([]float32, 0, (len(out.docs)+blockSize-1)/blockSize)
	return out
}

// all walks the products holding every query term, rarest term first,
// one block of it at a time: each match is counted (and its facets), but
// only a block whose block-max bound can beat the k-th best score is
// scored.
func (s *search) all() {
	slices.SortFunc(s.curs, func(a, b *cursor) int { return len(a.p.docs) - len(b.p.docs) })
	lead, rest := s.curs[0], s.curs[1:]
	for b := 0; b < len(lead.p.blockMax); b++ {
		from, to := b*blockSize, min((b+1)*blockSize, len(lead.p.docs))
		lo, hi := lead.p.docs[from], lead.p.docs[to-1]
		bound := lead.idf * float64(lead.p.blockMax[b])
		for _, c := range rest {
			bound += c.bound(lo, hi)
		}
		// Every match is visited (the total and the facets count them
		// all); only the scoring is skipped.
		score := s.top.Len() < s.k || bound*s.bonus > s.top.min()
	docs:
		for i := from; i < to; i++ {
			d := lead.p.docs[i]
			lead.i = i
			for _, c := range rest {
				if !c.seek(d) {
					return
				}
				if c.p.docs[c.i] != d {
					continue docs
				}
			}
			if !s.filter.ok(s.ix, d) {
				continue
			}
			s.count(d)
			if score {
				s.offer(d, 1)
			}
		}
	}
}

// any answers an any-word query: a product holding at least one query
// term matches, scored by its terms times the share of query words it
// holds, so products with more of the words rank first. The total and
// facets count the union of the terms' postings marked in a bitset; the
// top k come from a MaxScore traversal that scores only the products
// that can still enter them.
func (s *search) any() {
	bp := s.countUnion()
	s.topAny(*bp)
	clear(*bp)
	s.ix.bits.Put(bp)
}

// countUnion counts every live product in the union of the cursors'
// postings that passes the filter: the postings are OR-ed into a bitset
// (one bit per doc slot), then its set bits are visited in doc order,
// and those of products that fail (dead or filtered out) are cleared. It
// returns the bitset of the matches, for the caller to clear and put
// back.
func (s *search) countUnion() *[]uint64 {
	n := (len(s.ix.docs) + 63) / 64
	bp, _ := s.ix.bits.Get().(*[]uint64)
	if bp == nil || cap(*bp) < n {
		bp = &[]uint64{}
		*bp = make([]uint64, n)
	}
	*bp = (*bp)[:n]
	bits := *bp
	for _, c := range s.curs {
		for _, d := range c.p.docs {
			bits[d>>6] |= 1 << (d & 63)
		}
	}
	if s.filter.any {
		s.countLive(bits)
		return bp
	}
	for i, w := range bits {
		for rest := w; rest != 0; rest &= rest - 1 {
			b := mathbits.TrailingZeros64(rest)
			if d := uint32(i<<6 + b); s.filter.ok(s.ix, d) {
				s.count(d)
			} else {
				w &^= 1 << b
			}
		}
		bits[i] = w
	}
	return bp
}

// countLive is countUnion's loop without a filter (the common case, a
// union of hundreds of thousands of products at a million): liveness and
// the facet columns read in one place, with no call per product.
func (s *search) countLive(bits []uint64) {
	cols := s.ix.cols
	total := 0
	for i, w := range bits {
		for rest := w; rest != 0; rest &= rest - 1 {
			b := mathbits.TrailingZeros64(rest)
			c := &cols[i<<6+b]
			if !c.live {
				w &^= 1 << b
				continue
			}
			total++
			if s.catN != nil {
				s.tally(c)
			}
		}
		bits[i] = w
	}
	s.total += total
}

// boundSlack widens pruning bounds so that a score summed in another
// order than its bound can never exceed it by a rounding error.
const boundSlack = 1 + 1e-9

// bonusFor bounds the title bonus of a product holding at most held of
// the query's cursors: only one holding them all can hold every query
// word in its title, so a bound for fewer leaves the bonus out.
func (s *search) bonusFor(held int) float64 {
	if held < len(s.curs) {
		return 1
	}
	return s.bonus
}

// slack is the factor pruning bounds are widened by: boundSlack, or 1 for
// a one-word query, whose score and bounds are the same single product
// (its idf times a weight) and so compare exactly. Without slack, a
// product that can only tie the k-th score is skipped (ties keep the
// earlier product), which a frequent word's many equal scores need.
func (s *search) slack() float64 {
	if len(s.curs) == 1 && len(s.alts) == 1 {
		return 1
	}
	return boundSlack
}

// topAny finds the best k of an any-word query (matches: the bitset of
// the products that match and pass the filter) with MaxScore: the
// cursors sorted by their largest possible contribution, those whose
// products (holding none of the other words) cannot beat the k-th score
// are non-essential: only products in an essential cursor are candidates,
// runs of candidates whose block maxima cannot beat the k-th score are
// skipped a block at a time, and a candidate is looked up in the
// non-essential cursors only while its bound can still beat the k-th
// score; the filter is a bit of matches.
func (s *search) topAny(matches []uint64) {
	n := float64(len(s.alts))
	order := slices.Clone(s.curs)
	ub := make(map[*cursor]float64, len(order))
	for _, c := range order {
		var m float32
		for _, b := range c.p.blockMax {
			m = max(m, b)
		}
		ub[c] = c.idf * float64(m)
	}
	slices.SortStableFunc(order, func(a, b *cursor) int { return cmp.Compare(ub[a], ub[b]) })
	// upTo[j] bounds a product holding only words of order[:j].
	prefix := make([]float64, len(order)+1)
	for j, c := range order {
		prefix[j+1] = prefix[j] + ub[c]
	}
	slack := s.slack()
	upTo := func(j, held int, part float64) float64 {
		return (part + prefix[j]) * float64(held+j) / n * s.bonusFor(held+j) * slack
	}
	e := 0 // order[e:] are essential
	for {
		full := s.top.Len() == s.k
		for full && e < len(order) && upTo(e+1, 0, 0) <= s.top.min() {
			e++
		}
		d := uint32(math.MaxUint32)
		for _, c := range order[e:] {
			if c.i < len(c.p.docs) {
				d = min(d, c.p.docs[c.i])
			}
		}
		if d == math.MaxUint32 {
			return
		}
		if full && s.skipBlocks(order[e:], prefix[e], float64(len(order))/n) {
			continue
		}
		if s.lookUp(order[:e], order[e:], d, upTo) && matches[d>>6]&(1<<(d&63)) != 0 {
			s.offer(d, float64(s.held(d))/n)
		}
		for _, c := range order[e:] {
			if c.i < len(c.p.docs) && c.p.docs[c.i] == d {
				c.i++
			}
		}
	}
}

// skipBlocks moves the essential cursors past the docs up to the end of
// the first of their current blocks to end, when no doc there can beat
// the k-th score: each essential cursor contributes at most its current
// block's maximum, the non-essential ones at most rest together, and the
// share of words held is at most coord. It reports whether it skipped.
func (s *search) skipBlocks(essential []*cursor, rest, coord float64) bool {
	end := uint32(math.MaxUint32)
	bound := rest
	for _, c := range essential {
		if c.i < len(c.p.docs) {
			b := c.i / blockSize
			bound += c.idf * float64(c.p.blockMax[b])
			end = min(end, c.p.docs[min((b+1)*blockSize, len(c.p.docs))-1])
		}
	}
	if bound*coord*s.bonus*s.slack() > s.top.min() {
		return false
	}
	for _, c := range essential {
		if c.i < len(c.p.docs) {
			c.seek(end + 1)
		}
	}
	return true
}

// lookUp positions the non-essential cursors (ascending bound) on doc d,
// the largest first, and reports whether d can still beat the k-th
// score: false as soon as the essential cursors' share of its score, the
// looked-up ones' and the bound of those left cannot. The essential
// cursors (the others) are on or past d.
func (s *search) lookUp(rest, essential []*cursor, d uint32, upTo func(j, held int, part float64) float64) bool {
	part, held := 0.0, 0
	for _, c := range essential {
		if c.i < len(c.p.docs) && c.p.docs[c.i] == d {
			part += c.idf * float64(c.p.w[c.i])
			held++
		}
	}
	full := s.top.Len() == s.k
	for j := len(rest) - 1; j >= 0; j-- {
		if full && upTo(j+1, held, part) <= s.top.min() {
			return false
		}
		c := rest[j]
		if c.seek(d) && c.p.docs[c.i] == d {
			part += c.idf * float64(c.p.w[c.i])
			held++
		}
	}
	return !full || part*float64(held)/float64(len(s.alts))*s.bonusFor(held)*s.slack() > s.top.min()
}

// held is the number of cursors positioned on doc d.
func (s *search) held(d uint32) int {
	m := 0
	for _, c := range s.curs {
		if c.i < len(c.p.docs) && c.p.docs[c.i] == d {
			m++
		}
	}
	return m
}

// offer scores a doc the cursors are positioned on and keeps it if it is
// among the best k.
func (s *search) offer(d uint32, coord float64) {
	s.scored++
	var sc float64
	for _, c := range s.curs {
		if c.i < len(c.p.docs) && c.p.docs[c.i] == d {
			sc += c.idf * float64(c.p.w[c.i])
		}
	}
	sc *= coord * s.titleBonus(d)
	if s.top.Len() < s.k {
		heap.Push(&s.top, hit{d, sc})
	} else if sc > s.top.min() {
		s.top[0] = hit{d, sc}
		heap.Fix(&s.top, 0)
	}
}

// titleBonus is the factor for a title that holds the query words as a
// phrase (in order, adjacent) or all of them anywhere.
func (s *search) titleBonus(d uint32) float64 {
	if len(s.words) < 2 || s.bonus == 1 {
		return 1
	}
	title := s.ix.docs[d].title
	for i := 0; i+len(s.words) <= len(title); i++ {
		if slices.Equal(title[i:i+len(s.words)], s.words) {
			return s.ix.cfg.phrase
		}
	}
	if !s.inTitle(title) {
		return 1
	}
	return s.ix.cfg.inTitle
}

// inTitle reports whether a title holds every query unit: every term of
// one of the sequences it stands for (the words, or a variant of them).
func (s *search) inTitle(title []uint32) bool {
	for _, alts := range s.alts {
		if !slices.ContainsFunc(alts, func(seq []uint32) bool {
			return !slices.ContainsFunc(seq, func(t uint32) bool { return !slices.Contains(title, t) })
		}) {
			return false
		}
	}
	return len(s.alts) > 0
}

func (s *search) hits() []Hit {
	hs := slices.Clone(s.top)
	slices.SortFunc(hs, func(a, b hit) int {
		if a.better(b) {
			return -1
		}
		return 1
	})
	out := make([]Hit, len(hs))
	for i, h := range hs {
		d := &s.ix.docs[h.doc]
		out[i] = Hit{ProductID: d.id, Score: h.score, InTitle: s.inTitle(d.title)}
	}
	return out
}

// hit is one scored doc; topK is a min-heap of the best k (worst on top).
// Equal scores keep the older doc id.
type hit struct {
	doc   uint32
	score float64
}

func (a hit) better(b hit) bool { return a.score > b.score || a.score == b.score && a.doc < b.doc }

type topK []hit

func (h topK) Len() int           { return len(h) }
func (h topK) Less(i, j int) bool { return h[j].better(h[i]) }
func (h topK) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *topK) Push(x any)        { *h = append(*h, x.(hit)) }
func (h *topK) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
func (h topK) min() float64 { return h[0].score }
