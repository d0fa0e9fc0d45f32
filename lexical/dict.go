package lexical

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/blevesearch/vellum"
	"github.com/blevesearch/vellum/levenshtein"
)

// dictionary is the term dictionary that typo, prefix and compound
// lookups read: two finite-state transducers (vellum), one of the terms
// and one of the terms reversed (for compounds that end in a query word),
// built with the index (Reweigh, Compact), and the terms added since,
// kept sorted and scanned. A typo is looked up by walking the terms FST
// with a Levenshtein automaton of the query word (adjacent swaps count
// one edit), visiting only the dictionary's states within the distance
// instead of every term; a prefix is a range of the FST.
//
// The FSTs are rebuilt when the terms added since outgrow a share of
// them (tailShare), on the first lookup after that.
type dictionary struct {
	mu      sync.Mutex
	fwd     *vellum.FST // terms with ids below built
	rev     *vellum.FST // the same terms, reversed
	built   int         // terms in the FSTs
	tail    []string    // terms the FSTs may lack (added since)
	tailRev []string    // the same, reversed
	sorted  bool        // tail and tailRev are sorted
	// lev builds Levenshtein automata by distance (1 and 2; 0 unused).
	lev [3]*levenshtein.LevenshteinAutomatonBuilder
}

// Tail limits: the FSTs are rebuilt on a lookup once the terms added
// since the last build exceed tailMin and tailShare of those built.
const (
	tailMin   = 4096
	tailShare = 0.1
)

// errDict wraps a failure to build the term dictionary (which only a bug
// in the terms' order could cause).
var errDict = errors.New("lexical: term dictionary")

// added records a term new to the index, or one that no live product
// held (so the FSTs may lack it). Callers hold ix.mu for writing.
func (d *dictionary) added(t string) {
	d.tail = append(d.tail, t)
	d.tailRev = append(d.tailRev, reverse(t))
	d.sorted = false
}

// build rebuilds the FSTs over the terms some live product holds (a
// term no product holds any more is left out; should one come back, add
// puts it in the tail). Callers hold ix.mu (read or write) and d.mu.
func (d *dictionary) build(terms map[string]uint32, post []*posting) error {
	fwd, rev, n, err := buildFSTs(terms, post)
	if err != nil {
		return err
	}
	d.swap(fwd, rev, n)
	return nil
}

// swap puts in FSTs built over every term (n of them) and empties the
// tail. Callers hold d.mu, and ix.mu so no term was added since the
// build.
func (d *dictionary) swap(fwd, rev *vellum.FST, n int) {
	d.fwd, d.rev, d.built = fwd, rev, n
	d.tail, d.tailRev, d.sorted = d.tail[:0], d.tailRev[:0], true
}

// buildFSTs builds the FSTs of the terms some live product holds and of
// the same terms reversed, and returns how many there are.
func buildFSTs(terms map[string]uint32, post []*posting) (fwd, rev *vellum.FST, n int, err error) {
	keys := make([]string, 0, len(terms))
	for t, id := range terms {
		if post[id].live > 0 {
			keys = append(keys, t)
		}
	}
	slices.Sort(keys)
	if fwd, err = buildFST(keys); err != nil {
		return nil, nil, 0, err
	}
	for i, t := range keys {
		keys[i] = reverse(t)
	}
	slices.Sort(keys)
	if rev, err = buildFST(keys); err != nil {
		return nil, nil, 0, err
	}
	return fwd, rev, len(keys), nil
}

// buildFST returns the FST of ascending distinct keys (outputs unused).
func buildFST(keys []string) (*vellum.FST, error) {
	var buf bytes.Buffer
	b, err := vellum.New(&buf, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDict, err)
	}
	for i, k := range keys {
		if i > 0 && keys[i-1] == k {
			continue
		}
		if err := b.Insert([]byte(k), 0); err != nil {
			return nil, fmt.Errorf("%w: %w", errDict, err)
		}
	}
	if err := b.Close(); err != nil {
		return nil, fmt.Errorf("%w: %w", errDict, err)
	}
	fst, err := vellum.Load(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDict, err)
	}
	return fst, nil
}

// rebuildDict builds the term dictionary. The FSTs are built without
// the dictionary's lock, so searches go on looking up the old ones, and
// swapped in under it. Should building fail (only a bug could make it),
// the previous FSTs and the scanned tail stay, which still hold every
// term: lookups stay correct, only slower. Callers hold ix.mu for
// reading with wmu (no term is added meanwhile), or for writing.
func (ix *Index) rebuildDict() {
	fwd, rev, n, err := buildFSTs(ix.terms, ix.post)
	if err != nil {
		return
	}
	d := &ix.dict
	d.mu.Lock()
	defer d.mu.Unlock()
	d.swap(fwd, rev, n)
}

// lookup runs fn with the dictionary current: the FSTs rebuilt first when
// the tail has outgrown them, the tail sorted. Callers hold ix.mu (read).
func (ix *Index) lookup(fn func(d *dictionary)) {
	d := &ix.dict
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.tail) > tailMin && float64(len(d.tail)) > tailShare*float64(d.built) {
		_ = d.build(ix.terms, ix.post)
	}
	if !d.sorted {
		slices.Sort(d.tail)
		slices.Sort(d.tailRev)
		d.sorted = true
	}
	fn(d)
}

// prefixed returns the terms that start with p and are at least extra
// runes longer, from an FST (nil: none) and a sorted tail.
func prefixed(fst *vellum.FST, tail []string, p string, extra int) []string {
	need := utf8.RuneCountInString(p) + extra
	var out []string
	if fst != nil {
		// No valid UTF-8 holds the byte 0xff: p+"\xff" ends p's range.
		it, err := fst.Iterator([]byte(p), []byte(p+"\xff"))
		for err == nil {
			if k, _ := it.Current(); utf8.RuneCount(k) >= need {
				out = append(out, string(k))
			}
			err = it.Next()
		}
	}
	i, _ := slices.BinarySearch(tail, p)
	for ; i < len(tail) && strings.HasPrefix(tail[i], p); i++ {
		if utf8.RuneCountInString(tail[i]) >= need {
			out = append(out, tail[i])
		}
	}
	return out
}

// within returns the terms at the smallest edit distance from q up to
// budget (1 or 2), and that distance: the FST walked with a Levenshtein
// automaton, the tail scanned.
func (d *dictionary) within(q string, budget int) ([]string, int) {
	qr := []rune(q)
	best := budget + 1
	var found []string
	consider := func(t string) {
		switch dist := editDistance(qr, []rune(t), budget+1); {
		case dist > budget:
		case dist < best:
			best, found = dist, append(found[:0], t)
		case dist == best && !slices.Contains(found, t):
			found = append(found, t)
		}
	}
	if d.fwd != nil {
		if dfa := d.automaton(q, budget); dfa != nil {
			it, err := d.fwd.Search(dfa, nil, nil)
			for err == nil {
				k, _ := it.Current()
				consider(string(k))
				err = it.Next()
			}
		} else {
			scanFST(d.fwd, consider)
		}
	}
	n := len(qr)
	for _, t := range d.tail {
		if abs(utf8.RuneCountInString(t)-n) <= budget {
			consider(t)
		}
	}
	return found, best
}

// automaton returns the Levenshtein automaton of q within distance
// budget, or nil when it cannot be built (a word too long for the
// automaton's state limit).
func (d *dictionary) automaton(q string, budget int) *levenshtein.DFA {
	if d.lev[budget] == nil {
		b, err := levenshtein.NewLevenshteinAutomatonBuilder(uint8(budget), true)
		if err != nil {
			return nil
		}
		d.lev[budget] = b
	}
	dfa, err := d.lev[budget].BuildDfa(q, uint8(budget))
	if err != nil {
		return nil
	}
	return dfa
}

// scanFST calls fn with every key of an FST.
func scanFST(fst *vellum.FST, fn func(string)) {
	it, err := fst.Iterator(nil, nil)
	for err == nil {
		k, _ := it.Current()
		fn(string(k))
		err = it.Next()
	}
}
