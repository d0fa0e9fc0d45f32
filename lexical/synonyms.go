package lexical

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vitrinehq/vitrine/lexical/analysis"
)

// unit is one part of a query that a product may hold: a word, or the
// words of a synonym phrase ("ice cream"), with what it stands for.
type unit struct {
	words    int       // query words it covers
	variants []variant // single terms: the word, its synonyms, compounds, completions, corrected typos
	phrases  []phrase  // term sequences a product must hold all of
}

// phrase is one term-sequence alternative of a unit, with its score
// factor. idf 0 weighs a doc holding the terms by the sum of their
// weights times their idfs (the query's own words); otherwise by idf
// times the mean of their weights: a synonym is scored with the rarity of
// what the query said, so a phrase standing for one word does not
// outrank the word for having more terms, nor a word standing for a
// phrase for having fewer.
type phrase struct {
	terms  []uint32
	factor float64
	idf    float64
}

// alts returns the term sequences the unit stands for (single terms as
// sequences of one).
func (u unit) alts() [][]uint32 {
	out := make([][]uint32, 0, len(u.variants)+len(u.phrases))
	for _, v := range u.variants {
		out = append(out, []uint32{v.term})
	}
	for _, p := range u.phrases {
		out = append(out, p.terms)
	}
	return out
}

// empty reports whether no product can hold the unit.
func (u unit) empty() bool { return len(u.variants) == 0 && len(u.phrases) == 0 }

// unitAt returns the query unit starting at word i (terms are the
// analysed words, raw the words as typed): the longest synonym phrase
// starting there, or the single word.
func (ix *Index) unitAt(terms, raw []string, i int) unit {
	for n := min(ix.cfg.longest, len(terms)-i); n >= 2; n-- {
		rules, ok := ix.cfg.synonyms[strings.Join(terms[i:i+n], " ")]
		if !ok {
			continue
		}
		u := unit{words: n}
		ix.addPhrase(&u, terms[i:i+n], 1, 0)
		own := ix.idfOf(terms[i : i+n])
		for _, seq := range rules {
			ix.addPhrase(&u, seq, synonymFactor, own)
		}
		return u
	}
	u := unit{words: 1, variants: ix.variants(terms[i], raw[i], i == len(terms)-1)}
	for _, seq := range ix.cfg.synonyms[terms[i]] {
		if len(seq) > 1 {
			ix.addPhrase(&u, seq, synonymFactor, ix.idfOf(terms[i:i+1]))
		}
	}
	return u
}

// idfOf is the sum of the terms' idfs (a term no live product holds
// counts as the rarest).
func (ix *Index) idfOf(terms []string) float64 {
	var s float64
	for _, t := range terms {
		df := 0.0
		if id, ok := ix.terms[t]; ok {
			df = float64(ix.post[id].live)
		}
		s += math.Log(1 + (float64(ix.live)-df+0.5)/(df+0.5))
	}
	return s
}

// addPhrase adds a term sequence to a unit (a single term weighed by
// its own idf as a variant), unless a term of it is not indexed.
func (ix *Index) addPhrase(u *unit, seq []string, factor, idf float64) {
	ids := make([]uint32, len(seq))
	for j, t := range seq {
		id, ok := ix.terms[t]
		if !ok || ix.post[id].live == 0 {
			return
		}
		ids[j] = id
	}
	if len(ids) == 1 && idf == 0 {
		if !slices.ContainsFunc(u.variants, func(v variant) bool { return v.term == ids[0] }) {
			u.variants = append(u.variants, variant{ids[0], factor})
		}
		return
	}
	u.phrases = append(u.phrases, phrase{ids, factor, idf})
}

// conjunction returns the postings of the docs holding every term of a
// phrase, weighed as the phrase says (block maxima left to the caller).
func (ix *Index) conjunction(ph phrase) posting {
	cs := make([]*cursor, len(ph.terms))
	for i, t := range ph.terms {
		cs[i] = &cursor{p: ix.post[t], idf: ix.idf(t)}
		if ph.idf > 0 {
			cs[i].idf = ph.idf / float64(len(ph.terms))
		}
	}
	slices.SortFunc(cs, func(a, b *cursor) int { return len(a.p.docs) - len(b.p.docs) })
	var out posting
docs:
	for i, d := range cs[0].p.docs {
		w := cs[0].idf * float64(cs[0].p.w[i])
		for _, c := range cs[1:] {
			if !c.seek(d) {
				break docs
			}
			if c.p.docs[c.i] != d {
				continue docs
			}
			w += c.idf * float64(c.p.w[c.i])
		}
		out.docs, out.w = append(out.docs, d), append(out.w, float32(w))
	}
	return out
}

// parseSynonyms analyses synonym rules (see WithSynonyms) into a map
// from a term, or a phrase's terms joined by a space, to the term
// sequences a query holding it also finds.
func parseSynonyms(rules []string, a *analysis.Analyzer) (map[string][][]string, error) {
	out := map[string][][]string{}
	for _, rule := range rules {
		line := strings.TrimSpace(rule)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		from, to, oneWay := strings.Cut(line, "=>")
		if !oneWay {
			to = from
		}
		src, dst := synonymTerms(from, a), synonymTerms(to, a)
		if len(src) == 0 || len(dst) == 0 || (!oneWay && len(src) < 2) {
			return nil, fmt.Errorf("%w: synonyms %q: want \"a => b\" or \"a, b, ...\" (words or phrases)", ErrConfig, line)
		}
		for _, s := range src {
			key := strings.Join(s, " ")
			for _, d := range dst {
				if !slices.Equal(d, s) && !slices.ContainsFunc(out[key], func(x []string) bool { return slices.Equal(x, d) }) {
					out[key] = append(out[key], d)
				}
			}
		}
	}
	return out, nil
}

// synonymTerms analyses a comma-separated list of words or phrases into
// their term sequences; nil when one has no term.
func synonymTerms(list string, a *analysis.Analyzer) [][]string {
	var out [][]string
	for _, w := range strings.Split(list, ",") {
		ts := a.Terms(w)
		if len(ts) == 0 {
			return nil
		}
		out = append(out, ts)
	}
	return out
}
