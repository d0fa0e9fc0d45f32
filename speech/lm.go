package speech

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"unicode"
)

// Sentence markers of ARPA language models.
const (
	sentStart = "<s>"
	sentEnd   = "</s>"
)

// discount is the absolute discount taken from every seen bigram count
// and given to the unigram back-off.
const discount = 0.5

// Words splits text into the lower-case words a language model and a
// dictionary hold: runs of letters (apostrophes kept inside a word).
// Numbers, units and punctuation are left out: nobody says "1,5%" the way
// it is written.
func Words(text string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\''
	}) {
		if f = strings.Trim(f, "'"); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// bigramModel counts the words of a set of phrases.
type bigramModel struct {
	uni   map[string]int
	bi    map[string]map[string]int
	total int
}

func countPhrases(phrases []string) *bigramModel {
	m := &bigramModel{uni: map[string]int{}, bi: map[string]map[string]int{}}
	for _, p := range phrases {
		ws := Words(p)
		if len(ws) == 0 {
			continue
		}
		prev := sentStart
		for _, w := range append(ws, sentEnd) {
			m.uni[w]++
			m.total++
			if m.bi[prev] == nil {
				m.bi[prev] = map[string]int{}
			}
			m.bi[prev][w]++
			prev = w
		}
	}
	return m
}

// pairs returns the bigrams seen.
func (m *bigramModel) pairs() map[[2]string]bool {
	out := map[[2]string]bool{}
	for h, next := range m.bi {
		for w := range next {
			out[[2]string{h, w}] = true
		}
	}
	return out
}

// vocabulary returns the model's words, sorted (sentence markers left out).
func (m *bigramModel) vocabulary() []string {
	out := make([]string, 0, len(m.uni))
	for w := range m.uni {
		if w != sentEnd {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}

// WriteARPA writes a bigram language model of phrases in ARPA format:
// add-one unigrams, absolutely discounted bigrams and the back-off weights
// that keep every history's distribution summing to one. It returns the
// vocabulary (sorted). Phrases without a word are skipped; none at all is
// an error (an empty model cannot be loaded).
func WriteARPA(w io.Writer, phrases []string) ([]string, error) {
	m := countPhrases(phrases)
	if m.total == 0 {
		return nil, fmt.Errorf("%w: no words in %d phrases", ErrNoVocabulary, len(phrases))
	}
	words := append([]string{sentEnd, sentStart}, m.vocabulary()...)
	v := len(words) - 1 // <s> is never predicted
	puni := func(w string) float64 { return float64(m.uni[w]+1) / float64(m.total+v) }
	nbi := 0
	for _, next := range m.bi {
		nbi += len(next)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\\data\\\nngram 1=%d\nngram 2=%d\n\n\\1-grams:\n", len(words), nbi)
	for _, word := range words {
		p := -99.0
		if word != sentStart {
			p = math.Log10(puni(word))
		}
		if next, ok := m.bi[word]; ok {
			fmt.Fprintf(bw, "%.6f %s %.6f\n", p, word, math.Log10(m.backoff(word, next, puni)))
		} else {
			fmt.Fprintf(bw, "%.6f %s\n", p, word)
		}
	}
	fmt.Fprint(bw, "\n\\2-grams:\n")
	for _, h := range words {
		next := m.bi[h]
		succ := make([]string, 0, len(next))
		for x := range next {
			succ = append(succ, x)
		}
		sort.Strings(succ)
		ch := float64(sumCounts(next))
		for _, x := range succ {
			fmt.Fprintf(bw, "%.6f %s %s\n", math.Log10((float64(next[x])-discount)/ch), h, x)
		}
	}
	fmt.Fprint(bw, "\n\\end\\\n")
	return m.vocabulary(), bw.Flush()
}

// backoff is the weight of the unigram distribution after history h: the
// discounted mass over the unigram mass of the words not seen after h.
func (m *bigramModel) backoff(h string, next map[string]int, puni func(string) float64) float64 {
	ch := float64(sumCounts(next))
	left := discount * float64(len(next)) / ch
	seen := 0.0
	for x := range next {
		seen += puni(x)
	}
	if seen >= 1 {
		return 1
	}
	return left / (1 - seen)
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, c := range m {
		n += c
	}
	return n
}
