package lexical

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// Score factors of a query word's variants: a product that holds the word
// as typed ranks above one that holds a variant of it.
const (
	synonymFactor    = 0.9
	compoundFactor   = 0.8
	prefixFactor     = 0.7
	typoFactor       = 0.6 // edit distance 1; distance 2 is typoFactor²
	maxVariants      = 24  // per query word and kind, the most frequent kept
	minPrefixLetters = 3   // a last word shorter than this is not a prefix
	minCompoundHead  = 3   // letters a compound needs before the query word
	minCompoundWord  = 4   // letters a query word needs to be a compound's head
)

// Typo tolerance, as Meilisearch and Typesense have it: one edit from
// typoOneFrom letters, two from typoTwoFrom.
const (
	typoOneFrom = 5
	typoTwoFrom = 9
)

// variant is one term a query word stands for, with its score factor.
type variant struct {
	term   uint32
	factor float64
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// variants returns the terms one query word (already analysed to term t,
// raw the lower-cased word as typed) stands for: itself when indexed, its
// synonyms, the indexed compounds ending in it, every indexed term it
// begins when it is the query's last word, and, when it is not indexed,
// the indexed terms within the typo distance.
func (ix *Index) variants(t, raw string, last bool) []variant {
	var out []variant
	add := func(term string, f float64) {
		id, ok := ix.terms[term]
		if !ok || ix.post[id].live == 0 {
			return
		}
		for i := range out {
			if out[i].term == id {
				out[i].factor = max(out[i].factor, f)
				return
			}
		}
		out = append(out, variant{id, f})
	}
	add(t, 1)
	for _, seq := range ix.cfg.synonyms[t] {
		if len(seq) == 1 {
			add(seq[0], synonymFactor)
		}
	}
	letters := utf8.RuneCountInString(raw)
	ix.lookup(func(d *dictionary) {
		if utf8.RuneCountInString(t) >= minCompoundWord {
			for _, c := range ix.frequent(prefixed(d.rev, d.tailRev, reverse(t), minCompoundHead), true) {
				add(c, compoundFactor)
			}
		}
		if last && letters >= minPrefixLetters {
			for _, p := range ix.frequent(prefixed(d.fwd, d.tail, raw, 1), false) {
				add(p, prefixFactor)
			}
		}
		// A word with synonyms is the shop's vocabulary, not a typo.
		if len(out) == 0 && len(ix.cfg.synonyms[t]) == 0 {
			for _, c := range ix.typos(d, t, letters) {
				add(c.term, c.factor)
			}
		}
	})
	return out
}

// frequent keeps the maxVariants most frequent terms (reversed ones are
// turned back first).
func (ix *Index) frequent(ts []string, reversed bool) []string {
	if reversed {
		for i, t := range ts {
			ts[i] = reverse(t)
		}
	}
	df := func(t string) int { return ix.post[ix.terms[t]].live }
	slices.SortFunc(ts, func(a, b string) int { return cmp.Or(df(b)-df(a), strings.Compare(a, b)) })
	return ts[:min(len(ts), maxVariants)]
}

type typo struct {
	term   string
	factor float64
}

// typos finds the indexed terms nearest term t within the typo budget of
// a word of n letters (one edit from typoOneFrom letters, two from
// typoTwoFrom), the closest distance only, most frequent first.
func (ix *Index) typos(d *dictionary, t string, letters int) []typo {
	budget := 0
	switch {
	case letters >= typoTwoFrom:
		budget = 2
	case letters >= typoOneFrom:
		budget = 1
	}
	if budget == 0 {
		return nil
	}
	found, best := d.within(t, budget)
	factor := typoFactor
	if best == 2 {
		factor *= typoFactor
	}
	out := make([]typo, 0, len(found))
	for _, c := range ix.frequent(found, false) {
		out = append(out, typo{c, factor})
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is the Damerau-Levenshtein distance (adjacent swaps count
// one) of a and b, or limit when it is at least limit.
func editDistance(a, b []rune, limit int) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(b)], limit)
}

// ReadSynonyms reads synonym rules from a file's lines, for WithSynonyms.
func ReadSynonyms(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out, sc.Err()
}

// LoadSynonyms gathers synonym rules for WithSynonyms: the inline rules
// (separated by ";"), then the lines of file when one is named.
func LoadSynonyms(inline, file string) ([]string, error) {
	rules := strings.Split(inline, ";")
	if file == "" {
		return rules, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	more, err := ReadSynonyms(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return append(rules, more...), nil
}
