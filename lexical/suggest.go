package lexical

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vitrinehq/vitrine/lexical/analysis"
	"github.com/vitrinehq/vitrine/records"
)

// Suggestion scoring: a completion of the word as typed outranks a
// corrected typo; among equals, the more products hold the word, and the
// more prominent the field it is seen in, the higher.
var suggestField = [numFields]struct {
	kind   string
	weight float64
}{Title: {"title", 1}, Brand: {"brand", 0.95}, Category: {"category", 0.9}}

// categoryBoost lifts a suggestion naming one of the user's categories.
const categoryBoost = 0.5

// Suggest completes the last word of a query from the term dictionary:
// the words of titles, brands and category names that start with it, or,
// when none does, those within its typo distance (Search's). Each
// suggestion is the query with that word completed, written as the
// catalog writes it, ranked by how many products hold the word (with the
// query's earlier words, when it has some: a completion no product holds
// with them is left out), the field it is seen in (title before brand
// before category) and whether it was completed or corrected; a word of
// one of boostCategories is lifted. It returns at most k; none when an
// earlier word is not in the index.
func (ix *Index) Suggest(prefix string, k int, boostCategories []string) []records.Suggestion {
	words := analysis.Words(prefix)
	if len(words) == 0 || k < 1 {
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	df := func(term uint32) int { return ix.post[term].live }
	cands := ix.completions(words[len(words)-1])
	if len(words) > 1 {
		with, ok := ix.holdingAll(words[:len(words)-1])
		if !ok {
			return nil
		}
		slices.SortFunc(cands, func(a, b completion) int { return cmp.Compare(df(b.term), df(a.term)) })
		cands = cands[:min(len(cands), maxCooccurring)]
		df = func(term uint32) int { return ix.cooccurring(with, term) }
	}
	boost := map[string]bool{}
	for _, c := range boostCategories {
		boost[strings.ToLower(c)] = true
	}
	head := strings.Join(words[:len(words)-1], " ")
	out := make([]records.Suggestion, 0, len(cands))
	seen := map[string]bool{}
	for _, c := range cands {
		f, ok := ix.shownField(c.term)
		n := df(c.term)
		text := strings.TrimSpace(head + " " + ix.surface[c.term])
		if !ok || n == 0 || seen[text] {
			continue
		}
		seen[text] = true
		pop := math.Log1p(float64(n)) / math.Log1p(float64(max(ix.live, 1)))
		score := c.match * suggestField[f].weight * (0.5 + 0.5*pop)
		if boost[ix.surface[c.term]] {
			score += categoryBoost
		}
		out = append(out, records.Suggestion{Text: text, Kind: suggestField[f].kind, Score: score})
	}
	slices.SortFunc(out, func(a, b records.Suggestion) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.Text, b.Text))
	})
	return out[:min(len(out), k)]
}

// maxCooccurring bounds the completions of a multi-word query whose
// co-occurrence with the earlier words is counted (the most frequent).
const maxCooccurring = 64

// completion is a term a word being typed may become, with its match
// factor (1 completed, less corrected).
type completion struct {
	term  uint32
	match float64
}

// completions returns the terms a last word may become: its own term,
// the terms it begins, or, when there are none, its typo corrections.
// Callers hold ix.mu (read).
func (ix *Index) completions(last string) []completion {
	var out []completion
	if id, ok := ix.terms[ix.cfg.analyzer.Stem(last)]; ok {
		out = append(out, completion{id, 1}) // the word typed in full
	}
	ix.lookup(func(d *dictionary) {
		for _, t := range prefixed(d.fwd, d.tail, last, 0) {
			out = append(out, completion{ix.terms[t], 1})
		}
		if len(out) == 0 {
			for _, c := range ix.typos(d, ix.cfg.analyzer.Stem(last), utf8.RuneCountInString(last)) {
				out = append(out, completion{ix.terms[c.term], c.factor})
			}
		}
	})
	return out
}

// holdingAll returns the live docs holding every word's term, ascending;
// false when a word is not indexed. Callers hold ix.mu (read).
func (ix *Index) holdingAll(words []string) ([]uint32, bool) {
	var ts []uint32
	for _, w := range words {
		id, ok := ix.terms[ix.cfg.analyzer.Stem(w)]
		if !ok {
			return nil, false
		}
		ts = append(ts, id)
	}
	all := ix.conjunction(phrase{terms: ts})
	out := all.docs[:0]
	for _, d := range all.docs {
		if ix.cols[d].live {
			out = append(out, d)
		}
	}
	return out, true
}

// cooccurring counts the docs of a sorted list that hold a term.
func (ix *Index) cooccurring(docs []uint32, term uint32) int {
	c := &cursor{p: ix.post[term]}
	n := 0
	for _, d := range docs {
		if !c.seek(d) {
			break
		}
		if c.p.docs[c.i] == d {
			n++
		}
	}
	return n
}

// shownField is the most prominent of title, brand and category a term
// was seen in; false when none (a word of descriptions or attributes
// only, not suggested).
func (ix *Index) shownField(term uint32) (Field, bool) {
	for _, f := range []Field{Title, Brand, Category} {
		if ix.fields[term]&(1<<f) != 0 {
			return f, true
		}
	}
	return 0, false
}

// Suggest is serving's suggestions: completions of the query's last word
// from the index's term dictionary (Index.Suggest), topped up from the
// Suggester (popular past queries and its own matching) when the
// dictionary has fewer than k. A Text without a Suggester answers from
// the dictionary alone.
func (t Text) Suggest(ctx context.Context, prefix string, k int, boostCategories []string) ([]records.Suggestion, error) {
	ix, err := t.wait(ctx)
	if err != nil {
		return nil, err
	}
	out := ix.Suggest(prefix, k, boostCategories)
	if t.Suggester == nil || len(out) >= k {
		return out, nil
	}
	more, err := t.Suggester.Suggest(ctx, prefix, k, boostCategories)
	if err != nil {
		return nil, err
	}
	for _, s := range more {
		if len(out) == k {
			break
		}
		if !slices.ContainsFunc(out, func(o records.Suggestion) bool { return strings.EqualFold(o.Text, s.Text) }) {
			out = append(out, s)
		}
	}
	return out, nil
}
