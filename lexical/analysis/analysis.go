// Package analysis turns product and query text into index terms: Unicode
// word splitting, lower-casing and Snowball stemming for the catalog's
// languages (English and Swedish today). The same Analyzer must index a
// catalog and analyse its queries.
package analysis

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"github.com/blevesearch/snowballstem/swedish"
)

// Languages a catalog may declare.
const (
	English = "en"
	Swedish = "sv"
)

// ErrUnknownLanguage is returned by New for a language without a stemmer.
var ErrUnknownLanguage = errors.New("unknown analyzer language")

// stemmers maps a language to its Snowball stemmer.
func stemmer(lang string) (func(*snowballstem.Env) bool, error) {
	switch lang {
	case English:
		return english.Stem, nil
	case Swedish:
		return swedish.Stem, nil
	}
	return nil, fmt.Errorf("%w: %q (known: %s, %s)", ErrUnknownLanguage, lang, English, Swedish)
}

// Analyzer splits text into words and stems each with the catalog's
// languages. A catalog that mixes languages (the demo grocery catalog is
// English and Swedish) declares several: each word becomes the shortest of
// its stems, one term per word, so "bananas" and "banan" meet and a query
// is analysed exactly like the products.
type Analyzer struct {
	langs   []string
	stemmer []func(*snowballstem.Env) bool
	// stems caches words' stems (a catalog repeats its words: stemming
	// each occurrence was most of an index build), up to maxCached words.
	stems  sync.Map // word: stem
	cached atomic.Int64
}

// maxCached bounds the stem cache (a word and its stem, about 100 bytes
// each): a catalog's vocabulary is a few hundred thousand words.
const maxCached = 1 << 20

// New returns an analyzer for the given languages (none: English).
func New(langs ...string) (*Analyzer, error) {
	if len(langs) == 0 {
		langs = []string{English}
	}
	a := &Analyzer{langs: langs}
	for _, l := range langs {
		st, err := stemmer(l)
		if err != nil {
			return nil, err
		}
		a.stemmer = append(a.stemmer, st)
	}
	return a, nil
}

// Languages returns the analyzer's languages.
func (a *Analyzer) Languages() []string { return append([]string(nil), a.langs...) }

// Words splits text into lower-cased words (letters and digits), unstemmed.
func Words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Terms returns the index terms of text, in order (repeats kept).
func (a *Analyzer) Terms(text string) []string {
	ws := Words(text)
	for i, w := range ws {
		ws[i] = a.Stem(w)
	}
	return ws
}

// Stem returns a lower-cased word's term: the shortest of its stems in the
// analyzer's languages (the first language wins a tie). Words of two
// letters or fewer and words with digits are kept as they are.
func (a *Analyzer) Stem(w string) string {
	if len(w) <= 2 || strings.IndexFunc(w, unicode.IsDigit) >= 0 {
		return w
	}
	if s, ok := a.stems.Load(w); ok {
		return s.(string)
	}
	s := a.stem(w)
	if a.cached.Load() < maxCached {
		// Cloned: w may be a slice of a whole product text.
		if _, loaded := a.stems.LoadOrStore(strings.Clone(w), strings.Clone(s)); !loaded {
			a.cached.Add(1)
		}
	}
	return s
}

// stem runs the Snowball stemmers.
func (a *Analyzer) stem(w string) string {
	best := ""
	for _, st := range a.stemmer {
		env := snowballstem.NewEnv(w)
		st(env)
		if s := env.Current(); best == "" || len(s) < len(best) {
			best = s
		}
	}
	return best
}
